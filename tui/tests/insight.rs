//! `sshdeck inventory` and `sshdeck overview` against the test sshd: the parsed facts (the sshd's
//! own port among the listening ports), the cache, JSON for scripts, every server by default, and a
//! server that cannot be reached (exit 1, its error code, the others still answered).

#[path = "support/cli.rs"]
mod support;

use serde_json::Value;
use sshdeck_testkit::Sshd;
use support::{Cli, text};

#[test]
fn inventory_and_overview_from_the_command_line() {
    let sshd = Sshd::start().unwrap();
    let cli = Cli::new();
    cli.add_key_server("web", &sshd);

    let out = cli.run(&["inventory", "web"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("kernel") && t.contains(&format!("{}", sshd.port())), "{t}");
    assert!(!t.contains("cached"), "the first read is live: {t}");
    let out = cli.run(&["inventory", "web", "--json"]);
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out.stdout)));
    assert_eq!(inv["cached"], true, "{inv}");
    assert_eq!(inv["arch"].as_str(), Some(std::env::consts::ARCH), "{inv}");
    let out = cli.run(&["inventory", "nosuch"]);
    assert_eq!(out.status.code(), Some(255), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("error[NOT_FOUND]"), "{}", text(&out.stderr));

    // A second server nothing answers on: the overview still answers for web, and exits 1.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = cli.run(&[
        "servers",
        "add",
        "down",
        "--host",
        "127.0.0.1",
        "--port",
        &dead.to_string(),
        "--user",
        "x",
        "--no-connect",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cli.run(&["overview", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rows: Vec<Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let web = rows.iter().find(|r| r["alias"] == "web").unwrap();
    assert_eq!(web["sources"]["ports"], "ok", "{web}");
    assert!(web["ports"].as_array().unwrap().iter().any(|p| p["port"] == sshd.port()), "{web}");
    let down = rows.iter().find(|r| r["alias"] == "down").unwrap();
    assert_eq!(down["error"]["code"], "CONNECTION_FAILED", "{down}");

    let out = cli.run(&["overview", "web"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.starts_with("web:") && t.contains("ports: ") && t.contains(&sshd.port().to_string()), "{t}");
}
