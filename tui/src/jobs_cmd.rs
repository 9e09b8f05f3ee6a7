//! `sshdeck jobs …`.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use sshdeck_core::Deck;
use sshdeck_core::jobs::{Filter, Job, JobKind, JobReport, JobStatus, format_time};

use crate::cli::{JobsCommand, ListArgs};

/// Bytes of output `jobs show` prints.
const SHOW_TAIL_BYTES: u64 = 4096;

pub async fn run(deck: &Deck, cmd: JobsCommand) -> Result<i32> {
    if let JobsCommand::Retry(args) = cmd {
        // Not under the stdout lock below: the job's output is printed from another thread.
        return crate::exec_cmd::retry(deck, args).await;
    }
    let mut out = std::io::stdout().lock();
    match cmd {
        JobsCommand::List(args) => list(deck, args, &mut out)?,
        JobsCommand::Show { id, json } => {
            let job = deck.job_by_text(&id)?;
            let tail = deck.job_output_tail(&job.id, SHOW_TAIL_BYTES);
            let tail = String::from_utf8_lossy(&tail);
            // A fan-out: every host's job, with how to read its output.
            let hosts = if job.targets.len() > 1 { deck.fleet_children(&job) } else { Vec::new() };
            if json {
                // The job as the MCP tools show it, the end of its output, and a fan-out's hosts.
                let mut v = JobReport::of(&job).with_hosts(&hosts).into_map();
                v.insert("outputTail".into(), json!(tail));
                writeln!(out, "{}", serde_json::Value::Object(v))?;
            } else {
                show(&job, &tail, &mut out)?;
                show_hosts(&hosts, &mut out)?;
            }
        }
        JobsCommand::Logs { id, follow } => {
            let id = deck.resolve_job_id(&id)?;
            deck.job(&id)?;
            let mut follower = deck.follow_output(&id, 0);
            loop {
                let chunk = follower.poll();
                out.write_all(&chunk)?;
                out.flush()?;
                if !follow || (chunk.is_empty() && deck.job(&id)?.status.is_terminal()) {
                    // One last read: the job may have written between the poll and the status check.
                    out.write_all(&follower.poll())?;
                    break;
                }
                if chunk.is_empty() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        JobsCommand::Cancel { id, json } => {
            let job = deck.cancel(&deck.resolve_job_id(&id)?)?;
            let already = job.status.is_terminal();
            if json {
                writeln!(
                    out,
                    "{}",
                    json!({"ok": true, "id": job.id, "status": job.status, "already_finished": already})
                )?;
            } else if already {
                writeln!(out, "job {} already finished ({})", job.id, job.status.as_str())?;
            } else {
                writeln!(
                    out,
                    "cancel requested for job {} (run by {} pid {})",
                    job.id, job.owner.program, job.owner.pid
                )?;
            }
        }
        JobsCommand::Retry(_) => unreachable!("handled above"),
        JobsCommand::Stats { json } => {
            let s = deck.job_stats()?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&s)?)?;
            } else {
                writeln!(out, "jobs: {}", s.total)?;
                for (status, n) in &s.by_status {
                    writeln!(out, "  {status:<10} {n}")?;
                }
                for (kind, n) in &s.by_kind {
                    writeln!(out, "  kind {kind:<6} {n}")?;
                }
                writeln!(out, "average duration: {:.0} ms", s.avg_duration_ms)?;
                writeln!(out, "success rate: {:.1}%", s.success_rate * 100.0)?;
            }
        }
    }
    Ok(0)
}

fn list(deck: &Deck, a: ListArgs, out: &mut impl Write) -> Result<()> {
    let filter = Filter {
        statuses: a.status.iter().map(|s| JobStatus::parse(s)).collect::<Result<_, _>>()?,
        alias: a.alias,
        kind: a.kind.as_deref().map(JobKind::parse).transpose()?,
        offset: a.offset,
        limit: a.limit,
        top_level: !a.all,
        ..Filter::default()
    };
    let page = deck.jobs_page(&filter)?;
    if a.json {
        let jobs: Vec<JobReport> = page.jobs.iter().map(JobReport::of).collect();
        let v = json!({"total": page.total, "offset": page.offset, "jobs": jobs});
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    if page.jobs.is_empty() {
        writeln!(out, "no jobs")?;
        return Ok(());
    }
    // Columns as wide as their longest value, so long aliases keep the rest aligned.
    let target = |j: &Job| {
        let t = j.targets.join(",");
        if t.chars().count() > 40 {
            format!("{}… ({} hosts)", t.chars().take(24).collect::<String>(), j.targets.len())
        } else {
            t
        }
    };
    let error = |j: &Job| j.result.as_ref().and_then(|r| r.end.error_code.clone()).unwrap_or_default();
    let exit = |j: &Job| j.result.as_ref().and_then(|r| r.end.exit_code).map_or_else(String::new, |c| c.to_string());
    let aw = page.jobs.iter().map(|j| target(j).chars().count()).max().unwrap_or(0).max(5);
    let ew = page.jobs.iter().map(|j| error(j).len()).max().unwrap_or(0).max(5);
    writeln!(
        out,
        "{:<13}  {:<9}  {:<aw$}  {:<20}  {:>9}  {:>4}  {:<ew$}  COMMAND",
        "ID", "STATUS", "ALIAS", "CREATED", "DURATION", "EXIT", "ERROR"
    )?;
    for j in &page.jobs {
        let cmd: String = j.spec.summary().replace('\n', " ").chars().take(60).collect();
        writeln!(
            out,
            "{:<13}  {:<9}  {:<aw$}  {:<20}  {:>9}  {:>4}  {:<ew$}  {cmd}",
            j.id,
            j.status.as_str(),
            target(j),
            format_time(j.created_at),
            duration(j),
            exit(j),
            error(j),
        )?;
    }
    if page.total > page.offset + page.jobs.len() {
        writeln!(out, "({} of {}; --offset {} for more)", page.jobs.len(), page.total, page.offset + page.jobs.len())?;
    }
    Ok(())
}

fn duration(j: &Job) -> String {
    match (&j.result, j.started_at) {
        (Some(r), _) if j.status != JobStatus::Crashed => {
            format!("{:.2}s", r.end.duration_ms as f64 / 1000.0)
        }
        (None, Some(start)) => format!("{:.0}s+", sshdeck_core::jobs::now_ms().saturating_sub(start) as f64 / 1000.0),
        _ => "-".into(),
    }
}

/// The hosts of a fan-out: status, exit code, error, and the command that shows each one's output.
fn show_hosts(hosts: &[Job], out: &mut impl Write) -> Result<()> {
    if hosts.is_empty() {
        return Ok(());
    }
    let w = hosts.iter().map(|h| h.targets[0].len()).max().unwrap_or(4).max(4);
    writeln!(
        out,
        "\nhosts ({}):\n{:<w$}  {:<9}  {:>4}  {:<20}  OUTPUT",
        hosts.len(),
        "HOST",
        "STATUS",
        "EXIT",
        "ERROR"
    )?;
    for h in hosts {
        let r = h.result.as_ref();
        let exit = r.and_then(|r| r.end.exit_code).map_or_else(|| "-".to_string(), |c| c.to_string());
        let error = r.and_then(|r| r.end.error_code.clone()).unwrap_or_default();
        writeln!(
            out,
            "{:<w$}  {:<9}  {:>4}  {:<20}  sshdeck jobs logs {}",
            h.targets[0],
            h.status.as_str(),
            exit,
            error,
            h.id
        )?;
    }
    Ok(())
}

fn show(j: &Job, tail: &str, out: &mut impl Write) -> Result<()> {
    writeln!(out, "job       {}", j.id)?;
    writeln!(out, "status    {}{}", j.status.as_str(), if j.cancel_requested { " (cancel requested)" } else { "" })?;
    writeln!(out, "kind      {}", j.kind.as_str())?;
    writeln!(out, "target    {}", j.targets.join(", "))?;
    writeln!(out, "command   {}", j.spec.summary())?;
    writeln!(
        out,
        "created   {} by {} (pid {}, {})",
        format_time(j.created_at),
        j.owner.program,
        j.owner.pid,
        j.origin
    )?;
    if let Some(t) = j.started_at {
        writeln!(out, "started   {}", format_time(t))?;
    }
    if let Some(t) = j.finished_at {
        writeln!(out, "finished  {}", format_time(t))?;
    }
    writeln!(out, "attempt   {}", j.attempt)?;
    if let Some(r) = &j.retry_of {
        writeln!(out, "retry of  {r}")?;
    }
    if let Some(r) = &j.retried_by {
        writeln!(out, "retried   as {r}")?;
    }
    if let Some(r) = &j.result {
        if let Some(c) = r.end.exit_code {
            writeln!(out, "exit code {c}")?;
        }
        if let Some(s) = &r.end.exit_signal {
            writeln!(out, "signal    {s}")?;
        }
        if let (Some(c), Some(m)) = (&r.end.error_code, &r.end.error_message) {
            writeln!(out, "error     {c}: {m}")?;
        }
        writeln!(out, "duration  {} ms", r.end.duration_ms)?;
        writeln!(
            out,
            "output    {} bytes stdout, {} bytes stderr{}",
            r.end.stdout_bytes,
            r.end.stderr_bytes,
            if r.truncated { " (cut)" } else { "" }
        )?;
    }
    if !tail.is_empty() {
        writeln!(out, "--- output (last {SHOW_TAIL_BYTES} bytes) ---")?;
        write!(out, "{tail}")?;
        if !tail.ends_with('\n') {
            writeln!(out)?;
        }
    }
    Ok(())
}
