//! An `ssh-agent` holding chosen keys, for agent authentication tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// An `ssh-agent` holding the given keys, killed on drop.
#[derive(Debug)]
pub struct Agent {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    child: Child,
}

impl Agent {
    /// Starts an agent and adds `keys` (unencrypted key files).
    pub fn start(keys: &[&Path]) -> Result<Agent> {
        let dir = tempfile::tempdir()?;
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawning ssh-agent")?;
        let mut agent = Agent { _dir: dir, socket, child };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !agent.socket.exists() {
            if Instant::now() > deadline {
                bail!("ssh-agent did not create its socket");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for k in keys {
            let st = Command::new("ssh-add")
                .arg("-q")
                .arg(k)
                .env("SSH_AUTH_SOCK", &agent.socket)
                .stdin(Stdio::null())
                .status()?;
            if !st.success() {
                let _ = agent.child.kill();
                bail!("ssh-add {} failed", k.display());
            }
        }
        Ok(agent)
    }

    /// The socket to use as `SSH_AUTH_SOCK`.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
