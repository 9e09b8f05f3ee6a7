//! Fleets: server groups (`server_groups.json`, the Node orchestrator's file and format), target expressions (`web1`, `group:NAME`, `tag:NAME`,
//! `all`, lists of them) and the summary of a fan-out (counts, and hosts grouped by identical output).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data_dir::DataDir;
use crate::error::{Error, Result};
use crate::servers::{Server, validate_alias};
use crate::store::MapFile;

/// The groups file's name in the data dir (the Node orchestrator's).
pub const GROUPS_FILE: &str = "server_groups.json";
/// Where sshdeck kept groups before it used Node's file name; moved on open.
const OLD_GROUPS_FILE: &str = "groups.json";

/// The groups file: name → aliases.
#[derive(Debug, Clone)]
pub struct Groups {
    file: MapFile<Vec<String>>,
}

impl Groups {
    /// `server_groups.json` of a data dir.
    pub fn new(data_dir: &DataDir) -> Self {
        Groups { file: MapFile::new(data_dir.root().join(GROUPS_FILE)) }
    }

    /// Moves a `groups.json` of an earlier sshdeck to `server_groups.json`, when only the old one exists.
    pub fn migrate(data_dir: &DataDir) {
        let (old, new) = (data_dir.root().join(OLD_GROUPS_FILE), data_dir.root().join(GROUPS_FILE));
        if old.exists()
            && !new.exists()
            && let Err(e) = std::fs::rename(&old, &new)
        {
            tracing::warn!(error = %e, "cannot move groups.json to server_groups.json");
        }
    }

    /// Every group.
    pub fn list(&self) -> Result<BTreeMap<String, Vec<String>>> {
        self.file.load()
    }

    /// Creates or replaces a group; every alias must be registered. Returns true when it replaced one.
    pub fn set(&self, name: &str, aliases: Vec<String>, servers: &[Server]) -> Result<bool> {
        validate_alias(name)
            .map_err(|_| Error::InvalidArgument(format!("group name {name:?}: letters, digits, - _ .")))?;
        if aliases.is_empty() {
            return Err(Error::InvalidArgument("a group needs at least one alias".into()));
        }
        let mut members = Vec::new();
        for a in aliases {
            if !servers.iter().any(|s| s.alias == a) {
                return Err(Error::NotFound { what: "server", name: a });
            }
            if !members.contains(&a) {
                members.push(a);
            }
        }
        self.file.modify(|map| Ok(map.insert(name.to_string(), members).is_some()))
    }

    /// Removes a group (its servers stay).
    pub fn remove(&self, name: &str) -> Result<Vec<String>> {
        self.file.modify(|map| map.remove(name).ok_or_else(|| Error::NotFound { what: "group", name: name.into() }))
    }
}

/// True when an alias argument names more than one host or a set (`group:`, `tag:`, `all`, a list).
pub fn is_fleet(exprs: &[String]) -> bool {
    exprs.len() > 1
        || exprs.iter().any(|e| e == "all" || e.starts_with("group:") || e.starts_with("tag:") || e.contains(','))
}

/// Resolves target expressions to aliases, in order, each once: an alias, `group:NAME`, `tag:NAME`,
/// `all`, or a comma-separated list of those.
pub fn resolve(
    exprs: &[String],
    servers: &[Server],
    groups: &BTreeMap<String, Vec<String>>,
    max_targets: usize,
) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |a: &str| {
        if !out.iter().any(|x| x == a) {
            out.push(a.to_string());
        }
    };
    for expr in exprs.iter().flat_map(|e| e.split(',')).map(str::trim).filter(|e| !e.is_empty()) {
        if expr == "all" {
            servers.iter().for_each(|s| add(&s.alias));
        } else if let Some(g) = expr.strip_prefix("group:") {
            let members = groups.get(g).ok_or_else(|| Error::NotFound { what: "group", name: g.to_string() })?;
            members.iter().for_each(|a| add(a));
        } else if let Some(t) = expr.strip_prefix("tag:") {
            let tagged: Vec<&Server> = servers.iter().filter(|s| s.config.tags.iter().any(|x| x == t)).collect();
            if tagged.is_empty() {
                return Err(Error::NotFound { what: "servers tagged", name: t.to_string() });
            }
            tagged.iter().for_each(|s| add(&s.alias));
        } else if servers.iter().any(|s| s.alias == expr) {
            add(expr);
        } else if let Some(members) = groups.get(expr) {
            // A bare group name, when no server has that alias (as the Node orchestrator takes it).
            members.iter().for_each(|a| add(a));
        } else {
            return Err(Error::NotFound { what: "server", name: expr.to_string() });
        }
    }
    if out.is_empty() {
        return Err(Error::InvalidArgument("no target: give an alias, a list, group:NAME, tag:NAME or all".into()));
    }
    if out.len() > max_targets {
        return Err(Error::InvalidArgument(format!(
            "{} targets: at most {max_targets} per call (FLEET_MAX_TARGETS)",
            out.len()
        )));
    }
    Ok(out)
}

/// The outcome of a fan-out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetSummary {
    /// Hosts.
    pub total: usize,
    /// Completed with exit 0.
    pub ok: usize,
    /// Ran and failed (non-zero exit, other errors).
    pub failed: usize,
    /// Killed at the timeout.
    pub timed_out: usize,
    /// Cancelled.
    pub cancelled: usize,
    /// Never ran: connection, authentication or host-key failure.
    pub unreachable: usize,
    /// Hosts grouped by identical outcome and output.
    pub groups: Vec<OutputGroup>,
}

/// Hosts that ended the same way with the same output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputGroup {
    /// The hosts.
    pub aliases: Vec<String>,
    /// Their status.
    pub status: String,
    /// Exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u32>,
    /// Error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Error message (of the first host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The start of the shared output.
    pub output: String,
    /// Its size.
    pub output_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::ServerConfig;

    fn servers() -> Vec<Server> {
        let mut v = Vec::new();
        for (a, tags) in [("web1", vec!["web"]), ("web2", vec!["web"]), ("db", vec!["db"])] {
            let mut config = ServerConfig::new("10.0.0.1", "u");
            config.tags = tags.into_iter().map(String::from).collect();
            v.push(Server { alias: a.to_string(), config });
        }
        v
    }

    #[test]
    fn expressions_resolve_in_order_once() {
        let s = servers();
        let groups = BTreeMap::from([("pair".to_string(), vec!["db".to_string(), "web1".to_string()])]);
        let r = |e: &[&str]| resolve(&e.iter().map(|x| x.to_string()).collect::<Vec<_>>(), &s, &groups, 1000);
        assert_eq!(r(&["all"]).unwrap(), ["web1", "web2", "db"]);
        assert_eq!(r(&["tag:web"]).unwrap(), ["web1", "web2"]);
        assert_eq!(r(&["group:pair", "web1", "web2"]).unwrap(), ["db", "web1", "web2"]);
        assert_eq!(r(&["db,web2"]).unwrap(), ["db", "web2"]);
        assert_eq!(r(&["nope"]).unwrap_err().code(), "NOT_FOUND");
        assert_eq!(r(&["group:nope"]).unwrap_err().code(), "NOT_FOUND");
        assert_eq!(r(&["tag:nope"]).unwrap_err().code(), "NOT_FOUND");
        assert_eq!(r(&[""]).unwrap_err().code(), "INVALID_ARGUMENT");
        assert!(is_fleet(&["tag:web".into()]) && is_fleet(&["a".into(), "b".into()]) && !is_fleet(&["web1".into()]));
    }
}
