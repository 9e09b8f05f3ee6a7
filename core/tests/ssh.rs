//! Integration tests of SSH, exec and the pool against a real OpenSSH sshd on 127.0.0.1.

mod ssh {
    pub mod auth;
    pub mod exec;
    pub mod faults;
    pub mod fleet;
    pub mod hostkeys;
    pub mod jobs;
    pub mod jobs_cross;
    pub mod jump;
    pub mod ops;
    pub mod pool;
    pub mod sftp;
}

use std::collections::HashMap;
use std::path::Path;

use sshdeck_core::config::Settings;
use sshdeck_core::servers::ServerConfig;
use sshdeck_core::{Deck, Error, Result};
use sshdeck_testkit::Sshd;
use tempfile::TempDir;

/// A data dir, a deck on it and an sshd.
pub struct Env {
    pub sshd: Sshd,
    pub deck: Deck,
    pub data: TempDir,
}

/// Settings for a fresh data dir, with `overrides` as environment variables.
pub fn settings(data: &Path, overrides: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    env.insert("MCP_DATA_DIR".into(), data.display().to_string());
    Settings::load_from(&env, Path::new("/nonexistent")).expect("valid settings")
}

/// A config for `sshd` authenticating with its ed25519 key.
pub fn key_config(sshd: &Sshd) -> ServerConfig {
    ServerConfig {
        port: sshd.port(),
        key_path: Some(sshd.keys().ed25519.clone()),
        ..ServerConfig::new(sshd.host(), sshd.user())
    }
}

/// sshd + deck with alias `t` registered (ed25519 key).
pub fn env_with(sshd: Sshd, overrides: &[(&str, &str)]) -> Env {
    let data = tempfile::tempdir().unwrap();
    let deck = Deck::open(settings(data.path(), overrides), "test").unwrap();
    deck.add_server("t", key_config(&sshd), false).unwrap();
    Env { sshd, deck, data }
}

pub fn env() -> Env {
    env_with(Sshd::start().expect("start sshd"), &[])
}

/// Runs a command and returns its output, ignoring streamed chunks.
pub async fn run(deck: &Deck, alias: &str, cmd: &str) -> Result<sshdeck_core::exec::ExecOutput> {
    deck.exec(alias, cmd, deck.exec_options(), &mut |_, _| {}).await
}

pub fn code(r: Result<impl Sized>) -> &'static str {
    match r {
        Ok(_) => "OK",
        Err(e) => {
            let e: Error = e;
            e.code()
        }
    }
}
