//! `jobs/<id>.log`: a job's stdout and stderr as they arrive, capped, readable by other processes
//! while it grows.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes one job's output file, stopping at `limit` bytes with a marker.
#[derive(Debug)]
pub struct OutputWriter {
    path: PathBuf,
    file: File,
    written: u64,
    limit: u64,
    dropped: u64,
}

impl OutputWriter {
    /// Creates (or, for a retry attempt, appends to) the file, mode 0600.
    pub fn create(path: PathBuf, limit: u64) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io("cannot create", &path, e))?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(OutputWriter { path, file, written, limit, dropped: 0 })
    }

    /// Appends a chunk; past the limit the rest is counted, not written. The marker goes in with the
    /// first byte dropped, wherever the limit falls (inside a chunk or exactly at its end).
    pub fn write(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.dropped > 0 {
            self.dropped += data.len() as u64;
            return;
        }
        let room = self.limit.saturating_sub(self.written) as usize;
        let (now, rest) = data.split_at(data.len().min(room));
        if !now.is_empty() {
            self.put(now);
        }
        if !rest.is_empty() {
            self.dropped += rest.len() as u64;
            let marker = format!("\n[sshdeck: output cut at {} bytes; the rest is not kept]\n", self.limit);
            self.put(marker.as_bytes());
        }
    }

    fn put(&mut self, data: &[u8]) {
        match self.file.write_all(data) {
            Ok(()) => self.written += data.len() as u64,
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e, "cannot write job output");
                self.dropped += data.len() as u64;
            }
        }
    }

    /// Whether anything was cut.
    #[cfg(test)]
    pub fn truncated(&self) -> bool {
        self.dropped > 0
    }

    /// Flushes to disk.
    pub fn finish(self) -> bool {
        let _ = self.file.sync_data();
        self.dropped > 0
    }
}

/// The last `max` bytes of a job's output (empty when there is none).
pub fn read_tail(path: &Path, max: u64) -> Vec<u8> {
    let Ok(mut f) = File::open(path) else {
        return vec![];
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(max);
    let mut buf = Vec::new();
    let _ = f.seek(SeekFrom::Start(start)).and_then(|_| f.read_to_end(&mut buf));
    buf
}

/// At most `max` bytes of a job's output from byte `offset`, and the file's whole length.
pub fn read_range(path: &Path, offset: u64, max: u64) -> (Vec<u8>, u64) {
    let Ok(f) = File::open(path) else {
        return (vec![], 0);
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = Vec::new();
    let mut f = f;
    if offset < len {
        let _ = f.seek(SeekFrom::Start(offset)).and_then(|_| f.take(max).read_to_end(&mut buf));
    }
    (buf, len)
}

/// Reads a growing output file incrementally.
#[derive(Debug)]
pub struct OutputFollower {
    path: PathBuf,
    offset: u64,
}

impl OutputFollower {
    /// Starts at byte `offset`.
    pub fn new(path: PathBuf, offset: u64) -> Self {
        OutputFollower { path, offset }
    }

    /// Bytes written since the last call.
    pub fn poll(&mut self) -> Vec<u8> {
        let Ok(mut f) = File::open(&self.path) else {
            return vec![];
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len <= self.offset {
            return vec![];
        }
        let mut buf = Vec::new();
        if f.seek(SeekFrom::Start(self.offset)).and_then(|_| f.take(len - self.offset).read_to_end(&mut buf)).is_ok() {
            self.offset += buf.len() as u64;
        }
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_when_the_limit_falls_exactly_on_a_chunk_end() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("j.log");
        let mut w = OutputWriter::create(path.clone(), 10).unwrap();
        w.write(b"0123456789");
        assert!(!w.truncated());
        w.write(b"abc");
        w.write(b"def");
        assert!(w.finish());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "0123456789\n[sshdeck: output cut at 10 bytes; the rest is not kept]\n");
    }

    #[test]
    fn cap_marker_and_follow() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.log");
        let mut w = OutputWriter::create(path.clone(), 10).unwrap();
        let mut f = OutputFollower::new(path.clone(), 0);
        w.write(b"hello ");
        assert_eq!(f.poll(), b"hello ");
        w.write(b"world and more");
        w.write(b"ignored");
        assert!(w.finish());
        let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        assert!(text.starts_with("hello worl\n[sshdeck: output cut at 10 bytes"), "{text}");
        assert!(String::from_utf8(f.poll()).unwrap().starts_with("worl\n"));
        assert_eq!(read_tail(&path, 4), b"pt]\n");
    }
}
