//! Two snapshots compared from the store's objects: added, removed, modified (with line counts and,
//! when asked, bounded diffs of text files).

use std::collections::HashMap;

use serde::Serialize;

use super::{SnapFile, Snapshot, Store};
use crate::error::Result;
use crate::files::{self, diff_texts, is_binary};

/// A file that differs between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changed {
    /// Path.
    pub path: String,
    /// sha256 in the first and the second.
    pub sha256_1: String,
    /// sha256 in the second.
    pub sha256_2: String,
    /// Lines added (text files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<usize>,
    /// Lines removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<usize>,
    /// Unified diff, bounded, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// Two snapshots compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotDiff {
    /// Files only in the second.
    pub added: Vec<String>,
    /// Files only in the first.
    pub removed: Vec<String>,
    /// Files in both, with other content.
    pub modified: Vec<Changed>,
    /// Files in both with the same content.
    pub unchanged: usize,
}

/// Compares two snapshots from the store's objects; `diff_bytes` adds a bounded diff per text file.
pub fn diff(store: &Store, a: &Snapshot, b: &Snapshot, diff_bytes: Option<usize>) -> Result<SnapshotDiff> {
    let first: HashMap<&str, &SnapFile> = a.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let second: HashMap<&str, &SnapFile> = b.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut d = SnapshotDiff { added: Vec::new(), removed: Vec::new(), modified: Vec::new(), unchanged: 0 };
    for f in &b.files {
        if !first.contains_key(f.path.as_str()) {
            d.added.push(f.path.clone());
        }
    }
    for f in &a.files {
        let Some(g) = second.get(f.path.as_str()) else {
            d.removed.push(f.path.clone());
            continue;
        };
        if f.sha256 == g.sha256 {
            d.unchanged += 1;
            continue;
        }
        let mut c = Changed {
            path: f.path.clone(),
            sha256_1: f.sha256.clone(),
            sha256_2: g.sha256.clone(),
            added: None,
            removed: None,
            diff: None,
        };
        if f.size.max(g.size) <= files::EDIT_MAX_BYTES {
            let (x, y) = (store.get(&f.sha256)?, store.get(&g.sha256)?);
            if !is_binary(&x) && !is_binary(&y) {
                let p = f.path.trim_start_matches('/');
                let dd = diff_texts(
                    &format!("a/{p}"),
                    &format!("b/{p}"),
                    &String::from_utf8_lossy(&x),
                    &String::from_utf8_lossy(&y),
                    diff_bytes.unwrap_or(0),
                );
                (c.added, c.removed) = (Some(dd.added), Some(dd.removed));
                c.diff = diff_bytes.map(|_| dd.text);
            }
        }
        d.modified.push(c);
    }
    Ok(d)
}
