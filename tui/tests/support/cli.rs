//! The `sshdeck` binary on a fresh data dir, for the integration tests of this crate.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};

use sshdeck_testkit::Sshd;
use tempfile::TempDir;

pub struct Cli {
    pub data: TempDir,
    pub cwd: TempDir,
}

impl Cli {
    pub fn new() -> Cli {
        Cli { data: tempfile::tempdir().unwrap(), cwd: tempfile::tempdir().unwrap() }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sshdeck"));
        c.args(args)
            .current_dir(self.cwd.path())
            .env("MCP_DATA_DIR", self.data.path())
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Registers `sshd` as `alias` with the client key, without the first connection (tests that look
    /// at connections and runners start from none).
    pub fn add_key_server(&self, alias: &str, sshd: &Sshd) {
        let port = sshd.port().to_string();
        let key = sshd.keys().ed25519.display().to_string();
        let out = self.run(&[
            "servers",
            "add",
            alias,
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--user",
            sshd.user(),
            "--key",
            &key,
            "--no-connect",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
