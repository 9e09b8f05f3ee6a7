//! Tunnels through the deck: opened, listed and closed where jobs run (the runner, when this front
//! end has one); the allowlist is a data-dir file any front end changes.

use super::Deck;
use crate::error::{Error, Result};
use crate::link::Unreachable;
use crate::tunnels::{TunnelInfo, TunnelOp, Tunnels};

impl Deck {
    /// The tunnels this process holds (the runner's, in the runner).
    pub(crate) fn tunnels(&self) -> &Tunnels {
        &self.inner.tunnels
    }

    /// Opens, lists or closes tunnels where they live; answers with those concerned.
    pub async fn tunnel(&self, op: TunnelOp) -> Result<Vec<TunnelInfo>> {
        if let TunnelOp::Create { spec, .. } = &op {
            match self.inner.registry.get(&spec.via) {
                Ok(_) => {}
                Err(e) if self.adhoc(&spec.via).is_none() => return Err(e),
                Err(_) => {}
            }
        }
        if let Some(link) = &self.inner.link {
            let link = link.clone();
            let asked = op.clone();
            match tokio::task::spawn_blocking(move || link.tunnel(asked)).await {
                Ok(Ok(r)) => return r,
                Ok(Err(Unreachable(e))) => tracing::warn!(error = %e, "runner unreachable: tunnel here"),
                Err(e) => return Err(Error::RunnerUnavailable(e.to_string())),
            }
        }
        self.tunnel_here(op).await
    }

    /// [`Deck::tunnel`] in this process (the runner calls it for its front ends).
    pub(crate) async fn tunnel_here(&self, op: TunnelOp) -> Result<Vec<TunnelInfo>> {
        match op {
            TunnelOp::Create { spec, origin } => {
                let target = self.target(&spec.via)?;
                let allowed = self.tunnel_ports()?;
                let bind = self.inner.settings.tunnel_bind_address;
                let info = self.inner.tunnels.create(&self.inner.pool, target, spec, &allowed, bind, &origin).await?;
                Ok(vec![info])
            }
            TunnelOp::List => Ok(self.inner.tunnels.list()),
            TunnelOp::Close { name } => Ok(vec![self.inner.tunnels.close(&name).await?]),
        }
    }

    /// Ports tunnels may listen on: `TUNNEL_ALLOWED_PORTS` and the allowlist file.
    pub fn tunnel_ports(&self) -> Result<Vec<u16>> {
        crate::tunnels::allowed_ports(self.inner.data_dir.root(), &self.inner.settings.tunnel_allowed_ports)
    }

    /// Adds or removes a port of the allowlist file (`by`: who, for the file); answers whether it
    /// changed. A port allowed by `TUNNEL_ALLOWED_PORTS` stays allowed.
    pub fn tunnel_allow(&self, port: u16, add: bool, by: &str) -> Result<bool> {
        crate::tunnels::change_allowlist(self.inner.data_dir.root(), port, add, by)
    }
}
