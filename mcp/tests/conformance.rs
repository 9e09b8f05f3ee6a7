//! The official MCP conformance suite (`@modelcontextprotocol/conformance` 0.1.16, npm; Node ≥ 22 from
//! the npm `node` package) against `sshdeck-mcp --http` on a free loopback port. Needs `npx` and the
//! npm registry.
//!
//! Applicable server scenarios must pass. Not applicable, because they call the suite's own fixture
//! tools, resources and prompts (`test_simple_text`, `test://static-text`, `test_simple_prompt`…), which
//! a real server does not have: tools-call-* (simple-text, image, audio, embedded-resource,
//! mixed-content, with-logging, error, with-progress, sampling, elicitation), elicitation-sep1034-defaults,
//! elicitation-sep1330-enums, resources-read-text, resources-read-binary, resources-templates-read,
//! prompts-get-* (simple, with-args, embedded-resource, with-image).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const APPLICABLE: &[&str] = &[
    "server-initialize",
    "logging-set-level",
    "ping",
    "completion-complete",
    "tools-list",
    "server-sse-multiple-streams",
    "resources-list",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "dns-rebinding-protection",
];

#[test]
fn the_official_conformance_suite_passes_every_applicable_scenario() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_sshdeck-mcp"))
        .args(["--http", "127.0.0.1:0"])
        .env("MCP_DATA_DIR", data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the server says where it serves").unwrap();
        if let Some(i) = line.find("http://") {
            break line[i..].trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let out = Command::new("npx")
        .args(["-y", "-p", "node@22", "-p", "@modelcontextprotocol/conformance@0.1.16", "--"])
        .args(["conformance", "server", "--url", &url])
        .output()
        .expect("npx (Node.js) is needed for this test");
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let summary = text.split("=== SUMMARY ===").nth(1).unwrap_or_else(|| panic!("no summary:\n{text}"));
    for scenario in APPLICABLE {
        let line = summary
            .lines()
            .find(|l| l.contains(&format!(" {scenario}:")))
            .unwrap_or_else(|| panic!("{scenario} did not run:\n{summary}"));
        assert!(line.contains('✓') && line.contains(" 0 failed"), "{scenario}: {line}\n{text}");
    }
}
