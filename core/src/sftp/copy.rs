//! Server-to-server copies: each item is downloaded from the source server into a private spool
//! directory in the data dir (0700), then uploaded to the target with the usual guarantees (temporary
//! name, atomic rename, `force`, `verify`). Memory stays bounded (files stream through 256 KiB
//! buffers); the spool holds one item's files at a time and is removed at the end.

use std::path::{Path, PathBuf};

use tokio::sync::watch;

use super::plan::is_glob;
use super::run::{Request, transfer};
use super::{Direction, FileStatus, Progress, TransferItem, TransferOptions, TransferReport};
use crate::error::{Error, Result};
use crate::remote::Remote;

/// Copies the request's items (`remote`: a path, directory or glob on `source`; `local`: where it goes
/// on `target`, empty for the same path) from `source` to `target` (the request's direction is unused).
pub async fn copy_between(
    deck: &dyn Remote,
    (source, target): (&str, &str),
    request: Request<'_>,
    progress: &Progress,
    cancel: &watch::Receiver<bool>,
    log: &mut (dyn FnMut(&str) + Send),
) -> Result<TransferReport> {
    let Request { items, options: opts, .. } = request;
    let spool = Spool::create(&deck.spool_dir())?;
    let mut report = TransferReport::default();
    for (i, item) in items.iter().enumerate() {
        let dir = spool.path.join(i.to_string());
        std::fs::create_dir(&dir).map_err(|e| Error::io("cannot create the copy spool", &dir, e))?;
        let down = TransferItem { remote: item.remote.clone(), local: format!("{}/", dir.display()) };
        let got = transfer(
            deck,
            source,
            Request {
                direction: Direction::Download,
                items: std::slice::from_ref(&down),
                options: &TransferOptions { force: true, ..opts.clone() },
            },
            progress,
            cancel,
            log,
        )
        .await?;
        merge_failures(&mut report, got);
        let dest = if item.local.is_empty() { item.remote.clone() } else { item.local.clone() };
        let entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io("cannot read the copy spool", &dir, e))?
            .flatten()
            .map(|e| e.path())
            .collect();
        let ups: Vec<TransferItem> = match entries.as_slice() {
            [] => continue,
            [one] if !is_glob(&item.remote) => vec![TransferItem { local: one.display().to_string(), remote: dest }],
            many => {
                let dest = if dest.ends_with('/') { dest } else { format!("{dest}/") };
                many.iter().map(|p| TransferItem { local: p.display().to_string(), remote: dest.clone() }).collect()
            }
        };
        let sent = transfer(
            deck,
            target,
            Request { direction: Direction::Upload, items: &ups, options: opts },
            progress,
            cancel,
            log,
        )
        .await?;
        report.ok += sent.ok;
        report.skipped += sent.skipped;
        report.failed += sent.failed;
        report.bytes += sent.bytes;
        report.files.extend(sent.files);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(report)
}

/// Files that could not be read on the source are failures of the copy.
fn merge_failures(report: &mut TransferReport, got: TransferReport) {
    for f in got.files.into_iter().filter(|f| f.status != FileStatus::Ok) {
        match f.status {
            FileStatus::Failed => report.failed += 1,
            _ => report.skipped += 1,
        }
        report.files.push(f);
    }
}

/// A private directory under `<data dir>/tmp/`, removed when dropped.
struct Spool {
    path: PathBuf,
}

impl Spool {
    fn create(root: &Path) -> Result<Spool> {
        use std::os::unix::fs::DirBuilderExt;
        let base = root.to_path_buf();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&base)
            .map_err(|e| Error::io("cannot create", &base, e))?;
        let mut id = [0u8; 8];
        getrandom::fill(&mut id)
            .map_err(|e| Error::io("cannot name the copy spool", &base, std::io::Error::other(e.to_string())))?;
        let path = base.join(format!("copy-{}", data_encoding::HEXLOWER.encode(&id)));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::io("cannot create the copy spool", &path, e))?;
        Ok(Spool { path })
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
