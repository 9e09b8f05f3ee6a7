//! The shortest path for a front end that runs one job and exits (`sshdeck exec`): it opens no job
//! store, pool or log file. The runner checks, accepts, runs and streams the job; its final record
//! comes with the end. Used only when the front end uses the runner.

use std::future::Future;

use super::Deck;
use super::adhoc::{TargetFlags, resolve};
use crate::capture::ExecOutput;
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::error::{Error, Result};
use crate::exec::Stream;
use crate::jobs::{Job, JobSpec};
use crate::link::wire::{self, Frame, Reply, Request};
use crate::link::{Launcher, Unreachable, ask, connect, into_tokio};
use crate::servers::Registry;

/// How a followed job ended for the front end.
#[derive(Debug)]
pub enum Followed {
    /// It ended: its final record.
    Ended(Box<Job>),
    /// The runner went away before saying so (the job as accepted): open a [`Deck`] and
    /// [`Deck::wait_after_runner_loss`].
    RunnerLost(Box<Job>),
}

/// The job [`submit_and_follow`] submits.
pub struct OneJob<'a> {
    /// The target as written.
    pub expr: &'a str,
    /// ssh's `-l -p -i`.
    pub flags: &'a TargetFlags,
    /// What to run.
    pub spec: JobSpec,
    /// Who asks (`cli`).
    pub origin: &'a str,
    /// The command's stdin, streamed.
    pub stdin: Option<crate::exec::Input>,
    /// Run on a PTY the user's terminal drives.
    pub pty: Option<crate::exec::Pty>,
}

/// Submits one job on `expr` (an alias, a `~/.ssh/config` Host or `user@host:port`) to the runner and
/// follows it to its end: `sink` sees its output as it arrives; when `interrupt` completes the job is
/// cancelled (its command killed) and followed to its end. `Err(Unreachable)` when no runner could
/// be reached before anything was submitted.
pub async fn submit_and_follow(
    settings: &Settings,
    launcher: &Launcher,
    job: OneJob<'_>,
    sink: &mut (dyn FnMut(usize, Stream, &[u8]) + Send),
    interrupt: impl Future<Output = ()>,
) -> std::result::Result<Result<Followed>, Unreachable> {
    let OneJob { expr, flags, spec, origin, stdin, pty } = job;
    let prepared = (|| -> Result<_> {
        let data_dir = DataDir::open(&settings.data_dir)?;
        let adhoc = resolve(&Registry::new(&data_dir), expr, flags)?;
        Ok((data_dir.runtime_dir()?.join("runner.sock"), adhoc))
    })();
    let (socket, adhoc) = match prepared {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let request = Request::Submit {
        alias: expr.to_string(),
        spec,
        origin: origin.to_string(),
        answers: Vec::new(),
        adhoc: adhoc.map(|c| vec![(expr.to_string(), c)]).unwrap_or_default(),
        follow: true,
        stdin: stdin.is_some(),
        pty: pty.as_ref().map(crate::link::wire::PtySize::of),
    };
    let resizes = pty.as_ref().and_then(|p| p.resizes.lock().expect("lock").take());
    let (stream, reply) = ask(connect(&socket, launcher)?, request)?;
    let job = match reply {
        Reply::Job { job } => job,
        Reply::Failed { error } => return Ok(Err(error.into_error(expr, ExecOutput::new(0)))),
        other => return Ok(Err(Error::RunnerUnavailable(format!("unexpected reply {other:?}")))),
    };
    let (mut s, wr) = match into_tokio(stream) {
        Ok(s) => s.into_split(),
        Err(_) => return Ok(Ok(Followed::RunnerLost(job))),
    };
    // The write half stays open until the end (its closing would say this front end is gone).
    let (_done_tx, done) = tokio::sync::watch::channel(false);
    let _held = match stdin.and_then(|i| i.take()) {
        Some(input) => {
            tokio::spawn(crate::link::send_stdin(input, resizes, wr, done));
            None
        }
        None => Some(wr),
    };
    tokio::pin!(interrupt);
    let mut cancelled = false;
    loop {
        tokio::select! {
            frame = wire::read_frame(&mut s) => match frame {
                Ok(Some(Frame::Output(step, stream, data))) => sink(step as usize, stream, &data),
                Ok(Some(Frame::Json(j))) => {
                    if let Ok(Reply::Ended { job: Some(done) }) = wire::parse::<Reply>(&j) {
                        return Ok(Ok(Followed::Ended(done)));
                    }
                }
                Ok(Some(Frame::Stdin(_) | Frame::Eof | Frame::Resize(..))) => {}
                Ok(None) | Err(_) => return Ok(Ok(Followed::RunnerLost(job))),
            },
            _ = &mut interrupt, if !cancelled => {
                cancelled = true;
                // Only a running runner can cancel; never start one for it.
                if let Ok(c) = std::os::unix::net::UnixStream::connect(&socket) {
                    let _ = ask(c, Request::Cancel { id: job.id.clone() });
                }
            }
        }
    }
}

impl Deck {
    /// After the runner went away while running job `id`: the job as it ends up — `crashed` once the
    /// runner is seen dead (within a few seconds), or as the runner recorded it.
    pub async fn wait_after_runner_loss(&self, id: &crate::jobs::JobId) -> Result<Job> {
        for _ in 0..50 {
            let _ = self.inner.jobs.sweep_crashed();
            let job = self.inner.jobs.get(id)?;
            if job.status.is_terminal() {
                return Ok(job);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.inner.jobs.get(id)
    }
}
