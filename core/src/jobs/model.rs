//! Job records: what was asked, of which servers, by whom, and how it ended. Never holds a secret.

use serde::{Deserialize, Serialize};

pub use super::id::{ID_LEN, JobId};
use crate::error::{Error, Result};

/// What kind of work a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// One command.
    Exec,
    /// Several commands in order.
    Sequence,
    /// A command answering prompts on a PTY.
    Interactive,
    /// SFTP transfer.
    Transfer,
    /// Monitoring or log recipe.
    Monitor,
    /// A file tool call (read, write, edit, diff, snapshot), recorded by the front end that made it.
    File,
    /// A command typed into a persistent shell session (`shell_exec`).
    Shell,
}

impl JobKind {
    /// Name as written in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Exec => "exec",
            JobKind::Sequence => "sequence",
            JobKind::Interactive => "interactive",
            JobKind::Transfer => "transfer",
            JobKind::Monitor => "monitor",
            JobKind::File => "file",
            JobKind::Shell => "shell",
        }
    }

    /// Parses a kind name.
    pub fn parse(s: &str) -> Result<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
            .map_err(|_| Error::InvalidArgument(format!("unknown job kind {s:?}")))
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted, not started.
    Pending,
    /// Running.
    Running,
    /// Finished with exit code 0.
    Completed,
    /// Finished otherwise (non-zero exit, signal, connection or auth failure…).
    Failed,
    /// Killed by its timeout.
    TimedOut,
    /// Cancelled on request.
    Cancelled,
    /// Its owner process died while it was pending or running.
    Crashed,
}

impl JobStatus {
    /// Every status, in life order.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Pending,
        JobStatus::Running,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::TimedOut,
        JobStatus::Cancelled,
        JobStatus::Crashed,
    ];

    /// True once nothing more will happen to the job.
    pub fn is_terminal(self) -> bool {
        !matches!(self, JobStatus::Pending | JobStatus::Running)
    }

    /// Name as written in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::TimedOut => "timed_out",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Crashed => "crashed",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Result<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
            .map_err(|_| Error::InvalidArgument(format!("unknown job status {s:?}")))
    }
}

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The command line.
    pub command: String,
    /// Timeout in milliseconds (`0`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Go on with the next step even if this one fails (overrides the sequence's setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_on_error: Option<bool>,
}

/// A prompt an interactive job answers (the answer itself is never recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptRule {
    /// Literal text (case-insensitive), or a regular expression after `re:`.
    pub pattern: String,
    /// At most this many answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

/// What to run. Holds no secret: credentials stay in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobSpec {
    /// One command.
    Exec {
        /// The command line, run by the login shell.
        command: String,
        /// Timeout in milliseconds (`0`: none; absent: the default).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
        /// A reading recipe (logs, a connection test) that changes nothing: allowed on servers
        /// marked `readonly`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        read: bool,
    },
    /// A command on a PTY whose prompts are answered. The answers are not part of the record.
    Interactive {
        /// The command line.
        command: String,
        /// Timeout in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
        /// Prompt keys (literal text, or `re:` regular expressions), in the order the answers were given.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        prompts: Vec<PromptRule>,
        /// Answer yes/no confirmations automatically.
        #[serde(default)]
        auto_respond: bool,
    },
    /// SFTP transfer of files, directories or globs.
    Transfer {
        /// Upload or download.
        direction: crate::sftp::Direction,
        /// What goes where.
        items: Vec<crate::sftp::TransferItem>,
        /// Overwrite existing targets.
        #[serde(default)]
        force: bool,
        /// Compare sha256 of both ends.
        #[serde(default)]
        verify: bool,
        /// Server to server: the files come from `remote` paths on this alias and go to the job's
        /// target (at `local`, a path on the target); `direction` is then `upload`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_alias: Option<String>,
    },
    /// A file tool call, recorded while the front end makes it: which tool, on which paths. Never
    /// the files' contents. Not run by the runner and not retried.
    File {
        /// The tool (`file_edit`, `snapshot_restore`…).
        tool: String,
        /// The paths it touched, as given.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        paths: Vec<String>,
        /// Whether it may change files.
        #[serde(default)]
        writes: bool,
    },
    /// A command typed into an open shell session, whose state (directory, variables) it uses and
    /// changes. Run where the session lives; not retried (the session's state has moved on).
    Shell {
        /// The session's id.
        session: String,
        /// The command line.
        command: String,
        /// Timeout in milliseconds (absent: the session's default).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
    },
    /// Commands run one after the other on the same server.
    Sequence {
        /// The steps.
        steps: Vec<Step>,
        /// Go on after a failed step.
        #[serde(default)]
        continue_on_error: bool,
        /// Time limit of the whole sequence in milliseconds (`0`: none); each step's own limit still applies.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
    },
}

impl JobSpec {
    /// The kind of job this spec makes.
    pub fn kind(&self) -> JobKind {
        match self {
            JobSpec::Exec { .. } => JobKind::Exec,
            JobSpec::Sequence { .. } => JobKind::Sequence,
            JobSpec::Interactive { .. } => JobKind::Interactive,
            JobSpec::Transfer { .. } => JobKind::Transfer,
            JobSpec::File { .. } => JobKind::File,
            JobSpec::Shell { .. } => JobKind::Shell,
        }
    }

    /// Whether the job may change the server: commands and uploads do, downloads do not.
    pub fn mutates(&self) -> bool {
        match self {
            JobSpec::Transfer { direction, .. } => *direction != crate::sftp::Direction::Download,
            JobSpec::Exec { read, .. } => !read,
            JobSpec::File { writes, .. } => *writes,
            _ => true,
        }
    }

    /// Every command line the job would run (for the command policy).
    pub fn commands(&self) -> Vec<&str> {
        match self {
            JobSpec::Exec { command, .. } | JobSpec::Interactive { command, .. } | JobSpec::Shell { command, .. } => {
                vec![command.as_str()]
            }
            JobSpec::Sequence { steps, .. } => steps.iter().map(|s| s.command.as_str()).collect(),
            JobSpec::Transfer { .. } | JobSpec::File { .. } => Vec::new(),
        }
    }

    /// A one-line description (the command, or the steps joined by `; `).
    pub fn summary(&self) -> String {
        match self {
            JobSpec::Exec { command, .. } | JobSpec::Interactive { command, .. } | JobSpec::Shell { command, .. } => {
                command.clone()
            }
            JobSpec::Sequence { steps, .. } => steps.iter().map(|s| s.command.as_str()).collect::<Vec<_>>().join("; "),
            JobSpec::File { tool, paths, .. } => format!("{tool} {}", paths.join(" ")).trim_end().to_string(),
            JobSpec::Transfer { items, source_alias: Some(src), .. } => {
                let first = items.first().map(|i| format!("{src}:{} -> {}", i.remote, i.local)).unwrap_or_default();
                match items.len() {
                    0 | 1 => format!("copy {first}"),
                    n => format!("copy {first} (+{} more)", n - 1),
                }
            }
            JobSpec::Transfer { direction, items, .. } => {
                let arrow = |i: &crate::sftp::TransferItem| match direction {
                    crate::sftp::Direction::Upload => format!("{} -> {}", i.local, i.remote),
                    crate::sftp::Direction::Download => format!("{} -> {}", i.remote, i.local),
                };
                let verb = if *direction == crate::sftp::Direction::Upload { "upload" } else { "download" };
                let first = items.first().map(arrow).unwrap_or_default();
                if items.len() > 1 {
                    format!("{verb} {first} (+{} more)", items.len() - 1)
                } else {
                    format!("{verb} {first}")
                }
            }
        }
    }
}

/// The process that accepted a job and runs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// Random id of that process's run (pids get reused).
    pub instance: String,
    /// `sshdeck`, `sshdeck-mcp`…
    pub program: String,
}

/// How a command (a job, or one step of a sequence) ended: the one outcome record both share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ending {
    /// Exit code, when the command exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u32>,
    /// Signal that ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_signal: Option<String>,
    /// Run time (of a job: its last attempt).
    #[serde(default)]
    pub duration_ms: u64,
    /// Error code (`COMMAND_TIMEOUT`, `AUTH_FAILED`…), when it failed without an exit code of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Bytes of stdout produced.
    #[serde(default)]
    pub stdout_bytes: u64,
    /// Bytes of stderr produced.
    #[serde(default)]
    pub stderr_bytes: u64,
}

impl Ending {
    /// An ending with an error and nothing else.
    pub fn error(code: &str, message: impl Into<String>) -> Ending {
        Ending { error_code: Some(code.into()), error_message: Some(message.into()), ..Ending::default() }
    }
}

/// How a job ended: its [`Ending`] (flattened: the journal's field names are unchanged) and what
/// only a whole job has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    /// Exit code, signal, duration, error, byte counts.
    #[serde(flatten)]
    pub end: Ending,
    /// Whether the output file was cut at its limit.
    #[serde(default)]
    pub truncated: bool,
    /// Per-step outcomes of a sequence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepResult>,
    /// Outcome of a transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<crate::sftp::TransferReport>,
    /// Outcome of a fan-out, per host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<crate::fleet::FleetSummary>,
}

impl JobResult {
    /// A result that is only an ending.
    pub fn ended(end: Ending) -> JobResult {
        JobResult { end, ..JobResult::default() }
    }
}

/// How one step of a sequence ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    /// The command.
    pub command: String,
    /// Exit code, signal, duration, error, byte counts.
    #[serde(flatten)]
    pub end: Ending,
}

/// One job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// Kind.
    pub kind: JobKind,
    /// Server aliases.
    pub targets: Vec<String>,
    /// What to run.
    pub spec: JobSpec,
    /// Status.
    pub status: JobStatus,
    /// Accepted at (ms since the Unix epoch).
    pub created_at: u64,
    /// Last attempt started at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// Finished at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    /// Attempt number, from 1 (automatic retries of connection failures count up).
    pub attempt: u32,
    /// The job this one retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<JobId>,
    /// The job that retried this one; a retried job is never retried again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_by: Option<JobId>,
    /// The fan-out job this one is a per-host part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<JobId>,
    /// Accepting process.
    pub owner: Owner,
    /// A cancel was requested (from any process).
    #[serde(default)]
    pub cancel_requested: bool,
    /// Where the request came from (`cli`, `mcp`, `console`).
    pub origin: String,
    /// The front end process that asked for it, when another process (the runner) runs it: a job
    /// still running after that process is gone has outlived its front end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitter: Option<u32>,
    /// The work session (`work_start`) active on its server when it was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<String>,
    /// Outcome, once terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
}

pub use crate::clock::{format_time, now_ms};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_kind_names() {
        assert_eq!(JobStatus::parse("timed_out").unwrap(), JobStatus::TimedOut);
        assert!(JobStatus::Crashed.is_terminal() && !JobStatus::Running.is_terminal());
        assert_eq!(JobKind::parse("EXEC").unwrap(), JobKind::Exec);
        assert_eq!(serde_json::to_string(&JobStatus::TimedOut).unwrap(), "\"timed_out\"");
    }

    #[test]
    fn time_format() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_795_794_360_000), "2026-11-27T15:46:00Z");
        assert_eq!(format_time(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
