//! The `sshdeck` binary end to end, against a real sshd.

use std::path::Path;
use std::process::{Command, Output, Stdio};

#[path = "support/cli.rs"]
mod support;

use sshdeck_testkit::{KEY_PASSPHRASE, Sshd};
use support::{Cli, text};

#[test]
fn servers_add_list_remove() {
    let cli = Cli::new();
    let out = cli.run(&[
        "servers",
        "add",
        "web1",
        "--host",
        "10.0.0.5",
        "--user",
        "deploy",
        "--tag",
        "web",
        "--port",
        "2222",
        "--no-connect",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cli.run(&["servers", "list"]);
    let listing = text(&out.stdout);
    assert!(listing.contains("web1") && listing.contains("deploy@10.0.0.5:2222"), "{listing}");

    let out = cli.run(&["servers", "add", "web1", "--host", "h", "--user", "u"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(text(&out.stderr).starts_with("error[ALREADY_EXISTS]"), "{}", text(&out.stderr));

    let out = cli.run(&["servers", "add", "bad alias", "--host", "h", "--user", "u"]);
    assert!(text(&out.stderr).starts_with("error[INVALID_ARGUMENT]") && text(&out.stderr).contains("alias"));

    let out = cli.run(&["servers", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["alias"], "web1");
    assert_eq!(v[0]["tags"][0], "web");

    assert!(cli.run(&["servers", "remove", "web1"]).status.success());
    let out = cli.run(&["servers", "remove", "web1"]);
    assert!(text(&out.stderr).starts_with("error[NOT_FOUND]"), "{}", text(&out.stderr));
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(cli.data.path()).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn imports_ssh_config_and_node_json() {
    let cli = Cli::new();
    let cfg = cli.cwd.path().join("ssh_config");
    std::fs::write(&cfg, "Host web1\n  HostName 10.1.0.11\n  User ops\n  Port 2200\n\nHost *\n  User fallback\n")
        .unwrap();
    let out = cli.run(&["servers", "import-ssh-config", "--file", cfg.to_str().unwrap()]);
    assert!(text(&out.stdout).contains("added 1"), "{}{}", text(&out.stdout), text(&out.stderr));

    let json = cli.cwd.path().join("servers.json");
    std::fs::write(
        &json,
        r#"{"prod_vps":{"host":"192.0.2.10","user":"admin","password":"Node-Pass-77"},"web1":{"host":"h","user":"u"}}"#,
    )
    .unwrap();
    let out = cli.run(&["servers", "import-json", json.to_str().unwrap()]);
    let report = text(&out.stdout);
    assert!(report.contains("added 1") && report.contains("skipped 1") && report.contains("web1"), "{report}");
    let out = cli.run(&["servers", "list", "--json"]);
    let listing = text(&out.stdout);
    assert!(
        listing.contains("\"prod_vps\"") && listing.contains("10.1.0.11") && listing.contains("\"auth\": \"password\"")
    );
    assert!(!listing.contains("Node-Pass-77"), "{listing}");
}

#[test]
fn exec_streams_output_and_returns_the_exit_code() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("t", &sshd);
    let out = cli.run(&["exec", "t", "--", "echo", "to-out;", "echo to-err >&2;", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(text(&out.stdout), "to-out\n");
    assert_eq!(text(&out.stderr), "to-err\n");

    let out = cli.run(&["exec", "t", "--json", "--", "printf hi; exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["ok"].as_bool(), v["exitCode"].as_u64(), v["stdout"].as_str()), (Some(false), Some(3), Some("hi")));
    assert_eq!(v["status"], "failed");
    assert_eq!(v["id"].as_str().map(str::len), Some(13));

    let file = sshd.scratch().join("cli-timeout");
    let cmd = format!("sleep 3; touch {}", file.display());
    let out = cli.run(&["exec", "t", "--timeout", "1", "--", &cmd]);
    assert_eq!(out.status.code(), Some(124));
    assert!(text(&out.stderr).starts_with("error[COMMAND_TIMEOUT]"), "{}", text(&out.stderr));
    std::thread::sleep(std::time::Duration::from_millis(3500));
    assert!(!file.exists());

    let out = cli.run(&["exec", "missing", "--json", "--", "true"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "NOT_FOUND");
}

/// Every file under `dir` except the registry (which must hold the secrets, mode 0600).
fn files_except_registry(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        if e.file_name().is_some_and(|n| n == "servers.json") {
            let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&e).unwrap().permissions());
            assert_eq!(mode & 0o777, 0o600);
            continue;
        }
        out.push((e.display().to_string(), text(&std::fs::read(&e).unwrap())));
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            v.extend(walk(&e.path()));
        } else if e.path().is_file() {
            // files only: the runner's socket holds no data
            v.push(e.path());
        }
    }
    v
}

#[test]
fn no_secret_in_output_errors_or_logs() {
    let sshd = Sshd::builder().password_auth().start().unwrap();
    let password = sshd.password().expect("password tests need the harness to run as root (as CI does)");
    let cli = Cli::new();
    let port = sshd.port().to_string();
    let wrong_pw = "Wrong-Pass-Zebra-91";
    let wrong_phrase = "Wrong-Phrase-Otter-42";
    let enc = sshd.keys().encrypted.display().to_string();
    let trace = [("LOG_LEVEL", "trace"), ("MCP_DEBUG", "true")];
    let add = |alias: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["servers", "add", alias, "--host", "127.0.0.1", "--port", &port, "--user", sshd.user()];
        args.extend_from_slice(extra);
        let mut c = cli.cmd(&args);
        c.envs(env.iter().copied()).envs(trace);
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        out
    };
    let mut outputs = vec![
        add("good", &["--password-env", "PW"], &[("PW", password)]),
        add("badpw", &["--password-env", "PW"], &[("PW", wrong_pw)]),
        add("goodkey", &["--key", &enc, "--passphrase-env", "PP"], &[("PP", KEY_PASSPHRASE)]),
        add("badkey", &["--key", &enc, "--passphrase-env", "PP"], &[("PP", wrong_phrase)]),
    ];
    let mut c = cli.cmd(&[
        "servers",
        "add",
        "stdin",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--user",
        sshd.user(),
        "--password-stdin",
    ]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{password}\n").as_bytes()).unwrap();
    outputs.push(child.wait_with_output().unwrap());

    for (alias, want) in [("good", 0), ("stdin", 0), ("goodkey", 0), ("badpw", 255), ("badkey", 255)] {
        for json in [false, true] {
            let mut args = vec!["exec", alias];
            if json {
                args.push("--json");
            }
            args.extend(["--", "echo ran"]);
            let mut c = cli.cmd(&args);
            c.envs(trace);
            let out = c.output().unwrap();
            assert_eq!(out.status.code(), Some(want), "{alias}: {}", text(&out.stderr));
            outputs.push(out);
        }
    }
    outputs.push(cli.run(&["servers", "list"]));
    outputs.push(cli.run(&["servers", "list", "--json"]));
    outputs.push(cli.run(&["settings"]));

    let registry = std::fs::read_to_string(cli.data.path().join("servers.json")).unwrap();
    assert!(registry.contains(wrong_pw), "the registry itself keeps the secret (0600)");
    let logs = files_except_registry(cli.data.path());
    assert!(logs.iter().any(|(p, t)| p.contains("logs") && t.contains("AUTH_FAILED")), "logs were written: {logs:?}");
    assert!(logs.iter().any(|(p, _)| p.ends_with("journal.jsonl")), "the journal is searched too");
    for secret in [password, wrong_pw, KEY_PASSPHRASE, wrong_phrase] {
        for o in &outputs {
            assert!(!text(&o.stdout).contains(secret) && !text(&o.stderr).contains(secret), "secret leaked in output");
        }
        for (path, content) in &logs {
            assert!(!content.contains(secret), "secret leaked into {path}");
        }
    }
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

fn wait_status(cli: &Cli, id: &str, want: &str) -> serde_json::Value {
    for _ in 0..100 {
        let v = json_of(&cli.run(&["jobs", "show", id, "--json"]));
        if v["status"] == want {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("job {id} never became {want}");
}

#[test]
fn detached_jobs_can_be_followed_cancelled_and_retried() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("t", &sshd);

    // --detach returns at once with an id; the job goes on in a background sshdeck.
    let out = cli.run(&["exec", "t", "--detach", "--", "for i in 1 2 3; do echo line$i; sleep 0.3; done"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    assert_eq!(id.len(), 13, "{id:?}");
    let follow = cli.run(&["jobs", "logs", &id, "--follow"]);
    assert_eq!(text(&follow.stdout), "line1\nline2\nline3\n");
    let v = wait_status(&cli, &id, "completed");
    assert_eq!(v["origin"], "cli");
    assert_eq!(v["outputTail"], "line1\nline2\nline3\n");

    // Cancel from this process a job run by the background one: the remote command dies.
    let file = sshd.scratch().join("cli-cancelled");
    let cmd = format!("sleep 3; touch {}", file.display());
    let id = text(&cli.run(&["exec", "t", "--detach", "--", &cmd]).stdout).trim().to_string();
    wait_status(&cli, &id, "running");
    let out = cli.run(&["jobs", "cancel", &id, "--json"]);
    assert_eq!(json_of(&out)["ok"], true);
    wait_status(&cli, &id, "cancelled");
    std::thread::sleep(std::time::Duration::from_millis(3200));
    assert!(!file.exists());

    // Retry runs it again as a new attempt, once.
    let failing = cli.run(&["exec", "t", "--json", "--", "echo try; exit 5"]);
    let first = json_of(&failing)["id"].as_str().unwrap().to_string();
    let out = cli.run(&["jobs", "retry", &first]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(5), "try\n".to_string()));
    let out = cli.run(&["jobs", "retry", &first]);
    assert!(text(&out.stderr).starts_with("error[ALREADY_RETRIED]"), "{}", text(&out.stderr));
    let shown = json_of(&cli.run(&["jobs", "show", &first, "--json"]));
    assert!(shown["retriedBy"].is_string());

    let list = json_of(&cli.run(&["jobs", "list", "--status", "failed", "--json"]));
    assert_eq!(list["total"], 2, "{list}");
    let stats = json_of(&cli.run(&["jobs", "stats", "--json"]));
    assert_eq!(stats["by_status"]["completed"], 1);
    assert_eq!(stats["by_status"]["cancelled"], 1);
    let out = cli.run(&["jobs", "show", "zzzzzzzzzzzzz"]);
    assert!(text(&out.stderr).starts_with("error[NOT_FOUND]"), "{}", text(&out.stderr));
    let out = cli.run(&["jobs", "show", "nope"]);
    assert!(text(&out.stderr).starts_with("error[INVALID_ARGUMENT]"), "{}", text(&out.stderr));
}

#[test]
fn put_and_get() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("t", &sshd);
    let a = cli.cwd.path().join("a.txt");
    let b = cli.cwd.path().join("b.txt");
    std::fs::write(&a, "A").unwrap();
    std::fs::write(&b, "B").unwrap();
    let remote = format!("{}/in/", sshd.scratch().display());
    let out = cli.run(&["put", "t", a.to_str().unwrap(), b.to_str().unwrap(), &remote]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).starts_with("2 ok, 0 skipped, 0 failed, 2 bytes"), "{}", text(&out.stdout));
    assert_eq!(std::fs::read_to_string(sshd.scratch().join("in/b.txt")).unwrap(), "B");

    let out = cli.run(&["put", "t", a.to_str().unwrap(), &remote]);
    assert_eq!(out.status.code(), Some(255), "one file onto an existing one is refused");
    assert!(
        text(&out.stderr).contains("ALREADY_EXISTS") && text(&out.stderr).contains("force"),
        "{}",
        text(&out.stderr)
    );
    // Several files: the existing ones are skipped and counted.
    let out = cli.run(&["put", "t", a.to_str().unwrap(), b.to_str().unwrap(), &remote]);
    assert!(text(&out.stdout).contains("2 skipped") && text(&out.stdout).contains("force"), "{}", text(&out.stdout));

    let dest = cli.cwd.path().join("dl");
    std::fs::create_dir(&dest).unwrap();
    let glob = format!("{}/in/*.txt", sshd.scratch().display());
    let out = cli.run(&["get", "t", &glob, dest.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["ok"].as_bool(), v["transfer"]["ok"].as_u64()), (Some(true), Some(2)), "{v}");
    assert_eq!(std::fs::read_to_string(dest.join("a.txt")).unwrap(), "A");

    let out = cli.run(&["get", "t", "/nonexistent/x", dest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("[NOT_FOUND]"), "{}", text(&out.stdout));
}

#[test]
fn exec_fans_out_over_a_list_and_groups_identical_output() {
    let (a, b) = (Sshd::start().unwrap(), Sshd::start().unwrap());
    let cli = Cli::new();
    cli.add_key_server("w1", &a);
    cli.add_key_server("w2", &b);
    cli.add_key_server("w3", &a);
    let out = cli.run(&["exec", "w1,w2,w3", "--", "echo same"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    for alias in ["w1", "w2", "w3"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(alias) && l.contains("completed") && l.contains("exit 0")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("--- 3 of 3 ok"), "{stdout}");
    assert!(stdout.contains("=== w1, w2, w3 (completed):\nsame\n"), "{stdout}");

    let out = cli.run(&["exec", "w1,w2", "--json", "--", "test $(id -u) -lt 0"]);
    assert_eq!(out.status.code(), Some(1), "a failed host fails the fan-out");
    let v = json_of(&out);
    assert_eq!(v["fleet"]["failed"], 2, "{v}");
    assert_eq!(v["hosts"].as_array().unwrap().len(), 2, "{v}");
    // `jobs show` of a fan-out lists its hosts and how to read each one's output.
    let parent =
        json_of(&cli.run(&["jobs", "list", "--json", "--limit", "1"]))["jobs"][0]["id"].as_str().unwrap().to_string();
    let shown = text(&cli.run(&["jobs", "show", &parent]).stdout);
    assert!(shown.contains("hosts (2):") && shown.matches("sshdeck jobs logs ").count() == 2, "{shown}");
    let shown = json_of(&cli.run(&["jobs", "show", &parent, "--json"]));
    assert_eq!(shown["hosts"].as_array().unwrap().len(), 2, "{shown}");
    // Per-host jobs stay out of `jobs list` (their fan-out stands for them); --all shows them.
    let parents = json_of(&cli.run(&["jobs", "list", "--json"]));
    assert_eq!(parents["total"], 2, "{parents}");
    let all = json_of(&cli.run(&["jobs", "list", "--all", "--json"]));
    assert_eq!(all["total"], 7, "2 fan-outs and their 5 hosts: {all}");
    let table = text(&cli.run(&["jobs", "list", "--all"]).stdout);
    let header = table.lines().next().unwrap();
    let exit_col = header.find("EXIT").unwrap();
    for line in table.lines().skip(1).filter(|l| l.contains(" failed ") || l.contains(" completed ")) {
        assert!(line.len() > exit_col && line[..exit_col].ends_with("  "), "columns aligned:\n{table}");
    }
    let out = cli.run(&["exec", "group:nope", "--", "true"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("NOT_FOUND") || text(&out.stderr).contains("not found"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn mcp_config_and_one_data_dir_without_configuration() {
    // A home with only a Node orchestrator data dir: sshdeck says how to use it, then uses its own
    // default, the same one sshdeck-mcp uses (printed by mcp-config).
    let home = tempfile::tempdir().unwrap();
    let node = home.path().join(".config/mcp-orchestrator");
    std::fs::create_dir_all(&node).unwrap();
    std::fs::write(node.join("servers.json"), "{}").unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sshdeck"))
            .args(args)
            .current_dir(cwd.path())
            .env("HOME", home.path())
            .env_remove("MCP_DATA_DIR")
            .env_remove("XDG_CONFIG_HOME")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&["mcp-config"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let hint = text(&out.stderr);
    assert!(
        hint.contains("mcp-orchestrator") && hint.contains("MCP_DATA_DIR=") && hint.contains("import-json"),
        "{hint}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = home.path().join(".config/sshdeck");
    assert_eq!(v["mcpServers"]["sshdeck"]["env"]["MCP_DATA_DIR"], ours.display().to_string(), "{v}");
    assert!(v["mcpServers"]["sshdeck"]["command"].as_str().unwrap().ends_with("sshdeck-mcp"), "{v}");
    // Once sshdeck's own data dir exists, nothing more is said.
    assert!(run(&["servers", "list"]).status.success());
    assert!(ours.is_dir());
    assert!(!text(&run(&["servers", "list"]).stderr).contains("mcp-orchestrator"));
}

#[test]
fn no_time_limit_unless_asked_and_job_ids_by_prefix() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("t", &sshd);
    // The MCP default (here 1 s) does not apply to the CLI: like ssh, no limit unless asked.
    let out = cli
        .cmd(&["exec", "t", "--", "sleep 1.5; echo done"])
        .env("MCP_DEFAULT_CMD_TIMEOUT_MS", "1000")
        .output()
        .unwrap();
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "done\n".to_string()), "{}", text(&out.stderr));
    let out = cli.run(&["exec", "t", "--timeout", "0", "--", "sleep 0.3; echo zero"]);
    assert_eq!(text(&out.stdout), "zero\n", "0 means no limit");
    let out = cli.run(&["exec", "t", "--timeout", "1", "--", "sleep 5"]);
    assert_eq!(out.status.code(), Some(124));

    let out = cli.run(&["jobs", "list", "--json", "--limit", "1"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["jobs"][0]["id"].as_str().unwrap().to_string();
    let out = cli.run(&["jobs", "show", &id[..5], "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["id"], id.as_str());
    let out = cli.run(&["jobs", "logs", &id[..4].to_uppercase()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cli.run(&["jobs", "show", &id[..3]]);
    assert!(
        text(&out.stderr).contains("INVALID_ARGUMENT") && text(&out.stderr).contains("4 or more"),
        "{}",
        text(&out.stderr)
    );
    let out = cli.run(&["jobs", "show", "zzzzzz"]);
    assert!(text(&out.stderr).contains("NOT_FOUND"), "{}", text(&out.stderr));
}

#[test]
fn mistakes_get_one_clear_message() {
    let cli = Cli::new();
    let out = cli.run(&[
        "servers",
        "add",
        "web",
        "--host",
        "127.0.0.1",
        "--user",
        "u",
        "--password-env",
        "SSHDECK_NO_SUCH_VAR",
    ]);
    let err = text(&out.stderr);
    assert!(err.starts_with("error[INVALID_ARGUMENT]") && err.contains("SSHDECK_NO_SUCH_VAR"), "{err}");
    let out = cli.run(&["servers", "add", "bad alias", "--host", "h", "--user", "u"]);
    assert!(!text(&out.stderr).contains("invalid argument: "), "no doubled words: {}", text(&out.stderr));
    let out = cli.run(&["exec", "web", "hostname"]);
    assert!(text(&out.stderr).contains("after `--`"), "{}", text(&out.stderr));
    let out = cli.run(&["demo"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(text(&out.stderr).contains("terminal") && !text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
}

#[test]
fn completions_and_man_pages_are_generated_from_the_definitions() {
    let cli = Cli::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = cli.run(&["completions", shell]);
        let script = text(&out.stdout);
        assert!(out.status.success() && script.contains("sshdeck") && script.contains("import-ssh-config"), "{shell}");
    }
    let dir = cli.cwd.path().join("man1");
    let out = cli.run(&["man", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exec = std::fs::read_to_string(dir.join("sshdeck-exec.1")).unwrap();
    assert!(exec.contains(".TH sshdeck-exec 1") && exec.contains("timeout"), "{exec}");
    assert!(dir.join("sshdeck-jobs-list.1").exists() && dir.join("sshdeck.1").exists());
    // The console-only flag stays out of the other commands' help.
    let help = text(&cli.run(&["exec", "--help"]).stdout);
    assert!(help.contains("--timeout") && !help.contains("--readonly"), "{help}");
}

#[test]
fn servers_show_test_and_unknown_jumps() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("t", &sshd);
    let out = cli.run(&["servers", "add", "down", "--host", "127.0.0.1", "--port", "9", "--user", "u"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cli.run(&["servers", "show", "t"]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!("{}@127.0.0.1:{}", sshd.user(), sshd.port()))
            && shown.contains("password       not set"),
        "{shown}"
    );
    let out = cli.run(&["servers", "test", "t"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("1 of 1 ok"));
    let out = cli.run(&["servers", "test", "all", "--json", "--timeout", "5"]);
    assert_eq!(out.status.code(), Some(1), "one server is down");
    let rows = json_of(&out);
    let down = rows.as_array().unwrap().iter().find(|r| r["alias"] == "down").unwrap().clone();
    assert_eq!(
        (down["ok"].as_bool(), down["error"]["code"].as_str()),
        (Some(false), Some("CONNECTION_FAILED")),
        "{rows}"
    );
    let out =
        cli.run(&["servers", "add", "inner", "--host", "10.0.0.9", "--user", "u", "--proxy-jump", "nosuchbastion"]);
    assert!(
        text(&out.stderr).contains("INVALID_ARGUMENT") && text(&out.stderr).contains("nosuchbastion"),
        "{}",
        text(&out.stderr)
    );
    let out =
        cli.run(&["servers", "add", "inner", "--host", "10.0.0.9", "--user", "u", "--proxy-jump", "t", "--no-connect"]);
    assert!(out.status.success(), "a registered bastion is fine: {}", text(&out.stderr));
}

#[test]
fn settings_say_where_each_value_came_from() {
    let cli = Cli::new();
    std::fs::write(cli.cwd.path().join(".env"), "FLEET_CONCURRENCY=9\n").unwrap();
    std::fs::write(cli.data.path().join("config.toml"), "idle_timeout = 60000\n").unwrap();
    let out = cli.cmd(&["settings", "--json"]).env("MAX_CONNECTIONS_PER_SERVER", "7").output().unwrap();
    let v = json_of(&out);
    let row = |name: &str| v["settings"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap().clone();
    assert_eq!(
        (row("MAX_CONNECTIONS_PER_SERVER")["value"].as_str(), row("MAX_CONNECTIONS_PER_SERVER")["source"].as_str()),
        (Some("7"), Some("environment"))
    );
    assert_eq!(row("FLEET_CONCURRENCY")["value"], "9");
    assert!(row("FLEET_CONCURRENCY")["source"].as_str().unwrap().ends_with(".env"));
    assert!(row("IDLE_TIMEOUT")["source"].as_str().unwrap().ends_with("config.toml"), "{}", row("IDLE_TIMEOUT"));
    assert_eq!(
        (row("MAX_QUEUE_SIZE")["value"].as_str(), row("MAX_QUEUE_SIZE")["source"].as_str()),
        (Some("1000"), Some("defaults"))
    );
    let table = text(&cli.run(&["settings"]).stdout);
    assert!(table.contains("FLEET_CONCURRENCY") && table.contains("SOURCE"), "{table}");
}

#[test]
fn targets_as_ssh_takes_them() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    let key = sshd.keys().ed25519.display().to_string();
    let port = sshd.port().to_string();
    // [user@]host[:port] with -i, and with -l -p.
    let dest = format!("{}@127.0.0.1:{}", sshd.user(), sshd.port());
    let out = cli.run(&["exec", &dest, "-i", &key, "--", "id -un"]);
    assert_eq!(text(&out.stdout), format!("{}\n", sshd.user()), "{}", text(&out.stderr));
    let out = cli.run(&["exec", "127.0.0.1", "-l", sshd.user(), "-p", &port, "-i", &key, "--", "echo flags"]);
    assert_eq!(text(&out.stdout), "flags\n", "{}", text(&out.stderr));
    // A Host of ~/.ssh/config, found through an Include.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".ssh/conf.d")).unwrap();
    std::fs::write(home.path().join(".ssh/config"), "Include conf.d/*\n\nHost *\n  User nobody-else\n").unwrap();
    std::fs::write(
        home.path().join(".ssh/conf.d/lab"),
        format!("Host lab\n  HostName 127.0.0.1\n  Port {port}\n  User {}\n  IdentityFile {key}\n", sshd.user()),
    )
    .unwrap();
    let out = cli.cmd(&["exec", "lab", "--", "echo from-config"]).env("HOME", home.path()).output().unwrap();
    assert_eq!(text(&out.stdout), "from-config\n", "{}", text(&out.stderr));
    let local = cli.cwd.path().join("up.txt");
    std::fs::write(&local, "up").unwrap();
    let remote = format!("{}/up.txt", sshd.scratch().display());
    let out = cli.cmd(&["put", "lab", local.to_str().unwrap(), &remote]).env("HOME", home.path()).output().unwrap();
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&remote).unwrap(), "up");
    // Registered aliases win, and take no -l/-p/-i; a bare unknown word is a missing server.
    cli.add_key_server("t", &sshd);
    let out = cli.run(&["exec", "t", "-p", "2222", "--", "true"]);
    assert!(text(&out.stderr).contains("INVALID_ARGUMENT"), "{}", text(&out.stderr));
    let out = cli.run(&["exec", "nosuchhost", "--", "true"]);
    assert!(
        text(&out.stderr).contains("NOT_FOUND") && text(&out.stderr).contains("ssh/config"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn import_ssh_config_follows_include_and_says_what_it_skipped() {
    let cli = Cli::new();
    let extra = cli.cwd.path().join("extra.conf");
    std::fs::write(&extra, "Host db1\n  HostName 10.1.0.21\n  User dba\n").unwrap();
    let cfg = cli.cwd.path().join("ssh_config");
    std::fs::write(
        &cfg,
        format!("Include {}\n\nHost web1\n  HostName 10.1.0.11\n\nHost *.corp\n  User x\n", extra.display()),
    )
    .unwrap();
    let out = cli.run(&["servers", "import-ssh-config", "--file", cfg.to_str().unwrap()]);
    assert!(text(&out.stdout).contains("added 2"), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("Host *.corp: a pattern"), "{}", text(&out.stderr));
    let listing = text(&cli.run(&["servers", "list"]).stdout);
    assert!(listing.contains("dba@10.1.0.21") && listing.contains("10.1.0.11"), "{listing}");
}

#[test]
fn servers_add_shows_the_host_key_it_learned_and_edit_changes_only_what_is_given() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    let port = sshd.port().to_string();
    let key = sshd.keys().ed25519.display().to_string();
    let out = cli.run(&[
        "servers",
        "add",
        "web",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--user",
        sshd.user(),
        "--key",
        &key,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The fingerprint ssh-keygen gives for the daemon's host key.
    let pubfile = cli.cwd.path().join("host.pub");
    std::fs::write(&pubfile, sshd.host_public_key()).unwrap();
    let kg = std::process::Command::new("ssh-keygen").arg("-lf").arg(&pubfile).output().unwrap();
    let fp = text(&kg.stdout).split_whitespace().nth(1).unwrap().to_string();
    assert!(fp.starts_with("SHA256:"), "{}", text(&kg.stdout));
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!("host key of 127.0.0.1:{port}: ssh-ed25519 {fp}"))
            && shown.contains("connected to web"),
        "{shown}"
    );
    // --no-connect: registered, nothing learned or shown.
    let out =
        cli.run(&["servers", "add", "later", "--host", "127.0.0.1", "--port", "9", "--user", "u", "--no-connect"]);
    assert_eq!(text(&out.stdout), "added later\n");
    // A server that cannot be reached is still registered, with a warning.
    let out = cli.run(&["servers", "add", "down", "--host", "127.0.0.1", "--port", "9", "--user", "u"]);
    assert!(out.status.success() && text(&out.stderr).contains("warning: down is registered"), "{}", text(&out.stderr));

    // edit: only what is given changes, and says so.
    let out = cli.run(&["servers", "edit", "web", "--port", "9", "--tag", "blue", "--readonly"]);
    assert_eq!(
        text(&out.stdout),
        format!("web: port {port} -> 9; tags - -> blue; readonly false -> true\n"),
        "{}",
        text(&out.stderr)
    );
    let shown = json_of(&cli.run(&["servers", "show", "web", "--json"]));
    assert_eq!((shown["port"].as_u64(), shown["user"].as_str()), (Some(9), Some(sshd.user())), "{shown}");
    assert_eq!(shown["keyPath"], key.as_str(), "the key is kept: {shown}");
    let out = cli.run(&["servers", "edit", "web", "--port", &port, "--writable", "--no-tags"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&cli.run(&["servers", "edit", "web", "--port", &port]).stdout), "web: nothing changed\n");
    let out = cli.run(&["exec", "web", "--", "echo back"]);
    assert_eq!(text(&out.stdout), "back\n", "{}", text(&out.stderr));
    let out = cli.run(&["servers", "edit", "nosuch", "--port", "1"]);
    assert!(text(&out.stderr).starts_with("error[NOT_FOUND]"), "{}", text(&out.stderr));
}
