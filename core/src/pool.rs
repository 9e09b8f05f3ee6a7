//! Connection pool: per server, a few SSH connections that each carry several channels at once.
//!
//! - A request takes a channel slot on the least-loaded live connection; when every connection is full
//!   it opens a new one, unless `live + connecting` already reaches the maximum, in which case it waits
//!   for a slot. In-flight connects count, so a burst never overshoots the maximum.
//! - Slots per connection stay under sshd's `MaxSessions` (10): 8 by default, as measured.
//! - New handshakes to one host are paced (at most [`HANDSHAKES_PER_HOST`] at once) to stay under
//!   sshd's `MaxStartups`; a connection sshd still drops before the handshake completes (other clients
//!   count too) is tried again, up to 3 times, after a short jittered pause.
//! - A closed connection (keep-alive failure, peer gone) is dropped from the pool when next seen.
//! - Each server pool is keyed by the exact connection settings; when they change, the old connections
//!   are retired (closed as soon as they are idle) and never handed out again.
//! - Authentication and host-key failures are returned at once, never retried.

mod exec;
mod idle;
mod stats;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};

use crate::error::Result;

use crate::ssh::{ConnectOptions, Session, Target};
pub use stats::{PoolStats, ServerPoolStats};

/// How long a pooled connection gets to open a channel before it is taken as dead.
pub const CHANNEL_OPEN_TIMEOUT: Duration = Duration::from_secs(3);

/// Handshakes of a dropped connection retried (sshd past `MaxStartups`).
const HANDSHAKE_RETRIES: u32 = 3;

/// Servers whose minimum of idle connections is kept (the most recently used): after a fan-out to
/// thousands of hosts, the others' idle connections close after `IDLE_TIMEOUT` like any other.
pub const KEEP_MIN_FOR_SERVERS: usize = 64;

/// Concurrent unauthenticated handshakes per host (sshd's `MaxStartups` starts dropping at 10).
pub const HANDSHAKES_PER_HOST: usize = 8;

/// Pool limits.
#[derive(Debug, Clone)]
pub struct PoolLimits {
    /// Connections per server, at most.
    pub max_connections: usize,
    /// Idle connections kept by the reaper.
    pub min_connections: usize,
    /// Channels per connection, at most.
    pub channels_per_connection: usize,
    /// Idle time before a connection is closed.
    pub idle_timeout: Duration,
}

/// The pool. Cheap to clone; all clones share connections.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    limits: PoolLimits,
    connect: ConnectOptions,
    servers: Mutex<HashMap<String, Arc<ServerPool>>>,
    handshakes: Mutex<HashMap<(String, u16), Arc<Semaphore>>>,
}

struct ServerPool {
    target: Target,
    /// When a slot was last taken.
    last_used: Mutex<Instant>,
    state: Mutex<State>,
    notify: Notify,
    retired: AtomicBool,
    counters: stats::Counters,
}

#[derive(Default)]
struct State {
    conns: Vec<Arc<Conn>>,
    connecting: usize,
}

struct Conn {
    id: u64,
    session: Session,
    /// Taken as dead (no channel in time): never handed out again.
    dead: AtomicBool,
    in_use: AtomicUsize,
    /// When the last lease on this connection ended (idle reaping measures from here).
    idle_since: Mutex<Instant>,
}

/// A channel slot on a pooled connection, given back on drop.
pub struct Lease {
    conn: Arc<Conn>,
    server: Arc<ServerPool>,
}

impl Lease {
    /// The session this slot belongs to.
    pub fn session(&self) -> &Session {
        &self.conn.session
    }

    /// The pooled connection's id (for stats and tests).
    pub fn connection_id(&self) -> u64 {
        self.conn.id
    }

    /// Takes this connection out of the pool (it answers no more) and closes it in the background.
    pub fn discard(&self) {
        self.conn.dead.store(true, Ordering::Release);
        let conn = self.conn.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(1), conn.session.close()).await;
            });
        }
    }
}

impl Conn {
    fn usable(&self) -> bool {
        !self.dead.load(Ordering::Acquire) && !self.session.is_closed()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        *self.conn.idle_since.lock().expect("lock") = Instant::now();
        self.conn.in_use.fetch_sub(1, Ordering::AcqRel);
        self.server.counters.channels_in_use.fetch_sub(1, Ordering::AcqRel);
        if self.server.retired.load(Ordering::Acquire) && self.conn.in_use.load(Ordering::Acquire) == 0 {
            self.server.close_idle(0);
        }
        self.server.notify.notify_waiters();
    }
}

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

impl Pool {
    /// A pool with these limits and connect options. Starts the idle reaper on the current runtime.
    pub fn new(limits: PoolLimits, connect: ConnectOptions) -> Self {
        let pool = Pool {
            inner: Arc::new(PoolInner {
                limits,
                connect,
                servers: Mutex::new(HashMap::new()),
                handshakes: Mutex::new(HashMap::new()),
            }),
        };
        let weak = Arc::downgrade(&pool.inner);
        let period = (pool.inner.limits.idle_timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(30));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                Pool { inner }.reap();
            }
        });
        pool
    }

    /// Takes a channel slot for `target`, connecting if needed.
    pub async fn acquire(&self, target: &Target) -> Result<Lease> {
        let server = self.server_pool(target);
        *server.last_used.lock().expect("lock") = Instant::now();
        loop {
            let notified = server.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let connect_now = {
                let mut st = server.state.lock().expect("lock");
                st.conns.retain(|c| c.usable());
                let best = st
                    .conns
                    .iter()
                    .filter(|c| c.in_use.load(Ordering::Acquire) < self.inner.limits.channels_per_connection)
                    .min_by_key(|c| c.in_use.load(Ordering::Acquire));
                if let Some(conn) = best {
                    conn.in_use.fetch_add(1, Ordering::AcqRel);
                    server.counters.channels_in_use.fetch_add(1, Ordering::AcqRel);
                    server.counters.reused.fetch_add(1, Ordering::Relaxed);
                    return Ok(Lease { conn: conn.clone(), server: server.clone() });
                }
                if st.conns.len() + st.connecting < self.inner.limits.max_connections {
                    st.connecting += 1;
                    true
                } else {
                    false
                }
            };
            if !connect_now {
                notified.await;
                continue;
            }
            let result = self.connect(&server).await;
            let mut st = server.state.lock().expect("lock");
            st.connecting -= 1;
            match result {
                Ok(session) => {
                    let conn = Arc::new(Conn {
                        id: NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed),
                        session,
                        dead: AtomicBool::new(false),
                        in_use: AtomicUsize::new(1),
                        idle_since: Mutex::new(Instant::now()),
                    });
                    st.conns.push(conn.clone());
                    server.counters.channels_in_use.fetch_add(1, Ordering::AcqRel);
                    drop(st);
                    server.notify.notify_waiters();
                    return Ok(Lease { conn, server: server.clone() });
                }
                Err(e) => {
                    drop(st);
                    // Waiters re-check: one of them may connect, or fail the same way themselves.
                    server.notify.notify_waiters();
                    return Err(e);
                }
            }
        }
    }

    async fn connect(&self, server: &ServerPool) -> Result<Session> {
        let first = server.target.jumps.first().unwrap_or(&server.target.config);
        let sem = {
            let mut map = self.inner.handshakes.lock().expect("lock");
            map.entry((first.host.clone(), first.port))
                .or_insert_with(|| Arc::new(Semaphore::new(HANDSHAKES_PER_HOST)))
                .clone()
        };
        let _permit = sem.acquire().await.expect("semaphore never closed");
        if crate::limits::files_short() {
            // Near the open-file limit (a large fan-out): close idle connections of other servers
            // first, and give up cleanly, keeping descriptors for the journal and output files.
            self.close_idle_everywhere(&server.target.alias);
            let deadline = Instant::now() + Duration::from_secs(2);
            while crate::limits::files_short() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if crate::limits::files_short() {
                server.counters.failures.fetch_add(1, Ordering::Relaxed);
                return Err(crate::Error::ResourceExhausted {
                    what: format!("cannot connect to {}", server.target.alias),
                    reason: format!(
                        "no file descriptor to spare (open-file limit {}, {} open; raise `ulimit -n`, or lower FLEET_CONCURRENCY)",
                        crate::limits::open_files(),
                        crate::limits::open_fds()
                    ),
                });
            }
        }
        let started = Instant::now();
        let mut result = Session::connect(&server.target, &self.inner.connect).await;
        // sshd drops connections past MaxStartups (other clients count too, and a just-authenticated
        // connection may still count for a moment): such a drop is retried after a short, jittered pause.
        for attempt in 0..HANDSHAKE_RETRIES {
            match &result {
                Err(crate::Error::HandshakeDropped { .. }) => {
                    let jitter = u64::from(getrandom::u32().unwrap_or(0) % 150);
                    tokio::time::sleep(Duration::from_millis(50 * (1 << attempt) + jitter)).await;
                    server.counters.handshake_retries.fetch_add(1, Ordering::Relaxed);
                    result = Session::connect(&server.target, &self.inner.connect).await;
                }
                _ => break,
            }
        }
        // Out of file descriptors is sshdeck's own limit, not the host's fault: said so, with the limit.
        if let Err(crate::Error::ConnectionFailed { host, port, reason }) = &result
            && crate::limits::is_out_of_files(reason)
        {
            result = Err(crate::Error::ResourceExhausted {
                what: format!("cannot connect to {host}:{port}"),
                reason: format!(
                    "no file descriptor left (open-file limit {}; raise `ulimit -n`, or lower FLEET_CONCURRENCY)",
                    crate::limits::open_files()
                ),
            });
        }
        match &result {
            Ok(_) => server.counters.record_connect(started.elapsed()),
            Err(e) => {
                server.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(alias = %server.target.alias, code = e.code(), error = %e, "connect failed");
            }
        }
        result
    }

    /// The pool for `target`, replacing (and retiring) one built from other settings.
    fn server_pool(&self, target: &Target) -> Arc<ServerPool> {
        let mut servers = self.inner.servers.lock().expect("lock");
        if let Some(existing) = servers.get(&target.alias) {
            if existing.target == *target {
                return existing.clone();
            }
            tracing::info!(alias = %target.alias, "server settings changed; retiring its pooled connections");
            existing.retired.store(true, Ordering::Release);
            existing.close_idle(0);
            existing.notify.notify_waiters();
        }
        let fresh = Arc::new(ServerPool {
            target: target.clone(),
            last_used: Mutex::new(Instant::now()),
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            retired: AtomicBool::new(false),
            counters: servers.get(&target.alias).map(|old| old.counters.carry_over()).unwrap_or_default(),
        });
        servers.insert(target.alias.clone(), fresh.clone());
        fresh
    }

    /// Forgets a server (after it was removed from the registry): closes its idle connections now and
    /// the busy ones when their commands end.
    pub fn evict(&self, alias: &str) {
        if let Some(s) = self.inner.servers.lock().expect("lock").remove(alias) {
            s.retired.store(true, Ordering::Release);
            s.close_idle(0);
        }
    }

    /// Closes every connection.
    pub async fn shutdown(&self) {
        let servers: Vec<_> = self.inner.servers.lock().expect("lock").drain().map(|(_, s)| s).collect();
        for s in servers {
            let conns: Vec<_> = std::mem::take(&mut s.state.lock().expect("lock").conns);
            for c in conns {
                c.session.close().await;
            }
        }
    }

    /// A snapshot of every server pool's counters.
    pub fn stats(&self) -> PoolStats {
        let servers = self.inner.servers.lock().expect("lock");
        let mut list: Vec<ServerPoolStats> = servers
            .values()
            .map(|s| {
                let st = s.state.lock().expect("lock");
                s.counters.snapshot(&s.target.alias, st.conns.iter().filter(|c| c.usable()).count(), st.connecting)
            })
            .collect();
        list.sort_by(|a, b| a.alias.cmp(&b.alias));
        PoolStats { servers: list }
    }
}
