//! server_inventory and infra_overview against the test sshd (this machine): OS, resources, the
//! sshd's own listening port among the parsed ports, services sections, the cache and `force`; the
//! overview's ports and owners, the whole fleet, and a real nginx's `nginx -T` followed to the
//! processes behind each domain.

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

/// A real nginx's `nginx -T` on the server: the test sshd puts a wrapper first in the SSH user's
/// PATH that points nginx at a config of the test's (`-p`/`-c`); the backends are listeners of the
/// SSH user's, so the overview must lead from each domain to the process behind it.
#[test]
fn overview_follows_a_real_nginx_to_the_processes_behind_it() {
    let nginx = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nginx is installed (.ci/run installs it)");
    let bin = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sshd = Sshd::builder()
        .config_line(format!("SetEnv PATH={}:/usr/local/bin:/usr/bin:/bin", bin.path().display()))
        .start()
        .unwrap();
    let prefix = sshd.scratch().join("nginx");
    std::fs::create_dir_all(&prefix).unwrap();
    std::fs::set_permissions(&prefix, std::fs::Permissions::from_mode(0o777)).unwrap();
    let wrapper = bin.path().join("nginx");
    let p = prefix.display();
    std::fs::write(&wrapper, format!("#!/bin/sh\nexec {nginx} -p {p}/ -c {p}/nginx.conf -e {p}/error.log \"$@\"\n"))
        .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    // Two listeners of the SSH user's: the app and the API; the API's backup port listens nowhere.
    let listen = "for n in 1 2; do f=$(mktemp); nohup python3 -c 'import socket,time\ns=socket.socket()\ns.bind((\"127.0.0.1\",0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)' >\"$f\" 2>&1 </dev/null &\nfor i in $(seq 100); do [ -s \"$f\" ] && break; sleep 0.1; done; cat \"$f\"; done";
    let r = c.call("task_exec", json!({"alias": "web", "cmd": listen}));
    let ports: Vec<u16> =
        sc(&r)["stdout"].as_str().unwrap_or_default().split_whitespace().map(|p| p.parse().unwrap()).collect();
    assert_eq!(ports.len(), 2, "{r}");
    let (app, api) = (ports[0], ports[1]);
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        prefix.join("nginx.conf"),
        format!(
            "pid {p}/nginx.pid;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n\
             \x20 upstream api_backend {{ server 127.0.0.1:{api}; server 127.0.0.1:{free} backup; }}\n\
             \x20 server {{\n    listen 127.0.0.1:{free};\n    server_name shop.test www.shop.test;\n\
             \x20   location / {{ proxy_pass http://127.0.0.1:{app}; }}\n    location /api/ {{ proxy_pass http://api_backend; }}\n  }}\n}}\n"
        ),
    )
    .unwrap();

    let r = c.call("infra_overview", json!({"alias": "web"}));
    client::validate("infra_overview", &r);
    let o = sc(&r);
    assert_eq!(o["sources"]["nginx"], "ok", "nginx -T through the wrapper: {r}");
    let links = o["links"].as_array().unwrap();
    assert_eq!(links.len(), 2, "{r}");
    assert_eq!(links[0]["domains"], json!(["shop.test", "www.shop.test"]), "{r}");
    assert_eq!(links[0]["location"], "/");
    let b = &links[0]["backends"][0];
    assert_eq!(
        (b["port"].as_u64(), b["listening"].as_bool(), b["process"].as_str()),
        (Some(u64::from(app)), Some(true), Some("python3")),
        "{r}"
    );
    let api_links = &links[1]["backends"];
    assert_eq!(api_links[0]["port"], api, "the upstream's servers: {r}");
    assert_eq!(api_links[0]["listening"], true, "{r}");
    assert_eq!(api_links[1]["listening"], false, "the backup listens nowhere: {r}");
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("shop.test www.shop.test / -> 127.0.0.1:") && text.contains("nothing listens"), "{text}");
    let pids: Vec<String> =
        [b, &api_links[0]].iter().filter_map(|b| b["pid"].as_u64()).map(|p| p.to_string()).collect();
    c.call("task_exec", json!({"alias": "web", "cmd": format!("kill {}", pids.join(" "))}));
}
