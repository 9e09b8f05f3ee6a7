//! Comparing two directory trees (each local or on a server): what is only on one side, identical,
//! or modified. Each side is listed and hashed where it is ([`super::tree`]); only the files that
//! differ are read, bounded, to count changed lines and, when asked, show a diff.

use serde::Serialize;

use super::tree::{self, Entry, TreeOptions};
use super::{Source, diff_texts, is_binary, read};
use crate::error::Result;
use crate::remote::Remote;

/// Largest file read to count changed lines.
const LINES_MAX_BYTES: u64 = 1 << 20;
/// Modified files whose lines are counted (and diffs shown); the rest are listed with hashes only.
const DETAILED_FILES: usize = 100;

/// How to compare.
#[derive(Debug, Clone)]
pub struct FolderOptions {
    /// Descend into subdirectories.
    pub recursive: bool,
    /// Compare by content (sha256); otherwise by size.
    pub compare_content: bool,
    /// Include a unified diff per modified text file, at most this many bytes each (`None`: no diffs).
    pub diff_bytes: Option<usize>,
    /// Names or paths to leave out (see [`tree::ignored`]).
    pub ignore: Vec<String>,
}

/// A file present on both sides that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Modified {
    /// Relative path.
    pub path: String,
    /// Size on side 1 and side 2.
    pub size1: u64,
    /// Size on side 2.
    pub size2: u64,
    /// sha256 on side 1 (when compared by content).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256_1: Option<String>,
    /// sha256 on side 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256_2: Option<String>,
    /// Lines added from side 1 to side 2 (text files up to 1 MiB, the first 100 modified files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<usize>,
    /// Lines removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<usize>,
    /// Whether either side is binary.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub binary: bool,
    /// Mode on each side, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modes: Option<(String, String)>,
    /// The unified diff (bounded), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderDiff {
    /// Files only under the first root.
    pub only_in1: Vec<String>,
    /// Files only under the second root.
    pub only_in2: Vec<String>,
    /// Files with the same content (or size, when content is not compared).
    pub identical: Vec<String>,
    /// Files that differ.
    pub modified: Vec<Modified>,
    /// Files on both sides that could not be read on one of them (permission), so not compared.
    pub unreadable: Vec<String>,
    /// Files listed on each side.
    pub files1: usize,
    /// Files listed on the second side.
    pub files2: usize,
}

impl FolderDiff {
    /// Whether both trees hold the same files with the same contents.
    pub fn same(&self) -> bool {
        self.only_in1.is_empty() && self.only_in2.is_empty() && self.modified.is_empty()
    }
}

fn join(root: &Source, rel: &str) -> Source {
    let under = |p: &str| format!("{}/{rel}", p.trim_end_matches('/'));
    match root {
        Source::Local(p) => Source::Local(under(p)),
        Source::Remote { alias, path } => Source::Remote { alias: alias.clone(), path: under(path) },
    }
}

/// Compares the trees under `root1` and `root2`.
pub async fn diff_folders(
    remote: &dyn Remote,
    root1: &Source,
    root2: &Source,
    opts: &FolderOptions,
) -> Result<FolderDiff> {
    let t = TreeOptions { recursive: opts.recursive, hash: opts.compare_content, ignore: opts.ignore.clone() };
    let (a, b) = tokio::join!(tree::list(remote, root1, &t), tree::list(remote, root2, &t));
    let (a, b) = (a?, b?);
    let mut d = FolderDiff {
        only_in1: Vec::new(),
        only_in2: Vec::new(),
        identical: Vec::new(),
        modified: Vec::new(),
        unreadable: Vec::new(),
        files1: a.len(),
        files2: b.len(),
    };
    let by_path: std::collections::HashMap<&str, &Entry> = b.iter().map(|e| (e.path.as_str(), e)).collect();
    for e1 in &a {
        let Some(e2) = by_path.get(e1.path.as_str()) else {
            d.only_in1.push(e1.path.clone());
            continue;
        };
        if opts.compare_content && (e1.sha256.is_none() || e2.sha256.is_none()) {
            d.unreadable.push(e1.path.clone());
            continue;
        }
        let same =
            if opts.compare_content { e1.sha256 == e2.sha256 && e1.sha256.is_some() } else { e1.size == e2.size };
        if same && e1.mode == e2.mode {
            d.identical.push(e1.path.clone());
            continue;
        }
        d.modified.push(Modified {
            path: e1.path.clone(),
            size1: e1.size,
            size2: e2.size,
            sha256_1: e1.sha256.clone(),
            sha256_2: e2.sha256.clone(),
            added: None,
            removed: None,
            binary: false,
            modes: (e1.mode != e2.mode).then(|| (format!("{:o}", e1.mode), format!("{:o}", e2.mode))),
            diff: None,
        });
    }
    let in1: std::collections::HashSet<&str> = a.iter().map(|e| e.path.as_str()).collect();
    d.only_in2 = b.iter().filter(|e| !in1.contains(e.path.as_str())).map(|e| e.path.clone()).collect();
    if opts.compare_content {
        detail(remote, root1, root2, &mut d.modified, opts.diff_bytes).await;
    }
    Ok(d)
}

/// Line counts (and diffs) of the first modified files whose content differs, small enough to read.
async fn detail(remote: &dyn Remote, root1: &Source, root2: &Source, modified: &mut [Modified], diff: Option<usize>) {
    let wanted = modified
        .iter_mut()
        .filter(|m| m.sha256_1 != m.sha256_2 && m.size1.max(m.size2) <= LINES_MAX_BYTES)
        .take(DETAILED_FILES);
    let reads = wanted.map(|m| async move {
        let (s1, s2) = (join(root1, &m.path), join(root2, &m.path));
        let (x, y) = tokio::join!(read(remote, &s1, LINES_MAX_BYTES), read(remote, &s2, LINES_MAX_BYTES));
        (m, x, y)
    });
    for (m, x, y) in futures_util::future::join_all(reads).await {
        let (Ok(x), Ok(y)) = (x, y) else { continue };
        if is_binary(&x.content) || is_binary(&y.content) {
            m.binary = true;
            continue;
        }
        let (old, new) = (String::from_utf8_lossy(&x.content), String::from_utf8_lossy(&y.content));
        let dd = diff_texts(&format!("a/{}", m.path), &format!("b/{}", m.path), &old, &new, diff.unwrap_or(0));
        (m.added, m.removed) = (Some(dd.added), Some(dd.removed));
        if diff.is_some() {
            m.diff = Some(dd.text);
        }
    }
}
