//! Running one accepted job: its steps (one for `exec`), attempts, output file, outcome.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::{Deck, OutputSink};
use crate::error::Error;
use crate::exec::{ExecOptions, ExecOutput};
use crate::interact::{Interaction, Rule};
use crate::jobs::output::OutputWriter;
use crate::jobs::{Ending, Job, JobResult, JobSpec, JobStatus, StepResult};
use crate::secret::Secret;

/// First backoff before an automatic retry; doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// What one step is: command, timeout, whether a failure stops the job, prompts to answer.
struct StepPlan {
    command: String,
    timeout_ms: Option<u64>,
    continue_on_error: bool,
    interaction: Option<Arc<Mutex<Interaction>>>,
}

fn plan(spec: &JobSpec, answers: Vec<Secret>, default_interactive_ms: u64) -> Vec<StepPlan> {
    match spec {
        JobSpec::Exec { command, timeout_ms, .. } => {
            vec![StepPlan {
                command: command.clone(),
                timeout_ms: *timeout_ms,
                continue_on_error: false,
                interaction: None,
            }]
        }
        JobSpec::Interactive { command, timeout_ms, prompts, auto_respond } => {
            // Patterns were checked before the job was accepted.
            let rules = prompts.iter().zip(answers).filter_map(|(p, a)| Rule::new(&p.pattern, a, p.max).ok()).collect();
            vec![StepPlan {
                command: command.clone(),
                timeout_ms: Some(timeout_ms.unwrap_or(default_interactive_ms)),
                continue_on_error: false,
                interaction: Some(Arc::new(Mutex::new(Interaction::new(rules, *auto_respond)))),
            }]
        }
        // Never submitted: refused by the checks.
        JobSpec::Transfer { .. } | JobSpec::File { .. } | JobSpec::Shell { .. } => Vec::new(),
        JobSpec::Sequence { steps, continue_on_error, .. } => steps
            .iter()
            .map(|s| StepPlan {
                command: s.command.clone(),
                timeout_ms: s.timeout_ms,
                continue_on_error: s.continue_on_error.unwrap_or(*continue_on_error),
                interaction: None,
            })
            .collect(),
    }
}

pub(super) async fn run_job(deck: Deck, job: Job, cancel: watch::Receiver<bool>, input: super::JobInput) {
    let super::JobInput { mut sink, answers, stdin, pty, .. } = input;
    if let JobSpec::Transfer { .. } = &job.spec {
        return run_transfer(deck, job, cancel, sink).await;
    }
    if let JobSpec::Shell { .. } = &job.spec {
        return super::shells::run_shell(deck, job, cancel, sink).await;
    }
    let jobs = deck.jobs().clone();
    let id = job.id.clone();
    let alias = job.targets.first().cloned().unwrap_or_default();
    let steps = plan(&job.spec, answers, deck.settings().interactive_cmd_timeout.as_millis() as u64);
    let is_sequence = matches!(job.spec, JobSpec::Sequence { .. });
    // A sequence's own limit covers every step; `0` means none.
    let sequence_limit = match &job.spec {
        JobSpec::Sequence { timeout_ms: Some(ms), .. } if *ms > 0 => Some(Duration::from_millis(*ms)),
        _ => None,
    };
    // A terminal session's output echoes what is typed (passwords at a prompt that echoes, too):
    // it is shown to the user and never written down.
    let keep_output = pty.is_none();
    let mut writer = match OutputWriter::create(jobs.output_path(&id), jobs.limits().output_limit) {
        Ok(w) if keep_output => Some(w),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(job = %id, error = %e, "job output will not be kept");
            None
        }
    };
    let mut attempt = job.attempt;
    let mut outcomes: Vec<Outcome> = Vec::new();
    // A step's timeout covers its automatic retries too (connects, backoffs, attempts).
    let first_try = tokio::time::Instant::now();
    'attempts: loop {
        if let Err(e) = jobs.start(&id, attempt) {
            tracing::warn!(job = %id, error = %e, "cannot record job start");
        }
        outcomes.clear();
        let deadline = sequence_limit.map(|d| tokio::time::Instant::now() + d);
        for (index, step) in steps.iter().enumerate() {
            if is_sequence && let Some(w) = writer.as_mut() {
                w.write(format!("[step {}/{}] $ {}\n", index + 1, steps.len(), step.command).as_bytes());
            }
            let mut opts: ExecOptions = deck.exec_options();
            if let Some(ms) = step.timeout_ms {
                opts.timeout = (ms > 0).then(|| Duration::from_millis(ms));
            }
            if let Some(deadline) = deadline {
                let left =
                    deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_millis(1));
                opts.timeout = Some(opts.timeout.map_or(left, |t| t.min(left)));
            }
            if index == 0 && attempt > job.attempt {
                opts.timeout =
                    opts.timeout.map(|t| t.saturating_sub(first_try.elapsed()).max(Duration::from_millis(1)));
            }
            opts.cancel = Some(cancel.clone());
            opts.interaction = step.interaction.clone();
            if index == 0 {
                opts.input = stdin.clone();
                opts.pty = pty.clone();
            }
            let mut on_output = |s, d: &[u8]| {
                if let Some(w) = writer.as_mut() {
                    w.write(d);
                }
                if let Some(sink) = sink.as_mut() {
                    sink(index, s, d);
                }
            };
            let r = deck.exec(&alias, &step.command, opts, &mut on_output).await;
            // Nothing ran yet: a connection failure may be retried automatically, with backoff.
            if index == 0
                && let Err(e) = &r
                && e.is_before_command()
                && attempt <= deck.settings().job_auto_retries
                && !*cancel.borrow()
            {
                let mut backoff = FIRST_BACKOFF * 2u32.pow(attempt - job.attempt);
                if let Some(limit) = step_timeout(&deck, step) {
                    // No retry that would start after the step's time is up.
                    let left = limit.saturating_sub(first_try.elapsed());
                    if left <= backoff {
                        outcomes.push(Outcome { command: step.command.clone(), continue_on_error: false, result: r });
                        break 'attempts;
                    }
                    backoff = backoff.min(left);
                }
                tracing::info!(job = %id, attempt, error = %e, ?backoff, "connection failed before the command started; retrying");
                if !pause_unless_cancelled(backoff, &cancel).await {
                    attempt += 1;
                    continue 'attempts;
                }
            }
            let stop = match &r {
                Ok(o) => !o.success() && !step.continue_on_error,
                Err(Error::Cancelled { .. }) => true,
                Err(_) => !step.continue_on_error,
            };
            outcomes.push(Outcome {
                command: step.command.clone(),
                continue_on_error: step.continue_on_error,
                result: r,
            });
            if stop || *cancel.borrow() {
                break;
            }
        }
        break;
    }
    let truncated = writer.map(OutputWriter::finish).unwrap_or(false);
    let (status, mut record) = outcome(&outcomes, is_sequence);
    record.truncated |= truncated;
    tracing::info!(job = %id, status = status.as_str(), code = record.end.error_code.as_deref().unwrap_or(""), "job finished");
    jobs.finish_surely(&id, status, record).await;
}

/// Waits `pause` before an automatic retry; true when the job was cancelled meanwhile (no retry then).
/// Both retry loops (commands and transfers) pause through here.
async fn pause_unless_cancelled(pause: Duration, cancel: &watch::Receiver<bool>) -> bool {
    let mut c = cancel.clone();
    tokio::select! {
        _ = tokio::time::sleep(pause) => false,
        _ = c.wait_for(|v| *v) => true,
    }
}

/// The time limit of a step: its own, else the default command timeout (`0`: none).
fn step_timeout(deck: &Deck, step: &StepPlan) -> Option<Duration> {
    match step.timeout_ms {
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms)),
        None => deck.exec_options().timeout,
    }
}

/// How one step ended, and whether its failure was allowed to go on.
struct Outcome {
    command: String,
    continue_on_error: bool,
    result: Result<ExecOutput, Error>,
}

/// What a command printed, whether it finished or was stopped (timeout, cancel, prompt).
fn output_of(r: &Result<ExecOutput, Error>) -> Option<&ExecOutput> {
    match r {
        Ok(o) => Some(o),
        Err(e) => e.partial_output(),
    }
}

fn step_result(command: &str, r: &Result<ExecOutput, Error>) -> StepResult {
    let o = output_of(r);
    let (code, message) = match r {
        Err(e) => (Some(e.code().to_string()), Some(e.to_string())),
        Ok(_) => (None, None),
    };
    StepResult {
        command: command.to_string(),
        end: Ending {
            exit_code: o.and_then(|o| o.exit_code),
            exit_signal: o.and_then(|o| o.exit_signal.clone()),
            duration_ms: o.map_or(0, |o| o.duration.as_millis() as u64),
            error_code: code,
            error_message: message,
            stdout_bytes: o.map_or(0, |o| o.stdout.total_bytes()),
            stderr_bytes: o.map_or(0, |o| o.stderr.total_bytes()),
        },
    }
}

fn succeeded(r: &Result<ExecOutput, Error>) -> bool {
    r.as_ref().is_ok_and(ExecOutput::success)
}

/// Status and result record for the steps that ran. The job completed if every step succeeded or
/// failed with `continue_on_error` (a cancel always counts); otherwise the first failing step that
/// was not allowed to fail decides (a timeout makes it `timed_out`, a cancel `cancelled`).
fn outcome(outcomes: &[Outcome], is_sequence: bool) -> (JobStatus, JobResult) {
    let steps: Vec<StepResult> = outcomes.iter().map(|o| step_result(&o.command, &o.result)).collect();
    let first_failure = outcomes.iter().position(|o| {
        !succeeded(&o.result) && (!o.continue_on_error || matches!(o.result, Err(Error::Cancelled { .. })))
    });
    let decisive = first_failure.unwrap_or(outcomes.len().saturating_sub(1));
    let status = match outcomes.get(decisive).map(|o| &o.result) {
        None => JobStatus::Failed,
        Some(Ok(o)) if o.success() => JobStatus::Completed,
        Some(_) if first_failure.is_none() => JobStatus::Completed,
        Some(Ok(_)) => JobStatus::Failed,
        Some(Err(Error::CommandTimeout { .. })) => JobStatus::TimedOut,
        Some(Err(Error::Cancelled { .. })) => JobStatus::Cancelled,
        Some(Err(_)) => JobStatus::Failed,
    };
    let mut d = steps.get(decisive).map(|s| s.end.clone()).unwrap_or_default();
    if status == JobStatus::Completed {
        // Failures that were allowed stay in their steps, not on the job.
        (d.error_code, d.error_message) = (None, None);
    }
    let record = JobResult {
        end: Ending {
            duration_ms: steps.iter().map(|s| s.end.duration_ms).sum(),
            stdout_bytes: steps.iter().map(|s| s.end.stdout_bytes).sum(),
            stderr_bytes: steps.iter().map(|s| s.end.stderr_bytes).sum(),
            ..d
        },
        truncated: outcomes
            .iter()
            .filter_map(|o| output_of(&o.result))
            .any(|o| o.stdout.truncated() || o.stderr.truncated()),
        steps: if is_sequence { steps } else { Vec::new() },
        transfer: None,
        fleet: None,
    };
    (status, record)
}

/// A transfer job: one attempt (retried automatically only when nothing was moved because the
/// connection failed), per-file lines in the output file, the report in the result.
async fn run_transfer(deck: Deck, job: Job, cancel: watch::Receiver<bool>, mut sink: Option<OutputSink>) {
    let JobSpec::Transfer { direction, items, force, verify, source_alias } = &job.spec else {
        unreachable!("checked")
    };
    let jobs = deck.jobs().clone();
    let id = job.id.clone();
    let alias = job.targets.first().cloned().unwrap_or_default();
    let progress = deck.progress_for(&id);
    let mut writer = OutputWriter::create(jobs.output_path(&id), jobs.limits().output_limit).ok();
    let opts = crate::sftp::TransferOptions { force: *force, verify: *verify, ..Default::default() };
    let started = std::time::Instant::now();
    let mut attempt = job.attempt;
    let result = loop {
        if let Err(e) = jobs.start(&id, attempt) {
            tracing::warn!(job = %id, error = %e, "cannot record job start");
        }
        let mut log = |line: &str| {
            if let Some(w) = writer.as_mut() {
                w.write(line.as_bytes());
            }
            if let Some(s) = sink.as_mut() {
                s(0, crate::exec::Stream::Stdout, line.as_bytes());
            }
        };
        let request = crate::sftp::Request { direction: *direction, items, options: &opts };
        let r = match source_alias {
            Some(src) => crate::sftp::copy_between(&deck, (src, &alias), request, &progress, &cancel, &mut log).await,
            None => crate::sftp::transfer(&deck, &alias, request, &progress, &cancel, &mut log).await,
        };
        match &r {
            Err(e) if e.is_before_command() && attempt <= deck.settings().job_auto_retries && !*cancel.borrow() => {
                if pause_unless_cancelled(FIRST_BACKOFF * 2u32.pow(attempt - job.attempt), &cancel).await {
                    break r;
                }
                attempt += 1;
            }
            _ => break r,
        }
    };
    let truncated = writer.map(OutputWriter::finish).unwrap_or(false);
    let duration_ms = started.elapsed().as_millis() as u64;
    let (status, record) = match result {
        Ok(report) => {
            let status = if *cancel.borrow() {
                JobStatus::Cancelled
            } else if report.failed > 0 {
                JobStatus::Failed
            } else {
                JobStatus::Completed
            };
            let (error_code, error_message) =
                match report.files.iter().find(|f| f.status == crate::sftp::FileStatus::Failed) {
                    Some(f) => (
                        Some(f.code.clone().unwrap_or_else(|| "TRANSFER_FAILED".into())),
                        Some(format!(
                            "{} of {} files failed; first: {}: {}",
                            report.failed,
                            report.ok + report.skipped + report.failed,
                            f.from,
                            f.reason.clone().unwrap_or_default()
                        )),
                    ),
                    None => (None, None),
                };
            let record = JobResult {
                end: Ending { duration_ms, error_code, error_message, stdout_bytes: report.bytes, ..Ending::default() },
                truncated,
                transfer: Some(report),
                ..JobResult::default()
            };
            (status, record)
        }
        Err(e) => (
            if *cancel.borrow() { JobStatus::Cancelled } else { JobStatus::Failed },
            JobResult {
                end: Ending { duration_ms, ..Ending::error(e.code(), e.to_string()) },
                truncated,
                ..JobResult::default()
            },
        ),
    };
    deck.forget_progress(&id);
    tracing::info!(job = %id, status = status.as_str(), "transfer finished");
    jobs.finish_surely(&id, status, record).await;
}
