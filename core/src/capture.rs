//! Bounded capture of one output stream (the first and last bytes are kept, the middle is counted),
//! and what a command produced ([`ExecOutput`]).

use std::collections::VecDeque;
use std::time::Duration;

/// One stream's captured bytes, never more than `limit` in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_limit: usize,
    tail_limit: usize,
    total: u64,
}

impl Captured {
    /// A buffer keeping at most `limit` bytes: half from the start, half from the end.
    pub fn new(limit: usize) -> Self {
        let head_limit = limit / 2;
        Captured { head: Vec::new(), tail: VecDeque::new(), head_limit, tail_limit: limit - head_limit, total: 0 }
    }

    /// Appends bytes as they arrive.
    pub fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.head.len() < self.head_limit {
            let n = data.len().min(self.head_limit - self.head.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        if data.len() >= self.tail_limit {
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.tail_limit..]);
            return;
        }
        let overflow = (self.tail.len() + data.len()).saturating_sub(self.tail_limit);
        self.tail.drain(..overflow);
        self.tail.extend(data);
    }

    /// Bytes the stream produced in all.
    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    /// Bytes not kept (the middle).
    pub fn dropped_bytes(&self) -> u64 {
        self.total - (self.head.len() + self.tail.len()) as u64
    }

    /// Whether anything was dropped.
    pub fn truncated(&self) -> bool {
        self.dropped_bytes() > 0
    }

    /// The kept bytes, head then tail, without any marker.
    pub fn kept_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.head.len() + self.tail.len());
        v.extend_from_slice(&self.head);
        v.extend(self.tail.iter());
        v
    }

    /// The kept text (invalid UTF-8 replaced), with a marker where bytes were dropped.
    pub fn text(&self) -> String {
        self.text_noting("")
    }

    /// [`Captured::text`] whose marker also says `where_rest` (e.g. where the whole output can be read).
    pub fn text_noting(&self, where_rest: &str) -> String {
        if !self.truncated() {
            return String::from_utf8_lossy(&self.kept_bytes()).into_owned();
        }
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        let rest = if where_rest.is_empty() { String::new() } else { format!("; {where_rest}") };
        format!(
            "{}\n[... {} bytes omitted{rest} ...]\n{}",
            String::from_utf8_lossy(&self.head),
            self.dropped_bytes(),
            String::from_utf8_lossy(&tail)
        )
    }
}

/// What a finished (or killed) command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output (bounded).
    pub stdout: Captured,
    /// Standard error (bounded).
    pub stderr: Captured,
    /// Exit code, when the command exited.
    pub exit_code: Option<u32>,
    /// Signal name (`KILL`, `TERM`…), when a signal ended it.
    pub exit_signal: Option<String>,
    /// Wall time from request to channel close.
    pub duration: Duration,
}

impl ExecOutput {
    pub(crate) fn new(limit: usize) -> Self {
        ExecOutput {
            stdout: Captured::new(limit),
            stderr: Captured::new(limit),
            exit_code: None,
            exit_signal: None,
            duration: Duration::ZERO,
        }
    }

    /// True when the command exited with code 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let mut c = Captured::new(16);
        c.push(b"hello ");
        c.push(b"world");
        assert_eq!(c.text(), "hello world");
        assert!(!c.truncated());
    }

    #[test]
    fn large_output_keeps_head_and_tail() {
        let mut c = Captured::new(10);
        for chunk in b"0123456789abcdefghij".chunks(3) {
            c.push(chunk);
        }
        assert_eq!(c.kept_bytes(), b"01234fghij");
        assert_eq!(c.total_bytes(), 20);
        assert_eq!(c.dropped_bytes(), 10);
        assert_eq!(c.text(), "01234\n[... 10 bytes omitted ...]\nfghij");
    }

    #[test]
    fn one_huge_chunk() {
        let mut c = Captured::new(4);
        c.push(&[b'x'; 1000]);
        c.push(b"yz");
        assert_eq!(c.kept_bytes(), b"xxyz");
        assert_eq!(c.dropped_bytes(), 998);
    }
}
