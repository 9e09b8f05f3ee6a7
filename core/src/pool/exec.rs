//! A command through the pool, bounded by its timeout from the first wait for a slot to the end, with
//! a pooled connection that opens no channel in time dropped as dead and replaced.

use std::sync::atomic::Ordering;

use super::{CHANNEL_OPEN_TIMEOUT, Pool};
use crate::error::Result;
use crate::exec::{ExecOptions, ExecOutput, Stream};
use crate::ssh::Target;

impl Pool {
    /// Runs `command` on `target` through a pooled connection. `opts.timeout` bounds the whole call:
    /// waiting for a slot, connecting, opening the channel and the command. A pooled connection that
    /// does not open a channel within [`CHANNEL_OPEN_TIMEOUT`] is taken as dead (a frozen or vanished
    /// peer that keep-alives have not caught yet), dropped, and the call goes on with a fresh one.
    pub async fn exec(
        &self,
        target: &Target,
        command: &str,
        mut opts: ExecOptions,
        on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<ExecOutput> {
        let limit = opts.timeout;
        let deadline = limit.map(|t| tokio::time::Instant::now() + t);
        let out_of_time = || crate::Error::CommandTimeout {
            alias: target.alias.clone(),
            timeout: limit.unwrap_or_default(),
            partial: Box::new(ExecOutput::new(0)),
        };
        let left = || deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
        let mut stale_dropped = false;
        let (lease, channel) = loop {
            let lease = match deadline {
                Some(d) => tokio::time::timeout_at(d, self.acquire(target)).await.map_err(|_| out_of_time())??,
                None => self.acquire(target).await?,
            };
            let wait = left().map_or(CHANNEL_OPEN_TIMEOUT, |l| l.min(CHANNEL_OPEN_TIMEOUT));
            match tokio::time::timeout(wait, lease.session().open_channel()).await {
                Ok(Ok(channel)) => break (lease, channel),
                Ok(Err(crate::Error::ConnectionLost { host, reason })) => {
                    // Nothing reached the server yet: a failure before the command, which callers
                    // may retry (unlike a connection lost while the command ran).
                    lease.server.counters.lost.fetch_add(1, Ordering::Relaxed);
                    lease.discard();
                    let reason = format!("connection lost before the command started: {reason}");
                    return Err(crate::Error::ChannelFailed { host, reason });
                }
                Ok(Err(e)) => return Err(e),
                Err(_) if left().is_some_and(|l| l.is_zero()) => return Err(out_of_time()),
                Err(_) => {
                    tracing::warn!(alias = %target.alias, conn = lease.conn.id, "no channel within {wait:?}: dropping the connection as dead");
                    lease.server.counters.lost.fetch_add(1, Ordering::Relaxed);
                    lease.discard();
                    if stale_dropped {
                        return Err(crate::Error::ConnectionLost {
                            host: target.config.host.clone(),
                            reason: format!("the server opened no channel within {wait:?}"),
                        });
                    }
                    stale_dropped = true;
                }
            }
        };
        opts.timeout = left();
        let result = crate::exec::run(channel, &target.alias, &target.config.host, command, opts, on_output).await;
        let result = match result {
            // The command's own timeout is the caller's whole budget.
            Err(crate::Error::CommandTimeout { alias, partial, .. }) => {
                Err(crate::Error::CommandTimeout { alias, timeout: limit.unwrap_or_default(), partial })
            }
            other => other,
        };
        if matches!(result, Err(crate::Error::ConnectionLost { .. })) {
            lease.server.counters.lost.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}
