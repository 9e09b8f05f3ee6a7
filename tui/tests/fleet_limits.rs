//! A fan-out to 1,000 aliases under the usual soft limit of 1,024 open files (sshdeck raises it to
//! the hard limit), and under a hard limit too low for it (every job still ends recorded).

use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use sshdeck_testkit::Sshd;

/// `servers.json` with `n` aliases spread over the daemons.
fn registry(dir: &std::path::Path, daemons: &[Sshd], n: usize) {
    let mut servers = serde_json::Map::new();
    for i in 0..n {
        let d = &daemons[i % daemons.len()];
        servers.insert(
            format!("h{i:04}"),
            json!({"host": "127.0.0.1", "port": d.port(), "user": d.user(), "keyPath": d.keys().ed25519}),
        );
    }
    std::fs::write(dir.join("servers.json"), Value::Object(servers).to_string()).unwrap();
}

/// `sshdeck ARGS` under `ulimit LIMITS` (a shell sets them, as a user's would be).
fn sshdeck_under(limits: &str, data: &std::path::Path, args: &str) -> Output {
    let bin = env!("CARGO_BIN_EXE_sshdeck");
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit {limits} && exec {bin} {args}"))
        .env("MCP_DATA_DIR", data)
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_thousand_hosts_under_a_soft_limit_of_1024_and_a_hard_limit_too_low() {
    let daemons: Vec<Sshd> = (0..4).map(|_| Sshd::start().unwrap()).collect();
    let data = tempfile::tempdir().unwrap();
    registry(data.path(), &daemons, 1000);
    let out = sshdeck_under("-Sn 1024", data.path(), "exec all --json -- true");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    let fleet = &v["fleet"];
    assert_eq!((fleet["total"].as_u64(), fleet["ok"].as_u64()), (Some(1000), Some(1000)), "{fleet}");
    assert_eq!(out.status.code(), Some(0));

    // A hard limit of 200 for 300 hosts: idle connections of finished hosts are closed to make room;
    // a host that still finds no descriptor fails with RESOURCE_EXHAUSTED; every job ends on record.
    let data = tempfile::tempdir().unwrap();
    registry(data.path(), &daemons, 300);
    let out = sshdeck_under("-n 200", data.path(), "exec all --json -- true");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stderr), text(&out.stdout)));
    let fleet = &v["fleet"];
    assert_eq!(fleet["total"], 300, "{fleet}");
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 300);
    for h in hosts {
        assert!(h["status"] == "completed" || h["error"]["code"] == "RESOURCE_EXHAUSTED", "{h}");
    }
    let ok = fleet["ok"].as_u64().unwrap();
    assert_eq!(out.status.code(), Some(if ok == 300 { 0 } else { 1 }), "{}", text(&out.stderr));
    let out = sshdeck_under("-n 1024", data.path(), "jobs list --all --json --limit 1000");
    let jobs: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    let list = jobs["jobs"].as_array().or(jobs.as_array()).unwrap().clone();
    assert_eq!(list.len(), 301, "the fan-out and its 300 hosts");
    assert!(list.iter().all(|j| j["status"] != "running" && j["status"] != "pending"), "all recorded as finished");
    eprintln!("hard limit 200, 300 hosts: {ok} ok");
}
