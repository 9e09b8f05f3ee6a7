//! `sshdeck exec ALIAS -- CMD...` and `sshdeck jobs retry ID`: a job followed in the foreground (or,
//! with `--detach`, left to the runner, or with `RUNNER_MODE=inprocess` to a background sshdeck).

use std::io::Write;

use anyhow::Result;
use serde_json::json;
use sshdeck_core::Deck;
use sshdeck_core::capture::Captured;
use sshdeck_core::config::{RunnerMode, Settings};
use sshdeck_core::deck::quick::{Followed, OneJob, submit_and_follow};
use sshdeck_core::deck::{JobInput, Live};
use sshdeck_core::exec::{Input, Pty, Stream};
use sshdeck_core::jobs::{Job, JobId, JobReport, JobSpec, JobStatus};

use crate::cli::{ExecArgs, RetryArgs};
use crate::report::{EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TIMEOUT, parse_duration};

/// What to start: a new command or a retry.
enum Start<'a> {
    Exec { alias: &'a str, spec: JobSpec, stdin: Option<Input>, pty: Option<Pty> },
    Retry(JobId),
}

pub async fn exec(deck: &Deck, args: ExecArgs) -> Result<i32> {
    let command = args.command.join(" ");
    let timeout_ms = timeout_ms(&args)?;
    if args.detach && !deck.uses_runner() {
        let mut child_args = vec!["exec".to_string(), args.alias.clone(), "--detached-child".into()];
        if let Some(t) = &args.timeout {
            child_args.extend(["--timeout".into(), t.clone()]);
        }
        if let Some(u) = &args.target.login {
            child_args.extend(["-l".into(), u.clone()]);
        }
        if let Some(p) = args.target.port {
            child_args.extend(["-p".into(), p.to_string()]);
        }
        if let Some(k) = &args.target.identity {
            child_args.extend(["-i".into(), k.display().to_string()]);
        }
        child_args.push("--".into());
        child_args.extend(args.command.iter().cloned());
        return crate::detach::spawn(&child_args, args.json);
    }
    let spec = JobSpec::Exec { command, timeout_ms, read: false };
    if sshdeck_core::fleet::is_fleet(std::slice::from_ref(&args.alias)) {
        return fan_out(deck, &args.alias, spec, args.json).await;
    }
    let alias = deck.resolve_target(&args.alias, &args.target.flags())?;
    if args.detach {
        return detached(deck.submit(&alias, spec, "cli", None), args.json);
    }
    let stdin = if args.detached_child { None } else { stdin_input(&args) };
    let (resizes, pty) = terminal_for(&args);
    if let Some(tx) = resizes {
        crate::terminal::follow_resizes(tx);
    }
    let _raw = pty.is_some().then(crate::terminal::RawMode::enter);
    run(deck, Start::Exec { alias: &alias, spec, stdin, pty }, args.json, args.detached_child).await
}

/// The remote terminal `-t` asks for: this terminal's type and size, and the sender of its changes.
fn terminal_for(args: &ExecArgs) -> (Option<tokio::sync::mpsc::Sender<(u32, u32)>>, Option<Pty>) {
    if !args.tty {
        return (None, None);
    }
    let (cols, rows) = crate::terminal::size();
    let (tx, pty) = Pty::new(&crate::terminal::term(), cols, rows);
    (Some(tx), Some(pty))
}

/// This process's stdin for the command, as ssh gives it: streamed when it is not a terminal (or with
/// `-t`, the terminal's raw keys) and `-n` was not given. A thread reads it in 256 KiB chunks; at most a few are in flight.
fn stdin_input(args: &ExecArgs) -> Option<Input> {
    use std::io::{IsTerminal, Read};
    if args.no_stdin || (std::io::stdin().is_terminal() && !args.tty) {
        return None;
    }
    let (tx, input) = Input::channel(8);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut buf = vec![0u8; 256 * 1024];
            match stdin.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(buf).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    });
    Some(input)
}

/// `--detach` with the runner: the job is the runner's once accepted; print its id.
fn detached(submitted: sshdeck_core::Result<Job>, json: bool) -> Result<i32> {
    let job = submitted?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", json!({"ok": true, "id": job.id, "status": "running"}))?;
    } else {
        writeln!(out, "{}", job.id)?;
    }
    Ok(0)
}

/// Like ssh, no time limit unless asked (`--timeout 0` too); MCP keeps its own default.
fn timeout_ms(args: &ExecArgs) -> Result<Option<u64>> {
    Ok(match args.timeout.as_deref().map(str::trim) {
        None | Some("0") => Some(0),
        Some(t) => Some(parse_duration(t)?.as_millis() as u64),
    })
}

/// `sshdeck exec group:web -- CMD`: one line per host as it ends, then the outputs grouped (hosts
/// with identical output once). Exit 0 when every host succeeded, 1 otherwise.
async fn fan_out(deck: &Deck, targets: &str, spec: JobSpec, json: bool) -> Result<i32> {
    let aliases = deck.resolve_targets(&[targets.to_string()])?;
    let (parent, children) = deck.submit_fleet(aliases, spec, "cli")?;
    let mut out = std::io::stdout().lock();
    let mut reported = std::collections::HashSet::new();
    let width = children.iter().map(|c| c.targets[0].len()).max().unwrap_or(4);
    let done = loop {
        let parent_now = tokio::select! {
            r = deck.wait(&parent.id, Some(std::time::Duration::from_millis(200))) => r?,
            _ = tokio::signal::ctrl_c() => {
                deck.cancel(&parent.id)?;
                deck.wait(&parent.id, Some(std::time::Duration::from_secs(10))).await?
            }
        };
        if !json {
            for c in deck.fleet_children(&parent_now).iter().filter(|c| c.status.is_terminal()) {
                if reported.insert(c.id.clone()) {
                    let r = c.result.clone().unwrap_or_default();
                    let how = match (r.end.exit_code, r.end.error_code) {
                        (Some(code), _) => format!("exit {code}"),
                        (None, Some(e)) => e,
                        _ => String::new(),
                    };
                    let secs = r.end.duration_ms as f64 / 1000.0;
                    writeln!(out, "{:width$}  {:<10} {how:<18} {secs:.2}s", c.targets[0], c.status.as_str())?;
                }
            }
        }
        if parent_now.status.is_terminal() {
            break parent_now;
        }
    };
    let summary = done.result.as_ref().and_then(|r| r.fleet.clone()).unwrap_or_default();
    if json {
        let hosts: Vec<_> = deck.fleet_children(&done);
        writeln!(out, "{}", serde_json::to_string_pretty(&JobReport::of(&done).with_hosts(&hosts))?)?;
    } else {
        writeln!(
            out,
            "--- {} of {} ok, {} failed, {} timed out, {} unreachable, {} cancelled (job {})",
            summary.ok,
            summary.total,
            summary.failed,
            summary.timed_out,
            summary.unreachable,
            summary.cancelled,
            done.id
        )?;
        for g in &summary.groups {
            writeln!(out, "=== {} ({}):", g.aliases.join(", "), g.status)?;
            if let Some(m) = &g.error_message {
                writeln!(out, "{m}")?;
            }
            write!(out, "{}", g.output)?;
            if !g.output.is_empty() && !g.output.ends_with('\n') {
                writeln!(out)?;
            }
        }
    }
    Ok(if done.status == JobStatus::Completed { 0 } else { 1 })
}

pub async fn retry(deck: &Deck, args: RetryArgs) -> Result<i32> {
    let id = deck.resolve_job_id(&args.id)?;
    if args.detach && deck.uses_runner() {
        return detached(deck.retry(&id, "cli", None), args.json);
    }
    if args.detach {
        let child_args = vec!["jobs".into(), "retry".into(), id.to_string(), "--detached-child".into()];
        return crate::detach::spawn(&child_args, args.json);
    }
    run(deck, Start::Retry(id), args.json, args.detached_child).await
}

async fn run(deck: &Deck, start: Start<'_>, json: bool, detached_child: bool) -> Result<i32> {
    let capture = Live::new(deck.settings().capture_limit);
    let sink: Option<sshdeck_core::OutputSink> = if detached_child {
        None
    } else if json {
        Some(capture.sink())
    } else {
        Some(Box::new(|_step: usize, s: Stream, data: &[u8]| print_output(s, data)))
    };
    // Listen for Ctrl-C before the command can start, so it never meets the default action.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let submitted = match start {
        Start::Exec { alias, spec, stdin, pty } => {
            deck.submit_with(alias, spec, "cli", JobInput { sink, stdin, pty, ..Default::default() })
        }
        Start::Retry(id) => deck.retry(&id, "cli", sink),
    };
    if detached_child {
        crate::detach::report(submitted.as_ref().map(|j| j.id.to_string()).map_err(|e| (e.code(), e.to_string())));
        let job = submitted?;
        deck.wait(&job.id, None).await?;
        return Ok(0);
    }
    let job = submitted?;
    let id = job.id.clone();
    let canceller = deck.clone();
    let ctrl_c = tokio::spawn(async move {
        if interrupt.recv().await.is_some() {
            let _ = canceller.cancel(&id);
        }
    });
    let done = deck.wait(&job.id, None).await?;
    ctrl_c.abort();
    let (stdout, stderr) = capture.first();
    conclude(&done, json, &stdout, &stderr)
}

/// Output of a command followed on the terminal, as it arrives.
fn print_output(s: Stream, data: &[u8]) {
    let _ = match s {
        Stream::Stdout => std::io::stdout().write_all(data).and_then(|_| std::io::stdout().flush()),
        Stream::Stderr => std::io::stderr().write_all(data),
    };
}

/// Ends `exec` for a finished job: with `--json` one object with the captured output; else an error
/// line when it failed. Returns the exit status.
fn conclude(done: &Job, json: bool, stdout: &Captured, stderr: &Captured) -> Result<i32> {
    let code = exit_status(done);
    if json {
        // The job as the MCP tools show it, with its output and whether it succeeded.
        let mut v = JobReport::of(done).with_output(stdout, stderr).into_map();
        v.insert("ok".into(), json!(done.status == JobStatus::Completed));
        writeln!(std::io::stdout(), "{}", serde_json::Value::Object(v))?;
    } else if let Some(r) = &done.result
        && let (Some(code), Some(msg)) = (&r.end.error_code, &r.end.error_message)
    {
        writeln!(std::io::stderr(), "error[{code}]: {msg} (job {})", done.id)?;
    }
    Ok(code)
}

/// `sshdeck exec` on one target through the runner, the fast way: this process opens no job store,
/// pool or log. `None` when it does not apply (fan-out, `--detach`, `RUNNER_MODE=inprocess`) or no
/// runner could be reached (the caller then takes the ordinary path).
pub fn quick(settings: &Settings, args: &ExecArgs) -> Option<Result<i32>> {
    if settings.runner_mode != RunnerMode::Shared
        || args.detach
        || args.detached_child
        || sshdeck_core::fleet::is_fleet(std::slice::from_ref(&args.alias))
    {
        return None;
    }
    let timeout_ms = match timeout_ms(args) {
        Ok(t) => t,
        Err(e) => return Some(Err(e)),
    };
    let spec = JobSpec::Exec { command: args.command.join(" "), timeout_ms, read: false };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return Some(Err(e.into())),
    };
    let launcher = match crate::launcher() {
        Ok(l) => l,
        Err(e) => return Some(Err(e)),
    };
    let limit = settings.capture_limit;
    let capture = Live::new(limit);
    let json = args.json;
    let mut sink = |step: usize, s: Stream, data: &[u8]| {
        if json {
            capture.push(step, s, data);
        } else {
            print_output(s, data);
        }
    };
    let flags = args.target.flags();
    let followed = rt.block_on(async {
        // Listen for Ctrl-C before the command can start, so it never meets the default action.
        let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        let interrupt = async move {
            sigint.recv().await;
        };
        let (resizes, pty) = terminal_for(args);
        if let Some(tx) = resizes {
            crate::terminal::follow_resizes(tx);
        }
        let _raw = pty.is_some().then(crate::terminal::RawMode::enter);
        let job = OneJob { expr: &args.alias, flags: &flags, spec, origin: "cli", stdin: stdin_input(args), pty };
        let r = submit_and_follow(settings, &launcher, job, &mut sink, interrupt).await;
        anyhow::Ok(r)
    });
    let done = match followed {
        Err(e) => return Some(Err(e)),
        Ok(Err(_unreachable)) => return None,
        Ok(Ok(Err(e))) => return Some(Err(e.into())),
        Ok(Ok(Ok(Followed::Ended(job)))) => *job,
        Ok(Ok(Ok(Followed::RunnerLost(job)))) => {
            let settings = settings.clone();
            let lost = rt.block_on(async move {
                let deck = Deck::open(settings, "sshdeck")?;
                let done = deck.wait_after_runner_loss(&job.id).await;
                deck.shutdown().await;
                anyhow::Ok(done?)
            });
            match lost {
                Ok(j) => j,
                Err(e) => return Some(Err(e)),
            }
        }
    };
    let (stdout, stderr) = capture.first();
    Some(conclude(&done, json, &stdout, &stderr))
}
/// The exit status a finished job gives `sshdeck exec`.
fn exit_status(job: &Job) -> i32 {
    let r = job.result.clone().unwrap_or_default();
    match job.status {
        JobStatus::TimedOut => EXIT_TIMEOUT,
        JobStatus::Cancelled => EXIT_INTERRUPTED,
        _ => match (r.end.exit_code, &r.end.exit_signal) {
            (Some(code), _) => i32::try_from(code).unwrap_or(EXIT_ERROR).min(255),
            (None, Some(sig)) => 128 + signal_number(sig),
            (None, None) => EXIT_ERROR,
        },
    }
}

fn signal_number(name: &str) -> i32 {
    match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        _ => 0,
    }
}
