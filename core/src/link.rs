//! A front end's link to the data dir's runner (`runtime/runner.sock`): it starts the runner when none
//! answers, hands it jobs and direct commands, and streams their output and end back. The runner
//! itself is the `runner` module; what crosses the socket is [`wire`].
//!
//! A job submitted here is accepted by the runner (fsynced in the journal before its id comes back)
//! and runs there: this process may exit and the job goes on. A direct command ([`Link::exec`]) dies
//! with the connection that asked for it.

mod socket;
pub mod wire;

pub use socket::{ask, connect, into_tokio, send_stdin};

use std::os::unix::net::UnixStream as StdStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::net::UnixStream;
use tokio::sync::watch;

use crate::capture::ExecOutput;
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, Stream};
use crate::jobs::{Job, JobId, Jobs};
use wire::{Envelope, Frame, PROTOCOL, Reply, Request};

/// How a front end starts the runner: its own binary with the argument that makes it one.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

/// How long a front end waits for a runner it started to listen.
const START_WAIT: Duration = Duration::from_secs(20);
/// How long the first reply to a request may take.
const REPLY_WAIT: Duration = Duration::from_secs(60);

/// Output sink of a submitted job (step, stream, bytes).
pub type Sink = Box<dyn FnMut(usize, Stream, &[u8]) + Send>;

/// The link. Cheap to clone.
#[derive(Clone)]
pub struct Link {
    inner: Arc<Inner>,
}

struct Inner {
    socket: PathBuf,
    launcher: Launcher,
    jobs: Jobs,
    program: String,
    attached: AtomicBool,
    /// Jobs whose output is still streaming in, with a flag that turns true when it is all here.
    following: Mutex<HashMap<JobId, watch::Receiver<bool>>>,
    /// Progress of followed transfers, as the runner last reported it.
    progress: Mutex<HashMap<JobId, Arc<crate::sftp::Progress>>>,
}

/// The runner could not be reached before the request was sent: nothing was accepted, so the caller
/// may run the request itself.
pub struct Unreachable(pub Error);

impl Link {
    /// A link for the data dir whose `runtime/` is `runtime_dir`.
    pub fn new(runtime_dir: PathBuf, launcher: Launcher, jobs: Jobs, program: &str) -> Link {
        Link {
            inner: Arc::new(Inner {
                socket: runtime_dir.join("runner.sock"),
                launcher,
                jobs,
                program: program.to_string(),
                attached: AtomicBool::new(false),
                following: Mutex::default(),
                progress: Mutex::default(),
            }),
        }
    }

    /// Connects, starting the runner when none listens.
    fn connect(&self) -> std::result::Result<StdStream, Unreachable> {
        connect(&self.inner.socket, &self.inner.launcher)
    }

    /// Sends `request` and reads the first reply.
    fn ask(&self, request: Request) -> std::result::Result<(StdStream, Reply), Unreachable> {
        let r = ask(self.connect()?, request)?;
        self.attach();
        Ok(r)
    }

    /// Hands a job to the runner; `sink` then sees its output as the runner streams it, and `stdin`
    /// (when given) is streamed to the command. Both are taken only once the runner accepted the job.
    /// When the job ends this process's job store is refreshed at once, so waiters wake without
    /// polling.
    pub fn submit(
        &self,
        request: Request,
        sink: &mut Option<Sink>,
        stdin: &mut Option<crate::exec::Input>,
        resizes: Option<tokio::sync::mpsc::Receiver<(u32, u32)>>,
    ) -> std::result::Result<Result<Job>, Unreachable> {
        let (s, reply) = self.ask(request)?;
        let job = match reply {
            Reply::Job { job } => *job,
            Reply::Failed { error } => return Ok(Err(error.into_error("", ExecOutput::new(0)))),
            other => return Ok(Err(Error::RunnerUnavailable(format!("unexpected reply {other:?}")))),
        };
        let (sink, stdin) = (sink.take(), stdin.take());
        match into_tokio(s) {
            Ok(s) => {
                // The write half stays open until the job ends: its closing tells the runner this
                // front end is gone.
                let (rd, wr) = s.into_split();
                let link = self.clone();
                let id = job.id.clone();
                let (done_tx, done) = watch::channel(false);
                self.inner.following.lock().expect("lock").insert(id.clone(), done.clone());
                let held = match stdin.and_then(|i| i.take()) {
                    Some(input) => {
                        tokio::spawn(send_stdin(input, resizes, wr, done));
                        None
                    }
                    None => Some(wr),
                };
                tokio::spawn(async move {
                    link.clone().follow(rd, id.clone(), sink).await;
                    let _ = done_tx.send(true);
                    link.inner.following.lock().expect("lock").remove(&id);
                    drop(held);
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot follow a job through the runner"),
        }
        Ok(Ok(job))
    }

    async fn follow(self, mut s: tokio::net::unix::OwnedReadHalf, id: JobId, mut sink: Option<Sink>) {
        loop {
            match wire::read_frame(&mut s).await {
                Ok(Some(Frame::Output(step, stream, data))) => {
                    if let Some(f) = sink.as_mut() {
                        f(step as usize, stream, &data);
                    }
                }
                Ok(Some(Frame::Json(j))) => match wire::parse::<Reply>(&j) {
                    Ok(Reply::Ended { .. }) => {
                        let _ = self.inner.jobs.refresh();
                        self.inner.progress.lock().expect("lock").remove(&id);
                        return;
                    }
                    Ok(Reply::Progress { bytes, total_bytes, files_done, files_total }) => {
                        use std::sync::atomic::Ordering::Relaxed;
                        let p = self.inner.progress.lock().expect("lock").entry(id.clone()).or_default().clone();
                        p.bytes.store(bytes, Relaxed);
                        p.total_bytes.store(total_bytes, Relaxed);
                        p.files_done.store(files_done, Relaxed);
                        p.files_total.store(files_total, Relaxed);
                    }
                    _ => {}
                },
                Ok(Some(Frame::Stdin(_) | Frame::Eof | Frame::Resize(..))) => {}
                Ok(None) | Err(_) => break,
            }
        }
        self.inner.progress.lock().expect("lock").remove(&id);
        tracing::warn!(job = %id, "the runner went away while running the job");
        self.runner_gone(Some(&id)).await;
    }

    /// The progress of a transfer submitted here, as the runner last reported it.
    pub fn progress(&self, id: &JobId) -> Option<Arc<crate::sftp::Progress>> {
        self.inner.progress.lock().expect("lock").get(id).cloned()
    }

    /// Waits (a bounded time) until the output of a job submitted here has all been delivered to its
    /// sink: the journal can say a job finished a moment before its last bytes arrive.
    pub async fn drained(&self, id: &JobId) {
        let rx = self.inner.following.lock().expect("lock").get(id).cloned();
        if let Some(mut rx) = rx {
            let _ = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|done| *done)).await;
        }
    }

    /// After the runner's connection broke: marks its jobs crashed as soon as it is seen dead.
    async fn runner_gone(&self, id: Option<&JobId>) {
        for _ in 0..30 {
            let _ = self.inner.jobs.sweep_crashed();
            match id {
                Some(id) if self.inner.jobs.get(id).is_ok_and(|j| j.status.is_terminal()) => return,
                None if StdStream::connect(&self.inner.socket).is_ok() => return,
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The runner's pool counters; `None` when no runner is up (none is started for this).
    pub fn pool_stats(&self) -> Option<crate::pool::PoolStats> {
        let mut s = StdStream::connect(&self.inner.socket).ok()?;
        s.set_read_timeout(Some(REPLY_WAIT)).ok()?;
        wire::send_blocking(&mut s, &Envelope { protocol: PROTOCOL.to_string(), request: Request::PoolStats }).ok()?;
        match wire::read_frame_blocking(&mut s).ok()?? {
            Frame::Json(j) => match wire::parse::<Reply>(&j).ok()? {
                Reply::Pool { stats } => Some(stats),
                _ => None,
            },
            _ => None,
        }
    }

    /// Opens, lists or closes the runner's shell sessions. Only opening one starts a runner: with
    /// none up there is no session.
    pub fn shell(
        &self,
        op: crate::shells::ShellOp,
    ) -> std::result::Result<Result<Vec<crate::shells::ShellInfo>>, Unreachable> {
        use crate::shells::ShellOp;
        if !matches!(op, ShellOp::Create { .. }) && StdStream::connect(&self.inner.socket).is_err() {
            return Ok(match op {
                ShellOp::Close { id } => Err(Error::NotFound { what: "shell session", name: id }),
                _ => Ok(Vec::new()),
            });
        }
        let (_, reply) = self.ask(Request::Shell { action: op })?;
        Ok(match reply {
            Reply::Shells { sessions } => Ok(sessions),
            Reply::Failed { error } => Err(error.into_error("", ExecOutput::new(0))),
            other => Err(Error::RunnerUnavailable(format!("unexpected reply {other:?}"))),
        })
    }

    /// Opens, lists or closes the runner's tunnels. Only opening one starts a runner.
    pub fn tunnel(
        &self,
        op: crate::tunnels::TunnelOp,
    ) -> std::result::Result<Result<Vec<crate::tunnels::TunnelInfo>>, Unreachable> {
        use crate::tunnels::TunnelOp;
        if !matches!(op, TunnelOp::Create { .. }) && StdStream::connect(&self.inner.socket).is_err() {
            return Ok(match op {
                TunnelOp::Close { name } => Err(Error::NotFound { what: "tunnel", name }),
                _ => Ok(Vec::new()),
            });
        }
        let (_, reply) = self.ask(Request::Tunnel { action: op })?;
        Ok(match reply {
            Reply::Tunnels { tunnels } => Ok(tunnels),
            Reply::Failed { error } => Err(error.into_error("", ExecOutput::new(0))),
            other => Err(Error::RunnerUnavailable(format!("unexpected reply {other:?}"))),
        })
    }

    /// Asks the runner to cancel a job.
    pub fn cancel(&self, id: &JobId) -> std::result::Result<Result<Job>, Unreachable> {
        let (_, reply) = self.ask(Request::Cancel { id: id.clone() })?;
        Ok(match reply {
            Reply::Job { job } => Ok(*job),
            Reply::Failed { error } => Err(error.into_error("", ExecOutput::new(0))),
            other => Err(Error::RunnerUnavailable(format!("unexpected reply {other:?}"))),
        })
    }

    /// Accepts a fan-out in the runner.
    pub fn submit_fleet(&self, request: Request) -> std::result::Result<Result<(Job, Vec<Job>)>, Unreachable> {
        let (_, reply) = self.ask(request)?;
        Ok(match reply {
            Reply::Fleet { parent, children } => Ok((*parent, children)),
            Reply::Failed { error } => Err(error.into_error("", ExecOutput::new(0))),
            other => Err(Error::RunnerUnavailable(format!("unexpected reply {other:?}"))),
        })
    }

    /// Runs a command through the runner's pool, without a job. Output reaches `on_output` as it
    /// arrives and is captured here; `opts.cancel` or dropping the future kills the command.
    pub async fn exec(
        &self,
        request: Request,
        alias: &str,
        mut opts: ExecOptions,
        on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> std::result::Result<Result<ExecOutput>, Unreachable> {
        let (s, reply) = self.ask(request)?;
        let mut out = ExecOutput::new(opts.capture_limit);
        if let Reply::Failed { error } = reply {
            return Ok(Err(error.into_error(alias, out)));
        }
        let (mut s, mut wr) = match into_tokio(s) {
            Ok(s) => s.into_split(),
            Err(e) => return Ok(Err(Error::RunnerUnavailable(e.to_string()))),
        };
        // stdin goes as frames while output is read; the write half stays open until the end (its
        // closing would kill the command).
        let stdin = opts.stdin.take();
        let _writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            if let Some(data) = stdin {
                for chunk in data.chunks(256 * 1024) {
                    if wr.write_all(&wire::stdin_frame(chunk)).await.is_err() {
                        return wr;
                    }
                }
                let _ = wr.write_all(&wire::eof_frame()).await;
            }
            wr
        });
        let started = Instant::now();
        let mut cancel = opts.cancel.take();
        loop {
            let cancelled = async {
                match cancel.as_mut() {
                    Some(c) => {
                        let _ = c.wait_for(|v| *v).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let frame = tokio::select! {
                f = wire::read_frame(&mut s) => f,
                _ = cancelled => {
                    out.duration = started.elapsed();
                    // Dropping the connection makes the runner kill the command.
                    return Ok(Err(Error::Cancelled { alias: alias.to_string(), partial: Box::new(out) }));
                }
            };
            match frame {
                Ok(Some(Frame::Output(_, stream, data))) => {
                    match stream {
                        Stream::Stdout => out.stdout.push(&data),
                        Stream::Stderr => out.stderr.push(&data),
                    }
                    on_output(stream, &data);
                }
                Ok(Some(Frame::Json(j))) => {
                    out.duration = started.elapsed();
                    return Ok(match wire::parse::<Reply>(&j) {
                        Ok(Reply::Exited { exit_code, exit_signal, duration_us }) => {
                            out.exit_code = exit_code;
                            out.exit_signal = exit_signal;
                            out.duration = Duration::from_micros(duration_us);
                            Ok(out)
                        }
                        Ok(Reply::Failed { error }) => Err(error.into_error(alias, out)),
                        other => Err(Error::RunnerUnavailable(format!("unexpected reply {other:?}"))),
                    });
                }
                Ok(Some(Frame::Stdin(_) | Frame::Eof | Frame::Resize(..))) => {}
                Ok(None) | Err(_) => {
                    return Ok(Err(Error::RunnerUnavailable("the runner went away during the command".into())));
                }
            }
        }
    }

    /// Keeps one connection open while this process lives, so the runner counts it as a client and
    /// nudges it when jobs change (waiters wake without polling the journal).
    fn attach(&self) {
        if self.inner.attached.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.inner.attached.store(false, Ordering::SeqCst);
            return;
        };
        let link = self.clone();
        handle.spawn(async move {
            let request = Request::Attach { program: link.inner.program.clone() };
            if let Ok(mut s) = UnixStream::connect(&link.inner.socket).await
                && wire::send(&mut s, &Envelope { protocol: PROTOCOL.to_string(), request }).await.is_ok()
            {
                while let Ok(Some(_)) = wire::read_frame(&mut s).await {
                    let _ = link.inner.jobs.refresh();
                }
                tracing::info!("the runner closed its connection");
                link.runner_gone(None).await;
            }
            link.inner.attached.store(false, Ordering::SeqCst);
        });
    }
}
