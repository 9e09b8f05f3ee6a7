//! `sshdeck diff`: the file comparison tools of the MCP server on the command line, and what the file
//! commands share (locations, job records). A location is `ALIAS:/path` (a registered server, as scp
//! writes it) or a local path.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use serde_json::json;
use sshdeck_core::files::folders::{FolderOptions, diff_folders};
use sshdeck_core::files::tree::DEFAULT_IGNORE;
use sshdeck_core::files::{self, READ_MAX_BYTES, Source};
use sshdeck_core::{Deck, Error};

/// Bytes of diff printed per file.
pub(crate) const DIFF_BYTES: usize = 256 * 1024;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// First file or directory: `ALIAS:/path` or a local path.
    pub first: String,
    /// Second file or directory.
    pub second: String,
    /// Directories: only their top level.
    #[arg(long)]
    pub no_recursive: bool,
    /// Directories: compare sizes, not sha256.
    #[arg(long)]
    pub sizes_only: bool,
    /// Directories: names (`*.log`) or paths (`build/**`) to skip (repeatable; default .git,
    /// node_modules, __pycache__, .DS_Store).
    #[arg(long = "ignore", value_name = "PATTERN")]
    pub ignore: Vec<String>,
    /// Print one JSON object (the MCP tool's result).
    #[arg(long)]
    pub json: bool,
}

/// `ALIAS:/path` on a registered server, or a local path (one with no `:` before its first `/`).
pub(crate) fn location(deck: &Deck, text: &str) -> Result<Source, Error> {
    match text.split_once(':') {
        Some((alias, path)) if !alias.is_empty() && !alias.contains('/') => {
            deck.server(alias)?;
            Ok(Source::Remote { alias: alias.to_string(), path: path.to_string() })
        }
        _ => Ok(Source::Local(text.to_string())),
    }
}

fn shown(src: &Source) -> String {
    match src {
        Source::Local(p) => p.clone(),
        Source::Remote { alias, path } => format!("{alias}:{path}"),
    }
}

/// Runs a file command as a recorded `file` job (origin `cli`), as the MCP tools are.
pub(crate) async fn recorded<F>(
    deck: &Deck,
    tool: &str,
    targets: Vec<String>,
    paths: Vec<String>,
    writes: bool,
    work: F,
) -> Result<i32>
where
    F: std::future::Future<Output = Result<i32>>,
{
    let job = deck.file_job(tool, targets, paths, writes, "cli");
    let r = work.await;
    if let Ok(job) = job {
        match &r {
            Ok(_) => job.finish(None, 0),
            Err(e) => {
                let (code, message) = match e.downcast_ref::<Error>() {
                    Some(e) => (e.code(), e.to_string()),
                    None => ("INTERNAL", e.to_string()),
                };
                job.finish(Some((code, &message)), 0);
            }
        }
    }
    r
}

/// Where a location is, for the job record: its alias or `local`, and its path.
pub(crate) fn where_of(text: &str) -> (String, String) {
    match text.split_once(':') {
        Some((alias, path)) if !alias.is_empty() && !alias.contains('/') => (alias.to_string(), path.to_string()),
        _ => ("local".to_string(), text.to_string()),
    }
}

/// `sshdeck diff`, recorded as a job.
pub async fn diff(deck: &Deck, a: DiffArgs) -> Result<i32> {
    let (x, y) = (where_of(&a.first), where_of(&a.second));
    let mut targets = vec![x.0];
    if y.0 != targets[0] {
        targets.push(y.0);
    }
    recorded(deck, "diff", targets, vec![x.1, y.1], false, diff_now(deck, a)).await
}

/// `sshdeck diff`: exit 0 when the same, 1 when different (as diff(1)).
async fn diff_now(deck: &Deck, a: DiffArgs) -> Result<i32> {
    let (x, y) = (location(deck, &a.first)?, location(deck, &a.second)?);
    deck.check_file_path(x.path())?;
    deck.check_file_path(y.path())?;
    let mut out = std::io::stdout().lock();
    let (rx, ry) = tokio::join!(files::read(deck, &x, READ_MAX_BYTES), files::read(deck, &y, READ_MAX_BYTES));
    let not_file = |r: &Result<files::FileRead, Error>| matches!(r, Err(Error::InvalidArgument(m)) if m.ends_with("is not a regular file"));
    if !(not_file(&rx) && not_file(&ry)) {
        let (rx, ry) = (rx?, ry?);
        let same = rx.sha256 == ry.sha256;
        let d = files::diff_texts(
            &shown(&x),
            &shown(&y),
            &String::from_utf8_lossy(&rx.content),
            &String::from_utf8_lossy(&ry.content),
            DIFF_BYTES,
        );
        if a.json {
            let v = json!({"identical": same, "sha256_1": rx.sha256, "sha256_2": ry.sha256, "size1": rx.size,
                "size2": ry.size, "diff": if same { String::new() } else { d.text.clone() }});
            writeln!(out, "{v}")?;
        } else if !same {
            let binary = files::is_binary(&rx.content) || files::is_binary(&ry.content);
            if binary {
                writeln!(out, "Binary files {} and {} differ", shown(&x), shown(&y))?;
            } else {
                write!(out, "{}", d.text)?;
            }
        }
        return Ok(i32::from(!same));
    }
    let ignore = if a.ignore.is_empty() { DEFAULT_IGNORE.iter().map(|s| s.to_string()).collect() } else { a.ignore };
    let opts = FolderOptions {
        recursive: !a.no_recursive,
        compare_content: !a.sizes_only,
        diff_bytes: (!a.json).then_some(DIFF_BYTES),
        ignore,
    };
    let d = diff_folders(deck, &x, &y, &opts).await?;
    if a.json {
        let mut v = json!(d);
        v["same"] = json!(d.same());
        writeln!(out, "{v}")?;
        return Ok(i32::from(!d.same()));
    }
    for p in &d.only_in1 {
        writeln!(out, "Only in {}: {p}", shown(&x))?;
    }
    for p in &d.only_in2 {
        writeln!(out, "Only in {}: {p}", shown(&y))?;
    }
    for p in &d.unreadable {
        writeln!(out, "Unreadable: {p}")?;
    }
    for m in &d.modified {
        match (&m.diff, &m.modes) {
            (Some(diff), _) => write!(out, "{diff}")?,
            (None, Some((m1, m2))) if m.sha256_1 == m.sha256_2 => writeln!(out, "Mode {m1} -> {m2}: {}", m.path)?,
            _ => writeln!(out, "Files differ: {}", m.path)?,
        }
    }
    writeln!(
        std::io::stderr(),
        "{} identical, {} modified, {} only in 1, {} only in 2",
        d.identical.len(),
        d.modified.len(),
        d.only_in1.len(),
        d.only_in2.len()
    )?;
    Ok(i32::from(!d.same()))
}
