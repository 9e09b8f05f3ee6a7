//! The console end to end, in a real terminal: tmux runs `sshdeck`, another process submits a job,
//! and the screen (read with `capture-pane`) shows it appear and complete. Needs tmux.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sshdeck_testkit::Sshd;
use support::Cli;

#[path = "support/cli.rs"]
mod support;

struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).stderr(Stdio::null()).status();
    }
}

fn screen(session: &str) -> String {
    let out = Command::new("tmux").args(["capture-pane", "-p", "-t", session]).output().expect("tmux capture-pane");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(session: &str, what: &dyn Fn(&str) -> bool, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = screen(session);
        if what(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "timed out waiting; screen:\n{s}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Types `keys` into the session (tmux `send-keys` arguments: key names, or `-l` and literal text).
fn send_keys(session: &str, keys: &[&str]) {
    assert!(Command::new("tmux").args(["send-keys", "-t", session]).args(keys).status().unwrap().success());
}

/// Presses `q` and waits for the program (and so the session) to end.
fn quit(session: &str) {
    Command::new("tmux").args(["send-keys", "-t", session, "q"]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Command::new("tmux")
        .args(["has-session", "-t", session])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(Instant::now() < deadline, "the console did not quit on q");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_job_from_another_process_appears_and_completes_on_screen() {
    assert!(
        Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success()),
        "tmux is needed for this test (apt-get install tmux)"
    );
    let sshd = Sshd::start().unwrap();
    let (cli, bin) = (Cli::new(), env!("CARGO_BIN_EXE_sshdeck"));
    let data = &cli.data;
    cli.add_key_server("web", &sshd);

    let name = format!("sshdeck-e2e-{}", std::process::id());
    let session = Session(name.clone());
    let console = format!("env MCP_DATA_DIR={} {bin}", data.path().display());
    let st = Command::new("tmux")
        .args(["new-session", "-d", "-s", &name, "-x", "120", "-y", "30", &console])
        .status()
        .unwrap();
    assert!(st.success());
    wait_for(&name, &|s| s.contains("No jobs yet"), 10);

    let out = cli.run(&["exec", "web", "--detach", "--", "sleep 1.5; echo from-e2e"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let row = |s: &str, status: &str| s.lines().any(|l| l.contains(&id) && l.contains(status));
    wait_for(&name, &|s| row(s, "running"), 5);
    let s = wait_for(&name, &|s| row(s, "completed"), 10);
    assert!(s.contains("sleep 1.5; echo from-e2e"), "{s}");

    // Open it: the output is on screen.
    Command::new("tmux").args(["send-keys", "-t", &name, "Enter"]).status().unwrap();
    wait_for(&name, &|s| s.contains("from-e2e") && s.contains("Output"), 5);

    // q quits and gives the terminal back.
    Command::new("tmux").args(["send-keys", "-t", &name, "Escape"]).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    quit(&name);
    drop(session);
}

#[test]
fn demo_starts_its_own_server_runs_jobs_and_opens_the_console() {
    assert!(Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success()), "tmux is needed");
    let name = format!("sshdeck-demo-{}", std::process::id());
    let session = Session(name.clone());
    let st = Command::new("tmux")
        .args(["new-session", "-d", "-s", &name, "-x", "120", "-y", "30", env!("CARGO_BIN_EXE_sshdeck"), "demo"])
        .status()
        .unwrap();
    assert!(st.success());
    // The demo's jobs: three that complete, one that fails, one that runs on.
    wait_for(
        &name,
        &|s| s.contains("/5)") && s.matches("completed").count() >= 3 && s.contains("failed") && s.contains("running"),
        20,
    );
    quit(&name);
    drop(session);
}

#[test]
fn a_job_started_in_the_console_goes_on_after_quit_and_the_console_says_so() {
    assert!(Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success()), "tmux is needed");
    let sshd = Sshd::start().unwrap();
    let (cli, bin) = (Cli::new(), env!("CARGO_BIN_EXE_sshdeck"));
    let data = &cli.data;
    cli.add_key_server("web", &sshd);
    let name = format!("sshdeck-goes-on-{}", std::process::id());
    let session = Session(name.clone());
    let said = data.path().join("console-stderr.txt");
    let console = format!("env MCP_DATA_DIR={} {bin} 2>{}", data.path().display(), said.display());
    let st = Command::new("tmux")
        .args(["new-session", "-d", "-s", &name, "-x", "160", "-y", "30", &console])
        .status()
        .unwrap();
    assert!(st.success());
    wait_for(&name, &|s| s.contains("No jobs yet"), 10);
    let keys = |k: &[&str]| send_keys(&name, k);
    keys(&["x"]);
    keys(&["-l", "for i in 1 2 3 4 5 6 7 8; do echo c$i; sleep 0.25; done"]);
    keys(&["Enter"]);
    keys(&["y"]);
    wait_for(&name, &|s| s.lines().any(|l| l.contains("running") && l.contains("for i in")), 5);
    quit(&name);
    let said = std::fs::read_to_string(&said).unwrap();
    assert!(said.starts_with("1 job started here is still running; it goes on in the background runner"), "{said}");

    // The job completes with its whole output, though the console that started it is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = cli.run(&["jobs", "list", "--json", "--status", "completed"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(id) = v["jobs"][0]["id"].as_str() {
            break cli.run(&["jobs", "logs", id]);
        }
        assert!(Instant::now() < deadline, "the job did not complete: {v}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let want: String = (1..=8).map(|i| format!("c{i}\n")).collect();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    drop(session);
}

#[test]
fn ssh_opens_a_login_shell_on_a_terminal_that_follows_resizes_and_returns_its_exit_status() {
    assert!(Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success()), "tmux is needed");
    let sshd = Sshd::start().unwrap();
    let (cli, bin) = (Cli::new(), env!("CARGO_BIN_EXE_sshdeck"));
    let data = &cli.data;
    cli.add_key_server("web", &sshd);
    // -t: the command runs on a terminal even without one here (through the runner or not).
    for mode in ["shared", "inprocess"] {
        let out = cli.cmd(&["exec", "-t", "web", "--", "tty"]).env("RUNNER_MODE", mode).output().unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("/dev/pts/"), "{mode}: {out:?}");
    }

    let name = format!("sshdeck-ssh-{}", std::process::id());
    let session = Session(name.clone());
    let status = data.path().join("status.txt");
    let shell = format!(
        "env MCP_DATA_DIR={} {bin} ssh web; echo \"exit=$?\" > {}; sleep 5",
        data.path().display(),
        status.display()
    );
    let st = Command::new("tmux")
        .args(["new-session", "-d", "-s", &name, "-x", "100", "-y", "30", "sh", "-c", &shell])
        .status()
        .unwrap();
    assert!(st.success());
    let keys = |k: &[&str]| send_keys(&name, k);
    // A prompt, then a command typed key by key and its output.
    wait_for(&name, &|s| s.lines().any(|l| l.trim_end().ends_with('$') || l.trim_end().ends_with('#')), 10);
    keys(&["-l", "echo hi-$((6*7))"]);
    keys(&["Enter"]);
    wait_for(&name, &|s| s.lines().any(|l| l.trim() == "hi-42"), 5);
    keys(&["-l", "stty size"]);
    keys(&["Enter"]);
    wait_for(&name, &|s| s.lines().any(|l| l.trim() == "30 100"), 5);
    // The window grows: the remote terminal follows.
    Command::new("tmux").args(["resize-window", "-t", &name, "-x", "120", "-y", "40"]).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    keys(&["-l", "stty size"]);
    keys(&["Enter"]);
    wait_for(&name, &|s| s.lines().any(|l| l.trim() == "40 120"), 5);
    keys(&["-l", "exit 3"]);
    keys(&["Enter"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !status.exists() {
        assert!(Instant::now() < deadline, "the session did not end: {}", screen(&name));
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(std::fs::read_to_string(&status).unwrap().trim(), "exit=3");
    // Recorded as a job (where, when, exit), its keystrokes and screen never written down.
    let out = cli.run(&["jobs", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = v["jobs"].as_array().unwrap().iter().find(|j| j["command"] == "(login shell)").unwrap().clone();
    assert_eq!(job["exitCode"], 3, "{job}");
    let id = job["id"].as_str().unwrap();
    let log = data.path().join("jobs").join(format!("{id}.log"));
    assert!(std::fs::read(&log).map(|b| b.is_empty()).unwrap_or(true), "no output kept");
    drop(session);
}

#[test]
fn a_fan_out_from_the_console_opens_one_host_and_a_job_is_cancelled_with_the_dialog() {
    assert!(Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success()), "tmux is needed");
    let sshd = Sshd::start().unwrap();
    let (cli, bin) = (Cli::new(), env!("CARGO_BIN_EXE_sshdeck"));
    let data = &cli.data;
    for alias in ["web1", "web2"] {
        cli.add_key_server(alias, &sshd);
        let out = cli.run(&["servers", "edit", alias, "--tag", "web"]);
        assert!(out.status.success(), "{out:?}");
    }
    let name = format!("sshdeck-fleet-{}", std::process::id());
    let session = Session(name.clone());
    let console = format!("env MCP_DATA_DIR={} {bin}", data.path().display());
    let st = Command::new("tmux")
        .args(["new-session", "-d", "-s", &name, "-x", "160", "-y", "40", &console])
        .status()
        .unwrap();
    assert!(st.success());
    wait_for(&name, &|s| s.contains("No jobs yet"), 10);
    let keys = |k: &[&str]| send_keys(&name, k);
    // x: the form starts on the command; Tab to the server field, replace it with tag:web.
    keys(&["x", "Tab"]);
    for _ in 0..8 {
        keys(&["BSpace"]);
    }
    keys(&["-l", "tag:web"]);
    keys(&["Tab"]);
    keys(&["-l", "echo fan-$((2+3)) from $(hostname)"]);
    keys(&["Enter"]);
    keys(&["y"]);
    // The fan-out's row in the table (its targets joined), finished.
    wait_for(&name, &|s| s.lines().any(|l| l.contains("completed") && l.contains("web1,web2")), 10);
    keys(&["g", "Enter"]);
    wait_for(&name, &|s| s.contains("Hosts: 2/2 done") && s.contains("grouped"), 10);
    keys(&["j", "Enter"]);
    wait_for(&name, &|s| s.contains("fan-5 from") && s.contains("target  web2"), 10);
    keys(&["Escape"]);
    wait_for(&name, &|s| s.contains("Hosts: 2/2 done"), 5);
    keys(&["Escape"]);

    // A long job, cancelled through the dialog (Cancel is the default: move to Confirm first).
    keys(&["x"]);
    keys(&["-l", "sleep 33.1"]);
    keys(&["Enter", "y"]);
    wait_for(&name, &|s| s.lines().any(|l| l.contains("sleep 33.1") && l.contains("running")), 10);
    keys(&["g", "c"]);
    wait_for(&name, &|s| s.contains("Cancel this job?") && s.contains("Confirm"), 5);
    keys(&["Right", "Enter"]);
    wait_for(&name, &|s| s.lines().any(|l| l.contains("sleep 33.1") && l.contains("cancelled")), 10);
    quit(&name);
    drop(session);
}
