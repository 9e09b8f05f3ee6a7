//! server_inventory against the test sshd (this machine): OS, resources, the sshd's own listening
//! port among the parsed ports, services sections; the second call comes from the cache, `force`
//! gathers again.

#[path = "support/client.rs"]
mod client;

use serde_json::json;
use sshdeck_testkit::Sshd;

use client::Client;
use client::structured as sc;

#[test]
fn inventory_is_parsed_live_and_cached_until_forced() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    let r = c.call("server_inventory", json!({"alias": "web"}));
    client::validate("server_inventory", &r);
    let inv = sc(&r);
    assert_eq!(inv["cached"], false, "{r}");
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap();
    let id = inv["os"]["id"].as_str().unwrap();
    assert!(!id.is_empty() && os_release.contains(&format!("ID={id}")), "{r}");
    assert_eq!(inv["arch"].as_str().unwrap(), std::env::consts::ARCH, "{r}");
    assert!(inv["resources"]["cpu"]["cores"].as_u64().unwrap() >= 1, "{r}");
    assert!(inv["resources"]["memory"]["totalBytes"].as_u64().unwrap() > 0, "{r}");
    let ports = inv["ports"].as_array().expect("ss is installed (iproute2, see .ci/run)");
    assert!(ports.iter().any(|p| p["port"] == sshd.port()), "the test sshd's port among {ports:?}");
    for section in ["systemd", "docker", "pm2"] {
        assert!(inv["services"][section]["status"].is_string(), "{section}: {r}");
    }
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(text.contains(&sshd.port().to_string()) && text.contains("kernel"), "{text}");
    assert!(c.data_dir().join("inventory.json").exists());

    let r = c.call("server_inventory", json!({"alias": "web", "compact": true}));
    client::validate("server_inventory", &r);
    assert_eq!(sc(&r)["cached"], true, "{r}");
    assert!(sc(&r)["services"]["pm2"].is_array(), "compact: names only: {r}");
    let r = c.call("server_inventory", json!({"alias": "web", "force": true}));
    assert_eq!(sc(&r)["cached"], false, "{r}");
    let r = c.call("server_inventory", json!({"alias": "nosuch"}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "{r}");
}

#[test]
fn overview_reads_ports_and_owners_live_then_from_the_cache() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    c.add_server(&sshd, "db");
    // A listener of the SSH user's (ss -p shows only the processes of the user it runs as).
    let listen = "f=$(mktemp); nohup python3 -c 'import socket,time\ns=socket.socket()\ns.bind((\"127.0.0.1\",0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)' >\"$f\" 2>&1 </dev/null &\nfor i in $(seq 100); do [ -s \"$f\" ] && break; sleep 0.1; done; cat \"$f\"";
    let r = c.call("task_exec", json!({"alias": "web", "cmd": listen}));
    let port: u16 = sc(&r)["stdout"].as_str().unwrap_or_default().trim().parse().unwrap_or_else(|_| panic!("{r}"));
    let r = c.call("infra_overview", json!({"alias": "web"}));
    client::validate("infra_overview", &r);
    let o = sc(&r);
    assert_eq!((o["alias"].as_str(), o["cached"].as_bool()), (Some("web"), Some(false)), "{r}");
    assert_eq!(o["sources"]["ports"], "ok", "{r}");
    for s in ["nginx", "docker", "pm2"] {
        assert!(["ok", "missing", "unavailable"].contains(&o["sources"][s].as_str().unwrap()), "{s}: {r}");
    }
    assert!(o.get("sites").is_none(), "compact by default: {r}");
    let ports: Vec<&str> = o["ports"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(ports.iter().any(|p| p.starts_with(&format!("{port}("))), "our listener with its process: {ports:?}");
    assert!(ports.iter().any(|p| p.starts_with(&sshd.port().to_string())), "{ports:?}");

    let r = c.call("infra_overview", json!({"alias": "web", "compact": false}));
    client::validate("infra_overview", &r);
    assert_eq!(sc(&r)["cached"], true, "{r}");
    let full = sc(&r)["ports"].as_array().unwrap().clone();
    let mine = full.iter().find(|p| p["port"] == port).expect("our port");
    assert_eq!(mine["listening"], true, "{mine}");
    assert_eq!(mine["process"], "python3", "{mine}");
    let pid = mine["pid"].as_u64().expect("its pid");
    assert!(sc(&r)["sites"].is_array(), "{r}");

    let r = c.call("infra_overview", json!({"alias": "web", "live": true}));
    assert_eq!(sc(&r)["cached"], false, "{r}");
    // Without an alias: every server, one row each.
    let r = c.call("infra_overview", json!({}));
    client::validate("infra_overview", &r);
    let hosts = sc(&r)["hosts"].as_array().unwrap().clone();
    let mut aliases: Vec<&str> = hosts.iter().map(|h| h["alias"].as_str().unwrap()).collect();
    aliases.sort_unstable();
    assert_eq!(aliases, ["db", "web"], "{r}");
    assert!(hosts.iter().all(|h| h["sources"]["ports"] == "ok"), "{r}");
    let r = c.call("infra_overview", json!({"alias": "web", "timeoutMs": 100}));
    assert_eq!(sc(&r)["error"]["code"], "INVALID_ARGUMENT", "{r}");
    let r = c.call("infra_overview", json!({"alias": "nosuch"}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "{r}");
    c.call("task_exec", json!({"alias": "web", "cmd": format!("kill {pid}")}));
}
