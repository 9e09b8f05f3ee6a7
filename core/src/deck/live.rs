//! The one capture a front end keeps of a job it started and follows: each step's stdout and
//! stderr, each bounded, and a count of bytes for progress. The durable copy is the job's output
//! file, written where the job runs; this is what an answer shows inline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::OutputSink;
use crate::capture::Captured;
use crate::exec::Stream;

/// Output of a job as it arrives, per step (a plain command is step 0). Clones share it.
#[derive(Clone)]
pub struct Live {
    steps: Arc<Mutex<Vec<(Captured, Captured)>>>,
    limit: usize,
    bytes: Arc<AtomicU64>,
}

impl Live {
    /// Keeps up to `limit` bytes of each stream of each step (head and tail; see [`Captured`]).
    pub fn new(limit: usize) -> Self {
        Live { steps: Arc::default(), limit, bytes: Arc::default() }
    }

    /// Adds what a step printed.
    pub fn push(&self, step: usize, stream: Stream, data: &[u8]) {
        let mut steps = self.steps.lock().expect("lock");
        while steps.len() <= step {
            steps.push((Captured::new(self.limit), Captured::new(self.limit)));
        }
        match stream {
            Stream::Stdout => steps[step].0.push(data),
            Stream::Stderr => steps[step].1.push(data),
        }
        self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
    }

    /// A sink for [`super::Deck::submit`] that fills this capture.
    pub fn sink(&self) -> OutputSink {
        let me = self.clone();
        Box::new(move |step, stream, data| me.push(step, stream, data))
    }

    /// Bytes received so far, all steps and streams.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Every step's (stdout, stderr) so far.
    pub fn steps(&self) -> MutexGuard<'_, Vec<(Captured, Captured)>> {
        self.steps.lock().expect("lock")
    }

    /// The first step's streams (those of a plain command), empty when it printed nothing.
    pub fn first(&self) -> (Captured, Captured) {
        self.steps().first().cloned().unwrap_or_else(|| (Captured::new(0), Captured::new(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_streams_and_bytes_are_kept_apart_and_bounded() {
        let live = Live::new(8);
        let mut sink = live.sink();
        sink(0, Stream::Stdout, b"hello ");
        sink(0, Stream::Stderr, b"oops");
        sink(2, Stream::Stdout, b"0123456789abcdef");
        assert_eq!(live.bytes(), 26);
        let (out, err) = live.first();
        assert_eq!((out.text(), err.text()), ("hello ".to_string(), "oops".to_string()));
        let steps = live.steps();
        assert_eq!(steps.len(), 3);
        assert!(steps[1].0.text().is_empty());
        assert!(steps[2].0.truncated() && steps[2].0.total_bytes() == 16);
    }
}
