//! SSH tunnels (`tunnel_create`, `tunnel_list`, `tunnel_close`, Node's names): `local` (`ssh -L`),
//! `remote` (`ssh -R`) and `socks` (`ssh -D`, SOCKS5 `CONNECT`) forwards over a pooled russh
//! connection with the host key verified as always — no `ssh` child. They live where jobs run (the
//! runner), so they outlive the front end that opened them. Local listeners bind `TUNNEL_BIND_ADDRESS`
//! (127.0.0.1); listen ports must be allowed (`TUNNEL_ALLOWED_PORTS`, or `tunnel_allowlist.json`
//! through `tunnel_allowlist_add`). A tunnel whose connection drops shows `down` and reconnects.

mod forward;
mod pipe;
mod socks;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::ssh::Target;
use crate::store::MapFile;
use forward::Link;
use pipe::Counters;

/// The allowlist file in the data dir.
pub const ALLOWLIST_FILE: &str = "tunnel_allowlist.json";

/// Which way a tunnel carries connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelKind {
    /// A local port to `target` reached from the server (`-L`).
    Local,
    /// A port on the server to `target` reached from here (`-R`).
    Remote,
    /// A local SOCKS5 proxy whose connections the server makes (`-D`).
    Socks,
}

impl TunnelKind {
    /// `local`, `remote` or `socks`.
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelKind::Local => "local",
            TunnelKind::Remote => "remote",
            TunnelKind::Socks => "socks",
        }
    }
}

/// What to open.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TunnelSpec {
    /// Unique name.
    pub name: String,
    /// Direction.
    pub kind: TunnelKind,
    /// Port listened on (here for local and socks, on the server for remote).
    pub listen_port: u16,
    /// `host:port` (local: as the server sees it; remote: as this machine sees it).
    #[serde(default)]
    pub target: Option<String>,
    /// The server carrying it.
    pub via: String,
    /// Local address to listen on (default `TUNNEL_BIND_ADDRESS`).
    #[serde(default)]
    pub bind: Option<String>,
}

/// A tunnel as `tunnel_list` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TunnelInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: TunnelKind,
    pub listen_port: u16,
    /// Where it listens (`127.0.0.1:8080` here, or `server:127.0.0.1:9000`).
    pub listen: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub via: String,
    /// `up` or `down`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Connections open now.
    pub connections: u64,
    pub total_connections: u64,
    /// Bytes from the side that connected towards the target.
    pub bytes_sent: u64,
    /// Bytes back.
    pub bytes_received: u64,
    pub reconnects: u64,
    pub created_at: u64,
    pub origin: String,
}

/// What a front end asks of the tunnels of the process that holds them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TunnelOp {
    Create { spec: TunnelSpec, origin: String },
    List,
    Close { name: String },
}

struct Tunnel {
    spec: TunnelSpec,
    listen: String,
    origin: String,
    created_at: u64,
    link: Arc<Link>,
    counters: Arc<Counters>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    remote_port: Option<u32>,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Tunnel {
    fn info(&self) -> TunnelInfo {
        let h = self.link.health.lock().expect("lock").clone();
        TunnelInfo {
            name: self.spec.name.clone(),
            kind: self.spec.kind,
            listen_port: self.spec.listen_port,
            listen: self.listen.clone(),
            target: self.spec.target.clone(),
            via: self.spec.via.clone(),
            state: if h.up { "up" } else { "down" }.into(),
            error: h.error,
            connections: self.counters.open.load(Ordering::Relaxed),
            total_connections: self.counters.total.load(Ordering::Relaxed),
            bytes_sent: self.counters.sent.load(Ordering::Relaxed),
            bytes_received: self.counters.received.load(Ordering::Relaxed),
            reconnects: h.reconnects,
            created_at: self.created_at,
            origin: self.origin.clone(),
        }
    }
}

/// The open tunnels of this process. Cheap to clone.
#[derive(Clone, Default)]
pub struct Tunnels {
    open: Arc<Mutex<BTreeMap<String, Arc<Tunnel>>>>,
    /// Names being opened.
    opening: Arc<Mutex<Vec<String>>>,
}

/// `host:port` (a bracketed IPv6 address allowed).
pub fn parse_target(t: &str) -> Result<(String, u16)> {
    let bad = || Error::InvalidArgument(format!("target {t:?}: expected host:port"));
    let (host, port) = t.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// The ports the operator allows (`TUNNEL_ALLOWED_PORTS`) and those added to the allowlist file.
pub fn allowed_ports(root: &Path, setting: &[u16]) -> Result<Vec<u16>> {
    let mut ports: Vec<u16> = setting.to_vec();
    let file: MapFile<Value> = MapFile::new(root.join(ALLOWLIST_FILE));
    ports.extend(file.load()?.keys().filter_map(|k| k.parse::<u16>().ok()));
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

/// Adds (`true`) or removes a port of the allowlist file; answers whether it changed.
pub fn change_allowlist(root: &Path, port: u16, add: bool, by: &str) -> Result<bool> {
    if port == 0 {
        return Err(Error::InvalidArgument("port must be 1-65535".into()));
    }
    let file: MapFile<Value> = MapFile::new(root.join(ALLOWLIST_FILE));
    file.modify(|m| {
        Ok(if add {
            m.insert(port.to_string(), json!({"addedAt": now_ms(), "by": by})).is_none()
        } else {
            m.remove(&port.to_string()).is_some()
        })
    })
}

impl Tunnels {
    /// Opens a tunnel: the checks (name free, port allowed, bind address allowed, target given),
    /// the SSH link, then the listener. `allowed` are the ports allowed, `bind_default` the operator's
    /// bind address.
    pub async fn create(
        &self,
        pool: &Pool,
        target: Target,
        spec: TunnelSpec,
        allowed: &[u16],
        bind_default: IpAddr,
        origin: &str,
    ) -> Result<TunnelInfo> {
        let name = spec.name.trim().to_string();
        if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control() || c == '/') {
            return Err(Error::InvalidArgument(format!("tunnel name {name:?}: 1-64 characters, no / or control")));
        }
        if spec.listen_port == 0 {
            return Err(Error::InvalidArgument("listen_port must be 1-65535".into()));
        }
        if !allowed.contains(&spec.listen_port) {
            return Err(Error::PolicyDenied {
                path: ALLOWLIST_FILE.into(),
                pattern: format!(
                    "port {} is not in the tunnel allowlist (allowed: {}); add it with tunnel_allowlist_add or TUNNEL_ALLOWED_PORTS",
                    spec.listen_port,
                    if allowed.is_empty() { "none".to_string() } else { format!("{allowed:?}") }
                ),
            });
        }
        let bind: IpAddr = match spec.bind.as_deref().filter(|b| !b.is_empty()) {
            None => bind_default,
            Some(b) => {
                let ip: IpAddr = match b {
                    "localhost" => IpAddr::from([127, 0, 0, 1]),
                    _ => b.parse().map_err(|_| Error::InvalidArgument(format!("bind address {b:?}: an IP address")))?,
                };
                if !ip.is_loopback() && ip != bind_default {
                    return Err(Error::PolicyDenied {
                        path: "TUNNEL_BIND_ADDRESS".into(),
                        pattern: format!("listening on {ip} (only loopback or TUNNEL_BIND_ADDRESS={bind_default})"),
                    });
                }
                ip
            }
        };
        let dest = match (spec.kind, spec.target.as_deref()) {
            (TunnelKind::Socks, _) => None,
            (_, Some(t)) => Some(parse_target(t)?),
            (_, None) => {
                return Err(Error::InvalidArgument(
                    "target (host:port) is required for local and remote tunnels".into(),
                ));
            }
        };
        {
            let open = self.open.lock().expect("lock");
            let mut opening = self.opening.lock().expect("lock");
            if open.contains_key(&name) || opening.contains(&name) {
                return Err(Error::AlreadyExists { what: "tunnel", name });
            }
            opening.push(name.clone());
        }
        let built = self.build(pool, target, &spec, bind, dest, origin).await;
        self.opening.lock().expect("lock").retain(|n| *n != name);
        let tunnel = built?;
        let info = tunnel.info();
        self.open.lock().expect("lock").insert(name, Arc::new(tunnel));
        Ok(info)
    }

    async fn build(
        &self,
        pool: &Pool,
        target: Target,
        spec: &TunnelSpec,
        bind: IpAddr,
        dest: Option<(String, u16)>,
        origin: &str,
    ) -> Result<Tunnel> {
        let link = Arc::new(Link::new(pool.clone(), target));
        link.ensure().await?;
        let counters = Arc::new(Counters::default());
        let mut tasks = Vec::new();
        let (listen, remote_port) = match spec.kind {
            TunnelKind::Local | TunnelKind::Socks => {
                let addr = SocketAddr::new(bind, spec.listen_port);
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| Error::InvalidArgument(format!("cannot listen on {addr}: {e}")))?;
                tasks.push(tokio::spawn(forward::serve_local(listener, link.clone(), dest, counters.clone())));
                tasks.push(tokio::spawn(forward::watch_link(link.clone())));
                (addr.to_string(), None)
            }
            TunnelKind::Remote => {
                let dest = dest.expect("checked");
                // The first forward is asked before answering, so a refusal is the caller's error.
                let (first_tx, first_rx) = tokio::sync::oneshot::channel();
                let (l, c, port) = (link.clone(), counters.clone(), spec.listen_port);
                tasks.push(tokio::spawn(forward::serve_remote(l, port, dest, c, first_tx)));
                match first_rx.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        return Err(Error::ChannelFailed {
                            host: spec.via.clone(),
                            reason: "the forward ended".into(),
                        });
                    }
                }
                (format!("{}:127.0.0.1:{}", spec.via, spec.listen_port), Some(u32::from(spec.listen_port)))
            }
        };
        Ok(Tunnel {
            spec: spec.clone(),
            listen,
            origin: origin.to_string(),
            created_at: now_ms(),
            link,
            counters,
            tasks,
            remote_port,
        })
    }

    /// Every tunnel, by name.
    pub fn list(&self) -> Vec<TunnelInfo> {
        self.open.lock().expect("lock").values().map(|t| t.info()).collect()
    }

    /// How many are open.
    pub fn count(&self) -> usize {
        self.open.lock().expect("lock").len()
    }

    /// Closes a tunnel and every connection through it.
    pub async fn close(&self, name: &str) -> Result<TunnelInfo> {
        let t = self
            .open
            .lock()
            .expect("lock")
            .remove(name)
            .ok_or_else(|| Error::NotFound { what: "tunnel", name: name.to_string() })?;
        let info = t.info();
        for task in &t.tasks {
            task.abort();
        }
        if let Some(port) = t.remote_port {
            t.link.cancel_remote(port).await;
        }
        Ok(info)
    }

    /// Closes every tunnel.
    pub async fn close_all(&self) {
        let names: Vec<String> = self.open.lock().expect("lock").keys().cloned().collect();
        for n in names {
            let _ = self.close(&n).await;
        }
    }
}
