//! Bearer tokens for `sshdeck-mcp --http`: `mcp_tokens.json` in the data dir (0600) keeps each token's
//! name, sha256 (never the token), whether it is read-only and when it was made. `sshdeck-mcp token
//! create NAME [--readonly]` prints the token once; `token list` and `token revoke NAME` manage them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sshdeck_core::Error;
use sshdeck_core::data_dir::{FileLock, atomic_write};

/// The token file's name in the data dir.
pub const TOKENS_FILE: &str = "mcp_tokens.json";

/// One token, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub name: String,
    pub sha256: String,
    #[serde(default)]
    pub readonly: bool,
    pub created_at: String,
}

/// Who made a request: the token's name and whether it may change anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub readonly: bool,
}

tokio::task_local! {
    /// The caller of the tool call being served (HTTP with a token).
    pub static CALLER: Caller;
}

/// The origin recorded on the jobs a call starts: `mcp`, or `mcp:TOKEN_NAME` over HTTP.
pub fn origin() -> String {
    CALLER.try_with(|c| format!("mcp:{}", c.name)).unwrap_or_else(|_| "mcp".to_string())
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn path(data: &Path) -> PathBuf {
    data.join(TOKENS_FILE)
}

/// Every token of the data dir.
pub fn load(data: &Path) -> Result<Vec<Token>, Error> {
    let p = path(data);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::DataCorrupt { path: p, reason: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::Io { action: "cannot read", path: p, source: e }),
    }
}

fn save(data: &Path, tokens: &[Token]) -> Result<(), Error> {
    let text = serde_json::to_vec_pretty(tokens).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    atomic_write(&path(data), &text, 0o600)
}

/// Makes a token called `name`; returns it (shown once, never stored).
pub fn create(data: &Path, name: &str, readonly: bool) -> Result<String, Error> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)) {
        return Err(Error::InvalidArgument(format!("token name {name:?}: letters, digits, - _ . @ only")));
    }
    let _lock = FileLock::exclusive(&path(data))?;
    let mut tokens = load(data)?;
    if tokens.iter().any(|t| t.name == name) {
        return Err(Error::InvalidArgument(format!("a token named {name} exists: revoke it first")));
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| Error::InvalidArgument(format!("no randomness: {e}")))?;
    let token = format!("sshdeck_{}", raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let created_at = sshdeck_core::jobs::format_time(sshdeck_core::jobs::now_ms());
    tokens.push(Token { name: name.to_string(), sha256: hash(&token), readonly, created_at });
    save(data, &tokens)?;
    Ok(token)
}

/// Removes the token called `name`.
pub fn revoke(data: &Path, name: &str) -> Result<(), Error> {
    let _lock = FileLock::exclusive(&path(data))?;
    let mut tokens = load(data)?;
    let before = tokens.len();
    tokens.retain(|t| t.name != name);
    if tokens.len() == before {
        return Err(Error::NotFound { what: "token", name: name.to_string() });
    }
    save(data, &tokens)
}

/// The caller a presented token belongs to (compared by hash, in constant time).
pub fn verify(tokens: &[Token], presented: &str) -> Option<Caller> {
    let h = hash(presented);
    tokens
        .iter()
        .find(|t| {
            t.sha256.len() == h.len() && t.sha256.bytes().zip(h.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        })
        .map(|t| Caller { name: t.name.clone(), readonly: t.readonly })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_0600_and_verified() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let t = create(d.path(), "ci", true).unwrap();
        let file = std::fs::read_to_string(d.path().join(TOKENS_FILE)).unwrap();
        assert!(!file.contains(&t) && file.contains(&hash(&t)), "{file}");
        let mode = std::fs::metadata(d.path().join(TOKENS_FILE)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let tokens = load(d.path()).unwrap();
        assert_eq!(verify(&tokens, &t), Some(Caller { name: "ci".into(), readonly: true }));
        assert_eq!(verify(&tokens, "sshdeck_wrong"), None);
        assert!(create(d.path(), "ci", false).is_err(), "names are unique");
        revoke(d.path(), "ci").unwrap();
        assert!(load(d.path()).unwrap().is_empty());
        assert_eq!(revoke(d.path(), "ci").unwrap_err().code(), "NOT_FOUND");
    }
}
