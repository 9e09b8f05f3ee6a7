//! The moving parts of a tunnel: its SSH link (a channel slot held on a pooled connection, replaced
//! when the connection drops), the local listener of a `local` or `socks` tunnel, the remote
//! listener of a `remote` one, and a watch that keeps its state honest.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::pipe::{Counters, pipe};
use super::socks;
use crate::error::{Error, Result};
use crate::pool::{Lease, Pool};
use crate::ssh::Target;

/// How long reaching the server may take.
const CONNECT: Duration = Duration::from_secs(20);
/// How often the link is looked at.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// `up`, or `down` with why.
#[derive(Debug, Clone, Default)]
pub(crate) struct Health {
    pub up: bool,
    pub error: Option<String>,
    pub reconnects: u64,
}

/// The tunnel's SSH connection.
pub(crate) struct Link {
    pool: Pool,
    target: Target,
    lease: tokio::sync::Mutex<Option<Lease>>,
    pub health: Mutex<Health>,
}

impl Link {
    pub(crate) fn new(pool: Pool, target: Target) -> Link {
        Link { pool, target, lease: tokio::sync::Mutex::new(None), health: Mutex::default() }
    }

    fn mark(&self, r: std::result::Result<(), String>) {
        let mut h = self.health.lock().expect("lock");
        match r {
            Ok(()) => {
                if !h.up && h.error.is_some() {
                    h.reconnects += 1;
                }
                h.up = true;
                h.error = None;
            }
            Err(e) => {
                h.up = false;
                h.error = Some(e);
            }
        }
    }

    /// The held lease, connecting (again) when there is none or its connection is gone.
    async fn lease(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Lease>>> {
        let mut g = self.lease.lock().await;
        if g.as_ref().is_none_or(|l| l.session().is_closed()) {
            *g = None;
            let got = tokio::time::timeout(CONNECT, self.pool.acquire(&self.target)).await.unwrap_or_else(|_| {
                Err(Error::ConnectionFailed {
                    host: self.target.config.host.clone(),
                    port: self.target.config.port,
                    reason: format!("no connection within {CONNECT:?}"),
                })
            });
            match got {
                Ok(l) => *g = Some(l),
                Err(e) => {
                    self.mark(Err(e.to_string()));
                    return Err(e);
                }
            }
        }
        self.mark(Ok(()));
        Ok(g)
    }

    /// Whether the held connection is alive.
    pub(crate) async fn is_up(&self) -> bool {
        self.lease.lock().await.as_ref().is_some_and(|l| !l.session().is_closed())
    }

    /// Connects (if needed) and reports.
    pub(crate) async fn ensure(&self) -> Result<()> {
        self.lease().await.map(drop)
    }

    /// A channel to `host:port` made by the server; a connection found dead is replaced once.
    pub(crate) async fn open_direct(
        &self,
        host: &str,
        port: u16,
        origin: SocketAddr,
    ) -> Result<russh::Channel<russh::client::Msg>> {
        for attempt in 0..2 {
            let mut g = self.lease().await?;
            let lease = g.as_ref().expect("connected");
            match lease.session().open_direct_tcpip(host, port, origin).await {
                Err(Error::ConnectionLost { .. }) if attempt == 0 => {
                    lease.discard();
                    *g = None;
                }
                other => return other,
            }
        }
        unreachable!("the second attempt returns")
    }

    async fn forward_remote(
        &self,
        port: u16,
    ) -> Result<(u32, tokio::sync::mpsc::UnboundedReceiver<crate::ssh::ForwardedConn>)> {
        let g = self.lease().await?;
        g.as_ref().expect("connected").session().forward_remote(REMOTE_BIND, port).await
    }

    /// Stops a remote forward on the held connection, if it is still there.
    pub(crate) async fn cancel_remote(&self, port: u32) {
        if let Some(l) = self.lease.lock().await.as_ref() {
            l.session().cancel_remote(REMOTE_BIND, port).await;
        }
    }
}

/// Where a remote forward listens on the server (as `ssh -R` without a bind address).
const REMOTE_BIND: &str = "127.0.0.1";

/// Accepts on a `local` (with `target`) or `socks` (without) tunnel's listener until aborted; its
/// connections end with it.
pub(crate) async fn serve_local(
    listener: TcpListener,
    link: Arc<Link>,
    target: Option<(String, u16)>,
    counters: Arc<Counters>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "tunnel accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                conns.spawn(one_local(tcp, peer, link.clone(), target.clone(), counters.clone()));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn one_local(
    mut tcp: TcpStream,
    peer: SocketAddr,
    link: Arc<Link>,
    target: Option<(String, u16)>,
    counters: Arc<Counters>,
) {
    let _ = tcp.set_nodelay(true);
    let socks = target.is_none();
    let (host, port) = match target {
        Some(t) => t,
        None => match socks::handshake(&mut tcp).await {
            Ok(Some(t)) => t,
            _ => return,
        },
    };
    match link.open_direct(&host, port, peer).await {
        Ok(channel) => {
            if socks && socks::reply(&mut tcp, 0).await.is_err() {
                return;
            }
            pipe(tcp, channel, counters).await;
        }
        Err(e) => {
            tracing::info!(%host, port, error = %e, "tunnel connection refused");
            if socks {
                let code = match e {
                    Error::ChannelFailed { .. } => socks::CONNECTION_REFUSED,
                    Error::ConnectionFailed { .. } | Error::ConnectionLost { .. } => socks::HOST_UNREACHABLE,
                    _ => socks::GENERAL_FAILURE,
                };
                let _ = socks::reply(&mut tcp, code).await;
            }
        }
    }
}

/// Keeps a `remote` tunnel's forward in place: asks the server to listen, carries what arrives to
/// `target`, and asks again after the connection dropped (with a growing pause).
/// The first attempt's outcome goes to `first`; when it fails, nothing more is tried.
pub(crate) async fn serve_remote(
    link: Arc<Link>,
    port: u16,
    target: (String, u16),
    counters: Arc<Counters>,
    first: tokio::sync::oneshot::Sender<Result<()>>,
) {
    let mut backoff = Duration::from_secs(1);
    let mut first = Some(first);
    loop {
        let mut rx = match link.forward_remote(port).await {
            Ok((_, rx)) => {
                if let Some(f) = first.take() {
                    let _ = f.send(Ok(()));
                }
                rx
            }
            Err(e) => {
                if let Some(f) = first.take() {
                    let _ = f.send(Err(e));
                    return;
                }
                link.mark(Err(e.to_string()));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_secs(1);
        let mut conns = JoinSet::new();
        let mut watch = tokio::time::interval(WATCH_EVERY);
        loop {
            tokio::select! {
                got = rx.recv() => match got {
                    Some(fc) => {
                        let (host, p, counters) = (target.0.clone(), target.1, counters.clone());
                        conns.spawn(async move {
                            match TcpStream::connect((host.as_str(), p)).await {
                                Ok(tcp) => {
                                    let _ = tcp.set_nodelay(true);
                                    pipe(tcp, fc.channel, counters).await;
                                }
                                Err(e) => {
                                    tracing::info!(%host, port = p, from = %fc.originator, error = %e, "remote tunnel target refused");
                                    let _ = fc.channel.close().await;
                                }
                            }
                        });
                    }
                    None => break,
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
                _ = watch.tick() => {
                    if !link.is_up().await {
                        break;
                    }
                }
            }
        }
        link.mark(Err("the SSH connection dropped: reconnecting".into()));
    }
}

/// Keeps a `local` or `socks` tunnel's link up between connections, so its state is true even when
/// nothing uses it (a dropped connection is replaced with a growing pause).
pub(crate) async fn watch_link(link: Arc<Link>) {
    let mut backoff = WATCH_EVERY;
    loop {
        tokio::time::sleep(backoff).await;
        if link.is_up().await {
            backoff = WATCH_EVERY;
            continue;
        }
        if link.health.lock().expect("lock").up {
            link.mark(Err("the SSH connection dropped: reconnecting".into()));
        }
        backoff = match link.ensure().await {
            Ok(()) => WATCH_EVERY,
            Err(_) => (backoff * 2).min(MAX_BACKOFF),
        };
    }
}
