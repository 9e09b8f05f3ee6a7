//! The operator's command policy: `policy.toml` in the data dir lists regular expressions of commands
//! sshdeck must never run. It is read on every submission (so an edit applies at once), enforced for
//! every command path (CLI, MCP, console) and edited by no tool.
//!
//! ```toml
//! deny = ['\brm\s+-rf\s+/(\s|$)', '\bshutdown\b', '\bmkfs']
//! ```

use std::path::{Path, PathBuf};

use regex::RegexSet;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The policy file's name in the data dir.
pub const POLICY_FILE: &str = "policy.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    deny: Vec<String>,
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

    /// `POLICY_DENIED` when `command` matches a deny pattern. An unreadable or invalid policy file
    /// refuses every command rather than allowing them all.
    pub fn check(&self, command: &str) -> Result<()> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("cannot read command policy", &self.path, e)),
        };
        let file: PolicyFile =
            toml::from_str(&text).map_err(|e| Error::DataCorrupt { path: self.path.clone(), reason: e.to_string() })?;
        let set = RegexSet::new(&file.deny)
            .map_err(|e| Error::DataCorrupt { path: self.path.clone(), reason: e.to_string() })?;
        if let Some(i) = set.matches(command).iter().next() {
            return Err(Error::PolicyDenied { pattern: file.deny[i].clone(), path: self.path.clone() });
        }
        Ok(())
    }
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
