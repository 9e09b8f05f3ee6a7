//! Importers: OpenSSH client config and the Node orchestrator's `servers.json`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data_dir::{expand_tilde, home_dir};
use crate::error::{Error, Result};
use crate::pattern::{is_literal, match_list};
use crate::servers::ServerConfig;

/// Outcome of an import.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// New aliases.
    pub added: Vec<String>,
    /// Aliases that existed and were replaced.
    pub replaced: Vec<String>,
    /// Entries left out, with the reason.
    pub skipped: Vec<(String, String)>,
}

struct Block {
    patterns: Vec<String>,
    options: Vec<(String, String)>,
}

/// Parses OpenSSH client config text into one entry per literal `Host` name (wildcard-only blocks
/// supply defaults, first value wins as in `ssh`). Reads `Host`, `HostName`, `Port`, `User`,
/// `IdentityFile` and `ProxyJump`; returns the entries and warnings for what was left out.
pub fn parse_ssh_config(text: &str, default_user: &str) -> (Vec<(String, ServerConfig)>, Vec<String>) {
    let mut blocks: Vec<Block> = vec![Block { patterns: vec!["*".into()], options: vec![] }];
    let mut warnings = Vec::new();
    let mut in_match = false;
    for (lineno, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = split_keyword(line);
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "host" => {
                in_match = false;
                blocks.push(Block { patterns: value.split_whitespace().map(unquote).collect(), options: vec![] });
            }
            "match" => {
                in_match = true;
                warnings.push(format!("line {}: Match blocks are not supported; skipped", lineno + 1));
            }
            "include" => warnings.push(format!("line {}: Include is not followed; import that file too", lineno + 1)),
            _ if in_match => {}
            _ => blocks.last_mut().expect("root block").options.push((key, unquote(value))),
        }
    }
    let mut aliases: Vec<String> = Vec::new();
    for b in &blocks[1..] {
        for p in &b.patterns {
            if is_literal(p) && !aliases.contains(p) {
                aliases.push(p.clone());
            } else if !is_literal(p) {
                warnings.push(format!(
                    "Host {p}: a pattern, not a host; skipped (its options apply to the hosts it matches)"
                ));
            }
        }
    }
    let mut entries = Vec::new();
    for alias in aliases {
        let mut opts: HashMap<&str, &str> = HashMap::new();
        for b in &blocks {
            if match_list(b.patterns.iter().map(String::as_str), &alias) == Some(true) {
                for (k, v) in &b.options {
                    opts.entry(k.as_str()).or_insert(v.as_str());
                }
            }
        }
        let mut cfg =
            ServerConfig::new(opts.get("hostname").copied().unwrap_or(&alias).replace("%h", &alias), default_user);
        if let Some(u) = opts.get("user") {
            cfg.user = u.to_string();
        }
        if let Some(p) = opts.get("port") {
            match p.parse::<u16>() {
                Ok(p) => cfg.port = p,
                Err(_) => {
                    warnings.push(format!("{alias}: Port {p:?} is not a number; skipped"));
                    continue;
                }
            }
        }
        if let Some(k) = opts.get("identityfile") {
            cfg.key_path = Some(expand_identity(k, &cfg.user));
        }
        if let Some(j) = opts.get("proxyjump")
            && !j.eq_ignore_ascii_case("none")
        {
            cfg.proxy_jump = Some(j.to_string());
        }
        entries.push((alias, cfg));
    }
    (entries, warnings)
}

fn split_keyword(line: &str) -> (&str, &str) {
    let idx = line.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(line.len());
    let (k, rest) = line.split_at(idx);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    (k, rest)
}

fn unquote(s: &str) -> String {
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s).to_string()
}

fn expand_identity(path: &str, user: &str) -> PathBuf {
    let home = home_dir().map(|h| h.display().to_string()).unwrap_or_default();
    expand_tilde(&path.replace("%d", &home).replace("%u", user))
}

/// An OpenSSH client config file with its `Include`d files inlined (paths relative to `~/.ssh`,
/// globs allowed), ready for [`parse_ssh_config`].
pub fn read_ssh_config(path: &Path) -> Result<String> {
    read_with_includes(path, 0)
}

/// An ssh config with its `Include`d files inlined (paths relative to `~/.ssh`, globs allowed).
fn read_with_includes(path: &Path, depth: usize) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    if depth > 8 {
        return Ok(text);
    }
    let ssh_dir = home_dir().map(|h| h.join(".ssh")).unwrap_or_default();
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim();
        let include =
            t.split_once(|c: char| c.is_whitespace() || c == '=').filter(|(k, _)| k.eq_ignore_ascii_case("include"));
        match include {
            Some((_, files)) => {
                for f in files.split_whitespace() {
                    let f = expand_tilde(f);
                    let pattern = if f.is_absolute() { f } else { ssh_dir.join(f) };
                    let mut paths: Vec<PathBuf> =
                        glob::glob(&pattern.to_string_lossy()).into_iter().flatten().flatten().collect();
                    paths.sort();
                    for p in paths {
                        out.push_str(&read_with_includes(&p, depth + 1)?);
                        out.push('\n');
                    }
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// Parses the Node orchestrator's `servers.json` (`{alias: {host, user, port?, keyPath?, password?}}`).
/// Our own file has the same shape, so it parses too.
pub fn parse_node_servers_json(bytes: &[u8]) -> Result<Vec<(String, ServerConfig)>> {
    let map: BTreeMap<String, ServerConfig> = serde_json::from_slice(bytes)
        .map_err(|e| Error::InvalidArgument(format!("not a servers.json object keyed by alias: {e}")))?;
    Ok(map
        .into_iter()
        .map(|(alias, mut c)| {
            if let Some(k) = &c.key_path {
                c.key_path = Some(expand_tilde(&k.to_string_lossy()));
            }
            (alias, c)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# comment
Host *.corp !db.corp
    User corpuser
    Port 2200

Host web1 web1.corp
    HostName 10.1.0.11
    IdentityFile ~/.ssh/web_ed25519
    ProxyJump bastion

Host bastion
\tHostName=bastion.example.com
\tUser ops
\tPort=2222

Host db.corp
    IdentityFile \"%d/.ssh/db key\"

Match host foo
    User ignored

Host *
    User everyone
    Port 22
    IdentityFile ~/.ssh/id_default
";

    #[test]
    fn ssh_config_first_value_wins_across_blocks() {
        let (entries, warnings) = parse_ssh_config(CONFIG, "me");
        let get = |a: &str| entries.iter().find(|(x, _)| x == a).map(|(_, c)| c.clone()).unwrap();
        let aliases: Vec<_> = entries.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(aliases, ["web1", "web1.corp", "bastion", "db.corp"]);

        let web1 = get("web1");
        assert_eq!((web1.host.as_str(), web1.user.as_str(), web1.port), ("10.1.0.11", "everyone", 22));
        assert!(web1.key_path.unwrap().ends_with(".ssh/web_ed25519"));
        assert_eq!(web1.proxy_jump.as_deref(), Some("bastion"));

        let corp = get("web1.corp");
        assert_eq!((corp.user.as_str(), corp.port), ("corpuser", 2200), "the *.corp block comes first");

        let bastion = get("bastion");
        assert_eq!((bastion.host.as_str(), bastion.user.as_str(), bastion.port), ("bastion.example.com", "ops", 2222));

        let db = get("db.corp");
        assert_eq!((db.user.as_str(), db.port), ("everyone", 22), "negated pattern excludes db.corp");
        assert!(db.key_path.unwrap().to_string_lossy().ends_with("/.ssh/db key"));
        assert!(warnings.iter().any(|w| w.contains("Match")), "{warnings:?}");
    }

    #[test]
    fn node_json_parses_with_defaults() {
        let json = br#"{"prod_vps":{"host":"192.168.1.100","user":"admin","keyPath":"/home/u/.ssh/id_rsa"},
                        "staging":{"host":"staging.example.com","user":"deploy","password":"pw","port":2222}}"#;
        let entries = parse_node_servers_json(json).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].1.port, 22);
        assert_eq!(entries[0].1.auth_kind(), "key");
        assert_eq!(entries[1].1.port, 2222);
        assert_eq!(entries[1].1.password.as_ref().unwrap().expose(), "pw");
        assert_eq!(parse_node_servers_json(b"[1,2]").unwrap_err().code(), "INVALID_ARGUMENT");
    }
}
