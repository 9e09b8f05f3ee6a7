//! Queue maintenance for the front ends (Node's `task_retry_all` and `task_purge`): retry every
//! crashed or failed job at once, and remove finished jobs from the history.

use super::Deck;
use crate::error::Result;
use crate::jobs::{Filter, Job, JobSpec, JobStatus, now_ms};

/// What a bulk retry did with one job.
pub struct Retried {
    /// The job retried.
    pub job: Job,
    /// The new attempt, or why there is none.
    pub outcome: Result<Job>,
}

impl Deck {
    /// Jobs in `statuses` that could be retried: top-level (not a fan-out's host), not retried yet,
    /// not a file tool record; newest first, at most `limit`.
    pub fn retryable(&self, statuses: &[JobStatus], limit: usize) -> Result<Vec<Job>> {
        let filter = Filter { statuses: statuses.to_vec(), limit: usize::MAX, top_level: true, ..Filter::default() };
        Ok(self
            .jobs_page(&filter)?
            .jobs
            .into_iter()
            .filter(|j| j.retried_by.is_none() && !matches!(j.spec, JobSpec::File { .. } | JobSpec::Shell { .. }))
            .take(limit)
            .collect())
    }

    /// Retries each of `jobs` (see [`Deck::retry`]); the new attempts run in the background.
    pub fn retry_each(&self, jobs: Vec<Job>, origin: &str) -> Vec<Retried> {
        jobs.into_iter()
            .map(|job| {
                let outcome = self.retry(&job.id, origin, None);
                Retried { job, outcome }
            })
            .collect()
    }

    /// Removes finished jobs in `statuses` finished more than `older_than_ms` ago (and their output);
    /// never a running one. With `dry_run`, only says which.
    pub fn purge_jobs(&self, statuses: &[JobStatus], older_than_ms: u64, dry_run: bool) -> Result<Vec<Job>> {
        let cutoff = now_ms().saturating_sub(older_than_ms);
        self.inner
            .jobs
            .purge(|j| statuses.contains(&j.status) && j.finished_at.unwrap_or(j.created_at) <= cutoff, dry_run)
    }
}
