//! The Tunnels view against the test sshd: a real local forward shows with its counters (from the
//! heartbeat of the process holding it), `d` asks, then closes it; read-only never closes.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use ratatui::crossterm::event::KeyCode;
use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::servers::ServerConfig;
use sshdeck_core::tunnels::{TunnelKind, TunnelOp, TunnelSpec};

use super::app::{App, Effect, Mode, View};
use super::tests::{key, render};

async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..100 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnels_view_shows_live_counters_and_closes_on_d() {
    let sshd = sshdeck_testkit::Sshd::start().unwrap();
    let http = sshdeck_testkit::http::HttpServer::start(&[]).unwrap();
    let data = tempfile::tempdir().unwrap();
    let env = HashMap::from([("MCP_DATA_DIR".to_string(), data.path().display().to_string())]);
    let deck = Deck::open(Settings::load_from(&env, Path::new("/nonexistent")).unwrap(), "test").unwrap();
    let config = ServerConfig {
        port: sshd.port(),
        key_path: Some(sshd.keys().ed25519.clone()),
        ..ServerConfig::new(sshd.host(), sshd.user())
    };
    deck.add_server("web", config, false).unwrap();

    let mut app = App::new(deck.clone(), false);
    app.on_key(key(KeyCode::Char('6')));
    assert_eq!(app.view, View::Tunnels);
    app.refresh();
    let screen = render(&app, 100, 6);
    assert!(screen.contains("Tunnels (0)") && screen.contains("No open tunnel"), "{screen}");
    assert!(app.on_key(key(KeyCode::Char('d'))).is_none() && app.mode == Mode::Normal, "nothing to close");

    let lp = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    deck.tunnel_allow(lp, true, "test").unwrap();
    let spec = TunnelSpec {
        name: "api".into(),
        kind: TunnelKind::Local,
        listen_port: lp,
        target: Some(format!("127.0.0.1:{}", http.port())),
        via: "web".into(),
        bind: None,
    };
    deck.tunnel(TunnelOp::Create { spec, origin: "test".into() }).await.unwrap();
    let body = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", lp)).unwrap();
        write!(s, "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(body.ends_with("ok"), "{body}");
    // The heartbeat (every second) carries the tunnel and its counters.
    until("the view shows the tunnel's traffic", || {
        app.refresh();
        app.tunnels.list.first().is_some_and(|(_, t)| t.total_connections == 1 && t.bytes_received > 0)
    })
    .await;
    let screen = render(&app, 130, 6);
    for want in ["Tunnels (1)", "api", "local", &format!("127.0.0.1:{lp}"), "web", "0/1", "up"] {
        assert!(screen.contains(want), "{want:?} not in\n{screen}");
    }

    // Read-only: d does nothing.
    let mut ro = App::new(deck.clone(), true);
    ro.view = View::Tunnels;
    ro.refresh();
    assert_eq!(ro.tunnels.list.len(), 1);
    assert!(ro.on_key(key(KeyCode::Char('d'))).is_none() && ro.mode == Mode::Normal);

    // d asks first; n keeps it; d then y closes it.
    assert!(app.on_key(key(KeyCode::Char('d'))).is_none());
    let Mode::Confirm { lines, .. } = &app.mode else { panic!("{:?}", app.mode) };
    assert!(lines.iter().any(|l| l.contains(&format!("127.0.0.1:{lp}"))), "{lines:?}");
    assert!(app.on_key(key(KeyCode::Char('n'))).is_none() && app.mode == Mode::Normal);
    app.on_key(key(KeyCode::Char('d')));
    let effect = app.on_key(key(KeyCode::Char('y'))).expect("y confirms");
    assert_eq!(effect, Effect::CloseTunnel("api".into()));
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    let mut stops = super::Stops::new();
    super::perform(&mut app, effect, &tx, &mut stops);
    assert!(app.status.contains("closing tunnel api"), "{}", app.status);
    let mut open = 1;
    for _ in 0..100 {
        open = deck.tunnel(TunnelOp::List).await.unwrap().len();
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open, 0, "d then y closed the tunnel");
    assert!(std::net::TcpStream::connect(("127.0.0.1", lp)).is_err(), "its listener is gone");
    until("the view drops it and the status says it closed", || {
        app.refresh();
        app.tunnels.list.is_empty() && app.status == "tunnel api closed"
    })
    .await;
    // Closing one that is gone says why on the status line (not only in the log).
    super::perform(&mut app, Effect::CloseTunnel("api".into()), &tx, &mut stops);
    until("the error reaches the status line", || {
        app.refresh();
        app.status.starts_with("cannot close tunnel api: error[NOT_FOUND]")
    })
    .await;
}
