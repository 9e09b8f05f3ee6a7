//! `sshdeck snapshot create|list|diff|restore|delete`: the snapshot tools of the MCP server on the
//! command line, each call recorded as a `file` job.

use std::io::Write;

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;
use sshdeck_core::files::Source;
use sshdeck_core::snapshots::{self, Side};
use sshdeck_core::{Deck, Error};

use crate::files_cmd::{DIFF_BYTES, location, recorded, where_of};

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Snapshot files or directories: `sshdeck snapshot create web:/etc/nginx web:/etc/hosts`.
    Create {
        /// `ALIAS:/path` or local paths, all on one side.
        #[arg(required = true)]
        paths: Vec<String>,
        /// A name to find it by.
        #[arg(long)]
        tag: Option<String>,
        /// Why it was taken.
        #[arg(long, short = 'm')]
        message: Option<String>,
        /// Only the top level of directories.
        #[arg(long)]
        no_recursive: bool,
        /// Names or paths to skip (repeatable).
        #[arg(long = "ignore", value_name = "PATTERN")]
        ignore: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Snapshots, newest first.
    List {
        /// Only those of this server (`local` for this machine).
        #[arg(long)]
        alias: Option<String>,
        /// Only those with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare two snapshots (ids or tags).
    Diff {
        /// First snapshot.
        first: String,
        /// Second snapshot.
        second: String,
        /// Print a diff of each modified text file.
        #[arg(long, short = 'p')]
        patch: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what restoring a snapshot would change; `--force` writes it (each file atomically, with
    /// its mode).
    Restore {
        /// Snapshot id or tag.
        id: String,
        /// Restore to this server (`local`: this machine) instead of where it was taken.
        #[arg(long)]
        to: Option<String>,
        /// Only these files or directories of it (repeatable).
        #[arg(long = "path", value_name = "PATH")]
        paths: Vec<String>,
        /// Write the files (without it: the plan only).
        #[arg(long)]
        force: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a snapshot and the contents no other one uses.
    Delete {
        /// Snapshot id or tag.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// One side of several locations.
fn side_of(deck: &Deck, texts: &[String]) -> Result<(Side, Vec<String>), Error> {
    let mut side: Option<Side> = None;
    let mut paths = Vec::new();
    for t in texts {
        let (s, p) = match location(deck, t)? {
            Source::Local(p) => (Side::local(), p),
            Source::Remote { alias, path } => (Side::remote(&alias), path),
        };
        if side.as_ref().is_some_and(|x| *x != s) {
            return Err(Error::InvalidArgument("a snapshot's paths are all on one server, or all here".into()));
        }
        side = Some(s);
        paths.push(p);
    }
    Ok((side.unwrap_or_else(Side::local), paths))
}

/// `sshdeck snapshot …`, recorded as a job (except `list`).
pub async fn snapshot(deck: &Deck, cmd: SnapshotCommand) -> Result<i32> {
    let (tool, targets, paths, writes) = match &cmd {
        SnapshotCommand::List { .. } => return snapshot_now(deck, cmd).await,
        SnapshotCommand::Create { paths, .. } => {
            let w: Vec<(String, String)> = paths.iter().map(|p| where_of(p)).collect();
            let target = w.first().map(|x| x.0.clone()).unwrap_or_else(|| "local".into());
            ("snapshot_create", vec![target], w.into_iter().map(|x| x.1).collect(), false)
        }
        SnapshotCommand::Diff { first, second, .. } => {
            ("snapshot_diff", vec!["local".into()], vec![first.clone(), second.clone()], false)
        }
        SnapshotCommand::Restore { id, to, paths, force, .. } => {
            let mut p = vec![id.clone()];
            p.extend(paths.iter().cloned());
            let from = || deck.snapshot_store().and_then(|s| s.find(id)).map(|s| s.source.name().to_string()).ok();
            let target = to.clone().or_else(from).unwrap_or_else(|| "local".into());
            ("snapshot_restore", vec![target], p, *force)
        }
        SnapshotCommand::Delete { id, .. } => ("snapshot_delete", vec!["local".into()], vec![id.clone()], true),
    };
    recorded(deck, tool, targets, paths, writes, snapshot_now(deck, cmd)).await
}

async fn snapshot_now(deck: &Deck, cmd: SnapshotCommand) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    match cmd {
        SnapshotCommand::Create { paths, tag, message, no_recursive, ignore, json } => {
            let (side, paths) = side_of(deck, &paths)?;
            let mut opts = deck.snapshot_options(!no_recursive, (!ignore.is_empty()).then_some(ignore));
            (opts.tag, opts.message) = (tag, message);
            let c = deck.snapshot_create(&side, &paths, &opts).await?;
            let s = &c.snapshot;
            if json {
                let v = json!({"id": s.id, "files": s.files.len(), "bytes": s.bytes, "newObjects": c.new_objects,
                    "newBytes": c.new_bytes, "deniedByPolicy": c.denied, "unreadable": c.unreadable});
                writeln!(out, "{v}")?;
            } else {
                writeln!(out, "{}", s.id)?;
                let mut err = std::io::stderr();
                writeln!(err, "{} files, {} bytes ({} new to the store)", s.files.len(), s.bytes, c.new_bytes)?;
                for (what, list) in [("left out by policy", &c.denied), ("unreadable, left out", &c.unreadable)] {
                    if !list.is_empty() {
                        writeln!(err, "{what}: {}", list.join(", "))?;
                    }
                }
            }
        }
        SnapshotCommand::List { alias, tag, limit, json } => {
            let all = deck.snapshot_store()?.list()?;
            let chosen: Vec<_> = all
                .iter()
                .filter(|s| alias.as_deref().is_none_or(|a| s.source.name() == a))
                .filter(|s| tag.as_deref().is_none_or(|t| s.tag.as_deref() == Some(t)))
                .take(limit)
                .collect();
            if json {
                let list: Vec<_> = chosen
                    .iter()
                    .map(|s| {
                        json!({"id": s.id, "tag": s.tag, "message": s.message, "source": s.source,
                        "paths": s.paths, "createdAt": s.created_at, "files": s.files.len(), "bytes": s.bytes})
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&json!({"snapshots": list}))?)?;
            } else if chosen.is_empty() {
                writeln!(out, "no snapshots")?;
            } else {
                writeln!(
                    out,
                    "{:<18}  {:<20}  {:<10}  {:>6}  {:<12}  PATHS",
                    "ID", "CREATED", "SOURCE", "FILES", "TAG"
                )?;
                for s in chosen {
                    writeln!(
                        out,
                        "{:<18}  {:<20}  {:<10}  {:>6}  {:<12}  {}",
                        s.id,
                        s.created_at,
                        s.source.name(),
                        s.files.len(),
                        s.tag.as_deref().unwrap_or("-"),
                        s.paths.join(" ")
                    )?;
                }
            }
        }
        SnapshotCommand::Diff { first, second, patch, json } => {
            let store = deck.snapshot_store()?;
            let (a, b) = (store.find(&first)?, store.find(&second)?);
            let d = snapshots::diff(&store, &a, &b, patch.then_some(DIFF_BYTES))?;
            if json {
                writeln!(out, "{}", json!(d))?;
            } else {
                for p in &d.added {
                    writeln!(out, "A {p}")?;
                }
                for p in &d.removed {
                    writeln!(out, "D {p}")?;
                }
                for m in &d.modified {
                    match &m.diff {
                        Some(text) => write!(out, "{text}")?,
                        None => writeln!(out, "M {}", m.path)?,
                    }
                }
            }
            let changed = !(d.added.is_empty() && d.removed.is_empty() && d.modified.is_empty());
            return Ok(i32::from(changed));
        }
        SnapshotCommand::Restore { id, to, paths, force, json } => {
            let snap = deck.snapshot_store()?.find(&id)?;
            let target = match to.as_deref() {
                None => snap.source.clone(),
                Some("local") => Side::local(),
                Some(alias) => Side::remote(alias),
            };
            let (snap, planned) = deck.snapshot_plan(&snap.id, &target, &paths, force).await?;
            let written = if force { deck.snapshot_restore(&snap, &target, &planned).await? } else { 0 };
            if json {
                let v = json!({"snapshotId": snap.id, "target": target, "dryRun": !force, "files": planned,
                    "written": written});
                writeln!(out, "{v}")?;
            } else {
                for f in planned.iter().filter(|f| f.action != "unchanged") {
                    writeln!(out, "{:<9} {} ({} bytes, mode {})", f.action, f.path, f.size, f.mode)?;
                }
                let changes = planned.iter().filter(|f| f.action != "unchanged").count();
                let what = if force {
                    format!("wrote {written} files to {}", target.name())
                } else {
                    format!(
                        "{changes} of {} files would change on {}; --force writes them",
                        planned.len(),
                        target.name()
                    )
                };
                writeln!(std::io::stderr(), "{what}")?;
            }
        }
        SnapshotCommand::Delete { id, json } => {
            let (snap, freed) = deck.snapshot_store()?.delete(&id)?;
            if json {
                writeln!(out, "{}", json!({"deleted": snap.id, "freed": freed}))?;
            } else {
                writeln!(out, "deleted {}; freed {} objects, {} bytes", snap.id, freed.objects, freed.bytes)?;
            }
        }
    }
    Ok(0)
}
