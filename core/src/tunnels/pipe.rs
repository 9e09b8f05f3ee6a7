//! Bytes both ways between a TCP connection and an SSH channel, counted as they pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A tunnel's counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Connections open now.
    pub open: AtomicU64,
    /// Connections since the tunnel opened.
    pub total: AtomicU64,
    /// Bytes from the side that connected to the tunnel towards its target.
    pub sent: AtomicU64,
    /// Bytes back from the target.
    pub received: AtomicU64,
}

/// Counts a connection open while it lives.
pub(crate) struct Open(Arc<Counters>);

impl Open {
    pub(crate) fn new(c: &Arc<Counters>) -> Open {
        c.open.fetch_add(1, Ordering::Relaxed);
        c.total.fetch_add(1, Ordering::Relaxed);
        Open(c.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

const BUF: usize = 128 * 1024;

async fn copy(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    count: &AtomicU64,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; BUF];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buf[..n]).await?;
        count.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Carries `client` (the side that connected) to `channel` (towards the target) and back until both
/// directions end; an error on either (a reset) ends both.
pub(crate) async fn pipe<S>(client: S, channel: russh::Channel<russh::client::Msg>, counters: Arc<Counters>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let _open = Open::new(&counters);
    let (cr, cw) = tokio::io::split(client);
    let (sr, sw) = tokio::io::split(channel.into_stream());
    let up = copy(cr, sw, &counters.sent);
    let down = copy(sr, cw, &counters.received);
    tokio::pin!(up, down);
    let (mut up_done, mut down_done) = (false, false);
    while !(up_done && down_done) {
        tokio::select! {
            r = &mut up, if !up_done => {
                up_done = true;
                if r.is_err() {
                    return;
                }
            }
            r = &mut down, if !down_done => {
                down_done = true;
                if r.is_err() {
                    return;
                }
            }
        }
    }
}
