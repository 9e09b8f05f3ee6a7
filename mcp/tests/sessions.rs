//! The tmux tools against the test sshd's tmux: create, type into, read, list, kill; the policy and the
//! destructive check see the typed command; names are checked.

#[path = "support/client.rs"]
mod client;

use serde_json::json;
use sshdeck_testkit::Sshd;

use client::Client;
use client::structured as sc;

#[test]
fn tmux_sessions_are_created_typed_into_read_and_killed() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    let name = format!("sd{}", std::process::id());
    let names = |c: &mut Client| -> Vec<String> {
        let r = c.call("tmux_list", json!({"alias": "web"}));
        assert_eq!(r["isError"], false, "{r}");
        sc(&r)["sessions"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect()
    };
    assert!(!names(&mut c).contains(&name));
    let r = c.call("tmux_create", json!({"alias": "web", "name": name}));
    assert_eq!((r["isError"].as_bool(), sc(&r)["session"].as_str()), (Some(false), Some(name.as_str())), "{r}");
    let l = c.call("tmux_list", json!({"alias": "web"}));
    assert!(names(&mut c).contains(&name), "create: {r}\nlist: {l}");
    let r = c.call("tmux_exec", json!({"alias": "web", "session": name, "cmd": "echo hello-$((6*7))-tmux"}));
    assert_eq!(r["isError"], false, "{r}");
    let mut seen = String::new();
    for _ in 0..50 {
        let r = c.call("tmux_read", json!({"alias": "web", "session": name}));
        seen = sc(&r)["stdout"].as_str().unwrap_or("").to_string();
        if seen.contains("hello-42-tmux") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(seen.contains("hello-42-tmux"), "the command ran in the session: {seen}");
    // A destructive command typed into a session is judged as itself: not run without confirmation.
    let r = c.call("tmux_exec", json!({"alias": "web", "session": name, "cmd": "rm -rf / --no-preserve-root"}));
    assert_eq!(sc(&r)["error"]["code"], "CONFIRMATION_REQUIRED", "{r}");
    let r = c.call("tmux_read", json!({"alias": "web", "session": name}));
    assert!(!sc(&r)["stdout"].as_str().unwrap().contains("no-preserve-root"), "nothing was typed: {r}");
    let r = c.call("tmux_exec", json!({"alias": "web", "session": "a;b", "cmd": "true"}));
    assert_eq!(sc(&r)["error"]["code"], "INVALID_ARGUMENT", "{r}");
    let r = c.call("tmux_kill", json!({"alias": "web", "session": name}));
    assert_eq!(r["isError"], false, "{r}");
    assert!(!names(&mut c).contains(&name));
    // Each call was a job.
    let h = c.call("task_history", json!({"alias": "web", "limit": 50}));
    let tmux_jobs =
        sc(&h)["jobs"].as_array().unwrap().iter().filter(|j| j["command"].as_str().unwrap().contains("tmux ")).count();
    assert!(tmux_jobs >= 6, "{h}");
}

#[test]
fn a_public_key_is_authorized_once_atomically_after_a_dry_run() {
    use std::os::unix::fs::PermissionsExt;
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let file = dir.path().join("ssh/authorized_keys");
    let pubkey = sshd.keys().unauthorized.with_extension("pub");
    let args = |dry: bool| {
        json!({"target_alias": "web", "source": {"type": "local_path", "path": pubkey.display().to_string()},
            "authorized_keys_path": file.display().to_string(), "comment": "added-by-test", "dry_run": dry})
    };
    let r = c.call("ssh_authorize_key", args(true));
    assert!(sc(&r)["stdout"].as_str().unwrap().starts_with("would add"), "{r}");
    assert!(!file.exists(), "a dry run writes nothing");
    let r = c.call("ssh_authorize_key", args(false));
    assert!(sc(&r)["stdout"].as_str().unwrap().starts_with("added"), "{r}");
    let r = c.call("ssh_authorize_key", args(false));
    assert!(sc(&r)["stdout"].as_str().unwrap().starts_with("already authorized"), "{r}");
    let text = std::fs::read_to_string(&file).unwrap();
    let body = std::fs::read_to_string(&pubkey).unwrap().split_whitespace().nth(1).unwrap().to_string();
    assert_eq!(text.matches(&body).count(), 1, "once: {text}");
    assert!(text.trim_end().ends_with("added-by-test"), "{text}");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let r =
        c.call("ssh_authorize_key", json!({"target_alias": "web", "source": {"type": "string", "pubkey": "rm -rf /"}}));
    assert_eq!(sc(&r)["error"]["code"], "INVALID_ARGUMENT", "{r}");
}
