//! Work sessions (`work_start`, `work_log`, `work_list`, `work_end`, Node's names), in Node's
//! `work_sessions.json`: an object keyed by session id. A session records one intervention: on which
//! servers (an alias, a project's servers, or everywhere), why, an optional snapshot taken first,
//! what was logged along the way, and its summary. Every job accepted while a session is active on
//! the job's server carries the session's id (see `Jobs::accept`), so the session lists what was done.
//! Ended sessions are kept up to [`HISTORY_MAX`]; fields sshdeck does not know are kept.

use std::path::Path;

use serde_json::{Value, json};

use crate::clock::{format_time, now_ms};
use crate::error::{Error, Result};
use crate::store::MapFile;

/// The work sessions file's name in the data dir.
pub const WORK_FILE: &str = "work_sessions.json";
/// Ended sessions kept (the oldest go first).
pub const HISTORY_MAX: usize = 200;
/// Log entries one session keeps (the oldest go first).
pub const LOG_MAX: usize = 500;

/// What `work_start` is given.
#[derive(Debug, Clone, Default)]
pub struct WorkStart {
    pub alias: Option<String>,
    pub project: Option<String>,
    pub tag: Option<String>,
    pub message: Option<String>,
    /// The servers the session covers (the alias, or the project's servers; empty: every server).
    pub aliases: Vec<String>,
    /// The snapshot taken first.
    pub snapshot: Option<String>,
}

/// The work sessions of one data dir.
#[derive(Debug, Clone)]
pub struct WorkSessions {
    file: MapFile<Value>,
}

fn is_active(s: &Value) -> bool {
    s["status"].as_str() == Some("active")
}

fn not_found(id: &str) -> Error {
    Error::NotFound { what: "work session", name: id.to_string() }
}

impl WorkSessions {
    /// The sessions in the data dir at `root`.
    pub fn new(root: &Path) -> WorkSessions {
        WorkSessions { file: MapFile::new(root.join(WORK_FILE)) }
    }

    /// Opens a session; returns it.
    pub fn start(&self, w: WorkStart) -> Result<Value> {
        let mut raw = [0u8; 4];
        getrandom::fill(&mut raw).expect("the OS random source works");
        let now = now_ms();
        let id = format!("ws-{}-{}", now / 1000, raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let mut s = json!({"id": id, "status": "active", "startedAt": format_time(now), "startedAtMs": now,
            "aliases": w.aliases, "log": []});
        for (k, v) in [("alias", w.alias), ("project", w.project), ("tag", w.tag), ("message", w.message)] {
            if let Some(v) = v {
                s[k] = json!(v);
            }
        }
        if let Some(snap) = w.snapshot {
            s["snapshot"] = json!(snap);
        }
        self.file.modify(|all| {
            all.insert(id.clone(), s.clone());
            Ok(())
        })?;
        Ok(s)
    }

    /// Appends an entry to an active session's log.
    pub fn log(&self, id: &str, kind: &str, detail: Option<String>, path: Option<String>) -> Result<Value> {
        if kind.trim().is_empty() {
            return Err(Error::InvalidArgument("type: what kind of entry (edit, command, deploy, note…)".into()));
        }
        self.file.modify(|all| {
            let s = all.get_mut(id).ok_or_else(|| not_found(id))?;
            if !is_active(s) {
                return Err(Error::InvalidArgument(format!("work session {id} has ended")));
            }
            let mut entry = json!({"at": format_time(now_ms()), "type": kind});
            if let Some(d) = detail {
                entry["detail"] = json!(d);
            }
            if let Some(p) = path {
                entry["path"] = json!(p);
            }
            if !s["log"].is_array() {
                s["log"] = json!([]);
            }
            let log = s["log"].as_array_mut().expect("an array");
            log.push(entry);
            let over = log.len().saturating_sub(LOG_MAX);
            log.drain(..over);
            Ok(s.clone())
        })
    }

    /// Ends an active session with its summary; returns it.
    pub fn end(&self, id: &str, summary: Option<String>) -> Result<Value> {
        self.file.modify(|all| {
            let s = all.get_mut(id).ok_or_else(|| not_found(id))?;
            if !is_active(s) {
                return Err(Error::InvalidArgument(format!("work session {id} has already ended")));
            }
            let now = now_ms();
            s["status"] = json!("ended");
            s["endedAt"] = json!(format_time(now));
            s["endedAtMs"] = json!(now);
            if let Some(sum) = summary {
                s["summary"] = json!(sum);
            }
            let ended = s.clone();
            // History bounded: the oldest ended sessions go.
            let mut old: Vec<(u64, String)> = all
                .iter()
                .filter(|(_, s)| !is_active(s))
                .map(|(k, s)| (s["endedAtMs"].as_u64().unwrap_or(0), k.clone()))
                .collect();
            old.sort();
            let over = old.len().saturating_sub(HISTORY_MAX);
            for (_, k) in old.into_iter().take(over) {
                all.remove(&k);
            }
            Ok(ended)
        })
    }

    /// Active sessions, and ended ones too when `history`, newest first.
    pub fn list(&self, history: bool) -> Result<Vec<Value>> {
        let mut v: Vec<Value> = self.file.load()?.into_values().filter(|s| history || is_active(s)).collect();
        v.sort_by_key(|s| std::cmp::Reverse(s["startedAtMs"].as_u64().unwrap_or(0)));
        Ok(v)
    }

    /// One session.
    pub fn get(&self, id: &str) -> Result<Value> {
        self.file.load()?.remove(id).ok_or_else(|| not_found(id))
    }

    /// The newest active session covering one of `targets` (a session without servers covers all).
    pub fn open_for(&self, targets: &[String]) -> Option<String> {
        let all = self.file.load().ok()?;
        all.values()
            .filter(|s| is_active(s))
            .filter(|s| match s["aliases"].as_array() {
                Some(a) if !a.is_empty() => a.iter().any(|x| targets.iter().any(|t| x.as_str() == Some(t))),
                _ => true,
            })
            .max_by_key(|s| s["startedAtMs"].as_u64().unwrap_or(0))
            .and_then(|s| s["id"].as_str().map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    #[test]
    fn a_session_logs_ends_and_covers_its_servers() {
        let dir = tempfile::tempdir().unwrap();
        let w = WorkSessions::new(dir.path());
        assert_eq!(w.open_for(&["web".into()]), None);
        let s = w
            .start(WorkStart { alias: Some("web".into()), aliases: vec!["web".into()], ..Default::default() })
            .unwrap();
        let id = s["id"].as_str().unwrap().to_string();
        assert_eq!(w.open_for(&["web".into()]).as_deref(), Some(id.as_str()));
        assert_eq!(w.open_for(&["db".into()]), None, "another server is not covered");
        let s = w.log(&id, "edit", Some("worker_processes 4".into()), Some("/etc/nginx/nginx.conf".into())).unwrap();
        assert_eq!(s["log"][0]["path"], "/etc/nginx/nginx.conf");
        assert_eq!(w.log(&id, " ", None, None).unwrap_err().code(), "INVALID_ARGUMENT");
        let s = w.end(&id, Some("tuned nginx".into())).unwrap();
        assert_eq!((s["status"].as_str(), s["summary"].as_str()), (Some("ended"), Some("tuned nginx")));
        assert_eq!(w.end(&id, None).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(w.log(&id, "edit", None, None).unwrap_err().code(), "INVALID_ARGUMENT");
        assert!(w.list(false).unwrap().is_empty());
        assert_eq!(w.list(true).unwrap().len(), 1);
        assert_eq!(w.open_for(&["web".into()]), None);
        assert_eq!(w.get("ws-nope").unwrap_err().code(), "NOT_FOUND");
    }

    #[test]
    fn node_fields_are_kept_and_history_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut node = Map::new();
        for i in 0..HISTORY_MAX + 5 {
            node.insert(
                format!("old{i}"),
                json!({"id": format!("old{i}"), "status": "ended", "endedAtMs": i, "nodeField": i}),
            );
        }
        node.insert("live".into(), json!({"id": "live", "status": "active", "alias": "web", "nodeField": "x"}));
        std::fs::write(dir.path().join(WORK_FILE), Value::Object(node).to_string()).unwrap();
        let w = WorkSessions::new(dir.path());
        assert_eq!(w.open_for(&["anything".into()]).as_deref(), Some("live"), "no aliases recorded: covers all");
        w.log("live", "note", Some("looked around".into()), None).unwrap();
        let s = w.end("live", None).unwrap();
        assert_eq!(s["nodeField"], "x");
        let all = w.list(true).unwrap();
        assert_eq!(all.len(), HISTORY_MAX);
        assert!(all.iter().any(|s| s["id"] == "live") && !all.iter().any(|s| s["id"] == "old0"), "oldest went");
    }
}
