//! Moving planned files: temp name, streamed copy with 256 KiB requests, size (and sha256) check,
//! atomic rename, cleanup on failure.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::FileAttributes;
use tokio::sync::watch;

use super::file::{Ctx, download_file, io_code, temp_name, upload_file};
use super::plan::{FilePlan, Plan, is_glob, plan_download, plan_upload, sftp_error};
use super::{Direction, FileOutcome, FileStatus, Progress, TransferItem, TransferOptions, TransferReport};
use crate::error::{Error, Result};
use crate::remote::Remote;

/// Per-file outcomes kept in a report (failures first).
const MAX_REPORTED: usize = 200;

/// What to transfer.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Which way.
    pub direction: Direction,
    /// What goes where.
    pub items: &'a [TransferItem],
    /// How.
    pub options: &'a TransferOptions,
}

/// Runs a transfer on `alias`. `log` receives one line per file. Per-file failures are in the
/// report; an error means the transfer could not start (connection, SFTP subsystem).
pub async fn transfer(
    deck: &dyn Remote,
    alias: &str,
    request: Request<'_>,
    progress: &Progress,
    cancel: &watch::Receiver<bool>,
    log: &mut (dyn FnMut(&str) + Send),
) -> Result<TransferReport> {
    let Request { direction, items, options: opts } = request;
    let target = deck.target(alias)?;
    let lease = deck.pool().acquire(&target).await?;
    let host = target.config.host.clone();
    let lost = |e: russh::Error| Error::ConnectionLost { host: host.clone(), reason: e.to_string() };
    let channel = match tokio::time::timeout(crate::pool::CHANNEL_OPEN_TIMEOUT, lease.session().open_channel()).await {
        Ok(c) => c?,
        Err(_) => {
            // A pooled connection that answers no more: dropped; nothing was sent, so the job may retry.
            lease.discard();
            return Err(Error::ChannelFailed { host, reason: "no channel opened in time (connection dead)".into() });
        }
    };
    channel.request_subsystem(true, "sftp").await.map_err(lost)?;
    let sftp = SftpSession::new(channel.into_stream())
        .await
        .map_err(|e| Error::ChannelFailed { host: host.clone(), reason: format!("sftp subsystem: {e}") })?;
    sftp.set_timeout(60);

    // russh-sftp does not fail requests in flight when the connection dies (they wait for their
    // timeout), so a watchdog ends the transfer as soon as the session closes.
    let watchdog = async {
        while !lease.session().is_closed() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let planned: std::sync::Mutex<Vec<String>> = std::sync::Mutex::default();
    let work = async {
        let mut plan = Plan::default();
        for item in items {
            let p = match direction {
                Direction::Upload => plan_upload(&sftp, item).await?,
                Direction::Download => plan_download(&sftp, item).await?,
            };
            // One plain file onto an existing target without force is refused before any byte moves
            // (directory, glob and multi-file transfers skip such files and count them instead).
            let glob = is_glob(if direction == Direction::Upload { &item.local } else { &item.remote });
            let single = items.len() == 1 && !glob && !opts.force;
            if let (true, [f], [], []) = (single, p.files.as_slice(), p.dirs.as_slice(), p.outcomes.as_slice()) {
                let exists = match direction {
                    Direction::Upload => sftp.metadata(f.to.as_str()).await.is_ok(),
                    Direction::Download => std::path::Path::new(&f.to).exists(),
                };
                if exists {
                    return Err(Error::AlreadyExists {
                        what: "target file (set force to overwrite)",
                        name: f.to.clone(),
                    });
                }
            }
            plan.files.extend(p.files);
            plan.dirs.extend(p.dirs);
            plan.outcomes.extend(p.outcomes);
        }
        progress.files_total.store((plan.files.len() + plan.outcomes.len()) as u64, Ordering::Relaxed);
        progress.total_bytes.store(plan.files.iter().map(|f| f.size).sum(), Ordering::Relaxed);
        progress.files_done.store(plan.outcomes.len() as u64, Ordering::Relaxed);
        for o in &plan.outcomes {
            log(&line(o));
        }

        *planned.lock().expect("lock") = plan.files.iter().map(|f| f.to.clone()).collect();
        let ctx = Ctx { deck, alias, sftp: &sftp, opts, progress, cancel };
        let mut created: Vec<String> = Vec::new();
        let mut outcomes = plan.outcomes;
        // Parent directories first: a file whose directory cannot be made fails with that reason.
        let mut dir_failures: Vec<(String, FileOutcome)> = Vec::new();
        let mut parents: Vec<(String, u32)> = plan.dirs.clone();
        for f in &plan.files {
            if let Some(parent) = parent_dir(&f.to, direction) {
                parents.push((parent, 0o755));
            }
        }
        parents.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.0.cmp(&b.0)));
        parents.dedup_by(|a, b| a.0 == b.0);
        for (dir, mode) in &parents {
            if let Err((code, reason)) = make_dir_all(&ctx, direction, dir, *mode, &mut created).await {
                dir_failures.push((
                    dir.clone(),
                    FileOutcome {
                        from: String::new(),
                        to: dir.clone(),
                        status: FileStatus::Failed,
                        bytes: 0,
                        code: Some(code.into()),
                        reason: Some(reason),
                    },
                ));
            }
        }

        // Several files at once over the one SFTP session (its requests are pipelined).
        let mut running = futures_util::stream::FuturesUnordered::new();
        let mut next = 0;
        let mut results = Vec::with_capacity(plan.files.len());
        while next < plan.files.len() || !running.is_empty() {
            while next < plan.files.len() && running.len() < opts.parallel.max(1) {
                let f = &plan.files[next];
                let dir_failure =
                    dir_failures.iter().find(|(d, _)| f.to.starts_with(&format!("{d}/"))).map(|(_, o)| o.clone());
                running.push(file_task(&ctx, f, dir_failure, direction));
                next += 1;
            }
            if let Some(o) = running.next().await {
                log(&line(&o));
                results.push(o);
            }
        }
        outcomes.extend(results);
        Ok::<Vec<FileOutcome>, Error>(outcomes)
    };
    let mut outcomes = tokio::select! {
        r = work => r?,
        _ = watchdog => {
            if direction == Direction::Download {
                for to in planned.lock().expect("lock").iter() {
                    let _ = std::fs::remove_file(temp_name(to));
                }
            }
            return Err(Error::ConnectionLost { host, reason: "the connection closed during the transfer".into() });
        }
    };
    let _ = sftp.close().await;
    drop(lease);

    let mut report = TransferReport::default();
    for o in &outcomes {
        match o.status {
            FileStatus::Ok => report.ok += 1,
            FileStatus::Skipped => report.skipped += 1,
            FileStatus::Failed => report.failed += 1,
        }
        report.bytes += o.bytes;
    }
    outcomes.sort_by_key(|o| match o.status {
        FileStatus::Failed => 0,
        FileStatus::Skipped => 1,
        FileStatus::Ok => 2,
    });
    outcomes.truncate(MAX_REPORTED);
    report.files = outcomes;
    Ok(report)
}

async fn file_task(ctx: &Ctx<'_>, f: &FilePlan, dir_failure: Option<FileOutcome>, direction: Direction) -> FileOutcome {
    let outcome = match dir_failure {
        Some(mut o) => {
            o.from = f.from.clone();
            o.to = f.to.clone();
            o
        }
        None => match direction {
            Direction::Upload => upload_file(ctx, f).await,
            Direction::Download => download_file(ctx, f).await,
        },
    };
    ctx.progress.files_done.fetch_add(1, Ordering::Relaxed);
    outcome
}

fn line(o: &FileOutcome) -> String {
    let status = match o.status {
        FileStatus::Ok => "ok",
        FileStatus::Skipped => "skipped",
        FileStatus::Failed => "FAILED",
    };
    let mut l = format!("{status:<7} {:>12} B  {} -> {}", o.bytes, o.from, o.to);
    if let Some(r) = &o.reason {
        l.push_str(&format!("  ({}{r})", o.code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default()));
    }
    l.push('\n');
    l
}

/// The directory a target goes in, when it has to be made (not the root, not the current directory).
fn parent_dir(path: &str, direction: Direction) -> Option<String> {
    let (parent, _) = path.trim_end_matches('/').rsplit_once('/')?;
    if parent.is_empty() || (direction == Direction::Download && parent == ".") {
        return None;
    }
    Some(parent.to_string())
}

/// Creates `dir` and its missing parents on the target side.
async fn make_dir_all(
    ctx: &Ctx<'_>,
    direction: Direction,
    dir: &str,
    mode: u32,
    created: &mut Vec<String>,
) -> std::result::Result<(), (&'static str, String)> {
    if direction == Direction::Download {
        return std::fs::create_dir_all(dir).map_err(|e| (io_code(&e), format!("cannot create {dir}: {e}")));
    }
    let mut path = String::new();
    for comp in dir.split('/') {
        if comp.is_empty() {
            path.push('/');
            continue;
        }
        if !path.is_empty() && !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(comp);
        if created.contains(&path) {
            continue;
        }
        match ctx.sftp.metadata(path.as_str()).await {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(("TRANSFER_FAILED", format!("{path} exists and is not a directory"))),
            Err(_) => {
                let attrs = FileAttributes { permissions: Some(mode | 0o700), ..FileAttributes::empty() };
                ctx.sftp.create_dir(path.as_str()).await.map_err(|e| {
                    let (code, reason) = sftp_error(&e);
                    (code, format!("cannot create directory {path}: {reason}"))
                })?;
                let _ = ctx.sftp.set_metadata(path.as_str(), attrs).await;
            }
        }
        created.push(path.clone());
    }
    Ok(())
}
