//! Pool counters and their serializable snapshot.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Default)]
pub(super) struct Counters {
    pub channels_in_use: AtomicUsize,
    pub opened: AtomicU64,
    pub reused: AtomicU64,
    pub failures: AtomicU64,
    pub handshake_retries: AtomicU64,
    pub lost: AtomicU64,
    pub reaped: AtomicU64,
    latency: Mutex<Latency>,
}

#[derive(Default, Clone, Copy)]
struct Latency {
    last: Duration,
    total: Duration,
    max: Duration,
}

impl Counters {
    pub fn record_connect(&self, took: Duration) {
        self.opened.fetch_add(1, Ordering::Relaxed);
        let mut l = self.latency.lock().expect("lock");
        l.last = took;
        l.total += took;
        l.max = l.max.max(took);
    }

    /// Counters for a replacement pool of the same alias: history carries over, live gauges do not.
    pub fn carry_over(&self) -> Counters {
        Counters {
            channels_in_use: AtomicUsize::new(0),
            opened: AtomicU64::new(self.opened.load(Ordering::Relaxed)),
            reused: AtomicU64::new(self.reused.load(Ordering::Relaxed)),
            failures: AtomicU64::new(self.failures.load(Ordering::Relaxed)),
            handshake_retries: AtomicU64::new(self.handshake_retries.load(Ordering::Relaxed)),
            lost: AtomicU64::new(self.lost.load(Ordering::Relaxed)),
            reaped: AtomicU64::new(self.reaped.load(Ordering::Relaxed)),
            latency: Mutex::new(*self.latency.lock().expect("lock")),
        }
    }

    pub fn snapshot(&self, alias: &str, connections: usize, connecting: usize) -> ServerPoolStats {
        let l = *self.latency.lock().expect("lock");
        let opened = self.opened.load(Ordering::Relaxed);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        ServerPoolStats {
            alias: alias.to_string(),
            connections,
            connecting,
            channels_in_use: self.channels_in_use.load(Ordering::Acquire),
            opened,
            reused: self.reused.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            handshake_retries: self.handshake_retries.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
            reaped: self.reaped.load(Ordering::Relaxed),
            connect_ms_last: ms(l.last),
            connect_ms_avg: if opened == 0 { 0.0 } else { ms(l.total) / opened as f64 },
            connect_ms_max: ms(l.max),
        }
    }
}

/// One server's pool, at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerPoolStats {
    /// Alias.
    pub alias: String,
    /// Open connections.
    pub connections: usize,
    /// Connections being established.
    pub connecting: usize,
    /// Channels in use now.
    pub channels_in_use: usize,
    /// Connections opened so far.
    pub opened: u64,
    /// Requests served by an already open connection.
    pub reused: u64,
    /// Failed connection attempts.
    pub failures: u64,
    /// Handshakes retried after sshd dropped the connection (past its `MaxStartups`).
    #[serde(default)]
    pub handshake_retries: u64,
    /// Commands cut by a lost connection.
    pub lost: u64,
    /// Connections closed for being idle (or retired).
    pub reaped: u64,
    /// Latest connect + auth time.
    pub connect_ms_last: f64,
    /// Average connect + auth time.
    pub connect_ms_avg: f64,
    /// Slowest connect + auth time.
    pub connect_ms_max: f64,
}

/// Every server pool of this process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolStats {
    /// Per server, by alias.
    pub servers: Vec<ServerPoolStats>,
}
