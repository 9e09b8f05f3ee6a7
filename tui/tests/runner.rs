//! The data dir's runner seen from the command line: one runner however many front ends race to
//! start it, jobs that outlive the process that asked for them, a killed runner's jobs marked
//! crashed, the runner leaving when idle, Ctrl-C still killing a foreground command.

#[path = "support/cli.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sshdeck_testkit::Sshd;
use sshdeck_testkit::procs::{rss_kib, runner_pids};
use support::{Cli, text};

fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn job(cli: &Cli, id: &str) -> Value {
    let out = cli.run(&["jobs", "show", id, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v
}

/// Processes on this machine whose command line matches `pattern` (anchored, so the `sshdeck exec`
/// naming the command is not counted).
fn remote_processes(needle: &str) -> usize {
    let out = Command::new("pgrep").args(["-f", needle]).output().unwrap();
    text(&out.stdout).lines().count()
}

#[test]
fn racing_front_ends_start_exactly_one_runner_which_leaves_when_idle() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("web", &sshd);
    assert!(runner_pids(cli.data.path()).is_empty(), "registering a server starts no runner");
    let children: Vec<_> = (0..6)
        .map(|i| {
            cli.cmd(&["exec", "web", "--", &format!("echo hi-{i}")])
                .env("RUNNER_PERSIST_S", "2")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), format!("hi-{i}\n"));
    }
    let runners = runner_pids(cli.data.path());
    assert_eq!(runners.len(), 1, "one runner for the data dir: {runners:?}");
    let sock = cli.data.path().join("runtime/runner.sock");
    assert_eq!(std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777, 0o600);
    // Every job ran in the runner, not in the CLI processes.
    let out = cli.run(&["jobs", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let owners: Vec<_> = list["jobs"].as_array().unwrap().iter().map(|j| j["owner"]["pid"].as_u64().unwrap()).collect();
    assert_eq!(owners.len(), 6);
    assert!(owners.iter().all(|p| *p == u64::from(runners[0])), "{owners:?} vs {runners:?}");

    // RUNNER_PERSIST_S=2: with no job and no client it leaves, and removes its socket.
    eventually(10, "the idle runner leaves", || runner_pids(cli.data.path()).is_empty().then_some(()));
    assert!(!sock.exists(), "the socket is removed");
}

#[test]
fn a_detached_job_outlives_its_cli_and_a_killed_runner_leaves_it_crashed() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("web", &sshd);

    // --detach returns at once; the job goes on and completes with its whole output.
    let out = cli.run(&["exec", "web", "--detach", "--", "for i in 1 2 3 4 5; do echo n$i; sleep 0.2; done"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    let done = eventually(10, "the detached job ends", || {
        let j = job(&cli, &id);
        (j["status"] != "running" && j["status"] != "pending").then_some(j)
    });
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["exitCode"], 0, "{done}");
    let out = cli.run(&["jobs", "logs", &id]);
    assert_eq!(text(&out.stdout), "n1\nn2\nn3\nn4\nn5\n");

    // A foreground exec is waiting when the runner is killed: it gets a clear error, the job is
    // `crashed`, and the next submission starts a new runner.
    let waiter =
        cli.cmd(&["exec", "web", "--", "sleep 31.9"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    eventually(10, "the command runs", || (remote_processes("^sleep 31[.]9") > 0).then_some(()));
    let runners = runner_pids(cli.data.path());
    assert_eq!(runners.len(), 1);
    Command::new("kill").args(["-KILL", &runners[0].to_string()]).status().unwrap();
    let out = waiter.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("died") && err.contains("sshdeck-runner"), "{err}");
    let out = cli.run(&["jobs", "list", "--json", "--status", "crashed"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1, "{list}");

    let out = cli.run(&["exec", "web", "--", "echo again"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "again\n");
    let now = runner_pids(cli.data.path());
    assert!(now.len() == 1 && now[0] != runners[0], "a new runner: {now:?} after {runners:?}");
    // Like a killed `ssh` without -t, the killed runner's command goes on until it ends by itself.
    let _ = Command::new("pkill").args(["-f", "^sleep 31[.]9"]).status();
}

#[test]
fn ctrl_c_on_a_foreground_exec_still_kills_the_remote_command() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("web", &sshd);
    let child =
        cli.cmd(&["exec", "web", "--", "sleep 32.3"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    eventually(10, "the command runs", || (remote_processes("^sleep 32[.]3") > 0).then_some(()));
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{:?} {}", out.status, text(&out.stderr));
    eventually(5, "the remote command is killed", || (remote_processes("^sleep 32[.]3") == 0).then_some(()));
    let out = cli.run(&["jobs", "list", "--json", "--status", "cancelled"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1, "{list}");
}

#[test]
fn runner_mode_inprocess_runs_jobs_in_the_front_end() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("web", &sshd);
    let out = cli.cmd(&["exec", "web", "--", "echo local"]).env("RUNNER_MODE", "inprocess").output().unwrap();
    assert_eq!(text(&out.stdout), "local\n", "{}", text(&out.stderr));
    assert!(runner_pids(cli.data.path()).is_empty(), "no runner was started");
    let out = cli.run(&["jobs", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["jobs"][0]["owner"]["program"], "sshdeck");
}

#[test]
fn a_slow_reader_slows_its_command_instead_of_filling_the_runner() {
    use std::io::Read;
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("t", &sshd);
    // 400 MB of output, read by a pipe whose reader stops for 3 s after the first MiB.
    let total: u64 = 400_000_000;
    let mut child = cli
        .cmd(&["exec", "t", "--", &format!("head -c {total} /dev/zero")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut got = 0u64;
    while got < 1 << 20 {
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "output ended early");
        got += n as u64;
    }
    let runner = eventually(10, "the runner is up", || runner_pids(cli.data.path()).first().copied());
    let mut peak = 0;
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(100));
        peak = peak.max(rss_kib(runner));
    }
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got += n as u64;
    }
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{}",
        text(
            &child
                .stderr
                .take()
                .map(|mut e| {
                    let mut s = Vec::new();
                    let _ = e.read_to_end(&mut s);
                    s
                })
                .unwrap_or_default()
        )
    );
    assert_eq!(got, total, "every byte arrives");
    // Without the wait, the runner would hold most of the 400 MB the command printed meanwhile.
    assert!(peak < 96 * 1024, "runner RSS peaked at {peak} KiB while its reader stalled");
}
