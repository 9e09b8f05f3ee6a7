//! MCP Tasks (SEP-2663, as rmcp implements it): a job still running after the sync wait is handed as a
//! task whose id is the job id to a client that declared the tasks extension and asked for a task in
//! the request's `_meta` (key `io.modelcontextprotocol/tasks`); every other client gets the ordinary
//! result carrying the job id. `tasks/get` reads the journal, `tasks/cancel` cancels the job.

use rmcp::ErrorData;
use rmcp::model::{CallToolResult, CreateTaskResult, DetailedTask, GetTaskResult, Task, TaskPayload, TaskStatus};
use sshdeck_core::Deck;
use sshdeck_core::jobs::{Job, JobId, JobStatus, format_time};

/// Suggested polling interval.
const POLL_MS: u64 = 1000;

/// The task handle for a tool result that reports a job still running, if it is one.
pub fn handle_for(deck: &Deck, r: &CallToolResult) -> Option<CreateTaskResult> {
    let s = r.structured_content.as_ref()?;
    if !matches!(s["status"].as_str(), Some("pending" | "running")) {
        return None;
    }
    let job = deck.job(&JobId::parse(s["id"].as_str()?).ok()?).ok()?;
    Some(CreateTaskResult::new(task(&job, TaskStatus::Working)))
}

fn task(job: &Job, status: TaskStatus) -> Task {
    let updated = job.finished_at.or(job.started_at).unwrap_or(job.created_at).max(job.created_at);
    Task::new(job.id.to_string(), status, format_time(job.created_at), format_time(updated))
        .with_status_message(format!("{} on {}: {}", job.status.as_str(), job.targets.join(","), job.spec.summary()))
        .with_poll_interval_ms(POLL_MS)
}

fn find(deck: &Deck, task_id: &str) -> Result<Job, ErrorData> {
    let not_found = || ErrorData::invalid_params(format!("unknown task {task_id}"), None);
    let id = JobId::parse(task_id).map_err(|_| not_found())?;
    deck.job(&id).map_err(|_| not_found())
}

/// The task of a job; `answer` renders a finished job as the tool result it stands for.
pub fn get(deck: &Deck, task_id: &str, answer: impl Fn(&Job) -> CallToolResult) -> Result<GetTaskResult, ErrorData> {
    let job = find(deck, task_id)?;
    let payload = match job.status {
        JobStatus::Pending | JobStatus::Running => TaskPayload::Working,
        JobStatus::Cancelled => TaskPayload::Cancelled,
        JobStatus::Crashed => {
            let message = job.result.as_ref().and_then(|r| r.end.error_message.clone()).unwrap_or_default();
            let error = serde_json::json!({"code": -32603, "message": format!("job crashed: {message}")});
            TaskPayload::Failed { error: error.as_object().cloned().unwrap_or_default() }
        }
        JobStatus::Completed | JobStatus::Failed | JobStatus::TimedOut => {
            // The tool call finished: its result (an error result for a failed command) is the task's.
            let result = serde_json::to_value(answer(&job)).expect("serializes");
            TaskPayload::Completed { result: result.as_object().cloned().unwrap_or_default() }
        }
    };
    let status = payload.status();
    Ok(GetTaskResult::new(DetailedTask::new(task(&job, status), payload)))
}

pub fn cancel(deck: &Deck, task_id: &str) -> Result<(), ErrorData> {
    let job = find(deck, task_id)?;
    deck.cancel(&job.id).map(|_| ()).map_err(|e| ErrorData::internal_error(e.to_string(), None))
}
