//! One file: written under a temporary name beside its target, streamed in 256 KiB requests, checked
//! (size, optionally sha256 on both ends) and renamed into place; the temporary file is removed on
//! failure.

use std::sync::atomic::Ordering;
use std::time::Duration;

use russh_sftp::protocol::{FileAttributes, OpenFlags};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::plan::{FilePlan, sftp_error};
use super::{FileOutcome, FileStatus, Progress, TransferOptions};
use crate::exec::ExecOptions;
use crate::remote::Remote;
use crate::ssh::quote::shell_quote;
use russh_sftp::client::SftpSession;
use tokio::sync::watch;

/// What a file task needs.
pub(super) struct Ctx<'a> {
    pub(super) deck: &'a dyn Remote,
    pub(super) alias: &'a str,
    pub(super) sftp: &'a SftpSession,
    pub(super) opts: &'a TransferOptions,
    pub(super) progress: &'a Progress,
    pub(super) cancel: &'a watch::Receiver<bool>,
}

/// Bytes per read/write request (measured: 256 KiB reaches OpenSSH's sftp throughput).
const CHUNK: usize = 256 * 1024;

/// The temporary name beside a target. Fixed per target, so a retry after an interrupted transfer
/// (whose connection died before it could clean up) reuses it and leaves nothing stray behind.
pub(super) fn temp_name(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.{name}.sshdeck.tmp"),
        None => format!(".{path}.sshdeck.tmp"),
    }
}

pub(super) fn outcome(f: &FilePlan, status: FileStatus, bytes: u64, failure: Option<(&str, String)>) -> FileOutcome {
    FileOutcome {
        from: f.from.clone(),
        to: f.to.clone(),
        status,
        bytes,
        code: failure.as_ref().map(|(c, _)| c.to_string()),
        reason: failure.map(|(_, r)| r),
    }
}

pub(super) fn io_code(e: &std::io::Error) -> &'static str {
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

pub(super) async fn upload_file(ctx: &Ctx<'_>, f: &FilePlan) -> FileOutcome {
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

pub(super) async fn download_file(ctx: &Ctx<'_>, f: &FilePlan) -> FileOutcome {
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
