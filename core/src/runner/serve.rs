//! The runner's accept loop and one handler per request. Each connection carries one request; replies
//! are written by one task per connection, fed through a channel, while the connection's read side is
//! watched for the front end going away (which kills a direct command and leaves a job running).

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::UnixListener;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use super::queue::{self, Drain, Queue};
use super::{Watched, describe};
use crate::deck::Deck;
use crate::deck::JobInput;
use crate::exec::Stream;
use crate::exec::{Input, Pty};
use crate::link::wire::{self, Adhoc, Envelope, Frame, PROTOCOL, Reply, Request, WireError};
use crate::secret::Secret;

/// How often a followed transfer's progress is sent.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// How often the runner looks at whether it is idle and still owns its socket.
const CHECK_EVERY: Duration = Duration::from_secs(1);

pub(crate) async fn serve(deck: Deck, listener: UnixListener, persist: Duration, watched: Watched) {
    let clients = Arc::new(AtomicUsize::new(0));
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    let mut idle_since = Instant::now();
    let mut check = tokio::time::interval(CHECK_EVERY);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let peer = stream.peer_cred().ok().map(|c| c.uid());
                    if uid.is_none() || peer != uid {
                        tracing::warn!(?peer, "refused a runner connection from another user");
                        continue;
                    }
                    let guard = ClientGuard::new(&clients);
                    let deck = deck.clone();
                    tokio::spawn(async move {
                        handle(deck, stream).await;
                        drop(guard);
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = check.tick() => {
                if !watched.still_ours() {
                    tracing::info!("the runner's socket is gone or replaced: leaving");
                    return;
                }
                let busy = clients.load(Ordering::SeqCst) > 0
                    || !deck.jobs().local_jobs().is_empty()
                    || deck.shells().count() > 0
                    || deck.tunnels().count() > 0;
                if busy {
                    idle_since = Instant::now();
                } else if idle_since.elapsed() >= persist {
                    tracing::info!(?persist, "no job and no client: leaving");
                    return;
                }
            }
            _ = terminated => {
                tracing::info!("SIGTERM: leaving");
                return;
            }
        }
    }
}

struct ClientGuard(Arc<AtomicUsize>);

impl ClientGuard {
    fn new(n: &Arc<AtomicUsize>) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        ClientGuard(n.clone())
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(deck: Deck, stream: tokio::net::UnixStream) {
    let peer = stream.peer_cred().ok().and_then(|c| c.pid()).and_then(|p| u32::try_from(p).ok());
    let (mut rd, mut wr) = stream.into_split();
    let envelope = match wire::read_frame(&mut rd).await {
        Ok(Some(Frame::Json(j))) => match wire::parse::<Envelope>(&j) {
            Ok(e) => e,
            Err(e) => {
                let error = WireError {
                    code: "RUNNER_UNAVAILABLE".into(),
                    message: format!(
                        "the runner ({PROTOCOL}) cannot read this request ({e}): a front end of another version?"
                    ),
                    timeout_ms: None,
                };
                let _ = wire::send(&mut wr, &Reply::Failed { error }).await;
                return;
            }
        },
        _ => return,
    };
    if envelope.protocol != PROTOCOL {
        let error = WireError {
            code: "RUNNER_UNAVAILABLE".into(),
            message: format!("the runner speaks {PROTOCOL}, this front end {}", envelope.protocol),
            timeout_ms: None,
        };
        let _ = wire::send(&mut wr, &Reply::Failed { error }).await;
        return;
    }
    tracing::debug!(op = describe(&envelope.request), "request");
    let (tx, rx) = queue::queue();
    match envelope.request {
        Request::Submit { alias, spec, origin, answers, adhoc, follow, stdin, pty } => {
            learn(&deck, adhoc);
            let sink = follow.then(|| sink(&tx));
            let answers = answers.into_iter().map(Secret::new).collect();
            let (stdin_tx, stdin) = match stdin {
                true => {
                    let (t, i) = Input::channel(STDIN_DEPTH);
                    (Some(t), Some(i))
                }
                false => (None, None),
            };
            let (resize_tx, pty) = match pty {
                Some(p) => {
                    let (t, p) = Pty::new(&p.term, p.cols, p.rows);
                    (Some(t), Some(p))
                }
                None => (None, None),
            };
            let r = deck.submit_with(&alias, spec, &origin, JobInput { sink, answers, stdin, pty, submitter: peer });
            let ok = r.is_ok();
            accepted(&deck, r, follow, tx);
            if let (Some(stdin_tx), true) = (stdin_tx, ok) {
                // The connection's read side carries stdin (and size changes): feed them to the
                // command; the writer only writes (a front end gone shows as a failed write).
                tokio::spawn(feed_stdin(rd, stdin_tx, resize_tx, false));
                pump(rx, None, wr, None).await;
                return;
            }
        }
        Request::Retry { id, origin, follow } => {
            let sink = follow.then(|| sink(&tx));
            accepted(&deck, deck.retry(&id, &origin, sink), follow, tx);
        }
        Request::SubmitFleet { aliases, spec, origin } => {
            let reply = match deck.submit_fleet(aliases, spec, &origin) {
                Ok((parent, children)) => Reply::Fleet { parent: Box::new(parent), children },
                Err(e) => Reply::Failed { error: WireError::from(&e) },
            };
            close_with(tx, &reply);
        }
        Request::Cancel { id } => {
            let reply = match deck.cancel(&id) {
                Ok(job) => Reply::Job { job: Box::new(job) },
                Err(e) => Reply::Failed { error: WireError::from(&e) },
            };
            close_with(tx, &reply);
        }
        Request::Exec { alias, command, timeout_ms, stdin, adhoc } => {
            learn(&deck, adhoc);
            let (cancel_tx, cancel) = watch::channel(false);
            tx.send(wire::json_frame(&Reply::Ready));
            if stdin {
                // The read side carries stdin, then stays open while the front end waits: its
                // closing kills the command.
                let (input_tx, input) = Input::channel(STDIN_DEPTH);
                tokio::spawn(exec(deck.clone(), alias, command, timeout_ms, Some(input), cancel, tx));
                tokio::spawn(async move {
                    feed_stdin(rd, input_tx, None, true).await;
                    let _ = cancel_tx.send(true);
                });
                pump(rx, None, wr, None).await;
            } else {
                tokio::spawn(exec(deck.clone(), alias, command, timeout_ms, None, cancel, tx));
                pump(rx, Some(rd), wr, Some(cancel_tx)).await;
            }
            return;
        }
        Request::PoolStats => close_with(tx, &Reply::Pool { stats: deck.pool_stats() }),
        Request::Shell { action } => {
            let reply = match deck.shell_here(action).await {
                Ok(sessions) => Reply::Shells { sessions },
                Err(e) => Reply::Failed { error: WireError::from(&e) },
            };
            close_with(tx, &reply)
        }
        Request::Tunnel { action } => {
            let reply = match deck.tunnel_here(action).await {
                Ok(tunnels) => Reply::Tunnels { tunnels },
                Err(e) => Reply::Failed { error: WireError::from(&e) },
            };
            close_with(tx, &reply)
        }
        Request::Attach { program } => {
            tracing::debug!(%program, "front end attached");
            let events = deck.job_events();
            tx.send(wire::json_frame(&Reply::Ready));
            tokio::spawn(nudge(events, tx));
        }
    }
    pump(rx, Some(rd), wr, None).await;
}

/// Stdin chunks of a submitted command in flight at most (256 KiB each from the CLI).
const STDIN_DEPTH: usize = 16;

/// Reads stdin frames from a front end into a command's input (EOF ends it), and size changes into
/// its terminal; with `until_closed`, returns only when the front end closes its side.
async fn feed_stdin(
    mut rd: OwnedReadHalf,
    tx: mpsc::Sender<Vec<u8>>,
    resizes: Option<mpsc::Sender<(u32, u32)>>,
    until_closed: bool,
) {
    let mut tx = Some(tx);
    while let Ok(Some(frame)) = wire::read_frame(&mut rd).await {
        match frame {
            Frame::Stdin(data) => {
                if let Some(t) = &tx
                    && t.send(data).await.is_err()
                {
                    tx = None;
                }
            }
            Frame::Eof => tx = None,
            Frame::Resize(cols, rows) => {
                if let Some(r) = &resizes {
                    let _ = r.send((cols, rows)).await;
                }
            }
            _ => {}
        }
        if tx.is_none() && resizes.is_none() && !until_closed {
            return;
        }
    }
}

fn progress(p: &crate::sftp::Progress) -> Reply {
    use std::sync::atomic::Ordering::Relaxed;
    Reply::Progress {
        bytes: p.bytes.load(Relaxed),
        total_bytes: p.total_bytes.load(Relaxed),
        files_done: p.files_done.load(Relaxed),
        files_total: p.files_total.load(Relaxed),
    }
}

/// Sends the one reply of a request and closes the queue.
fn close_with(tx: Queue, reply: &Reply) {
    tx.send(wire::json_frame(reply));
}

/// Registers ad-hoc targets a front end resolved.
fn learn(deck: &Deck, adhoc: Adhoc) {
    for (name, config) in adhoc {
        deck.learn_adhoc(name, config);
    }
}

fn sink(tx: &Queue) -> crate::deck::OutputSink {
    let tx = tx.clone();
    Box::new(move |step, stream, data| tx.send_output(step, stream, data))
}

/// Answers an accepted (or refused) job; when followed, says `Ended` once it is finished.
fn accepted(deck: &Deck, r: crate::Result<crate::jobs::Job>, follow: bool, tx: Queue) {
    match r {
        Ok(job) => {
            let id = job.id.clone();
            tx.send(wire::json_frame(&Reply::Job { job: Box::new(job) }));
            if follow {
                let deck = deck.clone();
                tokio::spawn(async move {
                    let ended = deck.wait(&id, None);
                    tokio::pin!(ended);
                    let mut tick = tokio::time::interval(PROGRESS_EVERY);
                    let job = loop {
                        tokio::select! {
                            j = &mut ended => break j.ok().map(Box::new),
                            _ = tick.tick() => {
                                if let Some(p) = deck.transfer_progress(&id) {
                                    tx.send(wire::json_frame(&progress(&p)));
                                }
                            }
                        }
                    };
                    tx.send(wire::json_frame(&Reply::Ended { job }));
                });
            }
        }
        Err(e) => {
            tx.send(wire::json_frame(&Reply::Failed { error: WireError::from(&e) }));
        }
    }
}

async fn exec(
    deck: Deck,
    alias: String,
    command: String,
    timeout_ms: Option<u64>,
    stdin: Option<Input>,
    cancel: watch::Receiver<bool>,
    tx: Queue,
) {
    let mut opts = deck.exec_options();
    opts.timeout = timeout_ms.map(Duration::from_millis);
    // The front end keeps its own capture of what is streamed to it.
    opts.capture_limit = 1024;
    opts.input = stdin;
    opts.cancel = Some(cancel);
    let out_tx = tx.clone();
    let mut on_output = move |stream: Stream, data: &[u8]| out_tx.send_output(0, stream, data);
    let reply = match deck.exec(&alias, &command, opts, &mut on_output).await {
        Ok(out) => Reply::Exited {
            exit_code: out.exit_code,
            exit_signal: out.exit_signal,
            duration_us: out.duration.as_micros() as u64,
        },
        Err(e) => Reply::Failed { error: WireError::from(&e) },
    };
    tx.send(wire::json_frame(&reply));
}

/// Nudges an attached front end when jobs change (at most one nudge in flight).
async fn nudge(mut events: broadcast::Receiver<crate::jobs::JobEvent>, tx: Queue) {
    loop {
        match events.recv().await {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                while events.try_recv().is_ok() {}
                if !tx.send(wire::json_frame(&Reply::Changed)) {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Writes queued frames until every sender is done, or the front end goes away (then `cancel` fires).
async fn pump(mut rx: Drain, rd: Option<OwnedReadHalf>, mut wr: OwnedWriteHalf, cancel: Option<watch::Sender<bool>>) {
    use tokio::io::AsyncWriteExt;
    let mut scratch = [0u8; 64];
    let mut rd = rd;
    loop {
        let gone = async {
            match rd.as_mut() {
                Some(r) => loop {
                    if matches!(r.read(&mut scratch).await, Ok(0) | Err(_)) {
                        return;
                    }
                },
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            frame = rx.recv() => match frame {
                Some(f) => {
                    if wr.write_all(&f).await.is_err() {
                        break;
                    }
                    rx.written(f.len());
                }
                None => return,
            },
            _ = gone => break,
        }
    }
    if let Some(c) = cancel {
        let _ = c.send(true);
    }
}
