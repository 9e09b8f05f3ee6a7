//! SFTP transfers over pooled connections: single files, directory trees and globs, both ways.
//!
//! Every file is written under a temporary name beside its target and renamed into place only once
//! complete and verified (size, optionally sha256 on both ends), so an interrupted transfer leaves the
//! old file intact; the temporary file is removed on failure. Names a server returns are checked, so a
//! download never writes outside the requested local directory.

mod copy;
mod file;
mod plan;
mod run;

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

pub use copy::copy_between;
pub use plan::{check_remote_name, is_glob};
pub use run::{Request, transfer};

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Local to server.
    Upload,
    /// Server to local.
    Download,
}

impl Direction {
    /// Parses `upload` or `download`.
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "upload" | "put" => Ok(Direction::Upload),
            "download" | "get" => Ok(Direction::Download),
            other => Err(crate::Error::InvalidArgument(format!(
                "direction {other:?}: expected upload, download or server_to_server"
            ))),
        }
    }
}

/// One requested transfer: a path, directory or glob on the source side, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferItem {
    /// Local path (a glob for uploads).
    pub local: String,
    /// Remote path (a glob for downloads).
    pub remote: String,
}

/// How one file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Transferred and verified.
    Ok,
    /// Left alone (exists without `force`, symlink…).
    Skipped,
    /// Failed; the target is unchanged.
    Failed,
}

/// One file's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOutcome {
    /// Source path.
    pub from: String,
    /// Target path.
    pub to: String,
    /// Outcome.
    pub status: FileStatus,
    /// Bytes moved.
    pub bytes: u64,
    /// Stable code when it failed (`NOT_FOUND`, `PERMISSION_DENIED`, `NO_SPACE`, `TRANSFER_FAILED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why it was skipped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A whole transfer's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferReport {
    /// Files transferred.
    pub ok: u64,
    /// Files skipped.
    pub skipped: u64,
    /// Files failed.
    pub failed: u64,
    /// Bytes moved.
    pub bytes: u64,
    /// Per-file outcomes (failures first when there are many).
    pub files: Vec<FileOutcome>,
}

/// Live counters of a running transfer.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes moved so far.
    pub bytes: AtomicU64,
    /// Bytes to move in all (known once planned).
    pub total_bytes: AtomicU64,
    /// Files finished (any outcome).
    pub files_done: AtomicU64,
    /// Files planned.
    pub files_total: AtomicU64,
}

impl Progress {
    /// `files_done/files_total files, bytes/total_bytes bytes`.
    pub fn summary(&self) -> String {
        format!(
            "{}/{} files, {}/{} bytes",
            self.files_done.load(Ordering::Relaxed),
            self.files_total.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
            self.total_bytes.load(Ordering::Relaxed)
        )
    }
}

/// Options of a transfer.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// Overwrite existing targets.
    pub force: bool,
    /// Compare sha256 of source and target (costs a read of both).
    pub verify: bool,
    /// Files moved at once.
    pub parallel: usize,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions { force: false, verify: false, parallel: 8 }
    }
}
