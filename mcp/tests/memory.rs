//! Server notes in Node's `server_notes.json` (read as written, unknown fields kept), shown by
//! server_list; task_retry_all and task_purge against the test sshd (a running job is never purged).

#[path = "support/client.rs"]
mod client;

use serde_json::{Value, json};
use sshdeck_testkit::Sshd;

use client::Client;
use client::structured as sc;

#[test]
fn notes_are_nodes_file_merged_and_shown_with_the_server() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    let node = r#"{"web": {"services": ["nginx", "pm2"], "conventions": ["deploy with make"], "team": "ops",
        "last_intervention": {"at": "2026-10-01T10:00:00Z", "summary": "rotated logs"}}}"#;
    std::fs::write(c.data_dir().join("server_notes.json"), node).unwrap();
    let r = c.call("server_note_get", json!({"alias": "web"}));
    assert_eq!(sc(&r)["note"]["last_intervention"]["summary"], "rotated logs", "{r}");
    let r =
        c.call("server_note_set", json!({"alias": "web", "warnings": ["disk 90%"], "intervention": "cleaned /tmp"}));
    let n = &sc(&r)["note"];
    assert_eq!((n["team"].as_str(), n["services"][1].as_str()), (Some("ops"), Some("pm2")), "kept: {r}");
    assert_eq!(
        (n["warnings"][0].as_str(), n["last_intervention"]["summary"].as_str()),
        (Some("disk 90%"), Some("cleaned /tmp"))
    );
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(c.data_dir().join("server_notes.json")).unwrap()).unwrap();
    assert_eq!(on_disk["web"]["conventions"][0], "deploy with make");
    let r = c.call("server_list", json!({}));
    assert_eq!(sc(&r)["servers"][0]["note"], "warnings: disk 90%", "{r}");
    assert!(r["content"][0]["text"].as_str().unwrap().contains("— warnings: disk 90%"), "{r}");
    let r = c.call("server_note_set", json!({"alias": "nosuch", "note": "x"}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "{r}");
    let r = c.call("server_note_list", json!({}));
    assert_eq!(sc(&r)["total"], 1, "{r}");
    let r = c.call("server_note_remove", json!({"alias": "web"}));
    assert!(sc(&r)["removed"].is_object(), "{r}");
    let r = c.call("server_note_remove", json!({"alias": "web"}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "{r}");
}

#[test]
fn failed_jobs_are_retried_at_once_and_finished_ones_purged_never_a_running_one() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all"), ("MCP_SYNC_TIMEOUT_S", "1")]);
    c.add_server(&sshd, "web");
    let failed: Vec<String> = (0..2)
        .map(|i| {
            let r = c.call("task_exec", json!({"alias": "web", "cmd": format!("echo try{i}; exit 3")}));
            sc(&r)["id"].as_str().unwrap().to_string()
        })
        .collect();
    let r = c.call("task_retry_all", json!({"status": "failed", "dry_run": true}));
    let listed: Vec<&str> = sc(&r)["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 2, "{r}");
    assert!(failed.iter().all(|f| listed.contains(&f.as_str())), "{r}");
    let r = c.call("task_retry_all", json!({"status": "failed"}));
    assert_eq!(sc(&r)["retried"], 2, "{r}");
    for row in sc(&r)["jobs"].as_array().unwrap() {
        let w = c.call("task_wait", json!({"id": row["newId"], "timeout": 30}));
        assert_eq!(sc(&w)["exitCode"], 3, "{w}");
        let s = c.call("task_status", json!({"id": row["id"]}));
        assert_eq!(sc(&s)["retriedBy"], row["newId"], "{s}");
    }
    // The originals are retried once: the next call picks only the new attempts.
    let r = c.call("task_retry_all", json!({"status": "failed", "dry_run": true}));
    let again: Vec<&str> = sc(&r)["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert!(failed.iter().all(|f| !again.contains(&f.as_str())), "{r}");

    // A running job, then a purge of everything finished: a dry run by default, and never the running one.
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "sleep 4"}));
    let running = sc(&r)["id"].as_str().unwrap().to_string();
    assert_eq!(sc(&r)["status"], "running", "{r}");
    let r = c.call("task_purge", json!({"status": "all_terminal"}));
    let ids: Vec<&str> = sc(&r)["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!((sc(&r)["dryRun"].as_bool(), ids.contains(&failed[0].as_str())), (Some(true), true), "{r}");
    assert!(!ids.contains(&running.as_str()), "a running job is never purged: {r}");
    let s = c.call("task_status", json!({"id": failed[0]}));
    assert_eq!(sc(&s)["status"], "failed", "the dry run removed nothing: {s}");
    let r = c.call("task_purge", json!({"status": "all_terminal", "dry_run": false}));
    assert!(sc(&r)["total"].as_u64().unwrap() >= 4, "{r}");
    let s = c.call("task_status", json!({"id": failed[0]}));
    assert_eq!(sc(&s)["error"]["code"], "NOT_FOUND", "{s}");
    assert!(!c.data_dir().join(format!("jobs/{}.log", failed[0])).exists(), "its output goes too");
    let s = c.call("task_status", json!({"id": running}));
    assert_eq!(sc(&s)["status"], "running", "{s}");
    let r = c.call("task_purge", json!({"status": "bogus"}));
    assert_eq!(sc(&r)["error"]["code"], "INVALID_ARGUMENT", "{r}");
}

#[test]
fn every_mutating_call_leaves_one_audit_line_without_its_secrets() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    c.call(
        "server_add",
        json!({"alias": "pw", "host": "127.0.0.1", "port": sshd.port(), "user": sshd.user(), "password": "Aud1t-Secret-77"}),
    );
    let r = c.call("task_exec", json!({"alias": "web", "cmd": "echo audited"}));
    let job = sc(&r)["id"].as_str().unwrap().to_string();
    c.call("server_list", json!({}));
    c.call("task_history", json!({}));
    let r = c.call("task_exec", json!({"alias": "nosuch", "cmd": "true"}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND");
    let text = std::fs::read_to_string(c.data_dir().join("audit.jsonl")).unwrap();
    assert!(!text.contains("Aud1t-Secret-77"), "no secret in the trail: {text}");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["server_add", "server_add", "task_exec", "task_exec"],
        "read-only tools are not audited: {text}"
    );
    assert_eq!(lines[1]["args"]["password"], "***", "{text}");
    assert_eq!((lines[2]["job"].as_str(), lines[2]["targets"][0].as_str()), (Some(job.as_str()), Some("web")));
    assert_eq!((lines[3]["result"].as_str(), lines[3]["caller"].as_str()), (Some("NOT_FOUND"), Some("stdio")));
}

#[test]
fn help_lists_exactly_the_registered_tools_and_one_tools_arguments() {
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    let listed = c.request("tools/list", json!({}));
    let mut registered: Vec<String> =
        listed["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
    registered.sort();
    let r = c.call("help", json!({}));
    let mut helped: Vec<String> = sc(&r)["toolsets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()))
        .collect();
    helped.sort();
    assert_eq!(helped, registered, "help lists every registered tool, once");
    let r = c.call("help", json!({"tool": "task_exec"}));
    let args = sc(&r)["tool"]["arguments"].as_array().unwrap();
    let alias = args.iter().find(|a| a["name"] == "alias").unwrap();
    assert_eq!((alias["required"].as_bool(), sc(&r)["tool"]["toolset"].as_str()), (Some(true), Some("core")), "{r}");
    let r = c.call("help", json!({"tool": "nosuch"}));
    assert_eq!(sc(&r)["error"]["code"], "NOT_FOUND", "{r}");
}

#[test]
fn check_api_health_checks_a_url_from_a_server() {
    let sshd = Sshd::start().unwrap();
    let http = sshdeck_testkit::http::HttpServer::start(&[]).unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    let r = c.call("check_api_health", json!({"alias": "web", "url": format!("{}/ok", http.url())}));
    assert_eq!((sc(&r)["status"].as_str(), sc(&r)["http_code"].as_u64()), (Some("UP"), Some(200)), "{r}");
    let r = c.call("check_api_health", json!({"alias": "web", "url": "ftp://example.invalid/"}));
    assert_eq!(sc(&r)["error"]["code"], "INVALID_ARGUMENT", "{r}");
}

#[test]
fn infra_audit_sums_up_the_fleet_without_secrets() {
    let sshd = Sshd::start().unwrap();
    let mut c = Client::start(&[("MCP_TOOLSETS", "all")]);
    c.add_server(&sshd, "web");
    c.call(
        "server_add",
        json!({"alias": "db", "host": "127.0.0.1", "port": sshd.port(), "user": sshd.user(), "password": "Infra-Secret-9"}),
    );
    c.call("server_note_set", json!({"alias": "web", "note": "the front"}));
    c.call("task_exec", json!({"alias": "web", "cmd": "exit 7"}));
    let r = c.call("infra_audit", json!({}));
    let s = sc(&r);
    assert_eq!(s["servers"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!((s["notes"].as_u64(), s["recentFailures"][0]["exitCode"].as_u64()), (Some(1), Some(7)), "{r}");
    assert!(r["content"][0]["text"].as_str().unwrap().contains("— the front"), "{r}");
    let full = c.call("infra_audit", json!({"compact": false}));
    assert!(!full.to_string().contains("Infra-Secret-9") && !r.to_string().contains("Infra-Secret-9"), "no secret");
    assert_eq!(sc(&full)["notes"]["web"]["note"], "the front");
}
