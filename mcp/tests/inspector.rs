//! A real MCP client: the MCP Inspector's CLI mode (from npm) lists the tools and runs `task_exec`
//! against the test sshd. Needs `npx` and the npm registry.

use std::process::Command;

use serde_json::{Value, json};
use sshdeck_testkit::Sshd;

const INSPECTOR: &str = "@modelcontextprotocol/inspector@2.12.0";

fn inspector(data: &std::path::Path, args: &[&str]) -> Value {
    // The inspector starts the server with a minimal environment: pass the data dir explicitly.
    let out = Command::new("npx")
        .args(["-y", INSPECTOR, "--cli", "-e"])
        .arg(format!("MCP_DATA_DIR={}", data.display()))
        .arg(env!("CARGO_BIN_EXE_sshdeck-mcp"))
        .args(args)
        .output()
        .expect("npx (Node.js) is needed for this test: install nodejs and npm");
    assert!(
        out.status.success(),
        "inspector failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
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
