//! The API catalog (`apis.json`, mode 0600: it holds API keys and passwords): health-checked HTTP
//! endpoints, checked from this machine with an HTTP client or from a server with curl. Secrets are
//! never listed, logged or put in a result; on a server they reach curl through its stdin.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data_dir::DataDir;
use crate::error::{Error, Result};
use crate::jobs::{format_time, now_ms};
use crate::secret::Secret;
use crate::store::MapFile;

mod check;
pub use check::{CheckResult, check_from_server, check_local, classify};

/// How an API authenticates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// No credentials.
    #[default]
    None,
    /// A key in a header.
    ApiKey,
    /// HTTP basic auth (htpasswd).
    Htpasswd,
    /// Both.
    Both,
}

impl AuthMethod {
    /// Parses `none`, `api_key`, `htpasswd` or `both`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "none" | "" => Ok(AuthMethod::None),
            "api_key" => Ok(AuthMethod::ApiKey),
            "htpasswd" => Ok(AuthMethod::Htpasswd),
            "both" => Ok(AuthMethod::Both),
            _ => Err(Error::InvalidArgument(format!("auth_method {s:?}: expected none, api_key, htpasswd or both"))),
        }
    }

    fn uses_key(self) -> bool {
        matches!(self, AuthMethod::ApiKey | AuthMethod::Both)
    }

    fn uses_password(self) -> bool {
        matches!(self, AuthMethod::Htpasswd | AuthMethod::Both)
    }
}

/// One catalog entry as stored (field names are the tool arguments').
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Api {
    /// Base URL.
    pub url: String,
    /// Path appended to the URL for the check (`/health`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_endpoint: Option<String>,
    /// Method of the check (GET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_method: Option<String>,
    /// Authentication.
    #[serde(default)]
    pub auth_method: AuthMethod,
    /// The key (api_key, both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// Header carrying the key (`Authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_header_name: Option<String>,
    /// Scheme before the key (`Bearer`; empty for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_scheme: Option<String>,
    /// Basic-auth user (htpasswd, both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub htpasswd_user: Option<String>,
    /// Basic-auth password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub htpasswd_pass: Option<Secret>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The status that means UP (any 2xx/3xx when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_status: Option<u16>,
    /// Check timeout in seconds (10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// When it was added.
    #[serde(default)]
    pub created_at: String,
    /// The last check, for `api_list` and the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<CheckResult>,
}

impl Api {
    /// An API at `url` with no authentication and default check settings.
    pub fn new(url: impl Into<String>) -> Api {
        Api {
            url: url.into(),
            health_check_endpoint: None,
            health_check_method: None,
            auth_method: AuthMethod::None,
            api_key: None,
            auth_header_name: None,
            auth_scheme: None,
            htpasswd_user: None,
            htpasswd_pass: None,
            notes: None,
            expected_status: None,
            timeout: None,
            created_at: String::new(),
            last_check: None,
        }
    }

    /// Checks the entry: URL scheme, method, header name, credentials present for the auth method.
    pub fn validate(&self) -> Result<()> {
        let url = self.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(char::is_whitespace) {
            return Err(Error::InvalidArgument(format!("url {url:?}: expected an http:// or https:// URL")));
        }
        if let Some(m) = &self.health_check_method
            && !crate::ops::net::HTTP_METHODS.contains(&m.to_ascii_uppercase().as_str())
        {
            return Err(Error::InvalidArgument(format!("health_check_method {m:?}")));
        }
        let name = self.header_name();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(Error::InvalidArgument(format!("auth_header_name {name:?}")));
        }
        if self.auth_method.uses_key() && self.api_key.as_ref().is_none_or(Secret::is_empty) {
            return Err(Error::InvalidArgument("auth_method needs api_key".into()));
        }
        if self.auth_method.uses_password()
            && (self.htpasswd_user.as_deref().is_none_or(str::is_empty) || self.htpasswd_pass.is_none())
        {
            return Err(Error::InvalidArgument("auth_method needs htpasswd_user and htpasswd_pass".into()));
        }
        if self.auth_method == AuthMethod::Both && name.eq_ignore_ascii_case("authorization") {
            return Err(Error::InvalidArgument(
                "auth_method both: basic auth takes the Authorization header; set auth_header_name (e.g. X-API-Key)"
                    .into(),
            ));
        }
        if self.auth_scheme.as_deref().is_some_and(|v| v.contains(['\r', '\n'])) {
            return Err(Error::InvalidArgument("auth_scheme: line breaks not allowed".into()));
        }
        if self.htpasswd_user.as_deref().is_some_and(|v| v.contains(['\r', '\n', ':'])) {
            return Err(Error::InvalidArgument("htpasswd_user: line breaks and ':' not allowed".into()));
        }
        if url.split("://").nth(1).and_then(|r| r.split('/').next()).is_some_and(|auth| auth.contains('@')) {
            return Err(Error::InvalidArgument(
                "url: credentials belong in htpasswd_user/htpasswd_pass or api_key, not in the URL".into(),
            ));
        }
        if self.api_key.as_ref().is_some_and(|k| k.expose().contains(['\r', '\n'])) {
            return Err(Error::InvalidArgument("api_key: line breaks not allowed".into()));
        }
        Ok(())
    }

    /// The URL checked: base URL plus the health-check endpoint.
    pub fn check_url(&self) -> String {
        let base = self.url.trim();
        match self.health_check_endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            None => base.to_string(),
            Some(e) if e.starts_with("http://") || e.starts_with("https://") => e.to_string(),
            Some(e) => format!("{}/{}", base.trim_end_matches('/'), e.trim_start_matches('/')),
        }
    }

    /// The check's method (GET).
    pub fn method(&self) -> String {
        self.health_check_method.as_deref().unwrap_or("GET").to_ascii_uppercase()
    }

    fn header_name(&self) -> &str {
        self.auth_header_name.as_deref().filter(|h| !h.is_empty()).unwrap_or("Authorization")
    }

    /// The key header, as (name, value), when the auth method uses a key.
    pub(crate) fn key_header(&self) -> Option<(String, String)> {
        let key = self.api_key.as_ref().filter(|_| self.auth_method.uses_key())?;
        let scheme = self.auth_scheme.as_deref().unwrap_or("Bearer").trim();
        let value = if scheme.is_empty() { key.expose().to_string() } else { format!("{scheme} {}", key.expose()) };
        Some((self.header_name().to_string(), value))
    }

    /// Basic-auth credentials, when the auth method uses them.
    pub(crate) fn basic(&self) -> Option<(String, String)> {
        let pass = self.htpasswd_pass.as_ref().filter(|_| self.auth_method.uses_password())?;
        Some((self.htpasswd_user.clone().unwrap_or_default(), pass.expose().to_string()))
    }

    /// What `api_list` shows: everything but the secrets, which are only said to be set.
    pub fn public(&self, alias: &str) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("api serializes");
        let m = v.as_object_mut().expect("object");
        m.remove("api_key");
        m.remove("htpasswd_pass");
        m.insert("alias".into(), alias.into());
        m.insert("api_key_set".into(), self.api_key.is_some().into());
        m.insert("htpasswd_pass_set".into(), self.htpasswd_pass.is_some().into());
        v
    }
}

/// The catalog file.
#[derive(Debug, Clone)]
pub struct Catalog {
    file: MapFile<Api>,
}

impl Catalog {
    /// `apis.json` of a data dir.
    pub fn new(data_dir: &DataDir) -> Self {
        Catalog { file: MapFile::new(data_dir.root().join("apis.json")) }
    }

    /// Every API, by alias.
    pub fn list(&self) -> Result<BTreeMap<String, Api>> {
        self.file.load()
    }

    /// One API, or NOT_FOUND.
    pub fn get(&self, alias: &str) -> Result<Api> {
        self.list()?.remove(alias).ok_or_else(|| Error::NotFound { what: "api", name: alias.to_string() })
    }

    /// Adds (or replaces) an API. Returns true when it replaced one.
    pub fn add(&self, alias: &str, mut api: Api) -> Result<bool> {
        crate::servers::validate_alias(alias)?;
        api.validate()?;
        api.created_at = format_time(now_ms());
        api.last_check = None;
        self.file.modify(|map| Ok(map.insert(alias.to_string(), api).is_some()))
    }

    /// Removes an API.
    pub fn remove(&self, alias: &str) -> Result<Api> {
        self.file
            .modify(|map| map.remove(alias).ok_or_else(|| Error::NotFound { what: "api", name: alias.to_string() }))
    }

    /// Records a check's result as the API's last check (an API removed meanwhile stays removed).
    pub fn record(&self, alias: &str, result: &CheckResult) -> Result<()> {
        self.file.modify(|map| {
            if let Some(api) = map.get_mut(alias) {
                api.last_check = Some(result.clone());
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> Api {
        Api {
            health_check_endpoint: Some("/health".into()),
            auth_method: AuthMethod::ApiKey,
            api_key: Some(Secret::new("k-123")),
            auth_header_name: Some("X-API-Key".into()),
            auth_scheme: Some(String::new()),
            ..Api::new("https://api.example.com/")
        }
    }

    #[test]
    fn urls_headers_and_validation() {
        let a = api();
        a.validate().unwrap();
        assert_eq!(a.check_url(), "https://api.example.com/health");
        assert_eq!(a.key_header(), Some(("X-API-Key".into(), "k-123".into())));
        let b = Api { auth_header_name: None, auth_scheme: None, ..api() };
        assert_eq!(b.key_header(), Some(("Authorization".into(), "Bearer k-123".into())));
        assert_eq!(Api { api_key: None, ..api() }.validate().unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(Api { url: "ftp://x".into(), ..api() }.validate().unwrap_err().code(), "INVALID_ARGUMENT");
        let basic = Api { auth_method: AuthMethod::Htpasswd, htpasswd_user: Some("u".into()), ..api() };
        assert_eq!(basic.validate().unwrap_err().code(), "INVALID_ARGUMENT", "password missing");
        assert_eq!(basic.key_header(), None, "htpasswd alone sends no key");
        assert_eq!(AuthMethod::parse("oauth").unwrap_err().code(), "INVALID_ARGUMENT");
    }

    #[test]
    fn the_file_is_0600_and_listing_hides_secrets() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let c = Catalog::new(&data);
        assert!(!c.add("main_api", api()).unwrap());
        let mode = std::fs::metadata(dir.path().join("apis.json")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let shown = c.get("main_api").unwrap().public("main_api").to_string();
        assert!(!shown.contains("k-123"), "{shown}");
        assert!(shown.contains("\"api_key_set\":true"));
        assert_eq!(c.remove("nope").unwrap_err().code(), "NOT_FOUND");
        c.remove("main_api").unwrap();
        assert!(c.list().unwrap().is_empty());
    }
}
