//! A real MCP client: the MCP Inspector's CLI mode (from npm) lists the tools and runs `task_exec`
//! against the test sshd. Needs `npx` and the npm registry.

use std::process::Command;

use serde_json::{Value, json};
use sshdeck_testkit::Sshd;

const INSPECTOR: &str = "@modelcontextprotocol/inspector@2.12.0";

fn inspector(data: &std::path::Path, args: &[&str]) -> Value {
    inspector_with(data, &[], args)
}

/// The Inspector CLI with extra `NAME=value` environment for the server.
fn inspector_with(data: &std::path::Path, env: &[&str], args: &[&str]) -> Value {
    let out = run_inspector(data, env, args);
    assert!(
        out.status.success(),
        "inspector failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn run_inspector(data: &std::path::Path, env: &[&str], args: &[&str]) -> std::process::Output {
    // The inspector starts the server with a minimal environment: pass the data dir explicitly. The
    // Inspector refuses to call a tool that tools/list did not show, so these tests list every toolset.
    let mut cmd = Command::new("npx");
    cmd.args(["-y", INSPECTOR, "--cli", "-e"]).arg(format!("MCP_DATA_DIR={}", data.display()));
    cmd.args(["-e", "MCP_TOOLSETS=all"]);
    for e in env {
        cmd.args(["-e", e]);
    }
    cmd.arg(env!("CARGO_BIN_EXE_sshdeck-mcp"))
        .args(args)
        .output()
        .expect("npx (Node.js) is needed for this test: install nodejs and npm")
}

#[test]
fn mcp_inspector_lists_tools_and_runs_a_command() {
    let sshd = Sshd::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let servers =
        json!({"web": {"host": "127.0.0.1", "port": sshd.port(), "user": sshd.user(), "keyPath": sshd.keys().ed25519}});
    std::fs::write(data.path().join("servers.json"), servers.to_string()).unwrap();

    let list = inspector(data.path(), &["--method", "tools/list"]);
    let names: Vec<&str> = list["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    for want in ["task_exec", "task_status", "server_list", "queue_stats"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }

    let r = inspector(
        data.path(),
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "task_exec",
            "--tool-arg",
            "alias=web",
            "--tool-arg",
            "cmd=echo from-inspector; id -un",
        ],
    );
    assert_eq!(r["isError"], false, "{r}");
    assert_eq!(r["structuredContent"]["exitCode"], 0, "{r}");
    assert_eq!(r["structuredContent"]["status"], "completed", "{r}");
    assert_eq!(r["structuredContent"]["stdout"], format!("from-inspector\n{}\n", sshd.user()), "{r}");
}

fn call(data: &std::path::Path, tool: &str, args: &[String]) -> Value {
    let mut a: Vec<String> = vec!["--method".into(), "tools/call".into(), "--tool-name".into(), tool.into()];
    for arg in args {
        a.push("--tool-arg".into());
        a.push(arg.clone());
    }
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    inspector(data, &a)
}

#[test]
fn mcp_inspector_runs_every_ops_api_and_fleet_tool() {
    let sshd = Sshd::start().unwrap();
    let http = sshdeck_testkit::http::HttpServer::start(&["Bearer tok-INSPECT"]).unwrap();
    let data = tempfile::tempdir().unwrap();
    let servers =
        json!({"web": {"host": "127.0.0.1", "port": sshd.port(), "user": sshd.user(), "keyPath": sshd.keys().ed25519}});
    std::fs::write(data.path().join("servers.json"), servers.to_string()).unwrap();
    let d = data.path();
    let web = "alias=web".to_string();

    let r = call(d, "get_system_resources", std::slice::from_ref(&web));
    assert!(r["structuredContent"]["cpu"]["cores"].as_u64().unwrap() >= 1, "{r}");
    let r = call(d, "get_services_status", std::slice::from_ref(&web));
    assert!(r["structuredContent"]["pm2"]["status"].is_string(), "{r}");
    let r = call(d, "get_fail2ban_status", std::slice::from_ref(&web));
    assert!(r["structuredContent"]["status"].is_string() || r["structuredContent"]["error"]["code"].is_string(), "{r}");
    let r = call(d, "net_ping", &[web.clone(), "host=127.0.0.1".into(), "count=1".into()]);
    assert!(r["structuredContent"]["reachable"] == true || r["structuredContent"]["error"]["code"] == "NOT_INSTALLED");
    let r = call(d, "net_port_check", &[web.clone(), "host=127.0.0.1".into(), format!("ports={}", sshd.port())]);
    assert_eq!(r["structuredContent"]["ports"][0]["state"], "open", "{r}");
    let r = call(d, "net_dns_lookup", &[web.clone(), "name=localhost".into()]);
    assert!(r["structuredContent"]["records"].as_array().is_some_and(|a| !a.is_empty()), "{r}");
    let r = call(d, "net_http_request", &[web.clone(), format!("url={}/ok", http.url())]);
    assert_eq!(r["structuredContent"]["status"], 200, "{r}");

    let r = call(
        d,
        "api_add",
        &[
            "alias=main_api".into(),
            format!("url={}", http.url()),
            "health_check_endpoint=/auth".into(),
            "auth_method=api_key".into(),
            "api_key=tok-INSPECT".into(),
        ],
    );
    assert_eq!(r["isError"], false, "{r}");
    let r = call(d, "api_check", &["alias=main_api".into()]);
    assert_eq!(r["structuredContent"]["status"], "UP", "{r}");
    let r = call(d, "api_check", &["alias=main_api".into(), "server_alias=web".into()]);
    assert_eq!(r["structuredContent"]["status"], "UP", "{r}");
    let r = call(d, "api_list", &[]);
    assert_eq!(r["structuredContent"]["apis"][0]["last_check"]["status"], "UP", "{r}");
    assert!(!r.to_string().contains("tok-INSPECT"), "{r}");
    let r = call(d, "api_remove", &["alias=main_api".into()]);
    assert_eq!(r["isError"], false, "{r}");

    // Fleet tools.
    let r = call(d, "server_group_set", &["name=edge".into(), r#"aliases=["web"]"#.into()]);
    assert_eq!(r["structuredContent"]["aliases"], json!(["web"]), "{r}");
    let r = call(d, "server_group_list", &[]);
    assert_eq!(r["structuredContent"]["groups"][0]["name"], "edge", "{r}");
    let r = call(d, "fleet_status", &["targets=group:edge".into()]);
    assert_eq!(r["structuredContent"]["hosts"][0]["reachable"], true, "{r}");
    let r = call(d, "task_exec", &["alias=group:edge".into(), "cmd=echo fan".into()]);
    assert_eq!(r["structuredContent"]["fleet"]["groups"][0]["output"], "fan\n", "{r}");
    let r = call(d, "server_group_remove", &["name=edge".into()]);
    assert_eq!(r["isError"], false, "{r}");
}

#[test]
fn mcp_inspector_gets_a_long_call_and_a_down_api_check_as_valid_results() {
    let sshd = Sshd::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let servers =
        json!({"web": {"host": "127.0.0.1", "port": sshd.port(), "user": sshd.user(), "keyPath": sshd.keys().ed25519}});
    std::fs::write(data.path().join("servers.json"), servers.to_string()).unwrap();
    let d = data.path();
    // A call longer than the sync wait: the Inspector (which declares the tasks extension but does not
    // handle task results) gets an ordinary, schema-valid result carrying the running job's id.
    let cmd = "cmd=sleep 3; echo done".to_string();
    let args = ["--method", "tools/call", "--tool-name", "task_exec", "--tool-arg", "alias=web", "--tool-arg", &cmd];
    let r = inspector_with(d, &["MCP_SYNC_TIMEOUT_S=1"], &args);
    assert_eq!(
        (r["isError"].as_bool(), r["structuredContent"]["status"].as_str()),
        (Some(false), Some("running")),
        "{r}"
    );
    let id = r["structuredContent"]["id"].as_str().unwrap().to_string();
    assert!(r["structuredContent"]["message"].as_str().unwrap().contains("task_wait"), "{r}");
    // The job is on record for the next client (it ends when the server process that ran it ends:
    // jobs that outlive their front end are the runner's work, issue #15).
    let r = inspector(d, &["--method", "tools/call", "--tool-name", "task_status", "--tool-arg", &format!("id={id}")]);
    assert_eq!(r["structuredContent"]["id"], id.as_str(), "{r}");

    // An API that is down: a valid result (its `error` is an object, as the output schema says).
    let r = inspector(
        d,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "api_add",
            "--tool-arg",
            "alias=down",
            "--tool-arg",
            "url=http://127.0.0.1:9",
        ],
    );
    assert_eq!(r["isError"], false, "{r}");
    let r = inspector(d, &["--method", "tools/call", "--tool-name", "api_check", "--tool-arg", "alias=down"]);
    assert_eq!(r["structuredContent"]["status"], "DOWN", "{r}");
    assert!(r["structuredContent"]["error"]["message"].is_string(), "{r}");
}
