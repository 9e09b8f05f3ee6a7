//! What an agent remembers about each server between conversations, in the Node orchestrator's
//! `server_notes.json` (an object keyed by alias): `services`, `warnings`, `conventions`, a free
//! `note`, the `last_intervention {at, summary}` and `updated_at`. A Node user's file is read as it is
//! and fields sshdeck does not know are kept through its writes.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::data_dir::{FileLock, atomic_write};
use crate::error::{Error, Result};
use crate::jobs::{format_time, now_ms};

/// The notes file's name in the data dir.
pub const NOTES_FILE: &str = "server_notes.json";

/// What a `server_note_set` changes; absent fields are left as they are.
#[derive(Debug, Clone, Default)]
pub struct NotePatch {
    /// Services the server runs.
    pub services: Option<Vec<String>>,
    /// Things to watch out for.
    pub warnings: Option<Vec<String>>,
    /// How things are done there.
    pub conventions: Option<Vec<String>>,
    /// Free text.
    pub note: Option<String>,
    /// What was just done: becomes `last_intervention {at, summary}`.
    pub intervention: Option<String>,
}

/// The notes of one data dir.
#[derive(Debug, Clone)]
pub struct Notes {
    path: PathBuf,
}

impl Notes {
    /// The notes in the data dir at `root`.
    pub fn new(root: &Path) -> Notes {
        Notes { path: root.join(NOTES_FILE) }
    }

    fn read(&self) -> Result<Map<String, Value>> {
        match std::fs::read(&self.path) {
            Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
            Ok(b) => match serde_json::from_slice(&b) {
                Ok(Value::Object(m)) => Ok(m),
                Ok(_) => Err(Error::DataCorrupt { path: self.path.clone(), reason: "not a JSON object".into() }),
                Err(e) => Err(Error::DataCorrupt { path: self.path.clone(), reason: e.to_string() }),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
            Err(e) => Err(Error::io("cannot read", &self.path, e)),
        }
    }

    fn write(&self, m: &Map<String, Value>) -> Result<()> {
        let text = serde_json::to_vec_pretty(m).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        atomic_write(&self.path, &text, 0o600)
    }

    /// Merges `patch` into the note of `alias` (creating it); returns the note.
    pub fn set(&self, alias: &str, patch: NotePatch) -> Result<Value> {
        let _lock = FileLock::exclusive(&self.path)?;
        let mut all = self.read()?;
        let mut note = match all.remove(alias) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let now = format_time(now_ms());
        for (k, v) in [("services", patch.services), ("warnings", patch.warnings), ("conventions", patch.conventions)] {
            if let Some(v) = v {
                note.insert(k.into(), json!(v));
            }
        }
        if let Some(n) = patch.note {
            note.insert("note".into(), json!(n));
        }
        if let Some(summary) = patch.intervention {
            note.insert("last_intervention".into(), json!({"at": now, "summary": summary}));
        }
        note.insert("updated_at".into(), json!(now));
        all.insert(alias.to_string(), Value::Object(note.clone()));
        self.write(&all)?;
        Ok(Value::Object(note))
    }

    /// The note of `alias`, if any.
    pub fn get(&self, alias: &str) -> Result<Option<Value>> {
        Ok(self.read()?.remove(alias))
    }

    /// Every note, by alias.
    pub fn list(&self) -> Result<Map<String, Value>> {
        self.read()
    }

    /// Removes the note of `alias`; `NOT_FOUND` when there is none.
    pub fn remove(&self, alias: &str) -> Result<Value> {
        let _lock = FileLock::exclusive(&self.path)?;
        let mut all = self.read()?;
        let gone = all.remove(alias).ok_or_else(|| Error::NotFound { what: "note", name: alias.to_string() })?;
        self.write(&all)?;
        Ok(gone)
    }
}

/// A note in one line (for server listings): its free note, else its warnings, else its services.
pub fn one_line(note: &Value) -> Option<String> {
    let list = |k: &str| {
        note[k]
            .as_array()
            .filter(|a| !a.is_empty())
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
    };
    let text = note["note"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.lines().next().unwrap_or_default().to_string())
        .or_else(|| list("warnings").map(|w| format!("warnings: {w}")))
        .or_else(|| list("services").map(|s| format!("services: {s}")))?;
    Some(text.chars().take(120).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_file_is_read_as_it_is_and_unknown_fields_survive_a_merge() {
        let d = tempfile::tempdir().unwrap();
        let node = r#"{"web1": {"services": ["nginx"], "warnings": ["disk small"], "owner_team": "ops",
            "last_intervention": {"at": "2026-01-02T03:04:05Z", "summary": "rotated logs"}}}"#;
        std::fs::write(d.path().join(NOTES_FILE), node).unwrap();
        let notes = Notes::new(d.path());
        assert_eq!(notes.get("web1").unwrap().unwrap()["owner_team"], "ops");
        let patch = NotePatch {
            note: Some("primary web".into()),
            intervention: Some("upgraded nginx".into()),
            ..Default::default()
        };
        let n = notes.set("web1", patch).unwrap();
        assert_eq!((n["services"][0].as_str(), n["owner_team"].as_str()), (Some("nginx"), Some("ops")), "kept: {n}");
        assert_eq!(n["last_intervention"]["summary"], "upgraded nginx");
        assert_eq!(one_line(&n).as_deref(), Some("primary web"));
        let on_disk: Value = serde_json::from_slice(&std::fs::read(d.path().join(NOTES_FILE)).unwrap()).unwrap();
        assert_eq!(on_disk["web1"]["owner_team"], "ops");
        notes.set("db", NotePatch { warnings: Some(vec!["no swap".into()]), ..Default::default() }).unwrap();
        assert_eq!(notes.list().unwrap().len(), 2);
        assert_eq!(one_line(&notes.get("db").unwrap().unwrap()).as_deref(), Some("warnings: no swap"));
        notes.remove("db").unwrap();
        assert_eq!(notes.remove("db").unwrap_err().code(), "NOT_FOUND");
    }
}
