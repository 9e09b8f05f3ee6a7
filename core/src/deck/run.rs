//! Running one accepted job: attempts, output file, outcome.

use std::time::Duration;

use tokio::sync::watch;

use super::{Deck, OutputSink};
use crate::error::Error;
use crate::exec::{ExecOptions, ExecOutput};
use crate::jobs::output::OutputWriter;
use crate::jobs::{Job, JobResult, JobSpec, JobStatus};

/// First backoff before an automatic retry; doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

pub(super) async fn run_job(
    deck: Deck,
    job: Job,
    cancel: watch::Receiver<bool>,
    mut sink: Option<OutputSink>,
) {
    let jobs = deck.jobs().clone();
    let id = job.id.clone();
    let alias = job.targets.first().cloned().unwrap_or_default();
    let mut writer = match OutputWriter::create(jobs.output_path(&id), jobs.limits().output_limit) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(job = %id, error = %e, "job output will not be kept");
            None
        }
    };
    let mut attempt = job.attempt;
    let result = loop {
        if let Err(e) = jobs.start(&id, attempt) {
            tracing::warn!(job = %id, error = %e, "cannot record job start");
        }
        let r = match &job.spec {
            JobSpec::Exec {
                command,
                timeout_ms,
            } => {
                let mut opts: ExecOptions = deck.exec_options();
                if let Some(ms) = timeout_ms {
                    opts.timeout = Some(Duration::from_millis(*ms));
                }
                opts.cancel = Some(cancel.clone());
                let mut on_output = |s, d: &[u8]| {
                    if let Some(w) = writer.as_mut() {
                        w.write(d);
                    }
                    if let Some(sink) = sink.as_mut() {
                        sink(s, d);
                    }
                    jobs.publish_output(&id, s, d);
                };
                deck.exec(&alias, command, opts, &mut on_output).await
            }
        };
        match r {
            Err(e)
                if e.is_before_command()
                    && attempt <= deck.settings().job_auto_retries
                    && !*cancel.borrow() =>
            {
                let backoff = FIRST_BACKOFF * 2u32.pow(attempt - job.attempt);
                tracing::info!(job = %id, attempt, error = %e, ?backoff, "connection failed before the command started; retrying");
                let mut c = cancel.clone();
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = c.wait_for(|v| *v) => break Err(e),
                }
                attempt += 1;
            }
            other => break other,
        }
    };
    let truncated = writer.map(OutputWriter::finish).unwrap_or(false);
    let (status, mut record) = outcome(&result);
    record.truncated |= truncated;
    tracing::info!(job = %id, status = status.as_str(), code = record.error_code.as_deref().unwrap_or(""), "job finished");
    if let Err(e) = jobs.finish(&id, status, record) {
        tracing::error!(job = %id, error = %e, "cannot record job end");
    }
}

/// Status and result record for an exec outcome.
fn outcome(r: &Result<ExecOutput, Error>) -> (JobStatus, JobResult) {
    let from_output = |o: &ExecOutput| JobResult {
        exit_code: o.exit_code,
        exit_signal: o.exit_signal.clone(),
        duration_ms: o.duration.as_millis() as u64,
        stdout_bytes: o.stdout.total_bytes(),
        stderr_bytes: o.stderr.total_bytes(),
        truncated: o.stdout.truncated() || o.stderr.truncated(),
        ..JobResult::default()
    };
    match r {
        Ok(o) => (
            if o.success() {
                JobStatus::Completed
            } else {
                JobStatus::Failed
            },
            from_output(o),
        ),
        Err(e) => {
            let status = match e {
                Error::CommandTimeout { .. } => JobStatus::TimedOut,
                Error::Cancelled { .. } => JobStatus::Cancelled,
                _ => JobStatus::Failed,
            };
            let mut rec = e.partial_output().map(from_output).unwrap_or_default();
            rec.error_code = Some(e.code().to_string());
            rec.error_message = Some(e.to_string());
            (status, rec)
        }
    }
}
