//! sshdeck-mcp speed, against OpenSSH on the same loopback sshd in the same run:
//! spawn → `tools/list` answered, and a warm `task_exec echo hi` round trip over stdio vs
//! `ssh` with a ControlMaster. `cargo bench -p sshdeck-mcp --bench mcp` (BENCH_N sets samples).
#![allow(clippy::print_stdout)] // a benchmark reports on stdout

#[path = "../tests/support/client.rs"]
mod client;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use sshdeck_testkit::Sshd;

fn main() {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let sshd = Sshd::start().expect("sshd");

    let spawn: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let mut c = client::Client::start(&[]);
            let r = c.request("tools/list", json!({}));
            let took = t.elapsed();
            assert!(r["result"]["tools"].is_array());
            took
        })
        .collect();

    let mut c = client::Client::start(&[]);
    let r = c.call(
        "server_add",
        json!({"alias": "b", "host": "127.0.0.1", "port": sshd.port(), "user": sshd.user(),
               "keyPath": sshd.keys().ed25519.display().to_string()}),
    );
    assert_eq!(r["isError"], false);
    let exec = |c: &mut client::Client| {
        let t = Instant::now();
        let r = c.call("task_exec", json!({"alias": "b", "cmd": "echo hi"}));
        let took = t.elapsed();
        assert_eq!(r["structuredContent"]["stdout"], "hi\n", "{r}");
        took
    };
    for _ in 0..10 {
        exec(&mut c);
    }
    let ours: Vec<Duration> = (0..n).map(|_| exec(&mut c)).collect();

    let cm = tempfile::tempdir().unwrap();
    let ssh = || {
        let mut cmd = sshd.ssh_command();
        cmd.args(["-o", "ControlMaster=auto", "-o", "ControlPersist=60", "-o"])
            .arg(format!("ControlPath={}/cm-%C", cm.path().display()))
            .arg("echo hi")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let t = Instant::now();
        assert!(cmd.status().unwrap().success());
        t.elapsed()
    };
    for _ in 0..5 {
        ssh();
    }
    let openssh: Vec<Duration> = (0..n).map(|_| ssh()).collect();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |v: &[Duration], p: usize| {
        let mut s = v.to_vec();
        s.sort();
        s[(s.len() - 1) * p / 100]
    };
    println!("sshdeck-mcp benchmark, n = {n}, loopback sshd port {}", sshd.port());
    println!("{:<44} {:>8} {:>8}", "", "p50 ms", "p95 ms");
    println!(
        "{:<44} {:>8.2} {:>8.2}",
        "spawn -> initialize -> tools/list answered",
        ms(pct(&spawn, 50)),
        ms(pct(&spawn, 95))
    );
    println!("{:<44} {:>8.2} {:>8.2}", "task_exec `echo hi` round trip (warm)", ms(pct(&ours, 50)), ms(pct(&ours, 95)));
    println!(
        "{:<44} {:>8.2} {:>8.2}",
        "OpenSSH ControlMaster `echo hi` (warm)",
        ms(pct(&openssh, 50)),
        ms(pct(&openssh, 95))
    );
    println!(
        "ratio task_exec p50 / ControlMaster p50: {:.3} (target <= 0.5); spawn->tools/list p50 target <= 20 ms",
        ms(pct(&ours, 50)) / ms(pct(&openssh, 50))
    );
}
