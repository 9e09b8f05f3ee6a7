//! `sshdeck demo`: a private sshd on loopback, a few jobs on it, and the console.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use sshdeck_console::console;
use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::jobs::{JobSpec, Step};
use sshdeck_core::servers::ServerConfig;

pub fn run(readonly: bool) -> Result<i32> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err(sshdeck_core::Error::InvalidArgument(
            "sshdeck demo opens the console: run it in a terminal".into(),
        )
        .into());
    }
    // Key-only login as the user running the demo: no account is created or changed.
    let sshd = sshdeck_testkit::Sshd::builder()
        .as_current_user()
        .start()
        .context("starting a loopback sshd (is openssh-server installed?)")?;
    let data = tempfile::Builder::new().prefix("sshdeck-demo-").tempdir()?;
    let mut err = std::io::stderr();
    writeln!(
        err,
        "demo: sshd on 127.0.0.1:{} as user {} (generated keys), data dir {}",
        sshd.port(),
        sshd.user(),
        data.path().display()
    )?;
    let env = HashMap::from([("MCP_DATA_DIR".to_string(), data.path().display().to_string())]);
    let settings = Settings::load_from(&env, Path::new("/nonexistent"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let deck = Deck::open(settings, "sshdeck-demo")?;
        let config = ServerConfig {
            port: sshd.port(),
            key_path: Some(sshd.keys().ed25519.clone()),
            tags: vec!["demo".into()],
            ..ServerConfig::new(sshd.host(), sshd.user())
        };
        deck.add_server("demo", config, true)?;
        let exec = |c: &str| JobSpec::Exec { command: c.into(), timeout_ms: None, read: false };
        for spec in [
            exec("uname -a; uptime"),
            exec("df -hP / /tmp"),
            exec("echo 'this one fails' >&2; exit 3"),
            JobSpec::Sequence {
                steps: ["id", "hostname", "ls -la /etc | head -5"]
                    .iter()
                    .map(|c| Step { command: c.to_string(), timeout_ms: None, continue_on_error: None })
                    .collect(),
                continue_on_error: false,
                timeout_ms: None,
            },
            exec("for i in $(seq 1 60); do echo \"tick $i\"; sleep 1; done"),
        ] {
            deck.submit("demo", spec, "demo", None)?;
        }
        let r = console::run(deck.clone(), readonly).await;
        deck.shutdown_with(std::time::Duration::from_secs(1)).await;
        drop(sshd);
        r.map(|_| 0)
    })
}
