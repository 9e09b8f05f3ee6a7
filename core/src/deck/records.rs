//! File tool calls recorded as jobs, so the console, `sshdeck jobs` and `task_history` show them:
//! the front end making the call accepts and starts a `file` job, and records how it ended. The
//! journal holds the tool, the paths, the duration, the bytes and the error; never file contents.

use std::time::Instant;

use super::Deck;
use crate::error::Result;
use crate::jobs::{Ending, JobId, JobResult, JobSpec, JobStatus};

/// A file tool call in progress. Dropped without [`FileJob::finish`], it ends as failed.
pub struct FileJob {
    deck: Deck,
    id: JobId,
    started: Instant,
    finished: bool,
}

impl Deck {
    /// Records the start of `tool` on `targets` (aliases, or `local`) and `paths`.
    pub fn file_job(
        &self,
        tool: &str,
        targets: Vec<String>,
        paths: Vec<String>,
        writes: bool,
        origin: &str,
    ) -> Result<FileJob> {
        let spec = JobSpec::File { tool: tool.to_string(), paths, writes };
        let job = self.inner.jobs.accept(spec, targets, origin, None)?;
        self.inner.jobs.start(&job.id, 1)?;
        Ok(FileJob { deck: self.clone(), id: job.id, started: Instant::now(), finished: false })
    }
}

impl FileJob {
    /// The job's id.
    pub fn id(&self) -> &JobId {
        &self.id
    }

    /// Records the end: `error` as (code, message) when the call failed; `bytes` read or written.
    pub fn finish(mut self, error: Option<(&str, &str)>, bytes: u64) {
        self.record(error, bytes);
    }

    fn record(&mut self, error: Option<(&str, &str)>, bytes: u64) {
        self.finished = true;
        let status = if error.is_some() { JobStatus::Failed } else { JobStatus::Completed };
        let end = Ending {
            duration_ms: self.started.elapsed().as_millis() as u64,
            error_code: error.map(|e| e.0.to_string()),
            error_message: error.map(|e| e.1.to_string()),
            stdout_bytes: bytes,
            ..Ending::default()
        };
        if let Err(e) = self.deck.inner.jobs.finish(&self.id, status, JobResult::ended(end)) {
            tracing::warn!(job = %self.id, error = %e, "cannot record the end of a file tool call");
        }
    }
}

impl Drop for FileJob {
    fn drop(&mut self) {
        if !self.finished {
            self.record(Some(("INTERNAL", "the call ended without a result")), 0);
        }
    }
}
