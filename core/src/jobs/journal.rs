//! `jobs/journal.jsonl`: append-only job events, one JSON object a line.
//!
//! - Appends happen under the journal's advisory lock; an acceptance is fsynced before its id is
//!   returned.
//! - A torn last line (a writer killed mid-write) is never parsed, and is cut off by the next writer
//!   under the lock, before it appends.
//! - Compaction rewrites the file atomically (temp + rename) as one snapshot line per kept job. Readers
//!   notice the new inode and reload from the start.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::{Job, JobId, JobResult, JobStatus};
use crate::data_dir::atomic_write;
use crate::error::{Error, Result};

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum Event {
    /// A job was accepted (or, after compaction, its whole current record).
    Accepted {
        /// The record.
        job: Box<Job>,
    },
    /// An attempt started.
    Started {
        /// Job.
        id: JobId,
        /// When.
        at: u64,
        /// Attempt number.
        attempt: u32,
    },
    /// The job ended.
    Finished {
        /// Job.
        id: JobId,
        /// When.
        at: u64,
        /// Terminal status.
        status: JobStatus,
        /// Outcome.
        result: Box<JobResult>,
    },
    /// Someone asked to cancel it.
    CancelRequested {
        /// Job.
        id: JobId,
        /// When.
        at: u64,
    },
    /// A retry was created for it.
    Retried {
        /// Job.
        id: JobId,
        /// The new job.
        by: JobId,
    },
    /// Its owner died while it was pending or running.
    Crashed {
        /// Job.
        id: JobId,
        /// When it was noticed.
        at: u64,
        /// How it was noticed.
        reason: String,
    },
}

/// A reader's position in the journal: which file (inode) and how far.
#[derive(Debug, Default)]
pub struct Cursor {
    inode: u64,
    offset: u64,
}

/// What a read found.
pub enum ReadOutcome {
    /// New events after the cursor.
    More(Vec<Event>),
    /// The file was replaced (compaction): these are all its events, from the start.
    Reset(Vec<Event>),
}

/// The journal file.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The journal at `path` (created on first append).
    pub fn new(path: PathBuf) -> Self {
        Journal { path }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads complete lines after `cursor`, moving it. A line still being written (no newline yet) is
    /// left for the next read. A line that does not parse is skipped with a warning.
    pub fn read(&self, cursor: &mut Cursor) -> Result<ReadOutcome> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ReadOutcome::More(vec![]));
            }
            Err(e) => return Err(Error::io("cannot open", &self.path, e)),
        };
        let meta = file.metadata().map_err(|e| Error::io("cannot stat", &self.path, e))?;
        let reset = meta.ino() != cursor.inode || meta.len() < cursor.offset;
        if reset {
            *cursor = Cursor { inode: meta.ino(), offset: 0 };
        }
        let mut buf = Vec::new();
        file.seek(SeekFrom::Start(cursor.offset))
            .and_then(|_| file.read_to_end(&mut buf))
            .map_err(|e| Error::io("cannot read", &self.path, e))?;
        let complete = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut events = Vec::new();
        for line in buf[..complete].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<Event>(line) {
                Ok(ev) => events.push(ev),
                Err(e) => {
                    tracing::warn!(file = %self.path.display(), error = %e, "skipping unreadable journal line")
                }
            }
        }
        cursor.offset += complete as u64;
        Ok(if reset { ReadOutcome::Reset(events) } else { ReadOutcome::More(events) })
    }

    /// Appends events as one write. The caller holds the journal lock. With `sync`, the data is on disk
    /// when this returns.
    pub fn append(&self, events: &[Event], sync: bool) -> Result<()> {
        let mut bytes = Vec::with_capacity(256 * events.len());
        for ev in events {
            serde_json::to_writer(&mut bytes, ev).expect("events serialize");
            bytes.push(b'\n');
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| Error::io("cannot open", &self.path, e))?;
        repair_tail(&mut file).map_err(|e| Error::io("cannot repair", &self.path, e))?;
        file.write_all(&bytes).map_err(|e| Error::io("cannot append to", &self.path, e))?;
        if sync {
            file.sync_data().map_err(|e| Error::io("cannot sync", &self.path, e))?;
        }
        Ok(())
    }

    /// Replaces the journal with `events` (compaction). The caller holds the journal lock.
    pub fn rewrite(&self, events: &[Event]) -> Result<()> {
        let mut bytes = Vec::new();
        for ev in events {
            serde_json::to_writer(&mut bytes, ev).expect("events serialize");
            bytes.push(b'\n');
        }
        atomic_write(&self.path, &bytes, 0o600)
    }

    /// Current size in bytes (0 when absent).
    pub fn size(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }
}

/// Cuts a torn last line (left by a writer that died mid-write) so the next line starts clean.
fn repair_tail(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    // Find the last newline, reading backwards in blocks.
    let mut end = len;
    let mut cut = 0;
    let mut block = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..n])?;
        if let Some(i) = block[..n].iter().rposition(|&b| b == b'\n') {
            cut = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    tracing::warn!(dropped = len - cut, "cutting a torn journal line left by a killed writer");
    file.set_len(cut)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: u32) -> Event {
        Event::Started { id: JobId::parse("0000000000000").unwrap(), at: u64::from(n), attempt: n }
    }

    #[test]
    fn append_read_incrementally() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::new(tmp.path().join("journal.jsonl"));
        let mut c = Cursor::default();
        assert!(matches!(j.read(&mut c).unwrap(), ReadOutcome::More(v) if v.is_empty()));
        j.append(&[ev(1), ev(2)], true).unwrap();
        let ReadOutcome::Reset(v) = j.read(&mut c).unwrap() else { panic!("first read of a new file") };
        assert_eq!(v, [ev(1), ev(2)]);
        j.append(&[ev(3)], false).unwrap();
        let ReadOutcome::More(v) = j.read(&mut c).unwrap() else { panic!() };
        assert_eq!(v, [ev(3)]);
    }

    #[test]
    fn torn_line_is_not_read_and_is_repaired_by_the_next_append() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("journal.jsonl");
        let j = Journal::new(path.clone());
        j.append(&[ev(1)], true).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"e":"started","id":"00000"#).unwrap();
        let mut c = Cursor::default();
        let ReadOutcome::Reset(v) = j.read(&mut c).unwrap() else { panic!() };
        assert_eq!(v, [ev(1)], "the torn line is not parsed");
        j.append(&[ev(2)], true).unwrap();
        let ReadOutcome::More(v) = j.read(&mut c).unwrap() else { panic!() };
        assert_eq!(v, [ev(2)]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().all(|l| serde_json::from_str::<Event>(l).is_ok()));
    }

    #[test]
    fn rewrite_resets_readers() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::new(tmp.path().join("journal.jsonl"));
        j.append(&[ev(1), ev(2), ev(3)], true).unwrap();
        let mut c = Cursor::default();
        j.read(&mut c).unwrap();
        j.rewrite(&[ev(9)]).unwrap();
        let ReadOutcome::Reset(v) = j.read(&mut c).unwrap() else { panic!("compaction must reset") };
        assert_eq!(v, [ev(9)]);
    }
}
