//! The audit trail: every mutating action of every front end (an MCP tool that is not read-only, a CLI
//! command that changes something) as one JSON line in `audit.jsonl` (0600): when, which front end and
//! caller, what, on which targets, the arguments with secrets removed, the result code and the job.
//! It answers "what did the agent do on prod last night?". The file is rotated past 8 MiB (one
//! previous file, `audit.1.jsonl`, is kept).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data_dir::FileLock;
use crate::error::{Error, Result};
use crate::jobs::{format_time, now_ms};

/// The audit file's name in the data dir.
pub const AUDIT_FILE: &str = "audit.jsonl";
/// Size past which the file is rotated.
const ROTATE_AT: u64 = 8 << 20;
/// Longest string value kept in the arguments.
const MAX_VALUE_CHARS: usize = 200;

/// One action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When (RFC 3339).
    pub at: String,
    /// When, in ms since the epoch.
    pub at_ms: u64,
    /// `mcp`, `cli`, `console`.
    pub front_end: String,
    /// Who: the HTTP token's name, or the local user.
    pub caller: String,
    /// The tool or command.
    pub action: String,
    /// Servers it concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Its arguments, secrets removed, long values cut.
    #[serde(default)]
    pub args: Value,
    /// `ok`, or the error code.
    pub result: String,
    /// The job it made, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

impl Entry {
    /// An entry stamped now, arguments cleaned.
    pub fn now(front_end: &str, caller: &str, action: &str, targets: Vec<String>, args: Value) -> Entry {
        let at_ms = now_ms();
        Entry {
            at: format_time(at_ms),
            at_ms,
            front_end: front_end.into(),
            caller: caller.into(),
            action: action.into(),
            targets,
            args: redact(args),
            result: "ok".into(),
            job: None,
        }
    }
}

/// Whether an argument's name says it holds a secret.
fn secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["pass", "secret", "token", "answer", "response", "credential", "private", "api_key", "apikey", "bearer", "cookie"]
        .iter()
        .any(|s| k.contains(s))
        || ["env", "headers", "key", "authorization"].contains(&k.as_str())
}

/// `v` with secret-named values replaced by `"***"` and long strings cut.
pub fn redact(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = if secret_name(&k) && !v.is_null() { Value::String("***".into()) } else { redact(v) };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(redact).collect()),
        Value::String(s) if s.chars().count() > MAX_VALUE_CHARS => Value::String(format!(
            "{}… ({} chars)",
            s.chars().take(MAX_VALUE_CHARS).collect::<String>(),
            s.chars().count()
        )),
        other => other,
    }
}

/// The audit trail of one data dir.
#[derive(Debug, Clone)]
pub struct Audit {
    path: PathBuf,
}

impl Audit {
    /// The trail in the data dir at `root`.
    pub fn new(root: &Path) -> Audit {
        Audit { path: root.join(AUDIT_FILE) }
    }

    /// Appends `entry` (under the file's lock, rotating it first when it is large).
    pub fn record(&self, entry: &Entry) -> Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        line.push(b'\n');
        let _lock = FileLock::exclusive(&self.path)?;
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() > ROTATE_AT) {
            let old = self.path.with_file_name("audit.1.jsonl");
            std::fs::rename(&self.path, &old).map_err(|e| Error::io("cannot rotate", &self.path, e))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| Error::io("cannot open", &self.path, e))?;
        f.write_all(&line).map_err(|e| Error::io("cannot write", &self.path, e))
    }

    /// Entries since `since_ms`, oldest first, the last `limit` of them (the rotated file included).
    /// A line that does not parse (a torn write after a crash) is skipped.
    pub fn read(&self, since_ms: u64, limit: usize) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for p in [self.path.with_file_name("audit.1.jsonl"), self.path.clone()] {
            let text = match std::fs::read_to_string(&p) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("cannot read", &p, e)),
            };
            out.extend(
                text.lines().filter_map(|l| serde_json::from_str::<Entry>(l).ok()).filter(|e| e.at_ms >= since_ms),
            );
        }
        let skip = out.len().saturating_sub(limit);
        Ok(out.split_off(skip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_never_reach_the_trail_and_lines_read_back() {
        let d = tempfile::tempdir().unwrap();
        let audit = Audit::new(d.path());
        let args = json!({"alias": "web", "password": "hunter2", "keyPath": "/k", "responses": {"Password:": "x"}, "api_key": "k-1",
            "cmd": "y".repeat(500), "nested": [{"passphrase": "p"}]});
        let mut e = Entry::now("mcp", "agent", "server_add", vec!["web".into()], args);
        e.result = "AUTH_FAILED".into();
        audit.record(&e).unwrap();
        audit.record(&Entry::now("cli", "root", "exec", vec!["db".into()], json!({}))).unwrap();
        let text = std::fs::read_to_string(d.path().join(AUDIT_FILE)).unwrap();
        assert!(
            !text.contains("hunter2")
                && !text.contains("Password:")
                && !text.contains("\"p\"")
                && !text.contains("k-1"),
            "{text}"
        );
        assert!(text.contains("\"keyPath\":\"/k\"") && text.contains("(500 chars)"), "{text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path().join(AUDIT_FILE)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let all = audit.read(0, 10).unwrap();
        assert_eq!((all.len(), all[0].result.as_str(), all[1].action.as_str()), (2, "AUTH_FAILED", "exec"));
        assert_eq!(audit.read(0, 1).unwrap()[0].action, "exec", "the last ones");
    }
}
