//! `sshdeck diff` and `sshdeck snapshot` against a real sshd: exit codes as diff(1), trees compared,
//! a snapshot taken, changed, planned, restored with --force, deleted.

#[path = "support/cli.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use sshdeck_testkit::Sshd;
use support::{Cli, text};

fn open_dir(p: &std::path::Path) {
    std::fs::create_dir_all(p).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
}

#[test]
fn diff_and_snapshots_from_the_command_line() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("web", &sshd);
    let dir = tempfile::tempdir().unwrap();
    open_dir(dir.path());
    let conf = dir.path().join("site/app.conf");
    open_dir(conf.parent().unwrap());
    std::fs::write(&conf, "port=80\nname=web\n").unwrap();
    let local = dir.path().join("local.conf");
    std::fs::write(&local, "port=8080\nname=web\n").unwrap();
    let remote = format!("web:{}", conf.display());

    // Files: a unified diff and exit 1; the same file: nothing and exit 0.
    let out = cli.run(&["diff", &remote, local.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("-port=80\n+port=8080\n"), "{}", text(&out.stdout));
    let out = cli.run(&["diff", &remote, &remote]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), String::new()), "{}", text(&out.stderr));
    // Trees: only-in lines and the file's diff.
    let site = dir.path().join("site");
    let copy = dir.path().join("copy");
    open_dir(&copy);
    std::fs::write(copy.join("app.conf"), "port=80\nname=web\n").unwrap();
    std::fs::write(copy.join("extra.txt"), "x\n").unwrap();
    let out = cli.run(&["diff", &format!("web:{}", site.display()), copy.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["onlyIn2"][0].as_str(), v["identical"][0].as_str()), (Some("extra.txt"), Some("app.conf")), "{v}");
    let out = cli.run(&["diff", "nosuch:/etc/hosts", "/etc/hosts"]);
    assert!(text(&out.stderr).starts_with("error[NOT_FOUND]"), "{}", text(&out.stderr));

    // A snapshot, a change, the plan, the restore, the deletion.
    let out = cli.run(&["snapshot", "create", &format!("web:{}", site.display()), "--tag", "before"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    assert!(id.starts_with("snap-"), "{id}");
    std::fs::write(&conf, "port=1\n").unwrap();
    let out = cli.run(&["snapshot", "list", "--alias", "web"]);
    assert!(text(&out.stdout).contains(&id) && text(&out.stdout).contains("before"), "{}", text(&out.stdout));
    let out = cli.run(&["snapshot", "restore", "before"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("overwrite"), "{}", text(&out.stdout));
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), "port=1\n", "the plan writes nothing");
    let out = cli.run(&["snapshot", "restore", "before", "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), "port=80\nname=web\n");
    let out = cli.run(&["snapshot", "delete", &id, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["deleted"].as_str(), v["freed"]["objects"].as_u64()), (Some(id.as_str()), Some(1)), "{v}");
    let out = cli.run(&["snapshot", "restore", &id]);
    assert!(text(&out.stderr).starts_with("error[NOT_FOUND]"), "{}", text(&out.stderr));

    // Each of these was a `file` job, the failed one with its code; none can be retried.
    let out = cli.run(&["jobs", "list", "--kind", "file", "--limit", "50", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let jobs = v["jobs"].as_array().unwrap();
    let commands: Vec<&str> = jobs.iter().map(|j| j["command"].as_str().unwrap()).collect();
    assert!(commands.iter().any(|c| c.starts_with("diff ")), "{commands:?}");
    assert!(commands.iter().any(|c| c.starts_with("snapshot_restore before")), "{commands:?}");
    assert!(jobs.iter().all(|j| j["origin"] == "cli" && j["kind"] == "file"), "{v}");
    let failed = jobs.iter().find(|j| j["status"] == "failed").unwrap();
    assert_eq!(failed["error"]["code"], "NOT_FOUND", "{failed}");
    let out = cli.run(&["jobs", "retry", failed["id"].as_str().unwrap()]);
    assert!(text(&out.stderr).starts_with("error[INVALID_ARGUMENT]"), "{}", text(&out.stderr));
}

#[test]
fn commands_that_change_something_are_in_the_audit_trail() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("web", &sshd);
    assert!(cli.run(&["exec", "web", "--", "true"]).status.success());
    let out = cli.run(&["exec", "web", "--", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(cli.run(&["jobs", "list"]).status.success());
    let out = cli.run(&["audit", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["result"].as_str().unwrap().to_string()))
        .collect();
    let want = [("servers add", "ok"), ("exec", "ok"), ("exec", "exit 3")];
    assert_eq!(rows, want.map(|(a, r)| (a.to_string(), r.to_string())), "{v}");
    assert!(v.as_array().unwrap().iter().all(|e| e["front_end"] == "cli"), "{v}");
    let out = cli.run(&["audit"]);
    assert!(text(&out.stdout).contains("exit 3"), "{}", text(&out.stdout));
}
