//! One file on many sources, grouped by sha256 ("which web server's nginx.conf drifted?"): every
//! source is read at once (bounded concurrency, pooled connections), identical copies form a group,
//! the largest group is the reference and every other group gets its diff from it.

use futures_util::StreamExt;
use serde::Serialize;

use super::{FileRead, Source, diff_texts, is_binary, read};
use crate::error::Error;
use crate::remote::Remote;

/// Sources read at once.
const CONCURRENCY: usize = 32;

/// Copies with the same content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Their sha256.
    pub sha256: String,
    /// How many sources hold it.
    pub count: usize,
    /// Which (as named by the caller).
    pub sources: Vec<String>,
    /// Whether this is the reference (the largest group; ties: the first listed).
    pub reference: bool,
    /// Size in bytes.
    pub size: u64,
    /// Its content (text, at most the diff bound), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Diff from the reference (text files, bounded), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Lines added from the reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<usize>,
    /// Lines removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<usize>,
}

/// A source that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The source.
    pub source: String,
    /// Its error code.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Sources asked for.
    pub total: usize,
    /// Every source read, and all the same.
    pub identical: bool,
    /// Groups, the reference first.
    pub groups: Vec<Group>,
    /// Sources that could not be read.
    pub errors: Vec<Failure>,
}

/// What to include.
#[derive(Debug, Clone, Copy)]
pub struct CompareOptions {
    /// Each group's content.
    pub content: bool,
    /// Each divergent group's diff from the reference.
    pub diff: bool,
    /// Bytes of content or diff per group.
    pub max: usize,
    /// Largest part of a file read.
    pub read_max: u64,
}

fn text(b: &[u8]) -> Option<String> {
    (!is_binary(b)).then(|| std::str::from_utf8(b).ok().map(str::to_string)).flatten()
}

/// Reads every `(name, source)` and groups them by content.
pub async fn compare_all(remote: &dyn Remote, sources: Vec<(String, Source)>, opts: CompareOptions) -> Comparison {
    let total = sources.len();
    let reads: Vec<(String, Result<FileRead, Error>)> = futures_util::stream::iter(sources)
        .map(|(name, src)| async move { (name, read(remote, &src, opts.read_max).await) })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut groups: Vec<(Vec<String>, FileRead)> = Vec::new();
    let mut errors = Vec::new();
    for (name, r) in reads {
        match r {
            Ok(f) => match groups.iter_mut().find(|g| g.1.sha256 == f.sha256) {
                Some(g) => g.0.push(name),
                None => groups.push((vec![name], f)),
            },
            Err(e) => errors.push(Failure { source: name, code: e.code().to_string(), message: e.to_string() }),
        }
    }
    // The majority first (a stable sort keeps the first listed ahead on ties).
    groups.sort_by_key(|g| std::cmp::Reverse(g.0.len()));
    let reference = groups.first().and_then(|g| text(&g.1.content));
    let out: Vec<Group> = groups
        .iter()
        .enumerate()
        .map(|(i, (names, f))| {
            let body = text(&f.content);
            let mut g = Group {
                sha256: f.sha256.clone(),
                count: names.len(),
                sources: names.clone(),
                reference: i == 0,
                size: f.size,
                content: None,
                diff: None,
                added: None,
                removed: None,
            };
            if opts.content {
                g.content = body.as_ref().map(|c| c.chars().take(opts.max).collect());
            }
            if let (true, true, Some(r), Some(b)) = (i > 0, opts.diff, &reference, &body) {
                let d = diff_texts("reference", &names[0], r, b, opts.max);
                (g.diff, g.added, g.removed) = (Some(d.text), Some(d.added), Some(d.removed));
            }
            g
        })
        .collect();
    Comparison { total, identical: out.len() == 1 && errors.is_empty(), groups: out, errors }
}
