//! The frames waiting to be written to one front end. Replies never wait; a command's output waits
//! (as `ssh` waits for a slow reader) once [`CAP`] bytes are queued, so a front end that reads slowly
//! slows its command down instead of growing the runner's memory. A front end that reads nothing at
//! all for [`STALL`] stops being waited for: the rest of the output is not sent to it (the job's
//! output file keeps all of it), and it is told so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::{Notify, mpsc};

use crate::exec::Stream;
use crate::link::wire;

/// Bytes queued for one front end past which output waits.
pub(super) const CAP: usize = 8 << 20;
/// How long output waits for a front end that drains nothing.
const STALL: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Shared {
    queued: AtomicUsize,
    /// The writer is gone (the front end left) or gave up on a stalled reader.
    closed: AtomicBool,
    drained: Notify,
}

/// The sending side (cloned by every producer of a connection).
#[derive(Clone)]
pub(super) struct Queue {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    shared: Arc<Shared>,
}

/// The writer's side.
pub(super) struct Drain {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    shared: Arc<Shared>,
}

pub(super) fn queue() -> (Queue, Drain) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::default());
    (Queue { tx, shared: shared.clone() }, Drain { rx, shared })
}

impl Queue {
    /// Queues a frame without waiting (replies, progress, nudges). False when the writer is gone.
    pub(super) fn send(&self, frame: Vec<u8>) -> bool {
        self.shared.queued.fetch_add(frame.len(), Ordering::Relaxed);
        self.tx.send(frame).is_ok()
    }

    /// Queues a command's output, first waiting for room when the front end is behind.
    pub(super) fn send_output(&self, step: usize, stream: Stream, data: &[u8]) {
        if self.shared.closed.load(Ordering::Relaxed) {
            return;
        }
        self.wait_for_room();
        if self.shared.closed.load(Ordering::Relaxed) {
            return;
        }
        self.send(wire::output_frame(step, stream, data));
    }

    fn behind(&self) -> bool {
        self.shared.queued.load(Ordering::Relaxed) > CAP && !self.shared.closed.load(Ordering::Relaxed)
    }

    /// Blocks this task's thread (the command's output loop) until the writer drains below the cap.
    /// Only on a multi-threaded runtime (the runner's), where other tasks move to other threads.
    fn wait_for_room(&self) {
        if !self.behind() || Handle::try_current().map(|h| h.runtime_flavor()).ok() != Some(RuntimeFlavor::MultiThread)
        {
            return;
        }
        let shared = self.shared.clone();
        tokio::task::block_in_place(|| {
            Handle::current().block_on(async {
                let mut last = (Instant::now(), shared.queued.load(Ordering::Relaxed));
                while self.behind() {
                    let _ = tokio::time::timeout(Duration::from_millis(100), shared.drained.notified()).await;
                    let now = shared.queued.load(Ordering::Relaxed);
                    if now < last.1 {
                        last = (Instant::now(), now);
                    } else if last.0.elapsed() >= STALL {
                        tracing::warn!(queued = now, "a front end read nothing for 60 s: no longer sending it output");
                        let note = "\n[sshdeck: this front end read nothing for 60 s; the rest of the output is in the job's output file]\n";
                        self.send(wire::output_frame(0, Stream::Stderr, note.as_bytes()));
                        shared.closed.store(true, Ordering::Relaxed);
                    }
                }
            })
        });
    }
}

impl Drain {
    /// The next frame to write; `None` once every sender is gone.
    pub(super) async fn recv(&mut self) -> Option<Vec<u8>> {
        self.rx.recv().await
    }

    /// A frame of `len` bytes was written.
    pub(super) fn written(&self, len: usize) {
        self.shared.queued.fetch_sub(len, Ordering::Relaxed);
        self.shared.drained.notify_waiters();
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        // Nobody will write any more: waiting producers go on.
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.drained.notify_waiters();
    }
}
