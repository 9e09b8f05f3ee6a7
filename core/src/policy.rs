//! The operator's command policy: `policy.toml` in the data dir lists regular expressions of commands
//! sshdeck must never run (`deny`) and of commands an agent may run only when confirmed (`confirm`,
//! added to the built-in [`DESTRUCTIVE`] list). It is read on every submission (so an edit applies at
//! once); `deny` is enforced for every command path (CLI, MCP, console) and edited by no tool.
//!
//! `deny_paths` are globs of paths the file tools (read, write, edit, diffs, snapshots, restores)
//! never touch, on any server or here (`*` matches across `/`).
//!
//! ```toml
//! deny = ['\brm\s+-rf\s+/(\s|$)', '\bshutdown\b', '\bmkfs']
//! confirm = ['\bDROP\s+DATABASE\b']
//! deny_paths = ['/etc/shadow', '/etc/ssh/ssh_host_*_key', '/root/.ssh/*']
//! ```

use std::path::{Path, PathBuf};

use regex::RegexSet;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The policy file's name in the data dir.
pub const POLICY_FILE: &str = "policy.toml";
/// Deny patterns added through the policy tools (`policy_blocklist_add`), kept apart from the
/// operator's file so that file is never rewritten (its comments stay); both apply.
pub const ADDED_FILE: &str = "policy.added.json";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    deny: Vec<String>,
    #[serde(default)]
    confirm: Vec<String>,
    #[serde(default)]
    deny_paths: Vec<String>,
}

/// Commands that destroy data or stop a machine: an agent runs them only with `force: true` (or the
/// human's confirmation). Each is (pattern, what it does).
pub const DESTRUCTIVE: &[(&str, &str)] = &[
    (
        r"\brm\s+(-[a-zA-Z]*\s+)*-[a-zA-Z]*[rR][a-zA-Z]*\s+(-\S+\s+)*(/|~|\$HOME|/\*|\*)(\s|$|;|&|\|)",
        "recursive delete of /, ~ or *",
    ),
    (r"\brm\s+.*--no-preserve-root", "rm --no-preserve-root"),
    (r"\bmkfs(\.\w+)?\b", "makes a filesystem"),
    (r"\bdd\b[^|;&]*\bof=/dev/", "dd onto a device"),
    (r"\b(shred|wipefs)\b", "wipes data"),
    (r">\s*/dev/(sd|hd|vd|xvd|nvme|mmcblk)", "writes onto a disk device"),
    (r"\b(fdisk|sfdisk|parted|gdisk)\b", "edits partition tables"),
    (
        r"(^|[;&|(`]|\$\(|\bsudo|\bexec|\bthen|\bdo|\bnohup)\s*(/s?bin/|/usr/s?bin/)?(shutdown|reboot|halt|poweroff)(\s|$|;|&|\|)",
        "stops or restarts the machine",
    ),
    (r"\binit\s+[06]\b", "stops or restarts the machine"),
    (r"\bsystemctl\s+(reboot|poweroff|halt|kexec)\b", "stops or restarts the machine"),
    (r":\(\)\s*\{\s*:\|:&\s*\};:", "fork bomb"),
    (r"\bchmod\s+(-[a-zA-Z]+\s+)*[0-7]*777\s+/(\s|$)", "chmod 777 /"),
    (r"\bchown\s+-[a-zA-Z]*R[a-zA-Z]*\s+\S+\s+/(\s|$)", "recursive chown of /"),
    (r"\bdocker\s+(system|volume|image|container)\s+prune\b", "deletes Docker data"),
    (r"(?i)\bdrop\s+(database|table|schema)\b", "drops a database object"),
];

/// The policy's patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The operator's deny patterns (`policy.toml`).
    pub deny: Vec<String>,
    /// The operator's confirm-first patterns.
    pub confirm: Vec<String>,
    /// The operator's denied paths.
    pub deny_paths: Vec<String>,
    /// Deny patterns the policy tools added.
    pub added: Vec<String>,
}

/// Checks commands against the data dir's policy.
#[derive(Debug, Clone)]
pub struct Policy {
    path: PathBuf,
}

impl Policy {
    /// The policy of the data dir at `root`.
    pub fn new(root: &Path) -> Self {
        Policy { path: root.join(POLICY_FILE) }
    }

    fn read(&self) -> Result<PolicyFile> {
        let mut file = self.read_operators()?;
        file.deny.extend(self.added()?);
        Ok(file)
    }

    fn read_operators(&self) -> Result<PolicyFile> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PolicyFile::default()),
            Err(e) => return Err(Error::io("cannot read command policy", &self.path, e)),
        };
        toml::from_str(&text).map_err(|e| Error::DataCorrupt { path: self.path.clone(), reason: e.to_string() })
    }

    fn added_path(&self) -> PathBuf {
        self.path.with_file_name(ADDED_FILE)
    }

    /// Deny patterns the policy tools added.
    pub fn added(&self) -> Result<Vec<String>> {
        let p = self.added_path();
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::DataCorrupt { path: p, reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io("cannot read", &p, e)),
        }
    }

    /// The operator's deny, confirm and deny_paths patterns, and those the tools added.
    pub fn listing(&self) -> Result<Listing> {
        let f = self.read_operators()?;
        Ok(Listing { deny: f.deny, confirm: f.confirm, deny_paths: f.deny_paths, added: self.added()? })
    }

    /// Adds a deny pattern (a regular expression). Returns false when it was already there.
    pub fn add_deny(&self, pattern: &str) -> Result<bool> {
        regex::Regex::new(pattern).map_err(|e| Error::InvalidArgument(format!("pattern {pattern:?}: {e}")))?;
        let _lock = crate::data_dir::FileLock::exclusive(&self.added_path())?;
        let mut added = self.added()?;
        if added.iter().any(|p| p == pattern) || self.read_operators()?.deny.iter().any(|p| p == pattern) {
            return Ok(false);
        }
        added.push(pattern.to_string());
        let text = serde_json::to_vec_pretty(&added).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        crate::data_dir::atomic_write(&self.added_path(), &text, 0o600)?;
        Ok(true)
    }

    /// Removes a pattern the tools added; the operator's own (in `policy.toml`) is refused
    /// (`POLICY_DENIED`: only the operator edits that file).
    pub fn remove_deny(&self, pattern: &str) -> Result<()> {
        if self.read_operators()?.deny.iter().any(|p| p == pattern) {
            return Err(Error::PolicyDenied { pattern: pattern.to_string(), path: self.path.clone() });
        }
        let _lock = crate::data_dir::FileLock::exclusive(&self.added_path())?;
        let mut added = self.added()?;
        let before = added.len();
        added.retain(|p| p != pattern);
        if added.len() == before {
            return Err(Error::NotFound { what: "deny pattern", name: pattern.to_string() });
        }
        let text = serde_json::to_vec_pretty(&added).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        crate::data_dir::atomic_write(&self.added_path(), &text, 0o600)
    }

    /// What is destructive about `command`, if anything: a built-in [`DESTRUCTIVE`] pattern or one of
    /// the policy's `confirm` patterns.
    pub fn destructive(&self, command: &str) -> Result<Option<String>> {
        // Compiled once per process: this runs on every command an agent sends.
        static BUILT_IN: std::sync::OnceLock<RegexSet> = std::sync::OnceLock::new();
        let built_in =
            BUILT_IN.get_or_init(|| RegexSet::new(DESTRUCTIVE.iter().map(|(p, _)| p)).expect("built-in patterns"));
        if let Some(i) = built_in.matches(command).iter().next() {
            return Ok(Some(DESTRUCTIVE[i].1.to_string()));
        }
        let file = self.read()?;
        if file.confirm.is_empty() {
            return Ok(None);
        }
        let set = RegexSet::new(&file.confirm)
            .map_err(|e| Error::DataCorrupt { path: self.path.clone(), reason: e.to_string() })?;
        Ok(set.matches(command).iter().next().map(|i| format!("matches {:?} in {}", file.confirm[i], POLICY_FILE)))
    }

    /// `POLICY_DENIED` when `command` matches a deny pattern. An unreadable or invalid policy file
    /// refuses every command rather than allowing them all.
    pub fn check(&self, command: &str) -> Result<()> {
        let file = self.read()?;
        let set = RegexSet::new(&file.deny)
            .map_err(|e| Error::DataCorrupt { path: self.path.clone(), reason: e.to_string() })?;
        if let Some(i) = set.matches(command).iter().next() {
            return Err(Error::PolicyDenied { pattern: file.deny[i].clone(), path: self.path.clone() });
        }
        Ok(())
    }
}

impl Policy {
    /// `POLICY_DENIED` when a file tool may not touch `path` (a `deny_paths` glob matches it, or a
    /// directory above it). Relative paths and `..` are judged as written and as normalized.
    pub fn check_path(&self, path: &str) -> Result<()> {
        let file = self.read()?;
        if file.deny_paths.is_empty() {
            return Ok(());
        }
        let normal = normalize(path);
        for p in &file.deny_paths {
            let g = glob::Pattern::new(p)
                .map_err(|e| Error::DataCorrupt { path: self.path.clone(), reason: e.to_string() })?;
            let under = |x: &str| x.starts_with(&format!("{}/", p.trim_end_matches('/')));
            if [path, normal.as_str()].iter().any(|x| g.matches(x) || under(x)) {
                return Err(Error::PolicyDenied { pattern: p.clone(), path: self.path.clone() });
            }
        }
        Ok(())
    }
}

/// `path` with `.`, `..` and repeated `/` resolved lexically.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if path.starts_with('/') { format!("/{joined}") } else { joined }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_example_policy_parses_and_denies() {
        let tmp = tempfile::tempdir().unwrap();
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/policy.toml");
        std::fs::copy(example, tmp.path().join(POLICY_FILE)).unwrap();
        let p = Policy::new(tmp.path());
        for bad in ["rm -rf /", "sudo mkfs.ext4 /dev/sdb1", "shutdown -h now", "dd if=/dev/zero of=/dev/sda"] {
            assert_eq!(p.check(bad).unwrap_err().code(), "POLICY_DENIED", "{bad}");
        }
        for ok in ["rm -rf /tmp/build", "ls -la /", "systemctl status nginx"] {
            assert!(p.check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn added_patterns_deny_too_and_only_they_can_be_removed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(POLICY_FILE), "# the operator's\ndeny = ['\\bmkfs']\n").unwrap();
        let p = Policy::new(tmp.path());
        assert!(p.check("systemctl stop nginx").is_ok());
        assert!(p.add_deny(r"\bsystemctl\s+stop\b").unwrap());
        assert!(!p.add_deny(r"\bsystemctl\s+stop\b").unwrap(), "once");
        assert_eq!(p.check("systemctl stop nginx").unwrap_err().code(), "POLICY_DENIED");
        assert_eq!(p.remove_deny(r"\bmkfs").unwrap_err().code(), "POLICY_DENIED", "the operator's stays");
        assert!(std::fs::read_to_string(tmp.path().join(POLICY_FILE)).unwrap().starts_with("# the operator's"));
        p.remove_deny(r"\bsystemctl\s+stop\b").unwrap();
        assert!(p.check("systemctl stop nginx").is_ok());
        assert_eq!(p.add_deny("(unclosed").unwrap_err().code(), "INVALID_ARGUMENT");
    }

    #[test]
    fn denied_paths_hold_through_dots_and_below_directories() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join(POLICY_FILE),
            "deny_paths = ['/etc/shadow', '/root/.ssh', '/etc/ssl/private/*']\n",
        )
        .unwrap();
        let p = Policy::new(tmp.path());
        for bad in
            ["/etc/shadow", "/etc//./shadow", "/tmp/../etc/shadow", "/root/.ssh/id_ed25519", "/etc/ssl/private/k.pem"]
        {
            assert_eq!(p.check_path(bad).unwrap_err().code(), "POLICY_DENIED", "{bad}");
        }
        for ok in ["/etc/passwd", "/etc/shadow.bak.d/x", "/root/.sshrc", "/etc/ssl/certs/a.pem"] {
            assert!(p.check_path(ok).is_ok(), "{ok}");
        }
        assert!(Policy::new(&tmp.path().join("none")).check_path("/etc/shadow").is_ok());
    }

    #[test]
    fn destructive_commands_are_recognised_and_ordinary_ones_are_not() {
        let tmp = tempfile::tempdir().unwrap();
        let p = Policy::new(tmp.path());
        for bad in [
            "rm -rf /",
            "sudo rm -rf / --no-preserve-root",
            "rm -fr ~",
            "cd /srv && rm -rf *",
            "mkfs.ext4 /dev/sdb1",
            "dd if=/dev/zero of=/dev/sda bs=1M",
            "shutdown -h now",
            "sudo reboot",
            "systemctl poweroff",
            "wipefs -a /dev/sdb",
            "echo x > /dev/sda",
            "docker system prune -af",
            "psql -c 'DROP DATABASE prod'",
        ] {
            assert!(p.destructive(bad).unwrap().is_some(), "{bad}");
        }
        for ok in ["rm -rf /tmp/build", "ls -la /", "uptime && df -h", "echo reboot-notes.txt", "dd if=a of=b"] {
            assert_eq!(p.destructive(ok).unwrap(), None, "{ok}");
        }
        std::fs::write(tmp.path().join(POLICY_FILE), "confirm = ['\\bterraform\\s+destroy\\b']\n").unwrap();
        let why = p.destructive("terraform destroy -auto-approve").unwrap().unwrap();
        assert!(why.contains("policy.toml"), "{why}");
        assert!(p.check("terraform destroy").is_ok(), "confirm patterns do not deny");
    }

    #[test]
    fn deny_patterns_and_broken_files() {
        let tmp = tempfile::tempdir().unwrap();
        let p = Policy::new(tmp.path());
        assert!(p.check("rm -rf /").is_ok(), "no file: everything allowed");
        std::fs::write(tmp.path().join(POLICY_FILE), "deny = ['\\brm\\s+-rf\\s+/(\\s|$)', 'shutdown']\n").unwrap();
        let err = p.check("sudo rm -rf / ").unwrap_err();
        assert_eq!(err.code(), "POLICY_DENIED");
        assert!(err.to_string().contains("rm"), "{err}");
        assert!(p.check("rm -rf /tmp/x").is_ok());
        assert_eq!(p.check("echo x; shutdown -h now").unwrap_err().code(), "POLICY_DENIED");
        std::fs::write(tmp.path().join(POLICY_FILE), "deny = ['(unclosed']\n").unwrap();
        assert_eq!(p.check("ls").unwrap_err().code(), "DATA_CORRUPT", "a broken policy refuses, not allows");
    }
}
