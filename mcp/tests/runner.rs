//! Jobs outlive the MCP server that started them, and every front end on a data dir shares the
//! runner's one pool: two sshdeck-mcp processes and the CLI together stay within
//! MAX_CONNECTIONS_PER_SERVER connections to a server.

#[path = "support/client.rs"]
mod client;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sshdeck_testkit::Sshd;
use sshdeck_testkit::procs::established_to;

use client::{Client, structured};

/// The `sshdeck` binary built beside this crate's (the workspace's test command builds both).
fn cli_binary() -> PathBuf {
    let p = std::path::Path::new(env!("CARGO_BIN_EXE_sshdeck-mcp")).with_file_name("sshdeck");
    assert!(p.exists(), "{} is missing: run the workspace's tests (cargo test --workspace)", p.display());
    p
}

/// Starts a job that prints `tag1`..`tag20` over two seconds; returns its id (the call answers
/// while it runs, MCP_SYNC_TIMEOUT_S being 1).
fn start_counting(c: &mut Client, tag: &str) -> String {
    let r = c.call(
        "task_exec",
        json!({"alias": "web", "cmd": format!("for i in $(seq 1 20); do echo {tag}$i; sleep 0.1; done")}),
    );
    assert_eq!(structured(&r)["status"], "running", "{r}");
    structured(&r)["id"].as_str().unwrap().to_string()
}

/// Three `task_exec` calls of 0.6 s, one after the other.
fn three_calls(c: &mut Client, tag: &str) {
    for i in 0..3 {
        let r = c.call("task_exec", json!({"alias": "web", "cmd": format!("sleep 0.6; echo {tag}{i}")}));
        assert_eq!(structured(&r)["stdout"], format!("{tag}{i}\n"), "{r}");
    }
}

#[test]
fn jobs_outlive_their_mcp_client_and_every_front_end_shares_one_pool() {
    let sshd = Sshd::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display().to_string();
    let env = [("MCP_DATA_DIR", dir.as_str()), ("MCP_SYNC_TIMEOUT_S", "1"), ("MAX_CONNECTIONS_PER_SERVER", "2")];

    // One client is killed, another goes away cleanly (its stdin closes): their jobs go on.
    let mut killed = Client::start(&env);
    killed.add_server(&sshd, "web");
    let first = start_counting(&mut killed, "k");
    drop(killed);
    let mut leaving = Client::start(&env);
    let second = start_counting(&mut leaving, "h");
    assert!(leaving.hang_up().success());

    let mut a = Client::start(&env);
    for (id, tag) in [(first, "k"), (second, "h")] {
        let r = a.call("task_wait", json!({"id": id, "timeout": 20}));
        assert_eq!(structured(&r)["status"], "completed", "{r}");
        let want: String = (1..=20).map(|i| format!("{tag}{i}\n")).collect();
        assert_eq!(structured(&r)["outputTail"], want.as_str(), "the whole output: {r}");
    }

    // Two MCP servers and four CLI calls at once: never more than 2 connections to the server.
    let mut b = Client::start(&env);
    let stop = AtomicBool::new(false);
    let most = AtomicUsize::new(0);
    let cli = cli_binary();
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                most.fetch_max(established_to(sshd.port()), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let (ra, rb) = (&mut a, &mut b);
        let ta = s.spawn(move || three_calls(ra, "a"));
        let tb = s.spawn(move || three_calls(rb, "b"));
        let children: Vec<_> = (0..4)
            .map(|i| {
                Command::new(&cli)
                    .args(["exec", "web", "--", &format!("sleep 0.6; echo c{i}")])
                    .envs(env.iter().copied())
                    .env_remove("SSH_AUTH_SOCK")
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (i, out) in children.into_iter().enumerate() {
            let out = out.wait_with_output().unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), format!("c{i}\n"));
        }
        ta.join().unwrap();
        tb.join().unwrap();
        stop.store(true, Ordering::SeqCst);
    });
    let most = most.load(Ordering::SeqCst);
    assert!((1..=2).contains(&most), "connections to the server at most: {most}");
}

#[test]
fn a_transfer_reports_its_progress_through_the_runner() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[]);
    c.add_server(&sshd, "web");
    // 2,000 small files: a transfer bound by round trips, not by the cipher, so it lasts past the
    // first progress tick on any machine.
    let local = tempfile::tempdir().unwrap();
    let tree = local.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    for i in 0..2000 {
        std::fs::write(tree.join(format!("f{i:04}.txt")), format!("file {i}\n")).unwrap();
    }
    let remote = tempfile::tempdir().unwrap();
    std::fs::set_permissions(remote.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let r = c.call_with_meta(
        "task_transfer",
        json!({"alias": "web", "direction": "upload", "local": tree.display().to_string(),
               "remote": format!("{}/", remote.path().display())}),
        json!({"progressToken": "t1"}),
    );
    assert_eq!(structured(&r)["status"], "completed", "{r}");
    let progress: Vec<Value> =
        c.notifications().into_iter().filter(|n| n["method"] == "notifications/progress").collect();
    assert!(
        progress.iter().any(|p| p["params"]["message"].as_str().is_some_and(|m| m.contains("/2000 files, "))),
        "transfer progress (files and bytes) comes from the runner: {progress:?}"
    );
    assert_eq!(std::fs::read_dir(remote.path().join("tree")).unwrap().count(), 2000);
}
