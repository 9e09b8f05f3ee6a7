//! `runtime/<pid>.json`: one file per live sshdeck process, rewritten every second (heartbeat), so
//! any process can tell whether a job's owner is still alive and the console can show every pool.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::model::{Owner, now_ms};
use crate::data_dir::atomic_write;
use crate::error::Result;
use crate::pool::PoolStats;
pub use crate::process::proc_start_ticks;
use crate::tunnels::TunnelInfo;

/// A heartbeat older than this means the process is hung or gone.
pub const STALE_AFTER_MS: u64 = 15_000;

/// What a process says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The process.
    pub owner: Owner,
    /// When it started (ms).
    pub started_at: u64,
    /// Last beat (ms).
    pub last_beat: u64,
    /// Its start time in clock ticks since boot (from `/proc/<pid>/stat`), to tell a reused pid.
    pub proc_start: Option<u64>,
    /// Its connection pools.
    #[serde(default)]
    pub pool: PoolStats,
    /// The tunnels it holds (the runner's, in the runner).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tunnels: Vec<TunnelInfo>,
}

/// The runtime directory.
#[derive(Debug, Clone)]
pub struct Runtime {
    dir: PathBuf,
}

impl Runtime {
    /// `dir` must exist.
    pub fn new(dir: PathBuf) -> Self {
        Runtime { dir }
    }

    fn file(&self, pid: u32) -> PathBuf {
        self.dir.join(format!("{pid}.json"))
    }

    /// Writes this process's heartbeat.
    pub fn beat(&self, hb: &Heartbeat) -> Result<()> {
        let json = serde_json::to_vec(hb).expect("heartbeat serializes");
        atomic_write(&self.file(hb.owner.pid), &json, 0o600)
    }

    /// Removes this process's file (clean exit).
    pub fn remove(&self, pid: u32) {
        let _ = std::fs::remove_file(self.file(pid));
    }

    /// Every readable heartbeat.
    pub fn all(&self) -> Vec<Heartbeat> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return vec![];
        };
        entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect()
    }

    /// Whether `owner` is alive: its heartbeat is there, fresh, of the same run, and its pid is the
    /// same process (start time matches).
    pub fn is_alive(&self, owner: &Owner) -> Liveness {
        let Ok(bytes) = std::fs::read(self.file(owner.pid)) else {
            return Liveness::Dead("its process left no heartbeat");
        };
        let Ok(hb) = serde_json::from_slice::<Heartbeat>(&bytes) else {
            return Liveness::Dead("its heartbeat file is unreadable");
        };
        if hb.owner.instance != owner.instance {
            return Liveness::Dead("its process is gone (pid reused)");
        }
        if proc_start_ticks(owner.pid) != hb.proc_start || hb.proc_start.is_none() {
            return Liveness::Dead("its process is gone");
        }
        if now_ms().saturating_sub(hb.last_beat) > STALE_AFTER_MS {
            return Liveness::Dead("its process stopped beating");
        }
        Liveness::Alive
    }

    /// Removes heartbeat files of processes that are gone.
    pub fn clean_dead(&self) {
        for hb in self.all() {
            if proc_start_ticks(hb.owner.pid) != hb.proc_start {
                self.remove(hb.owner.pid);
            }
        }
    }
}

/// Result of [`Runtime::is_alive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Running and beating.
    Alive,
    /// Gone, with the reason.
    Dead(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_others_are_not() {
        let tmp = tempfile::tempdir().unwrap();
        let rt = Runtime::new(tmp.path().to_path_buf());
        let me = Owner { pid: std::process::id(), instance: "a".into(), program: "test".into() };
        let hb = Heartbeat {
            owner: me.clone(),
            started_at: now_ms(),
            last_beat: now_ms(),
            proc_start: proc_start_ticks(me.pid),
            pool: PoolStats::default(),
            tunnels: Vec::new(),
        };
        rt.beat(&hb).unwrap();
        assert_eq!(rt.is_alive(&me), Liveness::Alive);
        let other_run = Owner { instance: "b".into(), ..me.clone() };
        assert!(matches!(rt.is_alive(&other_run), Liveness::Dead(_)));
        let stale = Heartbeat { last_beat: now_ms() - STALE_AFTER_MS - 1, ..hb };
        rt.beat(&stale).unwrap();
        assert!(matches!(rt.is_alive(&me), Liveness::Dead(_)));
        let never = Owner { pid: 999_999_999, ..me };
        assert!(matches!(rt.is_alive(&never), Liveness::Dead(_)));
    }
}
