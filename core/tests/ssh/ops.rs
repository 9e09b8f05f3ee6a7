//! The ops recipes live against the test sshd (which is this machine, so facts about it can be
//! checked with a plain command over the same connection).

use std::collections::BTreeMap;
use std::net::TcpListener;

use sshdeck_core::ops::services::SectionStatus;
use sshdeck_core::ops::{self, Run, net};
use sshdeck_testkit::http::HttpServer;

use crate::{env, run};

async fn has(deck: &sshdeck_core::Deck, tool: &str) -> bool {
    run(deck, "t", &format!("command -v {tool}")).await.unwrap().success()
}

async fn text(deck: &sshdeck_core::Deck, cmd: &str) -> String {
    run(deck, "t", cmd).await.unwrap().stdout.text().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_resources_match_the_host() {
    let e = env();
    let r = ops::system_resources(&e.deck, "t", Run::default()).await.unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.hostname, text(&e.deck, "uname -n").await);
    assert_eq!(r.kernel, text(&e.deck, "uname -r").await);
    assert_eq!(r.cpu.cores.to_string(), text(&e.deck, "nproc").await);
    assert!((0.0..=100.0).contains(&r.cpu.usage_percent), "{:?}", r.cpu);
    let total_kb: u64 = text(&e.deck, "awk '/^MemTotal/ {print $2}' /proc/meminfo").await.parse().unwrap();
    assert_eq!(r.memory.total_bytes, total_kb * 1024);
    assert!(r.memory.used_bytes + r.memory.available_bytes == r.memory.total_bytes);
    assert!(r.disks.iter().any(|d| d.mount == "/" && d.size_bytes > 0), "{:?}", r.disks);
    assert!(r.uptime_seconds > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_sections_follow_what_is_installed() {
    let e = env();
    let s = ops::services_status(&e.deck, "t", Run::default()).await.unwrap();
    for (tool, status) in [("systemctl", s.systemd.status), ("docker", s.docker.status), ("pm2", s.pm2.status)] {
        if has(&e.deck, tool).await {
            assert_ne!(status, SectionStatus::NotInstalled, "{tool} is installed");
        } else {
            assert_eq!(status, SectionStatus::NotInstalled, "{tool} is not installed");
        }
    }
    if s.docker.status == SectionStatus::Unavailable {
        assert!(s.docker.message.is_some(), "an unavailable section says why");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail2ban_is_reported_not_installed_or_refused() {
    let e = env();
    let r = ops::fail2ban_status(&e.deck, "t", None, Run::default()).await;
    let root = text(&e.deck, "id -u").await == "0";
    match (has(&e.deck, "fail2ban-client").await, root) {
        (false, _) => assert_eq!(r.unwrap().status, "not_installed"),
        (true, false) => assert_eq!(r.unwrap_err().code(), "PERMISSION_DENIED", "sudo -n without rights"),
        (true, true) => assert!(r.is_ok() || r.unwrap_err().code() == "COMMAND_FAILED"),
    }
    let bad = ops::fail2ban_status(&e.deck, "t", Some("--help"), Run::default()).await.unwrap_err();
    assert_eq!(bad.code(), "INVALID_ARGUMENT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_ports_and_dns_from_the_server() {
    let e = env();
    match net::ping(&e.deck, "t", "127.0.0.1", Some(2), Run::default()).await {
        Ok(p) => {
            assert!(p.reachable && p.transmitted == 2 && p.received == 2, "{p:?}");
            assert!(p.rtt_ms.is_some());
        }
        Err(err) => assert!(
            matches!(err.code(), "NOT_INSTALLED" | "PERMISSION_DENIED") && !has(&e.deck, "ping").await
                || err.code() == "PERMISSION_DENIED",
            "{err}"
        ),
    }
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ports =
        net::port_check(&e.deck, "t", "127.0.0.1", &[e.sshd.port(), closed], Some(2), Run::default()).await.unwrap();
    assert_eq!(ports.len(), 2);
    assert_eq!((ports[0].port, ports[0].state.as_str()), (e.sshd.port(), "open"));
    assert_eq!((ports[1].port, ports[1].state.as_str()), (closed, "closed"), "{:?}", ports[1]);

    let d = net::dns_lookup(&e.deck, "t", "localhost", Some("A"), Run::default()).await.unwrap();
    assert!(d.records.iter().any(|r| r.value == "127.0.0.1"), "{d:?}");
    let d = net::dns_lookup(&e.deck, "t", "no-such-host.invalid", None, Run::default()).await.unwrap();
    assert!(d.records.is_empty());
    let bad = net::dns_lookup(&e.deck, "t", "x", Some("AXFR"), Run::default()).await.unwrap_err();
    assert_eq!(bad.code(), "INVALID_ARGUMENT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_request_sends_everything_through_curl_stdin() {
    let e = env();
    let http = HttpServer::start(&[]).unwrap();
    let mut headers = BTreeMap::new();
    headers.insert("X-Token".to_string(), "t0k'en $(id)".to_string());
    let req = net::HttpRequest {
        url: format!("{}/echo?q=1", http.url()),
        method: Some("post".into()),
        headers,
        body: Some("{\"a\": \"$(touch /tmp/x)\"}".into()),
        ..Default::default()
    };
    let r = net::http_request(&e.deck, "t", &req, Run::default()).await.unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.headers["x-test"], "a, b");
    assert!(r.body.starts_with("POST /echo?q=1\n"), "{}", r.body);
    assert!(r.body.contains("X-Token: t0k'en $(id)"));
    assert!(r.body.ends_with("{\"a\": \"$(touch /tmp/x)\"}"));
    let seen = http.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, b"{\"a\": \"$(touch /tmp/x)\"}");

    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let req = net::HttpRequest { url: format!("http://127.0.0.1:{closed}/"), ..Default::default() };
    let r = net::http_request(&e.deck, "t", &req, Run::default()).await.unwrap();
    assert_eq!((r.status, r.curl_exit), (0, 7), "{r:?}");
    assert!(r.error.as_deref().unwrap().contains("connect"), "{r:?}");
}
