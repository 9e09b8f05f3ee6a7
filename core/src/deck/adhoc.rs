//! Targets as ssh takes them, for the command line: a Host alias of `~/.ssh/config` (with `Include`,
//! first match wins) or `[user@]host[:port]`, with ssh's `-l`, `-p` and `-i`. Registered aliases win.
//! Such a target lives in this process only (front ends that accept arbitrary hosts opt in; the MCP
//! server does not), and its host key is verified exactly as a registered server's.

use std::path::PathBuf;

use super::Deck;
use crate::error::{Error, Result};
use crate::servers::{Registry, ServerConfig, home_dir, parse_ssh_config, read_ssh_config};

/// ssh's `-l USER`, `-p PORT`, `-i KEY`.
#[derive(Debug, Clone, Default)]
pub struct TargetFlags {
    /// `-l`.
    pub user: Option<String>,
    /// `-p`.
    pub port: Option<u16>,
    /// `-i`.
    pub key: Option<PathBuf>,
}

impl TargetFlags {
    fn is_empty(&self) -> bool {
        self.user.is_none() && self.port.is_none() && self.key.is_none()
    }
}

impl Deck {
    /// The target `expr` names: a registered alias as it is; else a `~/.ssh/config` Host, or
    /// `[user@]host[:port]`, made reachable for this process under the name `expr`.
    pub fn resolve_target(&self, expr: &str, flags: &TargetFlags) -> Result<String> {
        if let Some(config) = resolve(&self.inner.registry, expr, flags)? {
            self.inner.adhoc.lock().expect("lock").insert(expr.to_string(), config);
        }
        Ok(expr.to_string())
    }

    /// The settings of a target resolved by [`Deck::resolve_target`] in this process.
    pub(super) fn adhoc(&self, expr: &str) -> Option<ServerConfig> {
        self.inner.adhoc.lock().expect("lock").get(expr).cloned()
    }
}

/// What `expr` names: `None` for a registered alias; else the settings of a `~/.ssh/config` Host or
/// of `[user@]host[:port]`, with the flags applied.
pub fn resolve(registry: &Registry, expr: &str, flags: &TargetFlags) -> Result<Option<ServerConfig>> {
    if registry.get(expr).is_ok() {
        if !flags.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{expr} is a registered server: -l, -p and -i apply to other targets (use `sshdeck servers add --force` to change it)"
            )));
        }
        return Ok(None);
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let from_config = home_dir().map(|h| h.join(".ssh/config")).filter(|p| p.exists()).and_then(|p| {
        let text = read_ssh_config(&p).ok()?;
        parse_ssh_config(&text, &user).0.into_iter().find(|(alias, _)| alias == expr).map(|(_, c)| c)
    });
    let mut config = match from_config {
        Some(c) => c,
        None => parse_destination(expr, &user)?,
    };
    if let Some(u) = &flags.user {
        config.user = u.clone();
    }
    if let Some(p) = flags.port {
        config.port = p;
    }
    if let Some(k) = &flags.key {
        // The runner may have another working directory.
        config.key_path = Some(std::path::absolute(k).unwrap_or_else(|_| k.clone()));
    }
    config.validate()?;
    Ok(Some(config))
}

/// `[user@]host[:port]` (`[::1]:2222` for IPv6 with a port).
fn parse_destination(expr: &str, default_user: &str) -> Result<ServerConfig> {
    let bad = || Error::NotFound {
        what: "server (not registered, not a Host of ~/.ssh/config, not user@host[:port])",
        name: expr.to_string(),
    };
    let (user, rest) = match expr.rsplit_once('@') {
        Some((u, r)) => (u.to_string(), r),
        None => (default_user.to_string(), expr),
    };
    let (host, port) = if let Some(r) = rest.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        (h.to_string(), port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p.parse::<u16>().map_err(|_| bad())?)),
            _ => (rest.to_string(), None),
        }
    };
    // A bare word is more likely a mistyped alias than a host name: only names with a dot, IPs and
    // localhost are taken as hosts.
    let hostish = host.contains('.') || host.contains(':') || host == "localhost" || expr.contains('@');
    if host.is_empty() || !hostish {
        return Err(bad());
    }
    let mut c = ServerConfig::new(host, user);
    if let Some(p) = port {
        c.port = p;
    }
    c.validate().map_err(|_| bad())?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse_as_ssh_takes_them() {
        let c = parse_destination("deploy@10.0.0.7:2222", "me").unwrap();
        assert_eq!((c.user.as_str(), c.host.as_str(), c.port), ("deploy", "10.0.0.7", 2222));
        let c = parse_destination("web.example.com", "me").unwrap();
        assert_eq!((c.user.as_str(), c.port), ("me", 22));
        let c = parse_destination("ops@[::1]:2200", "me").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("::1", 2200));
        assert_eq!(parse_destination("webbb", "me").unwrap_err().code(), "NOT_FOUND", "a bare word is a missing alias");
        assert!(parse_destination("a@b.c:notaport", "me").is_err());
    }
}
