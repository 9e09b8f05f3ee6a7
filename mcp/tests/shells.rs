//! Shell sessions against the test sshd: state lasts between commands, output framing survives odd
//! output, a timeout interrupts and keeps the session, policy and confirmation see the typed command,
//! caps and idle close hold, sessions outlive the MCP server that opened them.

#[path = "support/client.rs"]
mod client;

use serde_json::json;
use sshdeck_testkit::Sshd;

use client::Client;
use client::structured as sc;

fn exec(c: &mut Client, id: &str, command: &str) -> serde_json::Value {
    let r = c.call("shell_exec", json!({"sessionId": id, "command": command}));
    client::validate("shell_exec", &r);
    r
}

fn stdout(r: &serde_json::Value) -> String {
    sc(r)["stdout"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_shell_keeps_its_state_and_frames_every_output() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    let dir = sshd.scratch().join("shell-work");
    std::fs::create_dir_all(dir.join("sub dir")).unwrap();
    let r = c.call(
        "shell_create",
        json!({"alias": "web", "workdir": dir.display().to_string(), "env": {"GREETING": "it's \"quoted\" $HOME"}}),
    );
    client::validate("shell_create", &r);
    assert_eq!(r["isError"], false, "{r}");
    let id = sc(&r)["sessionId"].as_str().unwrap().to_string();
    assert_eq!(sc(&r)["cwd"], dir.display().to_string(), "{r}");

    let r = exec(&mut c, &id, "echo \"$GREETING\"; pwd");
    assert_eq!(stdout(&r), format!("it's \"quoted\" $HOME\n{}\n", dir.display()), "{r}");
    assert_eq!(sc(&r)["exitCode"], 0);
    // cd, export, a function and a shell variable last.
    let r = exec(&mut c, &id, "cd 'sub dir' && export ANSWER=42 && twice() { echo \"$1$1\"; }; LOCAL=x");
    assert_eq!(sc(&r)["exitCode"], 0, "{r}");
    assert!(sc(&r)["cwd"].as_str().unwrap().ends_with("sub dir"), "{r}");
    let r = exec(&mut c, &id, "pwd; echo $ANSWER $LOCAL; twice ab");
    assert_eq!(stdout(&r), format!("{}/sub dir\n42 x\nabab\n", dir.display()), "{r}");
    // Exit codes, stderr with stdout, output without a trailing newline, a syntax error.
    let r = exec(&mut c, &id, "echo out; echo err >&2; (exit 7)");
    assert_eq!((stdout(&r).as_str(), sc(&r)["exitCode"].as_i64()), ("out\nerr\n", Some(7)), "{r}");
    assert_eq!(sc(&r)["status"], "failed");
    let r = exec(&mut c, &id, "printf 'no newline'");
    assert_eq!(stdout(&r), "no newline", "{r}");
    let r = exec(&mut c, &id, "echo 'unbalanced");
    assert_eq!(sc(&r)["exitCode"], 2, "{r}");
    let r = exec(&mut c, &id, "echo still here");
    assert_eq!(stdout(&r), "still here\n", "a syntax error does not swallow the session: {r}");
    // A command printing what looks like the session's marker does not end early.
    let r = exec(&mut c, &id, "printf '\\n\\036SDK0123456789abcdef01234567:0:/\\0'; echo after");
    assert!(stdout(&r).ends_with("after\n"), "{r}");
    // Binary output and long lines pass as they are; a command longer than a terminal line (4 KiB).
    let r = exec(&mut c, &id, "head -c 3 /dev/zero | od -An -tx1");
    assert_eq!(stdout(&r).trim(), "00 00 00", "{r}");
    let long = format!("echo {}", "y".repeat(10_000));
    let r = exec(&mut c, &id, &long);
    assert_eq!(stdout(&r).trim().len(), 10_000, "{r}");
    // A command reading stdin does not eat the session's next command.
    let r = exec(&mut c, &id, "cat; echo read-done");
    assert_eq!(stdout(&r), "read-done\n", "{r}");

    // Each command is a shell job in the history.
    assert_eq!(sc(&r)["kind"], "shell");
    let h = c.call("task_history", json!({"alias": "web", "limit": 50}));
    let commands: Vec<&str> = sc(&h)["jobs"].as_array().unwrap().iter().filter_map(|j| j["command"].as_str()).collect();
    assert!(commands.contains(&"cat; echo read-done") && commands.len() >= 10, "{commands:?}");

    // shell_list shows it; `exit` ends it; then it is gone.
    let r = c.call("shell_list", json!({}));
    client::validate("shell_list", &r);
    let s = sc(&r)["sessions"].as_array().unwrap();
    assert!(s.iter().any(|s| s["sessionId"] == id.as_str() && s["alias"] == "web"), "{r}");
    let r = exec(&mut c, &id, "exit 3");
    assert_eq!((sc(&r)["exitCode"].as_i64(), sc(&r)["sessionOpen"].as_bool()), (Some(3), Some(false)), "{r}");
    let r = exec(&mut c, &id, "true");
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "{r}");
}

#[test]
fn a_timeout_interrupts_the_command_and_keeps_the_session() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    let r = c.call("shell_create", json!({"alias": "web", "cmdTimeout": 800}));
    let id = sc(&r)["sessionId"].as_str().unwrap().to_string();
    exec(&mut c, &id, "cd /tmp; export KEPT=yes");
    let started = std::time::Instant::now();
    let r = exec(&mut c, &id, "echo begun; sleep 30; echo never");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "the timeout stopped it");
    assert_eq!(
        (sc(&r)["timedOut"].as_bool(), sc(&r)["error"]["code"].as_str()),
        (Some(true), Some("COMMAND_TIMEOUT")),
        "{r}"
    );
    // What the command printed, then the newline bash prints on Ctrl-C, as on a terminal.
    assert!(stdout(&r).starts_with("begun\n") && !stdout(&r).contains("never"), "{r}");
    assert_eq!(sc(&r)["sessionOpen"], true, "{r}");
    // A loop in the shell itself is interrupted too (an interactive shell leaves the loop on Ctrl-C).
    let r = c.call("shell_exec", json!({"sessionId": id, "command": "while true; do sleep 1; done", "timeout": 500}));
    assert_eq!(sc(&r)["timedOut"], true, "{r}");
    let r = exec(&mut c, &id, "echo $KEPT; pwd");
    assert_eq!(stdout(&r), "yes\n/tmp\n", "state survived the interrupts: {r}");
    // The remote sleep is gone.
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "ps -u $(id -u) -o args= | grep -cx 'sleep 30'"}));
    assert_eq!(stdout(&r).trim(), "0", "{r}");
}

#[test]
fn policy_confirmation_readonly_and_caps_are_enforced() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all"), ("SHELL_MAX_PER_SERVER", "2")]);
    c.add_server(&sshd, "web");
    std::fs::write(c.data_dir().join("policy.toml"), "deny = ['\\bshutdown\\b']\n").unwrap();
    let a = c.call("shell_create", json!({"alias": "web"}));
    let id = sc(&a)["sessionId"].as_str().unwrap().to_string();
    let b = c.call("shell_create", json!({"alias": "web"}));
    assert_eq!(b["isError"], false, "{b}");
    let third = c.call("shell_create", json!({"alias": "web"}));
    assert_eq!(sc(&third)["error"]["code"], "RESOURCE_EXHAUSTED", "{third}");
    assert!(sc(&third)["error"]["message"].as_str().unwrap().contains("SHELL_MAX_PER_SERVER"), "{third}");

    let marker = sshd.scratch().join("policy-marker");
    let r = exec(&mut c, &id, &format!("touch {}; shutdown -h now", marker.display()));
    assert_eq!(sc(&r)["error"]["code"], "POLICY_DENIED", "{r}");
    let r = exec(&mut c, &id, &format!("touch {}; rm -rf / --no-preserve-root", marker.display()));
    assert_eq!(sc(&r)["error"]["code"], "CONFIRMATION_REQUIRED", "{r}");
    assert!(!marker.exists(), "nothing of a refused command ran");
    let r = exec(&mut c, &id, "echo a\u{3}b");
    assert_eq!(sc(&r)["error"]["code"], "INVALID_ARGUMENT", "{r}");

    // Closing frees a place.
    let r = c.call("shell_close", json!({"sessionId": id}));
    client::validate("shell_close", &r);
    assert_eq!(sc(&r)["closed"], true, "{r}");
    let r = c.call("shell_create", json!({"alias": "web"}));
    assert_eq!(r["isError"], false, "{r}");
    let r = c.call("shell_close", json!({"sessionId": "sh-nosuch"}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "{r}");
    drop(c);

    // A server marked readonly gets no shell; read-only mode refuses every shell tool but the list.
    let mut ro = Client::start(&[("MCP_TOOLSETS", "all"), ("MCP_READONLY", "1")]);
    let r = ro.call("shell_create", json!({"alias": "web"}));
    assert_eq!(sc(&r)["error"]["code"], "READ_ONLY", "{r}");
    let r = ro.call("shell_list", json!({}));
    assert_eq!(r["isError"], false, "{r}");
    drop(ro);
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    let r = c.call(
        "server_add",
        json!({"alias": "ro", "host": "127.0.0.1", "port": sshd.port(), "user": sshd.user(),
            "keyPath": sshd.keys().ed25519.display().to_string(), "readonly": true}),
    );
    assert_eq!(r["isError"], false, "{r}");
    let r = c.call("shell_create", json!({"alias": "ro"}));
    assert_eq!(sc(&r)["error"]["code"], "READ_ONLY", "{r}");
}

#[test]
fn sessions_outlive_the_mcp_server_and_close_when_idle() {
    let sshd = Sshd::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display().to_string();
    let env = [("MCP_TOOLSETS", "all"), ("MCP_DATA_DIR", dir.as_str()), ("SHELL_IDLE_TIMEOUT_S", "6")];
    let mut a = Client::start(&env);
    a.add_server(&sshd, "web");
    let r = a.call("shell_create", json!({"alias": "web"}));
    let id = sc(&r)["sessionId"].as_str().unwrap().to_string();
    exec(&mut a, &id, "export FROM_A=1");
    a.kill();
    let mut b = Client::start(&env);
    let r = exec(&mut b, &id, "echo $FROM_A");
    assert_eq!(stdout(&r), "1\n", "the runner kept the session: {r}");
    // Unused for SHELL_IDLE_TIMEOUT_S, it is closed.
    let mut gone = false;
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let r = b.call("shell_list", json!({}));
        if sc(&r)["sessions"].as_array().unwrap().is_empty() {
            gone = true;
            break;
        }
    }
    assert!(gone, "the idle session was closed");
}
