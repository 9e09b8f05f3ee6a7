//! task_retry_all and task_purge: Node's queue maintenance — retry every crashed or failed job at
//! once, and remove finished jobs from the history (a dry run first by default; never a running job).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};
use serde::Deserialize;
use serde_json::json;
use sshdeck_core::Error;
use sshdeck_core::jobs::{Job, JobStatus};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryAllParams {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    limit: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PurgeParams {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    older_than_days: Option<f64>,
    #[serde(default, rename = "dry_run")]
    dry_run: Option<bool>,
}

/// One job in a listing's text.
fn line(j: &Job) -> String {
    format!("\n{} {} {} {}", j.id, j.status.as_str(), j.targets.join(","), j.spec.summary())
}

fn statuses(name: &str, allowed: &[&str]) -> Result<Vec<JobStatus>, Error> {
    if !allowed.contains(&name) {
        return Err(Error::InvalidArgument(format!("status {name:?}: expected one of {}", allowed.join(", "))));
    }
    Ok(match name {
        "crashed" => vec![JobStatus::Crashed],
        "failed" => vec![JobStatus::Failed],
        "completed" => vec![JobStatus::Completed],
        "both" => vec![JobStatus::Crashed, JobStatus::Failed],
        _ => {
            vec![JobStatus::Completed, JobStatus::Failed, JobStatus::TimedOut, JobStatus::Cancelled, JobStatus::Crashed]
        }
    })
}

#[tool_router(router = queue_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Retry every crashed (or failed, or both) job not retried yet, newest first, up to limit (20); dry_run lists them.",
        input_schema = schema::retry_all_in(),
        output_schema = schema::retry_all_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    async fn task_retry_all(&self, Parameters(p): Parameters<RetryAllParams>) -> Result<CallToolResult, ErrorData> {
        let chosen = statuses(p.status.as_deref().unwrap_or("crashed"), &["crashed", "failed", "both"])
            .and_then(|s| self.deck.retryable(&s, p.limit.map_or(20, |l| l.max(1.0) as usize)));
        let jobs = match chosen {
            Ok(j) => j,
            Err(e) => return Ok(render::error(&e)),
        };
        if p.dry_run {
            let rows: Vec<_> = jobs.iter().map(|j| json!({"id": j.id, "status": j.status, "alias": j.targets.join(","), "command": j.spec.summary()})).collect();
            let mut text = format!("dry run: {} jobs would be retried", jobs.len());
            for j in &jobs {
                text.push_str(&line(j));
            }
            return Ok(render::ok(json!({"dryRun": true, "total": jobs.len(), "jobs": rows}), text));
        }
        let done = self.deck.retry_each(jobs, &crate::tokens::origin());
        let mut text = String::new();
        let rows: Vec<_> = done
            .iter()
            .map(|r| match &r.outcome {
                Ok(new) => {
                    text.push_str(&format!("\n{} -> {}", r.job.id, new.id));
                    json!({"id": r.job.id, "newId": new.id})
                }
                Err(e) => {
                    text.push_str(&format!("\n{}: error[{}] {e}", r.job.id, e.code()));
                    json!({"id": r.job.id, "error": {"code": e.code(), "message": e.to_string()}})
                }
            })
            .collect();
        let retried = done.iter().filter(|r| r.outcome.is_ok()).count();
        let head =
            format!("{retried} of {} jobs retried (running in the background; task_wait follows one)", done.len());
        Ok(render::ok(json!({"dryRun": false, "total": done.len(), "retried": retried, "jobs": rows}), head + &text))
    }

    #[tool(
        description = "Remove finished jobs (crashed by default; failed, completed or all_terminal) older than olderThanDays from the history, with their output. dry_run (default true) lists them. Never a running job.",
        input_schema = schema::purge_in(),
        output_schema = schema::purge_out(),
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = false)
    )]
    async fn task_purge(&self, Parameters(p): Parameters<PurgeParams>) -> Result<CallToolResult, ErrorData> {
        let dry_run = p.dry_run.unwrap_or(true);
        let days = p.older_than_days.unwrap_or(0.0).max(0.0);
        let older_than_ms = (days * 86_400_000.0) as u64;
        let purged =
            statuses(p.status.as_deref().unwrap_or("crashed"), &["crashed", "failed", "completed", "all_terminal"])
                .and_then(|s| self.deck.purge_jobs(&s, older_than_ms, dry_run));
        Ok(match purged {
            Ok(jobs) => {
                let verb = if dry_run { "would be removed (dry_run: false removes them)" } else { "removed" };
                let mut text = format!("{} jobs {verb}", jobs.len());
                for j in jobs.iter().take(50) {
                    text.push_str(&line(j));
                }
                let ids: Vec<_> = jobs.iter().map(|j| j.id.to_string()).collect();
                render::ok(json!({"dryRun": dry_run, "total": jobs.len(), "ids": ids}), text)
            }
            Err(e) => render::error(&e),
        })
    }
}
