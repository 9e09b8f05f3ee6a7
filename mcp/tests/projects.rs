//! Projects and work sessions in Node's `projects.json` (read as written, unknown fields kept through writes), resolved
//! to servers, and diffed between the local copy and a role's directory on the test sshd.

#[path = "support/client.rs"]
mod client;

use serde_json::{Value, json};
use sshdeck_testkit::Sshd;

use client::Client;
use client::structured as sc;

#[test]
fn projects_are_nodes_file_resolved_and_diffed_with_the_server() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    // The server's copy (the test sshd's scratch dir) and the local one differ in three ways.
    let remote = sshd.scratch().join("shop-remote");
    let local = tempfile::tempdir().unwrap();
    for (root, files) in [
        (remote.as_path(), &[("index.php", "v1\n"), ("old.txt", "gone\n"), ("same.txt", "s\n")][..]),
        (local.path(), &[("index.php", "v1\nv2\n"), ("new.txt", "n\n"), ("same.txt", "s\n")][..]),
    ] {
        std::fs::create_dir_all(root.join("node_modules")).unwrap();
        std::fs::write(root.join("node_modules/dep.js"), root.display().to_string()).unwrap();
        for (name, text) in files {
            std::fs::write(root.join(name), text).unwrap();
        }
    }
    let node = json!({"shop": {"name": "shop", "local": {"path": local.path()},
        "servers": {"prod": {"alias": "web", "path": remote, "url": "https://shop.example", "runtime": {"pm2": "shop"}}},
        "createdAt": "2026-01-02T03:04:05.000Z", "owner": "marie"}});
    std::fs::write(c.data_dir().join("projects.json"), node.to_string()).unwrap();

    let r = c.call("project_list", json!({}));
    client::validate("project_list", &r);
    assert_eq!(sc(&r)["total"], 1, "{r}");
    assert!(r["content"][0]["text"].as_str().unwrap().contains("prod=web:"), "{r}");
    let r = c.call("project_resolve", json!({"name": "shop"}));
    client::validate("project_resolve", &r);
    let prod = &sc(&r)["roles"][0];
    assert_eq!((prod["alias"].as_str(), prod["host"].as_str()), (Some("web"), Some("127.0.0.1")), "{r}");
    assert_eq!(prod["port"], sshd.port());
    assert!(prod.get("password").is_none() && prod.get("keyPath").is_none(), "no credentials: {r}");

    let r = c.call("project_diff", json!({"name": "shop", "includeDiff": true}));
    client::validate("project_diff", &r);
    let d = sc(&r);
    assert_eq!(d["same"], false, "{r}");
    assert_eq!(d["onlyLocal"], json!(["new.txt"]));
    assert_eq!(d["onlyRemote"], json!(["old.txt"]));
    assert_eq!(d["modified"][0]["path"], "index.php");
    assert_eq!((d["modified"][0]["added"].as_u64(), d["modified"][0]["removed"].as_u64()), (Some(1), Some(0)));
    assert!(d["modified"][0]["diff"].as_str().unwrap().contains("+v2"), "{r}");
    assert_eq!(d["identical"], 1, "same.txt; node_modules ignored by Node's defaults");
    // The diff is a `file` job on the role's server and the local side, like diff_folders.
    let job = d["jobId"].as_str().unwrap_or_else(|| panic!("a job id: {r}")).to_string();
    let s = c.call("task_status", json!({"id": job}));
    assert_eq!((sc(&s)["kind"].as_str(), sc(&s)["status"].as_str()), (Some("file"), Some("completed")), "{s}");
    assert_eq!(sc(&s)["command"], format!("project_diff {} {}", remote.display(), local.path().display()), "{s}");
    assert_eq!(sc(&s)["alias"], "web,local", "{s}");

    // A second role: an update keeps Node's fields and the first role; the diff must now name it.
    let r = c.call(
        "project_set",
        json!({"name": "shop", "servers": {"staging": {"alias": "web", "path": "/srv/shop-staging"}}, "tags": ["php"]}),
    );
    client::validate("project_set", &r);
    assert_eq!(sc(&r)["created"], false, "{r}");
    let on_disk: Value = serde_json::from_slice(&std::fs::read(c.data_dir().join("projects.json")).unwrap()).unwrap();
    let shop = &on_disk["shop"];
    assert_eq!((shop["owner"].as_str(), shop["createdAt"].as_str()), (Some("marie"), Some("2026-01-02T03:04:05.000Z")));
    assert_eq!(shop["servers"]["prod"]["runtime"]["pm2"], "shop");
    assert_eq!(shop["servers"]["staging"]["path"], "/srv/shop-staging");
    let r = c.call("project_diff", json!({"name": "shop"}));
    assert_eq!(sc(&r)["error"]["code"], "INVALID_ARGUMENT", "two roles: which one? {r}");
    let r = c.call("project_diff", json!({"name": "shop", "role": "prod"}));
    assert_eq!(sc(&r)["role"], "prod", "{r}");

    let r = c.call("project_set", json!({"name": "blog", "servers": {"prod": {"alias": "nosuch", "path": "/srv"}}}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "aliases must exist: {r}");
    let r = c.call("project_get", json!({"name": "blog"}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "nothing was written: {r}");
    let r = c.call("project_remove", json!({"name": "shop"}));
    client::validate("project_remove", &r);
    assert_eq!(sc(&r)["project"]["owner"], "marie");
    let r = c.call("project_list", json!({}));
    assert_eq!(sc(&r)["total"], 0, "{r}");
}

#[test]
fn a_work_session_keeps_a_snapshot_its_jobs_and_log_then_notes_the_server() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    c.add_server(&sshd, "db");
    let app = sshd.scratch().join("work-app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("app.conf"), "workers 2\n").unwrap();

    let r = c.call("work_start", json!({"alias": "web", "message": "tune workers", "snapshot": true, "paths": [app]}));
    client::validate("work_start", &r);
    let s = &sc(&r)["session"];
    let id = s["id"].as_str().unwrap().to_string();
    let snap = s["snapshot"].as_str().expect("a snapshot was taken first").to_string();
    let r = c.call("snapshot_list", json!({}));
    assert!(r.to_string().contains(&snap), "{r}");

    for cmd in ["echo one", "sed -i s/2/4/ app.conf 2>/dev/null; echo two"] {
        let r = c.call("task_exec", json!({"alias": "web", "cmd": cmd}));
        assert_eq!(sc(&r)["exitCode"], 0, "{r}");
    }
    let r = c.call("task_exec", json!({"alias": "db", "cmd": "echo elsewhere"}));
    assert_eq!(sc(&r)["exitCode"], 0, "{r}");
    let r = c.call("work_log", json!({"id": id, "type": "edit", "detail": "workers 2 -> 4", "path": "app.conf"}));
    client::validate("work_log", &r);

    let r = c.call("work_list", json!({}));
    client::validate("work_list", &r);
    assert_eq!(sc(&r)["total"], 1, "{r}");
    let s = &sc(&r)["sessions"][0];
    let jobs: Vec<&str> = s["jobs"].as_array().unwrap().iter().map(|j| j["summary"].as_str().unwrap()).collect();
    assert_eq!(jobs.len(), 2, "the two jobs on web, not the one on db: {jobs:?}");
    assert!(jobs.iter().any(|j| j.contains("echo one")), "{jobs:?}");
    assert_eq!(s["log"][0]["detail"], "workers 2 -> 4");

    let r = c.call("work_end", json!({"id": id, "summary": "raised workers to 4"}));
    client::validate("work_end", &r);
    assert_eq!(sc(&r)["noted"], json!(["web"]), "{r}");
    let r = c.call("server_note_get", json!({"alias": "web"}));
    assert_eq!(sc(&r)["note"]["last_intervention"]["summary"], "raised workers to 4", "{r}");
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "echo after"}));
    assert_eq!(sc(&r)["exitCode"], 0);
    let r = c.call("work_list", json!({}));
    assert_eq!(sc(&r)["total"], 0, "{r}");
    let r = c.call("work_list", json!({"includeHistory": true}));
    let s = &sc(&r)["sessions"][0];
    assert_eq!((s["status"].as_str(), s["jobs"].as_array().unwrap().len()), (Some("ended"), 2), "{r}");
    let r = c.call("work_log", json!({"id": id, "type": "note"}));
    assert_eq!(sc(&r)["error"]["code"], "INVALID_ARGUMENT", "{r}");
    let r = c.call("work_start", json!({"alias": "nosuch"}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "{r}");
}
