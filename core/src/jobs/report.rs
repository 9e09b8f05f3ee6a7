//! One job as every front end shows it: the MCP tools' structured results and the CLI's `--json`
//! print the same [`JobReport`], with the MCP field names (camelCase) that Node orchestrator users
//! and their prompts rely on. The journal keeps its own (snake_case) record; this is the public face.

use serde::Serialize;

use super::model::{Ending, Job, JobKind, JobStatus, StepResult, format_time};
use crate::capture::Captured;
use crate::fleet::FleetSummary;
use crate::sftp::TransferReport;

/// An error as shown: its stable code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    /// Stable code (`COMMAND_TIMEOUT`, `AUTH_FAILED`…).
    pub code: String,
    /// What happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ErrorReport {
    fn of(end: &Ending) -> Option<ErrorReport> {
        end.error_code.as_ref().map(|code| ErrorReport { code: code.clone(), message: end.error_message.clone() })
    }
}

/// A job's public record. Fields that do not apply are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobReport {
    /// Job id.
    pub id: String,
    /// `queued`, `running`, `completed`, `failed`, `timed_out`, `cancelled`, `crashed`.
    pub status: JobStatus,
    /// `exec`, `sequence`, `transfer`, `interactive`.
    pub kind: JobKind,
    /// Target aliases, comma-separated.
    pub alias: String,
    /// One line saying what the job runs.
    pub command: String,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// Accepted at (UTC, RFC 3339).
    pub created_at: String,
    /// Finished at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The job this one retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<String>,
    /// The job that retried this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retried_by: Option<String>,
    /// The fan-out this job is one host of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Where the request came from (`cli`, `mcp`, `console`).
    pub origin: String,
    /// The process that runs it.
    pub owner: OwnerReport,
    /// The front end process that asked for it, when the runner runs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitter: Option<u32>,
    /// The work session it was part of (`work_start`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work: Option<String>,
    /// Exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u32>,
    /// Signal that ended it.
    #[serde(rename = "signal", skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Run time of the last attempt (once ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Whether it hit its time limit (once ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timed_out: Option<bool>,
    /// Why it failed, when it failed without an exit code of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
    /// Whether output was cut at a limit (once ended, or with inline output).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    /// A transfer's per-file report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferReport>,
    /// A fan-out's per-host summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetSummary>,
    /// A fan-out's per-host jobs, when asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<JobReport>,
    /// Captured stdout, when the caller ran the job and kept its output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// Captured stderr.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

/// The process that runs a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerReport {
    /// Process id.
    pub pid: u32,
    /// `sshdeck`, `sshdeck-mcp`, `sshdeck-runner`…
    pub program: String,
}

/// One step of a sequence as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// The command.
    pub command: String,
    /// Exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u32>,
    /// Signal.
    #[serde(rename = "signal", skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Run time.
    pub duration_ms: u64,
    /// Captured stdout, when kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// Captured stderr.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// Where the whole output of a job can be read, for truncation markers.
pub fn rest_of_output(id: &str) -> String {
    format!(
        "the whole output (up to JOB_OUTPUT_LIMIT_BYTES) is at sshdeck://jobs/{id}/output, or page it with task_status {{\"id\": \"{id}\", \"output_offset\": 0}}"
    )
}

impl JobReport {
    /// The record of a job, without output.
    pub fn of(j: &Job) -> JobReport {
        let r = j.result.as_ref();
        JobReport {
            id: j.id.to_string(),
            status: j.status,
            kind: j.kind,
            alias: j.targets.join(","),
            command: j.spec.summary(),
            attempt: j.attempt,
            created_at: format_time(j.created_at),
            finished_at: j.finished_at.map(format_time),
            retry_of: j.retry_of.as_ref().map(ToString::to_string),
            retried_by: j.retried_by.as_ref().map(ToString::to_string),
            parent: j.parent.as_ref().map(ToString::to_string),
            origin: j.origin.clone(),
            owner: OwnerReport { pid: j.owner.pid, program: j.owner.program.clone() },
            submitter: j.submitter,
            work: j.work.clone(),
            exit_code: r.and_then(|r| r.end.exit_code),
            signal: r.and_then(|r| r.end.exit_signal.clone()),
            duration_ms: r.map(|r| r.end.duration_ms),
            timed_out: r.map(|_| j.status == JobStatus::TimedOut),
            // An error shows when it has both parts (a code alone is a summary's business).
            error: r.filter(|r| r.end.error_message.is_some()).and_then(|r| ErrorReport::of(&r.end)),
            truncated: r.map(|r| r.truncated),
            transfer: r.and_then(|r| r.transfer.clone()),
            fleet: r.and_then(|r| r.fleet.clone()),
            hosts: Vec::new(),
            stdout: None,
            stderr: None,
        }
    }

    /// A fan-out's record with each host's job.
    pub fn with_hosts(mut self, hosts: &[Job]) -> JobReport {
        self.hosts = hosts.iter().map(JobReport::of).collect();
        self
    }

    /// The record with the output this process captured; a cut stream says where the rest is.
    pub fn with_output(mut self, stdout: &Captured, stderr: &Captured) -> JobReport {
        let rest = rest_of_output(&self.id);
        self.stdout = Some(stdout.text_noting(&rest));
        self.stderr = Some(stderr.text_noting(&rest));
        self.truncated = Some(stdout.truncated() || stderr.truncated());
        self
    }

    /// As a JSON object, for callers that add fields of their own.
    pub fn into_map(self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        }
    }
}

impl StepReport {
    /// One step's record, with its captured output when kept.
    pub fn of(job: &str, s: &StepResult, output: Option<(&Captured, &Captured)>) -> StepReport {
        let rest = rest_of_output(job);
        StepReport {
            command: s.command.clone(),
            exit_code: s.end.exit_code,
            signal: s.end.exit_signal.clone(),
            duration_ms: s.end.duration_ms,
            stdout: output.map(|(o, _)| o.text_noting(&rest)),
            stderr: output.map(|(_, e)| e.text_noting(&rest)),
            error: s.end.error_message.as_ref().and_then(|_| ErrorReport::of(&s.end)),
        }
    }

    /// Every step of a sequence, each with its output when `outputs` has it.
    pub fn all(j: &Job, outputs: &[(Captured, Captured)]) -> Vec<StepReport> {
        let steps = j.result.as_ref().map(|r| r.steps.as_slice()).unwrap_or_default();
        let id = j.id.to_string();
        steps.iter().enumerate().map(|(i, s)| StepReport::of(&id, s, outputs.get(i).map(|(o, e)| (o, e)))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobResult;

    #[test]
    fn the_mcp_field_names_and_nothing_that_does_not_apply() {
        let line = r#"{"id":"6s23kq0a1b2c3","kind":"exec","targets":["web1"],"spec":{"type":"exec","command":"false"},
            "status":"failed","created_at":0,"finished_at":1000,"attempt":1,
            "owner":{"pid":1,"instance":"x","program":"t"},"origin":"cli",
            "result":{"exit_code":1,"duration_ms":12,"stdout_bytes":0,"stderr_bytes":0,"truncated":false}}"#;
        let job: Job = serde_json::from_str(line).expect("an old journal record still parses");
        let v = serde_json::to_value(JobReport::of(&job)).unwrap();
        assert_eq!(v["exitCode"], 1);
        assert_eq!(v["durationMs"], 12);
        assert_eq!(v["createdAt"], "1970-01-01T00:00:00Z");
        assert_eq!(v["finishedAt"], "1970-01-01T00:00:01Z");
        assert_eq!(v["timedOut"], false);
        for absent in ["signal", "error", "retryOf", "transfer", "fleet", "stdout", "exit_code"] {
            assert!(v.get(absent).is_none(), "{absent} in {v}");
        }
        let ended = JobResult::ended(Ending::error("AUTH_FAILED", "denied"));
        assert_eq!(serde_json::to_value(&ended).unwrap()["error_code"], "AUTH_FAILED", "the journal stays flat");
    }
}
