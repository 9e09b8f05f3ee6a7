//! Many aliases over a few loopback sshd, for the fan-out benchmarks, with the same hosts ready for
//! `parallel-ssh` (Debian's pssh) so each benchmark compares with OpenSSH in the same run.
#![allow(dead_code)] // each benchmark uses part of it

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use sshdeck_core::Deck;
use sshdeck_core::servers::ServerConfig;
use sshdeck_testkit::Sshd;

/// `hosts` aliases spread over `daemons` sshd.
pub struct Hosts {
    pub daemons: Vec<Sshd>,
    pub hosts: usize,
    work: tempfile::TempDir,
}

impl Hosts {
    pub fn start(hosts: usize, daemons: usize) -> anyhow::Result<Hosts> {
        let daemons: Vec<Sshd> = (0..daemons).map(|_| Sshd::start()).collect::<anyhow::Result<_>>()?;
        let work = tempfile::tempdir()?;
        let h = Hosts { daemons, hosts, work };
        let lines: Vec<String> =
            (0..hosts).map(|i| h.daemon(i)).map(|d| format!("{}:{}", d.destination(), d.port())).collect();
        std::fs::write(h.hosts_file(), lines.join("\n") + "\n")?;
        let known: String = h.daemons.iter().map(|d| d.known_hosts_line()).collect();
        std::fs::write(h.known_hosts(), known)?;
        Ok(h)
    }

    fn daemon(&self, i: usize) -> &Sshd {
        &self.daemons[i % self.daemons.len()]
    }

    pub fn hosts_file(&self) -> PathBuf {
        self.work.path().join("hosts")
    }

    /// Every daemon's host key.
    pub fn known_hosts(&self) -> PathBuf {
        self.work.path().join("known_hosts")
    }

    pub fn key(&self) -> PathBuf {
        self.daemons[0].keys().ed25519.clone()
    }

    /// Registers `h000`… on `deck`; returns the aliases.
    pub fn register(&self, deck: &Deck) -> anyhow::Result<Vec<String>> {
        let mut aliases = Vec::new();
        for i in 0..self.hosts {
            let d = self.daemon(i);
            let cfg =
                ServerConfig { port: d.port(), key_path: Some(self.key()), ..ServerConfig::new(d.host(), d.user()) };
            let alias = format!("h{i:03}");
            deck.add_server(&alias, cfg, true)?;
            aliases.push(alias);
        }
        Ok(aliases)
    }

    /// `parallel-ssh -p 32 COMMAND` on every host, cold: the time and the failed hosts.
    pub fn pssh(&self, command: &str) -> anyhow::Result<(Duration, usize)> {
        let pssh = ["parallel-ssh", "parallel-ssh.pssh", "pssh"]
            .into_iter()
            .find(|p| Command::new(p).arg("--version").output().is_ok())
            .ok_or_else(|| anyhow::anyhow!("parallel-ssh not found: apt-get install pssh"))?;
        let t = Instant::now();
        let out = Command::new(pssh)
            .args(["-h", &self.hosts_file().display().to_string(), "-p", "32", "-t", "60"])
            .args(["-x", &format!("-F /dev/null -i {}", self.key().display())])
            .args(["-O", "BatchMode=yes", "-O", "IdentitiesOnly=yes", "-O", "StrictHostKeyChecking=yes"])
            .args(["-O", sshdeck_testkit::KEX])
            .args(["-O", &format!("UserKnownHostsFile={}", self.known_hosts().display())])
            .arg(command)
            .output()?;
        let elapsed = t.elapsed();
        let failed = String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("[FAILURE]")).count();
        Ok((elapsed, failed))
    }
}

pub fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn list(v: &[Duration]) -> String {
    v.iter().map(|d| format!("{:.0}", ms(*d))).collect::<Vec<_>>().join(" ")
}
