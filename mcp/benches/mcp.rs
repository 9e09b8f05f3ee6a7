//! sshdeck-mcp speed, against OpenSSH on the same loopback sshd in the same run:
//! spawn → `tools/list` answered, and a warm `task_exec echo hi` round trip over stdio and over
//! Streamable HTTP (`--http`, one short connection per call) vs `ssh` with a ControlMaster.
//! `cargo bench -p sshdeck-mcp --bench mcp` (BENCH_N sets samples).
#![allow(clippy::print_stdout)] // a benchmark reports on stdout

#[path = "../tests/support/client.rs"]
mod client;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
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

    // The same data dir (and runner) served over HTTP on a free loopback port.
    let mut server = Command::new(env!("CARGO_BIN_EXE_sshdeck-mcp"))
        .args(["--http", "127.0.0.1:0"])
        .env("MCP_DATA_DIR", c.data_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().expect("the server says where it serves").unwrap();
        if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
            break rest.trim_end_matches("/mcp").parse().unwrap();
        }
    };
    let post = |session: Option<&str>, body: &str| -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_nodelay(true).unwrap();
        let sid = session.map(|id| format!("Mcp-Session-Id: {id}\r\n")).unwrap_or_default();
        let req = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n{sid}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text
    };
    let init = post(
        None,
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#,
    );
    let session = init
        .lines()
        .find_map(|l| l.to_ascii_lowercase().starts_with("mcp-session-id:").then(|| l[15..].trim().to_string()))
        .expect("a session id");
    post(Some(&session), r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    let over_http = || {
        let t = Instant::now();
        let text = post(
            Some(&session),
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"task_exec","arguments":{"alias":"b","cmd":"echo hi"}}}"#,
        );
        let took = t.elapsed();
        assert!(text.contains(r#""stdout":"hi\n""#), "{text}");
        took
    };
    for _ in 0..10 {
        over_http();
    }
    let http: Vec<Duration> = (0..n).map(|_| over_http()).collect();
    let _ = server.kill();
    let _ = server.wait();

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
        "the same over HTTP (--http, a connection each)",
        ms(pct(&http, 50)),
        ms(pct(&http, 95))
    );
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
    println!("ratio HTTP p50 / stdio p50: {:.2} (target <= 1.5)", ms(pct(&http, 50)) / ms(pct(&ours, 50)));
}
