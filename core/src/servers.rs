//! The server registry: alias → connection settings, kept in `servers.json` (mode 0600).
//!
//! The file is a JSON object keyed by alias, a superset of the Node orchestrator's
//! `{alias: {host, user, port?, keyPath?, password?}}`, so its file can be read as it is.

mod import;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data_dir::DataDir;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::store::MapFile;

/// Path helpers for key files given by users (`~/.ssh/id_ed25519`).
pub use crate::data_dir::{expand_tilde, home_dir};
pub use import::{ImportReport, parse_node_servers_json, parse_ssh_config, read_ssh_config};

/// How an unknown or changed host key is treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// Only hosts already in a known_hosts file are accepted.
    Strict,
    /// Unknown hosts are learned into sshdeck's known_hosts; a changed key is refused.
    #[default]
    AcceptNew,
    /// No verification at all. Only when a user sets it explicitly.
    Off,
}

impl HostKeyPolicy {
    /// Parses `strict`, `accept-new` or `off`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "strict" | "yes" => Ok(Self::Strict),
            "accept-new" | "accept_new" => Ok(Self::AcceptNew),
            "off" | "no" => Ok(Self::Off),
            other => {
                Err(Error::InvalidArgument(format!("host-key policy {other:?}: expected strict, accept-new or off")))
            }
        }
    }

    /// The name used in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::AcceptNew => "accept-new",
            Self::Off => "off",
        }
    }
}

/// Connection settings of one server. Secrets are [`Secret`]s and never leave the registry file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerConfig {
    /// Host name or IP address.
    pub host: String,
    /// Remote user.
    pub user: String,
    /// SSH port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Private key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_path: Option<PathBuf>,
    /// Passphrase of `key_path`, if encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<Secret>,
    /// Password for password authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Authenticate with the keys of the running ssh-agent (`SSH_AUTH_SOCK`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub agent: bool,
    /// Host-key policy.
    #[serde(default, skip_serializing_if = "is_default_policy")]
    pub host_key_policy: HostKeyPolicy,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Bastion(s) to jump through: registry aliases or `[user@]host[:port]`, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_jump: Option<String>,
    /// Node's `readonly`: commands, sequences, interactive runs and uploads are refused (`READ_ONLY`);
    /// reads (logs, monitoring, downloads) still work.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub readonly: bool,
    /// Fields sshdeck does not know (the Node orchestrator's, a newer version's): kept on every write.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Hashes what decides a connection (pool keys); unknown fields are left out, which keeps `a == b`
/// implying equal hashes.
impl std::hash::Hash for ServerConfig {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.host, &self.user, self.port, &self.key_path, &self.passphrase, &self.password).hash(state);
        (self.agent, self.host_key_policy, &self.tags, &self.proxy_jump, self.readonly).hash(state);
    }
}

fn default_port() -> u16 {
    22
}

fn is_default_policy(p: &HostKeyPolicy) -> bool {
    *p == HostKeyPolicy::default()
}

impl ServerConfig {
    /// A config with only host and user; port 22, automatic authentication.
    pub fn new(host: impl Into<String>, user: impl Into<String>) -> Self {
        ServerConfig {
            host: host.into(),
            user: user.into(),
            port: 22,
            key_path: None,
            passphrase: None,
            password: None,
            agent: false,
            host_key_policy: HostKeyPolicy::default(),
            tags: Vec::new(),
            proxy_jump: None,
            readonly: false,
            extra: BTreeMap::new(),
        }
    }

    /// The authentication this config asks for, in a word, for listings.
    pub fn auth_kind(&self) -> &'static str {
        match (self.agent, self.key_path.is_some(), self.password.is_some()) {
            (true, _, _) => "agent",
            (false, true, _) => "key",
            (false, false, true) => "password",
            (false, false, false) => "auto",
        }
    }

    /// Checks every field; the message names the field and the value (never a secret).
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidArgument(msg));
        if self.host.is_empty() || self.host.len() > 253 {
            return bad("host must be 1 to 253 characters".into());
        }
        if self.host.starts_with('-') || !self.host.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:[]%".contains(c))
        {
            return bad(format!("host {:?} is not a valid host name or IP address", self.host));
        }
        if self.user.is_empty()
            || self.user.len() > 64
            || self.user.starts_with('-')
            || self.user.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@' || c == ':')
        {
            return bad(format!("user {:?} is not a valid user name", self.user));
        }
        if self.port == 0 {
            return bad("port must be between 1 and 65535".into());
        }
        if let Some(k) = &self.key_path
            && k.as_os_str().is_empty()
        {
            return bad("keyPath must not be empty".into());
        }
        if self.passphrase.is_some() && self.key_path.is_none() {
            return bad("a passphrase needs a keyPath".into());
        }
        for tag in &self.tags {
            if !is_name(tag) {
                return bad(format!("tag {tag:?} must be letters, digits, '.', '_' or '-'"));
            }
        }
        if let Some(j) = &self.proxy_jump
            && (j.trim().is_empty() || j.chars().any(char::is_whitespace))
        {
            return bad(format!("proxyJump {j:?} must be aliases or [user@]host[:port], comma-separated"));
        }
        Ok(())
    }
}

/// A registered server: alias plus config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Alias.
    pub alias: String,
    /// Settings.
    pub config: ServerConfig,
}

/// What a listing shows of a server: everything but secrets (not even their length).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerSummary {
    /// Alias.
    pub alias: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// `key`, `password`, `agent` or `auto`.
    pub auth: &'static str,
    /// Key file, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_path: Option<PathBuf>,
    /// Whether a passphrase is stored.
    pub has_passphrase: bool,
    /// Whether a password is stored.
    pub has_password: bool,
    /// Host-key policy.
    pub host_key_policy: &'static str,
    /// Tags.
    pub tags: Vec<String>,
    /// Bastion(s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_jump: Option<String>,
    /// Commands and uploads refused (Node's `readonly`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub readonly: bool,
}

impl ServerSummary {
    /// Column titles of [`ServerSummary::columns`].
    pub const HEADER: [&'static str; 6] = ["ALIAS", "TARGET", "AUTH", "HOST KEYS", "JUMP", "TAGS"];

    /// The summary as table cells, for listings (CLI and console alike).
    pub fn columns(&self) -> [String; 6] {
        [
            self.alias.clone(),
            format!("{}@{}:{}", self.user, self.host, self.port),
            self.auth.to_string(),
            self.host_key_policy.to_string(),
            self.proxy_jump.clone().unwrap_or_default(),
            self.tags.join(","),
        ]
    }
}

impl From<&Server> for ServerSummary {
    fn from(s: &Server) -> Self {
        let c = &s.config;
        ServerSummary {
            alias: s.alias.clone(),
            host: c.host.clone(),
            port: c.port,
            user: c.user.clone(),
            auth: c.auth_kind(),
            key_path: c.key_path.clone(),
            has_passphrase: c.passphrase.is_some(),
            has_password: c.password.is_some(),
            host_key_policy: c.host_key_policy.as_str(),
            tags: c.tags.clone(),
            proxy_jump: c.proxy_jump.clone(),
            readonly: c.readonly,
        }
    }
}

/// Checks an alias: 1 to 64 letters, digits, `.`, `_` or `-`, not starting with `-`.
pub fn validate_alias(alias: &str) -> Result<()> {
    if alias.len() > 64 || !is_name(alias) || alias.starts_with('-') {
        return Err(Error::InvalidArgument(format!(
            "alias {alias:?} must be 1 to 64 letters, digits, '.', '_' or '-', not starting with '-'"
        )));
    }
    Ok(())
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Whether [`Registry::add`] created a new entry or replaced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// New alias.
    Created,
    /// Existing alias replaced.
    Replaced,
}

/// The registry file. Every change is a locked read-modify-write with an atomic replace.
#[derive(Debug, Clone)]
pub struct Registry {
    file: MapFile<ServerConfig>,
}

impl Registry {
    /// The registry of a data dir.
    pub fn new(data_dir: &DataDir) -> Self {
        Registry { file: MapFile::new(data_dir.servers_file()) }
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Every server, by alias.
    pub fn list(&self) -> Result<Vec<Server>> {
        Ok(self.file.load()?.into_iter().map(|(alias, config)| Server { alias, config }).collect())
    }

    /// One server, or `NOT_FOUND`.
    pub fn get(&self, alias: &str) -> Result<Server> {
        let mut map = self.file.load()?;
        map.remove(alias)
            .map(|config| Server { alias: alias.to_string(), config })
            .ok_or_else(|| Error::NotFound { what: "server", name: alias.to_string() })
    }

    /// Adds a server; an existing alias is replaced only when `replace` is true, else `ALREADY_EXISTS`.
    /// A replaced entry keeps the fields sshdeck does not know (unless the new config sets them).
    pub fn add(&self, alias: &str, mut config: ServerConfig, replace: bool) -> Result<Added> {
        validate_alias(alias)?;
        config.validate()?;
        self.modify(|map| {
            if map.contains_key(alias) && !replace {
                return Err(Error::AlreadyExists { what: "server", name: alias.to_string() });
            }
            if let Some(old) = map.get(alias) {
                for (k, v) in &old.extra {
                    config.extra.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            Ok(match map.insert(alias.to_string(), config) {
                Some(_) => Added::Replaced,
                None => Added::Created,
            })
        })
    }

    /// Removes a server and returns what it was.
    pub fn remove(&self, alias: &str) -> Result<Server> {
        self.modify(|map| {
            map.remove(alias)
                .map(|config| Server { alias: alias.to_string(), config })
                .ok_or_else(|| Error::NotFound { what: "server", name: alias.to_string() })
        })
    }

    /// Adds many servers in one locked write. Invalid entries are skipped with their reason; existing
    /// aliases are kept unless `replace`.
    pub fn import(&self, entries: Vec<(String, ServerConfig)>, replace: bool) -> Result<ImportReport> {
        self.modify(|map| {
            let mut report = ImportReport::default();
            for (alias, config) in entries {
                if let Err(e) = validate_alias(&alias).and_then(|_| config.validate()) {
                    report.skipped.push((alias, e.to_string()));
                } else if map.contains_key(&alias) && !replace {
                    report.skipped.push((alias, "already registered (use replace to overwrite)".into()));
                } else if map.insert(alias.clone(), config).is_some() {
                    report.replaced.push(alias);
                } else {
                    report.added.push(alias);
                }
            }
            Ok(report)
        })
    }

    fn modify<T>(&self, f: impl FnOnce(&mut BTreeMap<String, ServerConfig>) -> Result<T>) -> Result<T> {
        self.file.modify(f)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn registry() -> (tempfile::TempDir, Registry) {
        let tmp = tempfile::tempdir().unwrap();
        let dd = DataDir::open(tmp.path().join("data")).unwrap();
        (tmp, Registry::new(&dd))
    }

    #[test]
    fn unknown_fields_survive_every_write() {
        let (_tmp, reg) = registry();
        let node = r#"{"prod":{"host":"10.0.0.1","user":"admin","password":"p","readonly":true,"description":"Node 11","limits":{"z":1,"a":[1,2.5,"x"]},"port":2222},"web":{"host":"h","user":"u","env":"prod"}}"#;
        std::fs::write(reg.path(), node).unwrap();
        let before: serde_json::Value = serde_json::from_str(node).unwrap();
        reg.add("new", ServerConfig::new("10.0.0.2", "u"), false).unwrap();
        reg.add("web", ServerConfig::new("h2", "u"), true).unwrap();
        reg.remove("new").unwrap();
        reg.import(vec![("other".into(), ServerConfig::new("h3", "u"))], false).unwrap();
        let after: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(reg.path()).unwrap()).unwrap();
        assert_eq!(after["prod"], before["prod"], "untouched entry kept whole");
        assert_eq!(after["web"]["env"], "prod", "a replaced entry keeps what sshdeck does not know");
        assert!(reg.get("prod").unwrap().config.readonly);
        assert!(ServerSummary::from(&reg.get("prod").unwrap()).readonly);
    }

    #[test]
    fn add_get_list_remove() {
        let (_tmp, reg) = registry();
        let mut c = ServerConfig::new("10.0.0.5", "deploy");
        c.password = Some(Secret::new("s3cret"));
        c.tags = vec!["web".into()];
        assert_eq!(reg.add("web1", c.clone(), false).unwrap(), Added::Created);
        assert_eq!(reg.add("web1", c.clone(), false).unwrap_err().code(), "ALREADY_EXISTS");
        assert_eq!(reg.add("web1", c.clone(), true).unwrap(), Added::Replaced);
        assert_eq!(reg.get("web1").unwrap().config, c);
        assert_eq!(reg.list().unwrap().len(), 1);
        let mode = std::fs::metadata(reg.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        reg.remove("web1").unwrap();
        assert_eq!(reg.get("web1").unwrap_err().code(), "NOT_FOUND");
        assert_eq!(reg.remove("web1").unwrap_err().code(), "NOT_FOUND");
    }

    #[test]
    fn summary_has_no_secret() {
        let mut c = ServerConfig::new("h", "u");
        c.key_path = Some("/k".into());
        c.passphrase = Some(Secret::new("pass-phrase-xyz"));
        let s = ServerSummary::from(&Server { alias: "a".into(), config: c });
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("pass-phrase-xyz") && json.contains("\"hasPassphrase\":true"), "{json}");
    }

    #[test]
    fn validation_names_the_field() {
        let (_tmp, reg) = registry();
        let cases: &[(&str, ServerConfig, &str)] = &[
            ("bad alias!", ServerConfig::new("h", "u"), "alias"),
            ("a", ServerConfig::new("", "u"), "host"),
            ("a", ServerConfig::new("-oProxyCommand=x", "u"), "host"),
            ("a", ServerConfig::new("h", "u v"), "user"),
            ("a", ServerConfig { port: 0, ..ServerConfig::new("h", "u") }, "port"),
            ("a", ServerConfig { passphrase: Some(Secret::new("p")), ..ServerConfig::new("h", "u") }, "passphrase"),
            ("a", ServerConfig { tags: vec!["a b".into()], ..ServerConfig::new("h", "u") }, "tag"),
        ];
        for (alias, cfg, field) in cases {
            let err = reg.add(alias, cfg.clone(), false).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
            assert!(err.to_string().contains(field), "{err} should name {field}");
        }
        assert!(reg.list().unwrap().is_empty());
    }

    #[test]
    fn corrupt_file_is_reported_not_overwritten() {
        let (_tmp, reg) = registry();
        std::fs::write(reg.path(), b"{not json").unwrap();
        assert_eq!(reg.list().unwrap_err().code(), "DATA_CORRUPT");
        assert_eq!(reg.add("a", ServerConfig::new("h", "u"), false).unwrap_err().code(), "DATA_CORRUPT");
        assert_eq!(std::fs::read(reg.path()).unwrap(), b"{not json");
    }

    #[test]
    fn concurrent_adds_from_threads_all_land() {
        let (_tmp, reg) = registry();
        std::thread::scope(|s| {
            for t in 0..8 {
                let reg = reg.clone();
                s.spawn(move || {
                    for i in 0..10 {
                        reg.add(&format!("s{t}-{i}"), ServerConfig::new("h", "u"), false).unwrap();
                    }
                });
            }
        });
        assert_eq!(reg.list().unwrap().len(), 80);
    }
}
