//! Projects (`project_*`, Node's names), in Node's `projects.json`: an object keyed by project name,
//! each with `local {path}`, `servers` (role → `{alias, path, runtime, url}`), `ignore`, `tags`,
//! `network`, `createdAt`, `updatedAt`. A project says where an application lives on this machine
//! and on each server, so an agent asks "prod of shop" instead of remembering hosts and paths. Fields
//! sshdeck does not know are kept through its writes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::files::tree::DEFAULT_IGNORE;
use crate::jobs::format_time;
use crate::store::MapFile;

/// The projects file's name in the data dir.
pub const PROJECTS_FILE: &str = "projects.json";

/// What a `project_set` changes; absent fields are left as they are. `servers` is merged role by
/// role (a role given replaces that role).
#[derive(Debug, Clone, Default)]
pub struct ProjectPatch {
    pub local: Option<Value>,
    pub servers: Option<Map<String, Value>>,
    pub ignore: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub network: Option<Value>,
}

/// The projects of one data dir.
#[derive(Debug, Clone)]
pub struct Projects {
    file: MapFile<Value>,
}

/// One role of a project: the server and the path there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub role: String,
    pub alias: String,
    pub path: String,
}

fn valid_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(Error::InvalidArgument(format!("project name {name:?}: 1-64 letters, digits, '-', '_' or '.'")));
    }
    Ok(())
}

fn not_found(name: &str) -> Error {
    Error::NotFound { what: "project", name: name.to_string() }
}

impl Projects {
    /// The projects in the data dir at `root`.
    pub fn new(root: &Path) -> Projects {
        Projects { file: MapFile::new(root.join(PROJECTS_FILE)) }
    }

    /// Every project, by name.
    pub fn list(&self) -> Result<BTreeMap<String, Value>> {
        self.file.load()
    }

    /// One project.
    pub fn get(&self, name: &str) -> Result<Value> {
        self.list()?.remove(name).ok_or_else(|| not_found(name))
    }

    /// Creates or updates a project; `server_exists` tells whether an alias is registered (every
    /// role's alias must be). Returns the project and whether it was created.
    pub fn set(&self, name: &str, patch: ProjectPatch, server_exists: impl Fn(&str) -> bool) -> Result<(Value, bool)> {
        valid_name(name)?;
        if let Some(local) = &patch.local
            && local["path"].as_str().is_none_or(str::is_empty)
        {
            return Err(Error::InvalidArgument("local.path: a directory on this machine".into()));
        }
        for (role, s) in patch.servers.iter().flatten() {
            let alias = s["alias"].as_str().unwrap_or_default();
            let path = s["path"].as_str().unwrap_or_default();
            if alias.is_empty() || !path.starts_with('/') {
                return Err(Error::InvalidArgument(format!("servers.{role}: alias and an absolute path are required")));
            }
            if !server_exists(alias) {
                return Err(Error::NotFound { what: "server", name: format!("{alias} (servers.{role}.alias)") });
            }
        }
        self.file.modify(|all| {
            let created = !all.contains_key(name);
            let now = format_time(now_ms());
            let mut p = match all.remove(name) {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            p.insert("name".into(), json!(name));
            if let Some(v) = patch.local {
                p.insert("local".into(), v);
            }
            if let Some(roles) = patch.servers {
                let servers = p.entry("servers").or_insert_with(|| json!({}));
                if !servers.is_object() {
                    *servers = json!({});
                }
                for (role, s) in roles {
                    servers[role.as_str()] = s;
                }
            }
            if let Some(v) = patch.ignore {
                p.insert("ignore".into(), json!(v));
            }
            if let Some(v) = patch.tags {
                p.insert("tags".into(), json!(v));
            }
            if let Some(v) = patch.network {
                p.insert("network".into(), v);
            }
            p.entry("createdAt").or_insert_with(|| json!(now));
            p.insert("updatedAt".into(), json!(now));
            let v = Value::Object(p);
            all.insert(name.to_string(), v.clone());
            Ok((v, created))
        })
    }

    /// Removes a project; returns it.
    pub fn remove(&self, name: &str) -> Result<Value> {
        self.file.modify(|all| all.remove(name).ok_or_else(|| not_found(name)))
    }
}

/// The project's roles, in name order.
pub fn roles(project: &Value) -> Vec<Role> {
    let Some(servers) = project["servers"].as_object() else { return Vec::new() };
    servers
        .iter()
        .map(|(role, s)| Role {
            role: role.clone(),
            alias: s["alias"].as_str().unwrap_or_default().to_string(),
            path: s["path"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// The role asked for, or the only one; `INVALID_ARGUMENT` naming the roles when it is ambiguous.
pub fn role(project: &Value, wanted: Option<&str>) -> Result<Role> {
    let all = roles(project);
    let name = project["name"].as_str().unwrap_or("?");
    let names = || all.iter().map(|r| r.role.as_str()).collect::<Vec<_>>().join(", ");
    match wanted {
        Some(w) => all.iter().find(|r| r.role == w).cloned().ok_or_else(|| Error::NotFound {
            what: "role",
            name: format!("{w} of project {name} (roles: {})", names()),
        }),
        None if all.len() == 1 => Ok(all[0].clone()),
        None if all.is_empty() => Err(Error::InvalidArgument(format!("project {name:?} has no server role"))),
        None => Err(Error::InvalidArgument(format!("project {name:?} has several roles: give role ({})", names()))),
    }
}

/// The project's ignore patterns, or Node's defaults.
pub fn ignore(project: &Value) -> Vec<String> {
    match project["ignore"].as_array() {
        Some(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        None => DEFAULT_IGNORE.iter().map(|s| s.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_files_are_read_as_they_are_and_unknown_fields_kept() {
        let dir = tempfile::tempdir().unwrap();
        let node = r#"{"shop": {"name": "shop", "local": {"path": "/home/me/shop"},
            "servers": {"prod": {"alias": "web1", "path": "/srv/shop", "runtime": {"pm2": "shop"}, "url": "https://shop.example"}},
            "ignore": ["dist"], "createdAt": "2026-01-02T03:04:05.000Z", "nodeOnly": {"x": 1}}}"#;
        std::fs::write(dir.path().join(PROJECTS_FILE), node).unwrap();
        let p = Projects::new(dir.path());
        let shop = p.get("shop").unwrap();
        assert_eq!(
            role(&shop, None).unwrap(),
            Role { role: "prod".into(), alias: "web1".into(), path: "/srv/shop".into() }
        );
        assert_eq!(ignore(&shop), ["dist"]);
        let mut roles = Map::new();
        roles.insert("staging".into(), json!({"alias": "web2", "path": "/srv/shop-staging"}));
        let patch = ProjectPatch { servers: Some(roles), tags: Some(vec!["php".into()]), ..Default::default() };
        let (v, created) = p.set("shop", patch, |_| true).unwrap();
        assert!(!created);
        assert_eq!(v["nodeOnly"], json!({"x": 1}), "unknown fields kept");
        assert_eq!(v["createdAt"], "2026-01-02T03:04:05.000Z");
        assert_eq!(v["servers"]["prod"]["runtime"], json!({"pm2": "shop"}), "other roles kept");
        assert_eq!(v["servers"]["staging"]["alias"], "web2");
        assert_eq!(role(&v, None).unwrap_err().code(), "INVALID_ARGUMENT", "two roles: say which");
        assert_eq!(role(&v, Some("qa")).unwrap_err().code(), "NOT_FOUND");
        let on_disk: Value = serde_json::from_slice(&std::fs::read(dir.path().join(PROJECTS_FILE)).unwrap()).unwrap();
        assert_eq!(on_disk["shop"]["nodeOnly"], json!({"x": 1}));
    }

    #[test]
    fn bad_projects_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = Projects::new(dir.path());
        let mut roles = Map::new();
        roles.insert("prod".into(), json!({"alias": "ghost", "path": "/srv"}));
        let e = p.set("x", ProjectPatch { servers: Some(roles.clone()), ..Default::default() }, |a| a != "ghost");
        assert_eq!(e.unwrap_err().code(), "NOT_FOUND");
        roles.insert("prod".into(), json!({"alias": "web", "path": "relative"}));
        let e = p.set("x", ProjectPatch { servers: Some(roles), ..Default::default() }, |_| true);
        assert_eq!(e.unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(p.set("a b", ProjectPatch::default(), |_| true).unwrap_err().code(), "INVALID_ARGUMENT");
        assert!(p.list().unwrap().is_empty(), "nothing written");
        assert_eq!(p.remove("x").unwrap_err().code(), "NOT_FOUND");
        let (v, created) = p.set("x", ProjectPatch::default(), |_| true).unwrap();
        assert!(created && v["name"] == "x");
        assert_eq!(ignore(&v), DEFAULT_IGNORE);
    }
}
