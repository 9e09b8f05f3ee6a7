//! Tunnels against the test sshd: an HTTP request through a local forward, a remote forward reached
//! from the server, SOCKS5 through curl, 100 concurrent connections that closing drops, the
//! allowlist, and a dropped SSH connection shown as down, then up again.

#[path = "support/client.rs"]
mod client;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sshdeck_testkit::Sshd;
use sshdeck_testkit::http::HttpServer;

use client::Client;
use client::structured as sc;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn tunnel(c: &mut Client, name: &str) -> Value {
    let r = c.call("tunnel_list", json!({}));
    client::validate("tunnel_list", &r);
    sc(&r)["tunnels"].as_array().unwrap().iter().find(|t| t["name"] == name).cloned().unwrap_or(Value::Null)
}

fn wait_for(c: &mut Client, name: &str, what: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = tunnel(c, name);
        if what(&t) || Instant::now() > deadline {
            return t;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn allow(c: &mut Client, port: u16) {
    let r = c.call("tunnel_allowlist_add", json!({"port": port}));
    client::validate("tunnel_allowlist_add", &r);
    assert_eq!(sc(&r)["changed"], true, "{r}");
}

#[test]
fn local_remote_and_socks_forwards_carry_http() {
    let sshd = Sshd::start().unwrap();
    let http = HttpServer::start(&[]).unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    let (lp, rp, sp) = (free_port(), free_port(), free_port());

    // Not allowlisted: refused, and nothing listens.
    let r = c.call("tunnel_create", json!({"name": "l", "type": "local", "listen_port": lp, "via": "web", "target": format!("127.0.0.1:{}", http.port())}));
    client::validate("tunnel_create", &r);
    assert_eq!(sc(&r)["error"]["code"], "POLICY_DENIED", "{r}");
    assert!(TcpStream::connect(("127.0.0.1", lp)).is_err());
    for p in [lp, rp, sp] {
        allow(&mut c, p);
    }

    // Local: here → server → target.
    let r = c.call("tunnel_create", json!({"name": "l", "type": "local", "listen_port": lp, "via": "web", "target": format!("127.0.0.1:{}", http.port())}));
    assert_eq!(
        (sc(&r)["state"].as_str(), sc(&r)["listen"].as_str()),
        (Some("up"), Some(format!("127.0.0.1:{lp}").as_str())),
        "{r}"
    );
    let page = http_get(lp, "/ok");
    assert!(page.starts_with("HTTP/1.1 200") && page.ends_with("ok"), "{page}");
    let r = c.call(
        "tunnel_create",
        json!({"name": "l", "type": "local", "listen_port": lp, "via": "web", "target": "127.0.0.1:1"}),
    );
    assert_eq!(sc(&r)["error"]["code"], "ALREADY_EXISTS", "{r}");
    let t = tunnel(&mut c, "l");
    assert!(t["bytesSent"].as_u64().unwrap() > 30 && t["bytesReceived"].as_u64().unwrap() > 30, "{t}");
    assert_eq!(t["totalConnections"], 1, "{t}");

    // Remote: the server's port → here → target; reached by a command on the server.
    let r = c.call("tunnel_create", json!({"name": "r", "type": "remote", "listen_port": rp, "via": "web", "target": format!("127.0.0.1:{}", http.port())}));
    assert_eq!(sc(&r)["state"], "up", "{r}");
    let r = c.call("task_exec", json!({"alias": "web", "cmd": format!("curl -s http://127.0.0.1:{rp}/ok")}));
    assert_eq!(sc(&r)["stdout"], "ok", "{r}");

    // SOCKS5: names resolved by the server, or by curl.
    let r = c.call("tunnel_create", json!({"name": "s", "type": "socks", "listen_port": sp, "via": "web"}));
    assert_eq!(sc(&r)["state"], "up", "{r}");
    for flag in ["--socks5-hostname", "--socks5"] {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "--max-time",
                "10",
                flag,
                &format!("127.0.0.1:{sp}"),
                &format!("http://localhost:{}/ok", http.port()),
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ok", "{flag}: {out:?}");
    }
    // A target the server cannot reach: curl is told (SOCKS refusal), the tunnel stays up.
    let dead = free_port();
    let out = std::process::Command::new("curl")
        .args(["-s", "--max-time", "10", "--socks5", &format!("127.0.0.1:{sp}"), &format!("http://127.0.0.1:{dead}/")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(97), "curl's 'proxy handshake error': {out:?}");
    assert_eq!(tunnel(&mut c, "s")["state"], "up");

    // A name already taken, a port already used, a bind address the operator did not allow.
    let other = free_port();
    allow(&mut c, other);
    let r = c.call(
        "tunnel_create",
        json!({"name": "wide", "type": "socks", "listen_port": other, "via": "web", "source": "0.0.0.0"}),
    );
    assert_eq!(sc(&r)["error"]["code"], "POLICY_DENIED", "{r}");
    let r = c
        .call("tunnel_create", json!({"name": "l2", "type": "local", "listen_port": 1, "via": "web", "target": "x:1"}));
    assert_eq!(sc(&r)["error"]["code"], "POLICY_DENIED", "{r}");

    // Closing: the listener goes; the remote port too.
    for name in ["l", "r", "s"] {
        let r = c.call("tunnel_close", json!({"name": name}));
        client::validate("tunnel_close", &r);
        assert_eq!(sc(&r)["name"], name, "{r}");
    }
    assert!(TcpStream::connect(("127.0.0.1", lp)).is_err(), "the local listener is closed");
    let r = c.call(
        "task_exec",
        json!({"alias": "web", "cmd": format!("curl -s --max-time 3 http://127.0.0.1:{rp}/ok; echo rc=$?")}),
    );
    assert!(sc(&r)["stdout"].as_str().unwrap().contains("rc=7"), "the remote listener is closed: {r}");
    let r = c.call("tunnel_list", json!({}));
    assert_eq!(sc(&r)["tunnels"], json!([]), "{r}");
    let r = c.call("tunnel_allowlist_remove", json!({"port": lp}));
    assert_eq!(sc(&r)["changed"], true, "{r}");
    assert!(!sc(&r)["allowed"].as_array().unwrap().contains(&json!(lp)), "{r}");
}

/// An echo server: each connection gets back what it sends.
fn echo_server() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut r = s.try_clone().unwrap();
                let mut w = s;
                let _ = std::io::copy(&mut r, &mut w);
            });
        }
    });
    port
}

#[test]
fn a_hundred_connections_share_one_tunnel_and_closing_drops_them() {
    let sshd = Sshd::start().unwrap();
    let echo = echo_server();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    let lp = free_port();
    allow(&mut c, lp);
    let r = c.call(
        "tunnel_create",
        json!({"name": "e", "type": "local", "listen_port": lp, "via": "web", "target": format!("127.0.0.1:{echo}")}),
    );
    assert_eq!(sc(&r)["state"], "up", "{r}");
    let mut conns: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(("127.0.0.1", lp)).unwrap()).collect();
    for (i, s) in conns.iter_mut().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let msg = format!("hello {i}\n");
        s.write_all(msg.as_bytes()).unwrap();
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).unwrap();
        assert_eq!(back, msg.as_bytes());
    }
    let t = wait_for(&mut c, "e", |t| t["connections"] == 100);
    assert_eq!((t["connections"].as_u64(), t["totalConnections"].as_u64()), (Some(100), Some(100)), "{t}");
    let r = c.call("tunnel_close", json!({"name": "e"}));
    assert_eq!(r["isError"], false, "{r}");
    // Every connection ends: EOF or a reset, never a hang.
    for s in conns.iter_mut() {
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) | Err(_) => {}
            Ok(n) => panic!("read {n} bytes from a closed tunnel"),
        }
    }
}

#[test]
fn a_dropped_connection_shows_down_then_the_tunnel_comes_back() {
    let mut sshd = Sshd::start().unwrap();
    let http = HttpServer::start(&[]).unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    let lp = free_port();
    allow(&mut c, lp);
    let r = c.call("tunnel_create", json!({"name": "d", "type": "local", "listen_port": lp, "via": "web", "target": format!("127.0.0.1:{}", http.port())}));
    assert_eq!(sc(&r)["state"], "up", "{r}");
    sshd.kill_all();
    let t = wait_for(&mut c, "d", |t| t["state"] == "down");
    assert_eq!(t["state"], "down", "{t}");
    assert!(t["error"].as_str().is_some_and(|e| !e.is_empty()), "{t}");
    sshd.restart().unwrap();
    let t = wait_for(&mut c, "d", |t| t["state"] == "up");
    assert_eq!(t["state"], "up", "{t}");
    assert!(t["reconnects"].as_u64().unwrap() >= 1, "{t}");
    let page = http_get(lp, "/ok");
    assert!(page.ends_with("ok"), "{page}");
}
