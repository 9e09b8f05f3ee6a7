//! Shell sessions through the deck: opened, listed and closed where jobs run (the runner, when this
//! front end has one), and each command a `shell` job run there in its session.

use tokio::sync::watch;

use super::{Deck, OutputSink};
use crate::error::{Error, Result};
use crate::exec::Stream;
use crate::jobs::output::OutputWriter;
use crate::jobs::{Ending, Job, JobResult, JobSpec, JobStatus};
use crate::link::Unreachable;
use crate::shells::{ShellInfo, ShellOp, Shells};

impl Deck {
    /// The sessions this process holds (the runner's, in the runner).
    pub(crate) fn shells(&self) -> &Shells {
        &self.inner.shells
    }

    /// Opens, lists or closes shell sessions where they live; answers with the sessions concerned
    /// (the new one, all, or the closed one).
    pub async fn shell(&self, op: ShellOp) -> Result<Vec<ShellInfo>> {
        if let ShellOp::Create { alias, .. } = &op {
            let server = self.inner.registry.get(alias);
            match server {
                Ok(s) if s.config.readonly => {
                    return Err(Error::ServerReadOnly { alias: alias.clone(), what: "shell session" });
                }
                Ok(_) => {}
                Err(e) if self.adhoc(alias).is_none() => return Err(e),
                Err(_) => {}
            }
        }
        if let Some(link) = &self.inner.link {
            let link = link.clone();
            let asked = op.clone();
            match tokio::task::spawn_blocking(move || link.shell(asked)).await {
                Ok(Ok(r)) => return r,
                Ok(Err(Unreachable(e))) => tracing::warn!(error = %e, "runner unreachable: shell session here"),
                Err(e) => return Err(Error::RunnerUnavailable(e.to_string())),
            }
        }
        self.shell_here(op).await
    }

    /// [`Deck::shell`] in this process (the runner calls it for its front ends).
    pub(crate) async fn shell_here(&self, op: ShellOp) -> Result<Vec<ShellInfo>> {
        match op {
            ShellOp::Create { alias, workdir, env, cmd_timeout_ms, origin } => {
                let target = self.target(&alias)?;
                let info = self
                    .inner
                    .shells
                    .create(&self.inner.pool, &target, workdir.as_deref(), &env, cmd_timeout_ms, &origin)
                    .await?;
                Ok(vec![info])
            }
            ShellOp::List => Ok(self.inner.shells.list()),
            ShellOp::Close { id } => Ok(vec![self.inner.shells.close(&id).await?]),
        }
    }
}

/// Runs a `shell` job in its session and records its end.
pub(super) async fn run_shell(deck: Deck, job: Job, cancel: watch::Receiver<bool>, mut sink: Option<OutputSink>) {
    let JobSpec::Shell { session, command, timeout_ms } = &job.spec else { return };
    let jobs = deck.jobs().clone();
    let id = job.id.clone();
    if let Err(e) = jobs.start(&id, job.attempt) {
        tracing::warn!(job = %id, error = %e, "cannot record job start");
    }
    let mut writer = OutputWriter::create(jobs.output_path(&id), jobs.limits().output_limit)
        .map_err(|e| tracing::warn!(job = %id, error = %e, "job output will not be kept"))
        .ok();
    let started = std::time::Instant::now();
    let mut bytes = 0u64;
    let mut on_output = |d: &[u8]| {
        if d.is_empty() {
            return;
        }
        bytes += d.len() as u64;
        if let Some(w) = writer.as_mut() {
            w.write(d);
        }
        if let Some(s) = sink.as_mut() {
            s(0, Stream::Stdout, d);
        }
    };
    let r = deck.shells().run(session, command, *timeout_ms, cancel, &mut on_output).await;
    let truncated = writer.map(OutputWriter::finish).unwrap_or(false);
    let duration_ms = started.elapsed().as_millis() as u64;
    let (status, end) = match r {
        Err(e) => (JobStatus::Failed, Ending { duration_ms, ..Ending::error(e.code(), e.to_string()) }),
        Ok((ran, limit)) => {
            let exit_code = ran.status.and_then(|s| u32::try_from(s).ok());
            let mut end = Ending { exit_code, duration_ms, stdout_bytes: bytes, ..Ending::default() };
            let status = if ran.timed_out {
                end.error_code = Some("COMMAND_TIMEOUT".into());
                end.error_message = Some(format!(
                    "command timed out after {:.1}s and was interrupted (Ctrl-C); the session {}",
                    limit.as_secs_f64(),
                    if ran.closed { "was closed" } else { "stays open" }
                ));
                JobStatus::TimedOut
            } else if ran.cancelled {
                end.error_code = Some("CANCELLED".into());
                end.error_message = Some("cancelled: the command was interrupted (Ctrl-C)".into());
                JobStatus::Cancelled
            } else if ran.closed && exit_code.is_none() {
                end.error_code = Some("CONNECTION_LOST".into());
                end.error_message = ran.closed_reason.clone();
                JobStatus::Failed
            } else if exit_code == Some(0) {
                JobStatus::Completed
            } else {
                JobStatus::Failed
            };
            if ran.closed && end.error_message.is_none() {
                end.error_message = ran.closed_reason.map(|r| format!("{r}: the session is closed"));
            }
            (status, end)
        }
    };
    jobs.finish_surely(&id, status, JobResult { end, truncated, ..JobResult::default() }).await;
}
