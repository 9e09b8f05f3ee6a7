//! A thin layer over russh: connect (verified host key, timeout, ProxyJump), authenticate, open
//! channels, run commands. The pool decides when to connect; this module only knows how.

mod auth;
pub mod known_hosts;
pub mod quote;

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::PublicKeyOrCertificate;

use crate::error::{Error, Result};
use crate::exec::{self, ExecOptions, ExecOutput, Stream};
use crate::servers::{HostKeyPolicy, ServerConfig};
pub use known_hosts::{KnownHosts, Verdict, fingerprint};

/// Everything needed to reach one server: its config and the bastions in front of it, outermost first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// Alias (for messages).
    pub alias: String,
    /// The server.
    pub config: ServerConfig,
    /// Bastions, first hop first.
    pub jumps: Vec<ServerConfig>,
}

/// Connection settings that are not per server.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Whole connect + handshake + auth budget, per hop.
    pub timeout: Duration,
    /// Keep-alive interval.
    pub keep_alive: Option<Duration>,
    /// Host-key files.
    pub known_hosts: KnownHosts,
    /// ssh-agent socket (`SSH_AUTH_SOCK`).
    pub agent_socket: Option<PathBuf>,
}

/// russh handler that verifies the server's host key.
pub(crate) struct Verifier {
    host: String,
    port: u16,
    policy: HostKeyPolicy,
    known_hosts: KnownHosts,
    forwarded: Forwarded,
}

/// A connection the server opened for a remote forward (`tcpip_forward`): the channel and who
/// connected on the server's side.
pub struct ForwardedConn {
    /// The channel carrying the connection.
    pub channel: russh::Channel<client::Msg>,
    /// The address of the peer that connected to the server's listener.
    pub originator: String,
}

/// Where connections of each remote-forwarded port go (by the port the server listens on).
type Forwarded =
    Arc<std::sync::Mutex<std::collections::HashMap<u32, tokio::sync::mpsc::UnboundedSender<ForwardedConn>>>>;

/// Error type of [`Verifier`]: either russh's, or our typed host-key refusal.
#[derive(Debug)]
pub(crate) enum HandlerError {
    Russh(russh::Error),
    HostKey(Error),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError::Russh(e)
    }
}

impl client::Handler for Verifier {
    type Error = HandlerError;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let key = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            // We do not advertise certificate algorithms, so a certificate here is unexpected.
            PublicKeyOrCertificate::Certificate(_) => return Ok(false),
        };
        if self.policy == HostKeyPolicy::Off {
            tracing::warn!(host = %self.host, port = self.port, "host key not verified (policy off)");
            return Ok(true);
        }
        let name = KnownHosts::host_name(&self.host, self.port);
        let refuse = |e: Error| Err(HandlerError::HostKey(e));
        match self.known_hosts.check(&self.host, self.port, key).map_err(HandlerError::HostKey)? {
            Verdict::Known => Ok(true),
            Verdict::Revoked(at) => {
                refuse(Error::HostKeyRevoked { host: name, fingerprint: fingerprint(key), known_at: at })
            }
            Verdict::Mismatch(on_record) => refuse(Error::HostKeyMismatch {
                host: name,
                expected: on_record.iter().map(|(fp, _)| fp.as_str()).collect::<Vec<_>>().join(", "),
                actual: fingerprint(key),
                known_at: on_record.iter().map(|(_, at)| at.as_str()).collect::<Vec<_>>().join(", "),
            }),
            Verdict::Unknown if self.policy == HostKeyPolicy::Strict => {
                refuse(Error::HostKeyUnknown { host: name, fingerprint: fingerprint(key) })
            }
            Verdict::Unknown => {
                tracing::info!(host = %name, fingerprint = %fingerprint(key), "learned new host key");
                self.known_hosts.learn(&self.host, self.port, key).map_err(HandlerError::HostKey)?;
                Ok(true)
            }
        }
    }

    async fn server_channel_open_forwarded_tcpip(
        &mut self,
        channel: russh::Channel<client::Msg>,
        _connected_address: &str,
        connected_port: u32,
        originator_address: &str,
        originator_port: u32,
        reply: client::ChannelOpenHandle,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        let to = self.forwarded.lock().expect("lock").get(&connected_port).cloned();
        match to {
            Some(tx) => {
                reply.accept().await;
                let originator = format!("{originator_address}:{originator_port}");
                if let Err(back) = tx.send(ForwardedConn { channel, originator }) {
                    let _ = back.0.channel.close().await;
                }
            }
            None => reply.reject(russh::ChannelOpenFailure::AdministrativelyProhibited).await,
        }
        Ok(())
    }
}

/// An authenticated SSH connection. Channels are opened through `&self`, so one session carries
/// several commands at once.
pub struct Session {
    handle: Handle<Verifier>,
    alias: String,
    host: String,
    /// The bastion session this one tunnels through; kept alive as long as this one.
    _via: Option<Box<Session>>,
    /// Remote forwards requested on this connection.
    forwarded: Forwarded,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("alias", &self.alias).field("host", &self.host).finish()
    }
}

impl Session {
    /// Connects to `target` through its bastions, verifying every host key and authenticating.
    pub async fn connect(target: &Target, opts: &ConnectOptions) -> Result<Session> {
        let mut via: Option<Session> = None;
        for (i, hop) in target.jumps.iter().chain(std::iter::once(&target.config)).enumerate() {
            let is_last = i == target.jumps.len();
            let alias = if is_last { target.alias.clone() } else { format!("{} (jump {})", target.alias, i + 1) };
            let session = match via.take() {
                None => connect_hop(&alias, hop, opts, None).await?,
                Some(bastion) => connect_hop(&alias, hop, opts, Some(bastion)).await?,
            };
            via = Some(session);
        }
        Ok(via.expect("at least the target itself"))
    }

    /// True once the connection is gone (closed, failed keep-alive, peer died).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed() || self._via.as_ref().is_some_and(|v| v.is_closed())
    }

    /// Opens a session channel.
    pub async fn open_channel(&self) -> Result<russh::Channel<client::Msg>> {
        self.handle.channel_open_session().await.map_err(|e| match e {
            russh::Error::ChannelOpenFailure(reason) => {
                Error::ChannelFailed { host: self.host.clone(), reason: format!("{reason:?}") }
            }
            other => Error::ConnectionLost { host: self.host.clone(), reason: other.to_string() },
        })
    }

    /// Runs `command` on a new channel of this session.
    pub async fn exec(
        &self,
        command: &str,
        opts: ExecOptions,
        on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<ExecOutput> {
        let channel = self.open_channel().await?;
        exec::run(channel, &self.alias, &self.host, command, opts, on_output).await
    }

    /// Opens a `direct-tcpip` channel: a TCP connection the server makes to `host:port` for us
    /// (`ssh -L`). `origin` is the local peer, for the server's log.
    pub async fn open_direct_tcpip(
        &self,
        host: &str,
        port: u16,
        origin: std::net::SocketAddr,
    ) -> Result<russh::Channel<client::Msg>> {
        self.handle
            .channel_open_direct_tcpip(host, u32::from(port), origin.ip().to_string(), u32::from(origin.port()))
            .await
            .map_err(|e| match e {
                russh::Error::ChannelOpenFailure(reason) => Error::ChannelFailed {
                    host: self.host.clone(),
                    reason: format!("the server could not connect to {host}:{port} ({reason:?})"),
                },
                other => Error::ConnectionLost { host: self.host.clone(), reason: other.to_string() },
            })
    }

    /// Asks the server to listen on `address:port` (`ssh -R`); the connections it accepts arrive on
    /// the receiver. Answers the port the server listens on (the one given, or the one it chose for 0).
    pub async fn forward_remote(
        &self,
        address: &str,
        port: u16,
    ) -> Result<(u32, tokio::sync::mpsc::UnboundedReceiver<ForwardedConn>)> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        if port != 0 {
            self.forwarded.lock().expect("lock").insert(u32::from(port), tx.clone());
        }
        match self.handle.tcpip_forward(address, u32::from(port)).await {
            Ok(chosen) => {
                let bound = if port == 0 { chosen } else { u32::from(port) };
                self.forwarded.lock().expect("lock").insert(bound, tx);
                Ok((bound, rx))
            }
            Err(e) => {
                self.forwarded.lock().expect("lock").remove(&u32::from(port));
                Err(Error::ChannelFailed {
                    host: self.host.clone(),
                    reason: format!("the server refused to listen on {address}:{port} ({e})"),
                })
            }
        }
    }

    /// Stops a remote forward.
    pub async fn cancel_remote(&self, address: &str, port: u32) {
        self.forwarded.lock().expect("lock").remove(&port);
        let _ = self.handle.cancel_tcpip_forward(address, port).await;
    }

    /// Sends a keep-alive and waits for the reply: a cheap health check.
    pub async fn ping(&self) -> bool {
        self.handle.send_keepalive(true).await.is_ok()
    }

    /// Closes the connection politely.
    pub async fn close(&self) {
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
    }
}

/// Whether this CPU encrypts AES in hardware (with carry-less multiply, for GCM).
fn aes_in_hardware() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("aes") && std::arch::is_aarch64_feature_detected!("pmull")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

async fn connect_hop(alias: &str, cfg: &ServerConfig, opts: &ConnectOptions, via: Option<Session>) -> Result<Session> {
    let host = cfg.host.trim_start_matches('[').trim_end_matches(']').to_string();
    let failed = |reason: String| Error::ConnectionFailed { host: cfg.host.clone(), port: cfg.port, reason };
    let forwarded = Forwarded::default();
    let fut = async {
        let mut config = client::Config {
            nodelay: true,
            keepalive_interval: opts.keep_alive,
            keepalive_max: 3,
            ..Default::default()
        };
        if aes_in_hardware() {
            // AES-GCM with AES-NI costs a fraction of ChaCha20-Poly1305's CPU per byte (the runner's
            // stdin and SFTP throughput were bound by it); elsewhere ChaCha20 stays first.
            use russh::cipher;
            config.preferred.cipher = Cow::Borrowed(&[
                cipher::AES_256_GCM,
                cipher::CHACHA20_POLY1305,
                cipher::AES_256_CTR,
                cipher::AES_192_CTR,
                cipher::AES_128_CTR,
            ]);
        }
        let recorded = opts.known_hosts.algorithms_for(&cfg.host, cfg.port);
        if !recorded.is_empty() {
            let mut order = recorded.clone();
            order.extend(config.preferred.key.iter().filter(|a| !recorded.contains(a)).cloned());
            config.preferred.key = Cow::Owned(order);
        }
        let config = Arc::new(config);
        let verifier = Verifier {
            host: cfg.host.clone(),
            port: cfg.port,
            policy: cfg.host_key_policy,
            known_hosts: opts.known_hosts.clone(),
            forwarded: forwarded.clone(),
        };
        let connected = match &via {
            None => {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), cfg.port))
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                tcp.set_nodelay(true).map_err(|e| failed(e.to_string()))?;
                client::connect_stream(config, tcp, verifier).await
            }
            Some(bastion) => {
                let channel = bastion
                    .handle
                    .channel_open_direct_tcpip(host.as_str(), u32::from(cfg.port), "127.0.0.1", 0)
                    .await
                    .map_err(|e| failed(format!("jump host {} refused to forward: {e}", bastion.host)))?;
                client::connect_stream(config, channel.into_stream(), verifier).await
            }
        };
        let mut handle = connected.map_err(|e| match e {
            HandlerError::HostKey(e) => e,
            HandlerError::Russh(e) => {
                Error::HandshakeDropped { host: cfg.host.clone(), port: cfg.port, reason: e.to_string() }
            }
        })?;
        auth::authenticate(&mut handle, cfg, opts.agent_socket.as_deref()).await?;
        Ok(handle)
    };
    let handle = tokio::time::timeout(opts.timeout, fut)
        .await
        .map_err(|_| failed(format!("timed out after {:.1}s", opts.timeout.as_secs_f64())))??;
    Ok(Session { handle, alias: alias.to_string(), host: cfg.host.clone(), _via: via.map(Box::new), forwarded })
}

/// Resolves `config.proxy_jump` into bastion configs, first hop first. Each hop is a registry alias
/// (looked up with `lookup`, its own jumps expanded) or `[user@]host[:port]` with the target's
/// credentials.
pub fn resolve_jumps(
    config: &ServerConfig,
    lookup: &dyn Fn(&str) -> Option<ServerConfig>,
) -> Result<Vec<ServerConfig>> {
    fn walk(
        config: &ServerConfig,
        lookup: &dyn Fn(&str) -> Option<ServerConfig>,
        depth: usize,
        out: &mut Vec<ServerConfig>,
    ) -> Result<()> {
        let Some(spec) = &config.proxy_jump else {
            return Ok(());
        };
        if depth > 8 {
            return Err(Error::InvalidArgument("proxyJump chain is longer than 8 hops or loops".into()));
        }
        for hop in spec.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            let hop_cfg = match lookup(hop) {
                Some(c) => c,
                None => parse_jump(hop, config)?,
            };
            walk(&hop_cfg, lookup, depth + 1, out)?;
            out.push(ServerConfig { proxy_jump: None, ..hop_cfg });
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(config, lookup, 0, &mut out)?;
    Ok(out)
}

fn parse_jump(spec: &str, target: &ServerConfig) -> Result<ServerConfig> {
    let spec = spec.strip_prefix("ssh://").unwrap_or(spec);
    let (user, rest) = match spec.rsplit_once('@') {
        Some((u, r)) => (u.to_string(), r),
        None => (target.user.clone(), spec),
    };
    let (host, port) = if let Some(stripped) = rest.strip_prefix('[') {
        let (h, after) = stripped
            .split_once(']')
            .ok_or_else(|| Error::InvalidArgument(format!("proxyJump {spec:?}: unclosed '['")))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p)),
            _ => (rest.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| Error::InvalidArgument(format!("proxyJump {spec:?}: bad port {p:?}")))?,
        None => 22,
    };
    let cfg = ServerConfig { host, user, port, proxy_jump: None, tags: vec![], ..target.clone() };
    cfg.validate()?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_resolve_aliases_and_literals() {
        let bastion = ServerConfig { port: 2222, ..ServerConfig::new("bastion.example.com", "ops") };
        let inner = ServerConfig { proxy_jump: Some("bastion".into()), ..ServerConfig::new("10.0.0.2", "ops") };
        let lookup = |a: &str| match a {
            "bastion" => Some(bastion.clone()),
            "inner" => Some(inner.clone()),
            _ => None,
        };
        let target =
            ServerConfig { proxy_jump: Some("inner,admin@[::1]:2200".into()), ..ServerConfig::new("db", "me") };
        let jumps = resolve_jumps(&target, &lookup).unwrap();
        let hops: Vec<_> = jumps.iter().map(|j| (j.user.as_str(), j.host.as_str(), j.port)).collect();
        assert_eq!(hops, [("ops", "bastion.example.com", 2222), ("ops", "10.0.0.2", 22), ("admin", "::1", 2200)]);

        let looping = ServerConfig { proxy_jump: Some("self".into()), ..ServerConfig::new("h", "u") };
        let lookup = |_: &str| Some(looping.clone());
        assert_eq!(resolve_jumps(&looping, &lookup).unwrap_err().code(), "INVALID_ARGUMENT");
    }
}
