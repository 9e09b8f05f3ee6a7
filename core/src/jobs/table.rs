//! The job table: the journal's events folded into current records, with queries and stats.

use std::collections::HashMap;

use serde::Serialize;

use super::journal::Event;
use super::model::{Job, JobId, JobKind, JobStatus};

/// Every known job, by id, in acceptance order.
#[derive(Debug, Default, Clone)]
pub struct Table {
    jobs: HashMap<JobId, Job>,
    order: Vec<JobId>,
}

/// Filters for [`Table::list`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these statuses (any when empty).
    pub statuses: Vec<JobStatus>,
    /// Only jobs targeting this alias.
    pub alias: Option<String>,
    /// Only this kind.
    pub kind: Option<JobKind>,
    /// Skip this many (newest first).
    pub offset: usize,
    /// At most this many.
    pub limit: usize,
    /// Only the per-host children of this fan-out job.
    pub parent: Option<JobId>,
    /// Leave out per-host children of fan-outs (their parent stands for them).
    pub top_level: bool,
}

/// A page of jobs, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// Matching jobs in this page.
    pub jobs: Vec<Job>,
    /// Matching jobs in all.
    pub total: usize,
    /// Offset of this page.
    pub offset: usize,
}

/// Counts and rates over every job on record.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Jobs on record.
    pub total: usize,
    /// Count by status name.
    pub by_status: std::collections::BTreeMap<String, usize>,
    /// Count by kind name.
    pub by_kind: std::collections::BTreeMap<String, usize>,
    /// Mean duration of finished jobs, in ms.
    pub avg_duration_ms: f64,
    /// completed / (completed + failed + timed_out + crashed), or 0 with none finished.
    pub success_rate: f64,
}

impl Table {
    /// Applies one event. Unknown ids are ignored (their job was compacted away).
    pub fn apply(&mut self, ev: Event) {
        match ev {
            Event::Accepted { job } => {
                if !self.jobs.contains_key(&job.id) {
                    self.order.push(job.id.clone());
                }
                self.jobs.insert(job.id.clone(), *job);
            }
            Event::Started { id, at, attempt } => {
                if let Some(j) = self.jobs.get_mut(&id)
                    && !j.status.is_terminal()
                {
                    j.status = JobStatus::Running;
                    j.started_at = Some(at);
                    j.attempt = attempt;
                }
            }
            Event::Finished { id, at, status, result } => {
                // A late result from an owner wrongly presumed dead beats the `crashed` guess.
                if let Some(j) = self.jobs.get_mut(&id)
                    && (!j.status.is_terminal() || j.status == JobStatus::Crashed)
                {
                    j.status = status;
                    j.finished_at = Some(at);
                    j.result = Some(*result);
                }
            }
            Event::CancelRequested { id, .. } => {
                if let Some(j) = self.jobs.get_mut(&id) {
                    j.cancel_requested = true;
                }
            }
            Event::Retried { id, by } => {
                if let Some(j) = self.jobs.get_mut(&id) {
                    j.retried_by = Some(by);
                }
            }
            Event::Crashed { id, at, reason } => {
                if let Some(j) = self.jobs.get_mut(&id)
                    && !j.status.is_terminal()
                {
                    j.status = JobStatus::Crashed;
                    j.finished_at = Some(at);
                    j.result = Some(super::model::JobResult::ended(super::model::Ending::error("CRASHED", reason)));
                }
            }
        }
    }

    /// One job.
    pub fn get(&self, id: &JobId) -> Option<&Job> {
        self.jobs.get(id)
    }

    /// Every job, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Job> {
        self.order.iter().filter_map(|id| self.jobs.get(id))
    }

    /// Jobs not yet terminal.
    pub fn unfinished(&self) -> usize {
        // A fan-out counts once (its parent): its per-host children never crowd out other work.
        self.jobs.values().filter(|j| !j.status.is_terminal() && j.parent.is_none()).count()
    }

    /// Matching jobs, newest first, paged.
    pub fn list(&self, f: &Filter) -> Page {
        let matching: Vec<&Job> = self
            .order
            .iter()
            .rev()
            .filter_map(|id| self.jobs.get(id))
            .filter(|j| f.statuses.is_empty() || f.statuses.contains(&j.status))
            .filter(|j| f.alias.as_ref().is_none_or(|a| j.targets.contains(a)))
            .filter(|j| f.kind.is_none_or(|k| j.kind == k))
            .filter(|j| f.parent.is_none() || j.parent == f.parent)
            .filter(|j| !f.top_level || j.parent.is_none())
            .collect();
        let total = matching.len();
        let jobs = matching.into_iter().skip(f.offset).take(f.limit).cloned().collect();
        Page { jobs, total, offset: f.offset }
    }

    /// Counts and rates.
    pub fn stats(&self) -> Stats {
        let mut s = Stats { total: self.jobs.len(), ..Default::default() };
        for status in JobStatus::ALL {
            s.by_status.insert(status.as_str().to_string(), 0);
        }
        let (mut dur_sum, mut dur_n) = (0u64, 0u64);
        for j in self.jobs.values() {
            *s.by_status.entry(j.status.as_str().to_string()).or_default() += 1;
            *s.by_kind.entry(j.kind.as_str().to_string()).or_default() += 1;
            if let Some(r) = &j.result
                && j.status != JobStatus::Crashed
            {
                dur_sum += r.end.duration_ms;
                dur_n += 1;
            }
        }
        let count = |st: JobStatus| s.by_status[st.as_str()] as f64;
        let ok = count(JobStatus::Completed);
        let finished = ok + count(JobStatus::Failed) + count(JobStatus::TimedOut) + count(JobStatus::Crashed);
        s.success_rate = if finished > 0.0 { ok / finished } else { 0.0 };
        s.avg_duration_ms = if dur_n > 0 { dur_sum as f64 / dur_n as f64 } else { 0.0 };
        s
    }

    /// Drops terminal jobs that finished before `cutoff` (ms); returns their ids.
    pub fn drop_finished_before(&mut self, cutoff: u64) -> Vec<JobId> {
        self.drop_finished_where(|j| j.finished_at.unwrap_or(j.created_at) < cutoff)
    }

    /// Drops the finished jobs `pick` chooses, and the per-host jobs of a fan-out it drops; never a
    /// job still pending or running. Returns their ids.
    pub fn drop_finished_where(&mut self, pick: impl Fn(&Job) -> bool) -> Vec<JobId> {
        let mut gone: Vec<JobId> =
            self.jobs.values().filter(|j| j.status.is_terminal() && pick(j)).map(|j| j.id.clone()).collect();
        let parents: std::collections::HashSet<JobId> = gone.iter().cloned().collect();
        gone.extend(
            self.jobs
                .values()
                .filter(|j| j.status.is_terminal() && j.parent.as_ref().is_some_and(|p| parents.contains(p)))
                .filter(|j| !parents.contains(&j.id))
                .map(|j| j.id.clone()),
        );
        for id in &gone {
            self.jobs.remove(id);
        }
        self.order.retain(|id| self.jobs.contains_key(id));
        gone
    }

    /// One snapshot event per job, in order (what compaction writes).
    pub fn snapshot(&self) -> Vec<Event> {
        self.iter().map(|j| Event::Accepted { job: Box::new(j.clone()) }).collect()
    }
}
