//! `sshdeck put` and `sshdeck get`: a transfer job in the foreground, with a progress line on a
//! terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;
use sshdeck_core::Deck;
use sshdeck_core::jobs::{JobReport, JobSpec, JobStatus};
use sshdeck_core::sftp::{Direction, FileStatus, TransferItem};

use crate::cli::TransferArgs;
use crate::report::{EXIT_ERROR, EXIT_INTERRUPTED};

pub async fn run(deck: &Deck, direction: Direction, args: TransferArgs) -> Result<i32> {
    let (sources, dest) = args.paths.split_at(args.paths.len() - 1);
    let dest = &dest[0];
    let items = sources
        .iter()
        .map(|src| match direction {
            Direction::Upload => TransferItem { local: src.clone(), remote: dest.clone() },
            Direction::Download => TransferItem { local: dest.clone(), remote: src.clone() },
        })
        .collect();
    let spec = JobSpec::Transfer { direction, items, force: args.force, verify: args.verify, source_alias: None };
    let alias = deck.resolve_target(&args.alias, &args.target.flags())?;
    let job = deck.submit(&alias, spec, "cli", None)?;
    let canceller = deck.clone();
    let id = job.id.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = canceller.cancel(&id);
        }
    });
    let show = !args.json && std::io::stderr().is_terminal();
    let started = Instant::now();
    let done = loop {
        let j = deck.wait(&job.id, Some(Duration::from_millis(200))).await?;
        if show && let Some(p) = deck.transfer_progress(&job.id) {
            let bytes = p.bytes.load(Ordering::Relaxed);
            let rate = bytes as f64 / started.elapsed().as_secs_f64().max(0.001) / 1e6;
            eprint!(
                "\r{}/{} files  {:.1}/{:.1} MB  {rate:.1} MB/s   ",
                p.files_done.load(Ordering::Relaxed),
                p.files_total.load(Ordering::Relaxed),
                bytes as f64 / 1e6,
                p.total_bytes.load(Ordering::Relaxed) as f64 / 1e6
            );
        }
        if j.status.is_terminal() {
            break j;
        }
    };
    ctrl_c.abort();
    if show {
        eprintln!();
    }
    let result = done.result.clone().unwrap_or_default();
    let report = result.transfer.clone().unwrap_or_default();
    let mut out = std::io::stdout().lock();
    if args.json {
        // The job as the MCP tools show it (its transfer report included), and whether it succeeded.
        let mut v = JobReport::of(&done).into_map();
        v.insert("ok".into(), json!(done.status == JobStatus::Completed));
        writeln!(out, "{}", serde_json::Value::Object(v))?;
    } else {
        for f in report.files.iter().filter(|f| f.status != FileStatus::Ok) {
            let what = if f.status == FileStatus::Failed { "failed " } else { "skipped" };
            writeln!(
                out,
                "{what} {} -> {}: {}{}",
                f.from,
                f.to,
                f.code.as_deref().map(|c| format!("[{c}] ")).unwrap_or_default(),
                f.reason.as_deref().unwrap_or("")
            )?;
        }
        writeln!(
            out,
            "{} ok, {} skipped, {} failed, {} bytes in {:.2}s (job {})",
            report.ok,
            report.skipped,
            report.failed,
            report.bytes,
            result.end.duration_ms as f64 / 1000.0,
            done.id
        )?;
        if report.files.is_empty()
            && let (Some(code), Some(msg)) = (&result.end.error_code, &result.end.error_message)
        {
            writeln!(std::io::stderr(), "error[{code}]: {msg}")?;
        }
    }
    Ok(match done.status {
        JobStatus::Completed => 0,
        JobStatus::Cancelled => EXIT_INTERRUPTED,
        _ if report.ok + report.skipped + report.failed > 0 => 1,
        _ => EXIT_ERROR,
    })
}
