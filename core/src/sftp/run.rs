//! Moving planned files: temp name, streamed copy with 256 KiB requests, size (and sha256) check,
//! atomic rename, cleanup on failure.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::{FileAttributes, OpenFlags};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::plan::{FilePlan, Plan, is_glob, plan_download, plan_upload, sftp_error};
use super::{Direction, FileOutcome, FileStatus, Progress, TransferItem, TransferOptions, TransferReport};
use crate::error::{Error, Result};
use crate::exec::ExecOptions;
use crate::remote::Remote;
use crate::ssh::quote::shell_quote;

/// Bytes per read/write request (measured: 256 KiB reaches OpenSSH's sftp throughput).
const CHUNK: usize = 256 * 1024;
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

/// What a file task needs.
struct Ctx<'a> {
    deck: &'a dyn Remote,
    alias: &'a str,
    sftp: &'a SftpSession,
    opts: &'a TransferOptions,
    progress: &'a Progress,
    cancel: &'a watch::Receiver<bool>,
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

/// The temporary name beside a target. Fixed per target, so a retry after an interrupted transfer
/// (whose connection died before it could clean up) reuses it and leaves nothing stray behind.
fn temp_name(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.{name}.sshdeck.tmp"),
        None => format!(".{path}.sshdeck.tmp"),
    }
}

fn outcome(f: &FilePlan, status: FileStatus, bytes: u64, failure: Option<(&str, String)>) -> FileOutcome {
    FileOutcome {
        from: f.from.clone(),
        to: f.to.clone(),
        status,
        bytes,
        code: failure.as_ref().map(|(c, _)| c.to_string()),
        reason: failure.map(|(_, r)| r),
    }
}

fn io_code(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "NOT_FOUND",
        std::io::ErrorKind::PermissionDenied => "PERMISSION_DENIED",
        std::io::ErrorKind::StorageFull => "NO_SPACE",
        _ => "TRANSFER_FAILED",
    }
}

async fn remote_sha256(ctx: &Ctx<'_>, path: &str) -> std::result::Result<String, String> {
    let opts = ExecOptions { timeout: Some(Duration::from_secs(600)), ..ctx.deck.exec_options() };
    let out = ctx
        .deck
        // The file on stdin: sha256sum then prints no name, so no escaping of `\` or newlines in names
        // (GNU sha256sum prefixes such a line with `\`).
        .exec(ctx.alias, &format!("sha256sum < {}", shell_quote(path)), opts, &mut |_, _| {})
        .await
        .map_err(|e| e.to_string())?;
    if !out.success() {
        return Err(format!("sha256sum failed: {}", out.stderr.text().trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout.kept_bytes()).split_whitespace().next().unwrap_or("").to_string())
}

async fn upload_file(ctx: &Ctx<'_>, f: &FilePlan) -> FileOutcome {
    // Without force, the target is not looked up first: a plain SFTP rename refuses to replace it,
    // and only then do we look (one round trip less per file on the common path).
    let existed = if ctx.opts.force {
        match ctx.sftp.metadata(f.to.as_str()).await {
            Ok(m) if m.is_dir() => {
                return outcome(f, FileStatus::Failed, 0, Some(("TRANSFER_FAILED", "target is a directory".into())));
            }
            Ok(_) => true,
            Err(_) => false,
        }
    } else {
        false
    };
    let tmp = temp_name(&f.to);
    let result = async {
        let mut local = tokio::fs::File::open(&f.from).await.map_err(|e| (io_code(&e), e.to_string()))?;
        let attrs = FileAttributes { permissions: Some(f.mode), ..FileAttributes::empty() };
        let flags = OpenFlags::CREATE | OpenFlags::WRITE | OpenFlags::TRUNCATE;
        let mut remote =
            ctx.sftp.open_with_flags_and_attributes(tmp.as_str(), flags, attrs).await.map_err(|e| sftp_error(&e))?;
        let mut hasher = ctx.opts.verify.then(Sha256::new);
        let mut buf = vec![0u8; CHUNK.min(f.size as usize + 1).max(1)];
        let mut sent = 0u64;
        loop {
            if *ctx.cancel.borrow() {
                return Err(("CANCELLED", "transfer cancelled".to_string()));
            }
            let n = local.read(&mut buf).await.map_err(|e| (io_code(&e), e.to_string()))?;
            if n == 0 {
                break;
            }
            remote.write_all(&buf[..n]).await.map_err(|e| ("TRANSFER_FAILED", e.to_string()))?;
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            sent += n as u64;
            ctx.progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        remote.shutdown().await.map_err(|e| ("TRANSFER_FAILED", e.to_string()))?;
        let size = ctx.sftp.metadata(tmp.as_str()).await.map_err(|e| sftp_error(&e))?.size.unwrap_or(0);
        if size != sent {
            return Err(("TRANSFER_FAILED", format!("size mismatch: sent {sent} bytes, the server has {size}")));
        }
        if let Some(h) = hasher {
            let local_sum = data_encoding::HEXLOWER.encode(&h.finalize());
            let remote_sum = remote_sha256(ctx, &tmp).await.map_err(|r| ("TRANSFER_FAILED", r))?;
            if local_sum != remote_sum {
                return Err(("TRANSFER_FAILED", format!("sha256 mismatch: {local_sum} here, {remote_sum} there")));
            }
        }
        // The server's umask applied at creation; set the mode again only if it could have changed it.
        if f.mode & 0o7022 != 0 {
            let _ = ctx
                .sftp
                .set_metadata(tmp.as_str(), FileAttributes { permissions: Some(f.mode), ..FileAttributes::empty() })
                .await;
        }
        if existed {
            replace(ctx, &tmp, &f.to).await?;
        } else if let Err(e) = ctx.sftp.rename(tmp.as_str(), f.to.as_str()).await {
            match ctx.sftp.metadata(f.to.as_str()).await {
                Ok(m) if m.is_dir() => return Err(("TRANSFER_FAILED", "target is a directory".into())),
                Ok(_) if !ctx.opts.force => return Err(("EXISTS", "exists; set force to overwrite".into())),
                Ok(_) => replace(ctx, &tmp, &f.to).await?,
                Err(_) => return Err(sftp_error(&e)),
            }
        }
        Ok(sent)
    }
    .await;
    match result {
        Ok(sent) => outcome(f, FileStatus::Ok, sent, None),
        Err((code, reason)) => {
            let _ = ctx.sftp.remove_file(tmp.as_str()).await;
            if code == "EXISTS" {
                return outcome(f, FileStatus::Skipped, 0, None).with_reason(&reason);
            }
            outcome(f, FileStatus::Failed, 0, Some((code, reason)))
        }
    }
}

/// Replaces an existing target: SFTP rename will not, rename(2) through `mv` does, atomically.
async fn replace(ctx: &Ctx<'_>, tmp: &str, to: &str) -> std::result::Result<(), (&'static str, String)> {
    let cmd = format!("mv -f -- {} {}", shell_quote(tmp), shell_quote(to));
    let out = ctx
        .deck
        .exec(ctx.alias, &cmd, ctx.deck.exec_options(), &mut |_, _| {})
        .await
        .map_err(|e| ("TRANSFER_FAILED", e.to_string()))?;
    if !out.success() {
        return Err(("TRANSFER_FAILED", format!("cannot replace the target: {}", out.stderr.text().trim())));
    }
    Ok(())
}

async fn download_file(ctx: &Ctx<'_>, f: &FilePlan) -> FileOutcome {
    let target = std::path::Path::new(&f.to);
    if target.is_dir() {
        return outcome(f, FileStatus::Failed, 0, Some(("TRANSFER_FAILED", "target is a directory".into())));
    }
    if target.exists() && !ctx.opts.force {
        return outcome(f, FileStatus::Skipped, 0, None).with_reason("exists; set force to overwrite");
    }
    let tmp = temp_name(&f.to);
    let result = async {
        let mut remote = ctx.sftp.open(f.from.as_str()).await.map_err(|e| sftp_error(&e))?;
        let mut local = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .await
            .map_err(|e| (io_code(&e), e.to_string()))?;
        let mut hasher = ctx.opts.verify.then(Sha256::new);
        let mut buf = vec![0u8; CHUNK.min(f.size as usize + 1).max(1)];
        let mut got = 0u64;
        loop {
            if *ctx.cancel.borrow() {
                return Err(("CANCELLED", "transfer cancelled".to_string()));
            }
            let n = remote.read(&mut buf).await.map_err(|e| ("TRANSFER_FAILED", e.to_string()))?;
            if n == 0 {
                break;
            }
            local.write_all(&buf[..n]).await.map_err(|e| (io_code(&e), e.to_string()))?;
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            got += n as u64;
            ctx.progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
            if got == f.size {
                // The listed size is reached: the file as it was when listed (saves a round trip).
                break;
            }
        }
        // Like sftp and scp, no fsync: the rename makes the file appear whole or not at all to every
        // reader; durability across a power loss is left to the file system.
        local.flush().await.map_err(|e| (io_code(&e), e.to_string()))?;
        // The size the listing (or stat) reported when the transfer was planned.
        if f.size != got {
            return Err((
                "TRANSFER_FAILED",
                format!("size mismatch: received {got} bytes, the server listed {} (did the file change?)", f.size),
            ));
        }
        if let Some(h) = hasher {
            let local_sum = data_encoding::HEXLOWER.encode(&h.finalize());
            let remote_sum = remote_sha256(ctx, &f.from).await.map_err(|r| ("TRANSFER_FAILED", r))?;
            if local_sum != remote_sum {
                return Err(("TRANSFER_FAILED", format!("sha256 mismatch: {local_sum} here, {remote_sum} there")));
            }
        }
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(f.mode & 0o777));
        std::fs::rename(&tmp, &f.to).map_err(|e| (io_code(&e), e.to_string()))?;
        Ok(got)
    }
    .await;
    match result {
        Ok(got) => outcome(f, FileStatus::Ok, got, None),
        Err((code, reason)) => {
            let _ = std::fs::remove_file(&tmp);
            outcome(f, FileStatus::Failed, 0, Some((code, reason)))
        }
    }
}

impl FileOutcome {
    fn with_reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }
}
