//! task_queue, task_status, task_wait, task_cancel, task_history, task_retry, queue_stats.

use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use sshdeck_core::jobs::{Filter, Job, JobStatus};

use crate::render;
use crate::schema;
use crate::server::Sshdeck;

/// Bytes of output task_status shows.
const STATUS_TAIL: u64 = 2048;
/// Longest task_wait.
const MAX_WAIT_S: u64 = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdParams {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusParams {
    id: String,
    /// Page through the job's output from this byte.
    #[serde(default)]
    output_offset: Option<u64>,
    /// Bytes of output in that page (65536; at most 1 MiB).
    #[serde(default)]
    output_bytes: Option<u64>,
}

/// Default and largest page of output task_status returns.
const OUTPUT_PAGE: u64 = 64 << 10;
const MAX_OUTPUT_PAGE: u64 = 1 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitParams {
    id: String,
    #[serde(default)]
    timeout: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    compact: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    compact: Option<bool>,
}

/// Rows of a listing (Node's default: 100).
const LIST_LIMIT: usize = 100;

#[tool_router(router = jobs_router, vis = "pub")]
impl Sshdeck {
    #[tool(
        description = "Jobs, newest first: every job, or those of one status (partial: fan-outs where some hosts failed).",
        input_schema = schema::queue_in(),
        output_schema = schema::jobs_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn task_queue(&self, Parameters(p): Parameters<QueueParams>) -> Result<CallToolResult, ErrorData> {
        let limit = p.limit.unwrap_or(LIST_LIMIT).clamp(1, 500);
        let compact = p.compact.unwrap_or(true);
        if p.status.as_deref() == Some("partial") {
            return Ok(self.partial_fanouts(limit, compact));
        }
        let statuses = match p.status.as_deref().map(JobStatus::parse).transpose() {
            Ok(s) => s.into_iter().collect(),
            Err(e) => return Ok(render::error(&e)),
        };
        Ok(self.page(Filter { statuses, limit, ..Default::default() }, compact))
    }

    #[tool(
        description = "One job: status, result, end of its output; output_offset pages through the whole output.",
        input_schema = schema::status_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn task_status(&self, Parameters(p): Parameters<StatusParams>) -> Result<CallToolResult, ErrorData> {
        let job = match self.job_by_id(&p.id) {
            Ok(job) => job,
            Err(e) => return Ok(render::error(&e)),
        };
        if p.output_offset.is_none() && p.output_bytes.is_none() {
            return Ok(self.answer(&job, true));
        }
        let offset = p.output_offset.unwrap_or(0);
        let want = p.output_bytes.unwrap_or(OUTPUT_PAGE).clamp(1, MAX_OUTPUT_PAGE);
        let (bytes, total) = self.deck.job_output(&job.id, offset, want);
        let mut m = render::job(&job, None);
        let next = offset + bytes.len() as u64;
        m.insert("output".into(), json!(String::from_utf8_lossy(&bytes)));
        m.insert("outputOffset".into(), json!(offset));
        m.insert("outputTotal".into(), json!(total));
        if next < total {
            m.insert("nextOffset".into(), json!(next));
        }
        if job.result.as_ref().is_some_and(|r| r.truncated) {
            m.insert(
                "message".into(),
                json!("the output was cut at JOB_OUTPUT_LIMIT_BYTES: what follows the marker was not kept"),
            );
        }
        let mut text = render::job_text(&m);
        text.push_str(&format!(
            "\n--- output bytes {offset}..{next} of {total} ---\n{}",
            String::from_utf8_lossy(&bytes)
        ));
        Ok(render::ok(Value::Object(m), text))
    }

    #[tool(
        description = "Wait for a job to finish (bounded), then return it.",
        input_schema = schema::wait_in(),
        output_schema = schema::job_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn task_wait(
        &self,
        Parameters(p): Parameters<WaitParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let id = match self.deck.resolve_job_id(&p.id) {
            Ok(id) => id,
            Err(e) => return Ok(render::error(&e)),
        };
        let secs = p.timeout.unwrap_or(self.deck.settings().sync_timeout.as_secs()).min(MAX_WAIT_S);
        let waited = tokio::select! {
            r = self.deck.wait(&id, Some(Duration::from_secs(secs))) => r,
            _ = ctx.ct.cancelled() => self.deck.job(&id),
        };
        Ok(match waited {
            Ok(job) => self.answer(&job, true),
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Cancel a job; its remote command is killed.",
        input_schema = schema::id_in(),
        output_schema = schema::job_out(),
        annotations(destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn task_cancel(&self, Parameters(p): Parameters<IdParams>) -> Result<CallToolResult, ErrorData> {
        let id = match self.deck.resolve_job_id(&p.id) {
            Ok(id) => id,
            Err(e) => return Ok(render::error(&e)),
        };
        if let Err(e) = self.deck.cancel(&id) {
            return Ok(render::error(&e));
        }
        // The owner kills the command within a second; report the outcome when it is known.
        Ok(match self.deck.wait(&id, Some(Duration::from_secs(3))).await {
            Ok(job) => {
                let mut m = render::job(&job, None);
                if job.status.is_terminal() && job.status != JobStatus::Cancelled {
                    m.insert("message".into(), json!(format!("job had already finished ({})", job.status.as_str())));
                }
                render::ok(Value::Object(m.clone()), render::job_text(&m))
            }
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Past jobs, newest first.",
        input_schema = schema::history_in(),
        output_schema = schema::jobs_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn task_history(&self, Parameters(p): Parameters<HistoryParams>) -> Result<CallToolResult, ErrorData> {
        let filter = Filter {
            alias: p.alias,
            limit: p.limit.unwrap_or(LIST_LIMIT).clamp(1, 500),
            offset: p.offset.unwrap_or(0),
            ..Default::default()
        };
        Ok(self.page(filter, p.compact.unwrap_or(true)))
    }

    #[tool(
        description = "Run a failed, timed out, cancelled or crashed job again as a new job (once per job).",
        input_schema = schema::id_in(),
        output_schema = schema::job_out(),
        annotations(destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn task_retry(
        &self,
        Parameters(p): Parameters<IdParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let id = match self.deck.resolve_job_id(&p.id) {
            Ok(id) => id,
            Err(e) => return Ok(render::error(&e)),
        };
        let live = sshdeck_core::deck::Live::new(self.deck.settings().inline_output);
        Ok(match self.deck.retry(&id, &crate::tokens::origin(), Some(live.sink())) {
            Ok(job) => self.wait_inline(&job.id, Some(&live), ctx).await,
            Err(e) => render::error(&e),
        })
    }

    #[tool(
        description = "Job counts by status and type, average duration, success rate.",
        input_schema = schema::empty_in(),
        output_schema = schema::stats_out(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn queue_stats(&self) -> Result<CallToolResult, ErrorData> {
        Ok(match self.deck.job_stats() {
            Ok(s) => {
                let v = json!({
                    "total": s.total, "byStatus": s.by_status, "byType": s.by_kind,
                    "avgDuration": s.avg_duration_ms, "successRate": s.success_rate,
                });
                let text = format!(
                    "{} jobs, success rate {:.0}%, average {:.0} ms; {}",
                    s.total,
                    s.success_rate * 100.0,
                    s.avg_duration_ms,
                    s.by_status
                        .iter()
                        .filter(|(_, n)| **n > 0)
                        .map(|(k, n)| format!("{k} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                render::ok(v, text)
            }
            Err(e) => render::error(&e),
        })
    }
}

impl Sshdeck {
    fn job_by_id(&self, id: &str) -> sshdeck_core::Result<Job> {
        self.deck.job_by_text(id)
    }

    /// A finished job as a tool result (for `tasks/get`): failures set `isError`.
    pub fn job_answer(&self, job: &Job) -> CallToolResult {
        let mut r = self.answer(job, true);
        if render::is_failure(job) {
            r.is_error = Some(true);
        }
        r
    }

    /// One job as an answer, with the end of its output and any reminder.
    fn answer(&self, job: &Job, with_tail: bool) -> CallToolResult {
        let mut m = render::job(job, None);
        if with_tail {
            let tail = self.deck.job_output_tail(&job.id, STATUS_TAIL);
            m.insert("outputTail".into(), json!(String::from_utf8_lossy(&tail)));
        }
        self.add_reminder(job, &mut m);
        let text = render::job_text(&m);
        render::ok(Value::Object(m), text)
    }

    /// Fan-outs where some hosts succeeded and some did not (Node's `partial`).
    fn partial_fanouts(&self, limit: usize, compact: bool) -> CallToolResult {
        let all = Filter { limit: usize::MAX, top_level: true, ..Default::default() };
        match self.deck.jobs_page(&all) {
            Ok(page) => {
                let partial = |j: &Job| {
                    j.result.as_ref().and_then(|r| r.fleet.as_ref()).is_some_and(|f| f.ok > 0 && f.ok < f.total)
                };
                let jobs: Vec<Job> = page.jobs.into_iter().filter(partial).collect();
                let total = jobs.len();
                self.rows(jobs.into_iter().take(limit).collect(), total, compact)
            }
            Err(e) => render::error(&e),
        }
    }

    fn page(&self, filter: Filter, compact: bool) -> CallToolResult {
        match self.deck.jobs_page(&filter) {
            Ok(page) => self.rows(page.jobs, page.total, compact),
            Err(e) => render::error(&e),
        }
    }

    /// A listing: `compact` rows carry id, status, alias, command, times, exit code and error code.
    fn rows(&self, list: Vec<Job>, total: usize, compact: bool) -> CallToolResult {
        let row = |j: &Job| {
            let mut m = render::job(j, None);
            if compact {
                m.retain(|k, _| ROW_FIELDS.contains(&k.as_str()));
                if let Some(code) = j.result.as_ref().and_then(|r| r.end.error_code.clone()) {
                    m.insert("error".into(), json!({"code": code}));
                }
            }
            Value::Object(m)
        };
        let jobs: Vec<Value> = list.iter().map(row).collect();
        let mut text = format!("{} of {total} jobs", jobs.len());
        for j in &list {
            text.push_str(&format!("\n{} {} {} {}", j.id, j.status.as_str(), j.targets.join(","), j.spec.summary()));
        }
        render::ok(json!({"total": total, "jobs": jobs}), text)
    }
}

/// Fields of a compact listing row.
const ROW_FIELDS: [&str; 8] = ["id", "status", "alias", "command", "createdAt", "finishedAt", "exitCode", "durationMs"];
