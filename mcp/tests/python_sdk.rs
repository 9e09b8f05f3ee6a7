//! The official Python MCP SDK client (PyPI `mcp`) drives sshdeck-mcp over real stdio against the
//! test sshd: the drop-in scenarios of `tests/python/drop_in.py`. The interpreter is `SSHDECK_PYTHON`,
//! else `target/pyvenv/bin/python` (which `.ci/run` creates), else `python3`; it must have `mcp`
//! installed — the test fails, never skips, when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use sshdeck_testkit::Sshd;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SSHDECK_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyvenv/bin/python");
    if venv.exists() { venv } else { PathBuf::from("python3") }
}

fn run(scenario: &str) {
    let sshd = Sshd::start().unwrap();
    let py = python();
    let probe = Command::new(&py).args(["-c", "import mcp, jsonschema"]).output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "{} cannot import the MCP SDK: python3 -m venv target/pyvenv && target/pyvenv/bin/pip install mcp ({probe:?})",
        py.display()
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&py)
        .arg(dir.join("tests/python/drop_in.py"))
        .env("SSHDECK_MCP", env!("CARGO_BIN_EXE_sshdeck-mcp"))
        .env("SSHD_PORT", sshd.port().to_string())
        .env("SSHD_USER", sshd.user())
        .env("SSHD_KEY", &sshd.keys().ed25519)
        .env("SSHD_SCRATCH", sshd.scratch())
        .env("NODE_CONTRACT", dir.join("tests/reference/node-orchestrator-11.8-tools.json"))
        .env("SCENARIO", scenario)
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "Python SDK scenarios failed:\n{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}

#[test]
fn python_sdk_drop_in_scenarios() {
    // `SCENARIO=name cargo test -p sshdeck-mcp --test python_sdk` runs one.
    run(&std::env::var("SCENARIO").unwrap_or_else(|_| "all".into()));
}
