//! Accepting work: a job (or a retry, or a cancel) and a direct command, handed to the data dir's
//! runner when this front end uses one, else run in this process; and waiting for a job's end.

use std::time::Duration;

use tokio::sync::broadcast;

use super::{Deck, FOLLOW_EVERY, OutputSink};
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, ExecOutput, Input, Stream};
use crate::interact::Rule;
use crate::jobs::{Job, JobEvent, JobId, JobSpec};
use crate::link::Unreachable;
use crate::link::wire::{PtySize, Request};
use crate::secret::Secret;
use crate::servers::ServerConfig;

/// What a submitter gives a job besides its spec.
#[derive(Default)]
pub struct JobInput {
    /// Sees the output as it arrives (step, stream, bytes).
    pub sink: Option<OutputSink>,
    /// Answers to an interactive job's prompts, in order.
    pub answers: Vec<Secret>,
    /// The command's stdin, streamed (plain commands only).
    pub stdin: Option<Input>,
    /// Run on a PTY the user's terminal drives; its output is not kept (it echoes keystrokes).
    pub pty: Option<crate::exec::Pty>,
    /// The front end process this is run for (set by the runner).
    pub submitter: Option<u32>,
}

impl Deck {
    /// Runs a command directly through the pool, without a job record (for internal probes and
    /// benchmarks; front ends submit jobs).
    pub async fn exec(
        &self,
        alias: &str,
        command: &str,
        opts: ExecOptions,
        on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<ExecOutput> {
        if command.trim().is_empty() {
            return Err(Error::InvalidArgument("command is empty".into()));
        }
        if let Some(link) = &self.inner.link
            && opts.interaction.is_none()
        {
            let request = Request::Exec {
                alias: alias.to_string(),
                command: command.to_string(),
                timeout_ms: opts.timeout.map(|t| t.as_millis() as u64),
                stdin: opts.stdin.is_some(),
                adhoc: self.adhoc_of(&[alias]),
            };
            match link.exec(request, alias, opts.clone(), on_output).await {
                Ok(r) => return r,
                Err(Unreachable(e)) => tracing::warn!(error = %e, "runner unreachable: running the command here"),
            }
        }
        let target = self.target(alias)?;
        self.inner.pool.exec(&target, command, opts, on_output).await
    }

    /// Whether this front end hands its jobs to the data dir's runner (they outlive it).
    pub fn uses_runner(&self) -> bool {
        self.inner.link.is_some()
    }

    /// Settings of the ad-hoc targets among `aliases`, for the runner.
    fn adhoc_of(&self, aliases: &[&str]) -> Vec<(String, ServerConfig)> {
        let map = self.inner.adhoc.lock().expect("lock");
        aliases.iter().filter_map(|a| map.get(*a).map(|c| (a.to_string(), c.clone()))).collect()
    }

    /// Makes an ad-hoc target a front end resolved reachable here (the runner's side).
    pub(crate) fn learn_adhoc(&self, name: String, config: ServerConfig) {
        self.inner.adhoc.lock().expect("lock").insert(name, config);
    }

    /// Accepts a job (durably) and starts running it (in the runner, or in this process). `sink` sees
    /// its output live. Fails at once, with no job recorded, for an unknown alias or an empty command.
    pub fn submit(&self, alias: &str, spec: JobSpec, origin: &str, sink: Option<OutputSink>) -> Result<Job> {
        self.submit_with(alias, spec, origin, JobInput { sink, ..JobInput::default() })
    }

    /// [`Deck::submit`] for an interactive job: `answers[i]` answers `prompts[i]`. Answers live only in
    /// this process's memory (and the runner's), never in the job record, logs or results.
    pub fn submit_with_answers(
        &self,
        alias: &str,
        spec: JobSpec,
        origin: &str,
        sink: Option<OutputSink>,
        answers: Vec<Secret>,
    ) -> Result<Job> {
        self.submit_with(alias, spec, origin, JobInput { sink, answers, ..JobInput::default() })
    }

    /// [`Deck::submit`] with everything a submitter may give a job besides its spec.
    pub fn submit_with(&self, alias: &str, spec: JobSpec, origin: &str, mut input: JobInput) -> Result<Job> {
        self.check_spec(alias, &spec)?;
        if let JobSpec::Interactive { prompts, .. } = &spec {
            if prompts.len() != input.answers.len() {
                return Err(Error::InvalidArgument("every prompt pattern needs an answer".into()));
            }
            for p in prompts {
                Rule::new(&p.pattern, Secret::new(""), p.max)?;
            }
        }
        if (input.stdin.is_some() || input.pty.is_some()) && !matches!(spec, JobSpec::Exec { .. }) {
            return Err(Error::InvalidArgument(
                "only a plain command reads a streamed stdin or gets a terminal".into(),
            ));
        }
        if let Some(link) = &self.inner.link {
            let request = Request::Submit {
                alias: alias.to_string(),
                spec: spec.clone(),
                origin: origin.to_string(),
                answers: input.answers.iter().map(|a| a.expose().to_string()).collect(),
                adhoc: self.adhoc_of(&[alias]),
                follow: true,
                stdin: input.stdin.is_some(),
                pty: input.pty.as_ref().map(PtySize::of),
            };
            let resizes = input.pty.as_ref().and_then(|p| p.resizes.lock().expect("lock").take());
            match link.submit(request, &mut input.sink, &mut input.stdin, resizes) {
                Ok(r) => return r,
                // Nothing was accepted: run it here rather than fail.
                Err(Unreachable(e)) => tracing::warn!(error = %e, "runner unreachable: running the job here"),
            }
        }
        let job = self.inner.jobs.accept_for(spec, vec![alias.to_string()], origin, None, input.submitter)?;
        self.start(job.clone(), input);
        Ok(job)
    }

    /// Retries a finished job as a new attempt linked by `retry_of`, run in this process. A job is
    /// retried at most once (`ALREADY_RETRIED`).
    pub fn retry(&self, id: &JobId, origin: &str, sink: Option<OutputSink>) -> Result<Job> {
        let orig = self.inner.jobs.get(id)?;
        if let JobSpec::Interactive { prompts, .. } = &orig.spec
            && !prompts.is_empty()
        {
            return Err(Error::InvalidArgument(format!(
                "job {id} answered prompts and its answers are not kept: run it again with its answers"
            )));
        }
        if let JobSpec::Shell { session, .. } = &orig.spec {
            return Err(Error::InvalidArgument(format!(
                "job {id} ran in shell session {session}, whose state has moved on: run the command again with shell_exec"
            )));
        }
        let alias = orig.targets.first().cloned().unwrap_or_default();
        self.check_spec(&alias, &orig.spec)?;
        let mut input = JobInput { sink, ..JobInput::default() };
        if let Some(link) = &self.inner.link {
            let request = Request::Retry { id: id.clone(), origin: origin.to_string(), follow: true };
            match link.submit(request, &mut input.sink, &mut input.stdin, None) {
                Ok(r) => return r,
                Err(Unreachable(e)) => tracing::warn!(error = %e, "runner unreachable: retrying the job here"),
            }
        }
        let job = self.inner.jobs.accept(orig.spec.clone(), orig.targets.clone(), origin, Some(id))?;
        self.start(job.clone(), input);
        Ok(job)
    }

    /// Asks for a job to be cancelled (whichever process runs it). Returns it as it is now.
    pub fn cancel(&self, id: &JobId) -> Result<Job> {
        if let Some(link) = &self.inner.link
            && let Ok(r) = link.cancel(id)
        {
            return r;
        }
        self.inner.jobs.request_cancel(id)
    }

    /// Waits until the job is finished or `timeout` passes; returns it as it is then.
    pub async fn wait(&self, id: &JobId, timeout: Option<Duration>) -> Result<Job> {
        let mut rx = self.inner.jobs.subscribe();
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            let job = self.inner.jobs.get(id)?;
            if job.status.is_terminal() {
                if let Some(link) = &self.inner.link {
                    link.drained(id).await;
                }
                return Ok(job);
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                return Ok(job);
            }
            // Jobs of other processes change without an in-process event: look again regularly.
            let next_look = tokio::time::Instant::now() + FOLLOW_EVERY;
            let until = deadline.map_or(next_look, |d| d.min(next_look));
            loop {
                match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Ok(JobEvent::Changed(j))) if j.id == *id => break,
                    Ok(Ok(_)) => continue,
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => break,
                    Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => break,
                }
            }
        }
    }
}
