//! `sshdeck tunnel add|list|close|allow` against the test sshd: ssh's forward syntax, the allowlist,
//! a tunnel that outlives the command that opened it (the runner holds it), an HTTP request through
//! it, `-N` closing on Ctrl-C, and the audit trail.

#[path = "support/cli.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use sshdeck_testkit::Sshd;
use sshdeck_testkit::http::HttpServer;
use support::{Cli, text};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn list(cli: &Cli) -> Value {
    let out = cli.run(&["tunnel", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tunnels_from_the_command_line() {
    let sshd = Sshd::start().unwrap();
    let http = HttpServer::start(&[]).unwrap();
    let cli = Cli::new();
    cli.add_key_server("web", &sshd);
    let lp = free_port();
    let forward = format!("{lp}:127.0.0.1:{}", http.port());

    // Not allowed yet: refused with the policy's code, nothing listens.
    let out = cli.run(&["tunnel", "add", "web", "-L", &forward]);
    assert_eq!(out.status.code(), Some(255), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("error[POLICY_DENIED]"), "{}", text(&out.stderr));
    assert!(http_get(lp, "/ok").is_err());

    // --allow adds the port, then the tunnel is up and outlives this command.
    let out = cli.run(&["tunnel", "add", "web", "-L", &forward, "--allow"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let name = format!("web-L{lp}");
    assert!(text(&out.stdout).contains(&format!("tunnel {name} up: 127.0.0.1:{lp} -> 127.0.0.1:{}", http.port())));
    let body = http_get(lp, "/ok").unwrap();
    assert!(body.starts_with("HTTP/1.1 200") && body.ends_with("ok"), "{body}");

    let v = list(&cli);
    let t = &v["tunnels"][0];
    assert_eq!(
        (t["name"].as_str(), t["state"].as_str(), t["type"].as_str()),
        (Some(&*name), Some("up"), Some("local"))
    );
    assert!(t["totalConnections"].as_u64() >= Some(1) && t["bytesReceived"].as_u64() > Some(0), "{t}");
    assert!(v["allowedPorts"].as_array().unwrap().contains(&lp.into()), "{v}");
    let out = cli.run(&["tunnel", "list"]);
    let shown = text(&out.stdout);
    assert!(shown.contains(&name) && shown.contains(&format!("allowed ports: {lp}")), "{shown}");

    // Same name twice: ALREADY_EXISTS, and the first keeps working.
    let out = cli.run(&["tunnel", "add", "web", "-L", &forward, "--json"]);
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "ALREADY_EXISTS", "{err}");
    assert!(http_get(lp, "/ok").is_ok());

    let out = cli.run(&["tunnel", "close", &name]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(http_get(lp, "/ok").is_err(), "the listener is closed");
    assert_eq!(list(&cli)["tunnels"].as_array().unwrap().len(), 0);
    let out = cli.run(&["tunnel", "close", &name]);
    assert!(text(&out.stderr).contains("error[NOT_FOUND]"), "{}", text(&out.stderr));

    // -N: in the foreground until Ctrl-C, which closes it (a SOCKS proxy here).
    let sp = free_port();
    let mut child = cli
        .cmd(&["tunnel", "add", "web", "-D", &sp.to_string(), "--allow", "-N"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut up = String::new();
    for line in lines.by_ref() {
        up = line.unwrap();
        if up.contains(" up: ") {
            break;
        }
    }
    assert_eq!(up, format!("tunnel web-D{sp} up: 127.0.0.1:{sp} SOCKS5 via web"), "{up}");
    assert_eq!(list(&cli)["tunnels"][0]["type"], "socks");
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(list(&cli)["tunnels"].as_array().unwrap().len(), 0, "Ctrl-C closed it");

    // allow --remove, then the trail has every change.
    let out = cli.run(&["tunnel", "allow", "--remove", &lp.to_string()]);
    assert_eq!(text(&out.stdout).trim(), format!("port {lp} removed from the allowlist"));
    assert!(!list(&cli)["allowedPorts"].as_array().unwrap().contains(&lp.into()));
    let out = cli.run(&["audit", "--json"]);
    let trail: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let actions: Vec<(&str, &str)> =
        trail.iter().map(|e| (e["action"].as_str().unwrap(), e["result"].as_str().unwrap())).collect();
    for want in [
        ("tunnel add", "POLICY_DENIED"),
        ("tunnel add", "ok"),
        ("tunnel add", "ALREADY_EXISTS"),
        ("tunnel close", "ok"),
        ("tunnel close", "NOT_FOUND"),
        ("tunnel allow --remove", "ok"),
    ] {
        assert!(actions.contains(&want), "{want:?} not in {actions:?}");
    }
}
