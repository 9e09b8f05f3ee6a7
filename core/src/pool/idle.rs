//! Idle connections: closed after the idle timeout (a minimum kept for the most recently used servers),
//! at once for a removed or changed server, or to free file descriptors.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{KEEP_MIN_FOR_SERVERS, Pool, ServerPool};

impl Pool {
    /// Closes every idle connection of every server but `except` (to free descriptors).
    pub(super) fn close_idle_everywhere(&self, except: &str) {
        let servers: Vec<_> = self.inner.servers.lock().expect("lock").values().cloned().collect();
        for s in servers.into_iter().filter(|s| s.target.alias != except) {
            s.close_idle(0);
        }
    }

    /// Closes connections idle longer than the idle timeout, keeping the minimum per server for the
    /// [`KEEP_MIN_FOR_SERVERS`] most recently used servers.
    pub fn reap(&self) {
        let mut servers: Vec<_> = self.inner.servers.lock().expect("lock").values().cloned().collect();
        servers.sort_by_key(|s| std::cmp::Reverse(*s.last_used.lock().expect("lock")));
        for (i, s) in servers.into_iter().enumerate() {
            let keep = if i < KEEP_MIN_FOR_SERVERS { self.inner.limits.min_connections } else { 0 };
            s.close_idle_older_than(self.inner.limits.idle_timeout, keep);
        }
    }
}

impl ServerPool {
    pub(super) fn close_idle(&self, keep: usize) {
        self.close_idle_older_than(Duration::ZERO, keep);
    }

    pub(super) fn close_idle_older_than(&self, idle_for: Duration, keep: usize) {
        let mut closing = Vec::new();
        {
            let mut st = self.state.lock().expect("lock");
            st.conns.retain(|c| c.usable());
            let mut live = st.conns.len();
            st.conns.retain(|c| {
                let idle =
                    c.in_use.load(Ordering::Acquire) == 0 && c.idle_since.lock().expect("lock").elapsed() >= idle_for;
                if idle && live > keep {
                    live -= 1;
                    closing.push(c.clone());
                    false
                } else {
                    true
                }
            });
        }
        if closing.is_empty() {
            return;
        }
        self.counters.reaped.fetch_add(closing.len() as u64, Ordering::Relaxed);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                for c in closing {
                    c.session.close().await;
                }
            });
        }
    }
}
