//! The durable job queue and history, shared by every sshdeck process on one data dir.
//!
//! State lives in `jobs/journal.jsonl` (see [`journal`]); each process folds it into a [`Table`] and
//! catches up incrementally. Every change takes the journal's lock, catches up, decides on the latest
//! state, appends, and catches up again, so two processes never contradict each other: a job is
//! accepted once, retried once, and marked crashed only when its owner is really gone.

mod id;
/// The characters job ids are made of.
pub(crate) use id::ALPHABET as ID_ALPHABET;
// The journal, output files and heartbeats are the store's own; tests reach them with the
// `test-support` feature.
#[cfg(feature = "test-support")]
pub mod journal;
#[cfg(not(feature = "test-support"))]
pub(crate) mod journal;
pub mod model;
#[cfg(feature = "test-support")]
pub mod output;
#[cfg(not(feature = "test-support"))]
pub(crate) mod output;
pub mod report;
#[cfg(feature = "test-support")]
pub mod runtime;
#[cfg(not(feature = "test-support"))]
pub(crate) mod runtime;
pub mod table;
mod upkeep;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

use crate::data_dir::{DataDir, FileLock};
use crate::error::{Error, Result};
use crate::pool::PoolStats;
use journal::{Cursor, Event, Journal, ReadOutcome};
pub use model::{
    Ending, Job, JobId, JobKind, JobResult, JobSpec, JobStatus, Owner, PromptRule, Step, StepResult, format_time,
    now_ms,
};
pub use output::OutputFollower;
pub use report::{ErrorReport, JobReport, StepReport};
/// A live sshdeck process on the data dir: who it is, when it last beat, its pool.
pub use runtime::Heartbeat as ProcessInfo;
use runtime::Runtime;
pub use table::{Filter, Page, Stats, Table};

/// Journal size past which it is compacted.
const COMPACT_AT_BYTES: u64 = 8 << 20;

/// Limits of the job store.
#[derive(Debug, Clone)]
pub struct JobLimits {
    /// Unfinished jobs accepted at once.
    pub max_queue: usize,
    /// How long finished jobs are kept (ms).
    pub retention_ms: u64,
    /// Bytes of output kept per job.
    pub output_limit: u64,
}

/// Something that changed, for in-process subscribers.
#[derive(Debug, Clone)]
pub enum JobEvent {
    /// A job's record changed (any process).
    Changed(Box<Job>),
    /// The journal was compacted or replaced: re-read what you show.
    Reloaded,
}

/// The job store. Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    journal: Journal,
    runtime: Runtime,
    owner: Owner,
    started_at: u64,
    limits: JobLimits,
    shared: Mutex<Shared>,
    events: broadcast::Sender<JobEvent>,
    local: Mutex<HashMap<JobId, watch::Sender<bool>>>,
    work: crate::work::WorkSessions,
}

#[derive(Default)]
struct Shared {
    table: Table,
    cursor: Cursor,
}

impl Jobs {
    /// Opens the store: creates `jobs/` and `runtime/`, writes this process's first heartbeat, repairs a
    /// torn journal tail, compacts when due, and marks jobs of dead owners `crashed`.
    pub fn open(data_dir: &DataDir, limits: JobLimits, program: &str) -> Result<Jobs> {
        let dir = data_dir.jobs_dir()?;
        let runtime = Runtime::new(data_dir.runtime_dir()?);
        let mut instance = [0u8; 8];
        getrandom::fill(&mut instance).expect("the OS random source works");
        let owner = Owner {
            pid: std::process::id(),
            instance: instance.iter().map(|b| format!("{b:02x}")).collect(),
            program: program.to_string(),
        };
        let (events, _) = broadcast::channel(4096);
        let jobs = Jobs {
            inner: Arc::new(Inner {
                journal: Journal::new(dir.join("journal.jsonl")),
                dir,
                runtime,
                owner,
                started_at: now_ms(),
                limits,
                shared: Mutex::new(Shared::default()),
                events,
                local: Mutex::new(HashMap::new()),
                work: crate::work::WorkSessions::new(data_dir.root()),
            }),
        };
        jobs.beat(PoolStats::default(), Vec::new())?;
        jobs.with_lock(true, |_| Ok((vec![], ())))?; // repairs a torn tail, loads the table
        jobs.compact_if_due()?;
        jobs.sweep_crashed()?;
        jobs.inner.runtime.clean_dead();
        Ok(jobs)
    }

    /// This process as a job owner.
    pub fn owner(&self) -> &Owner {
        &self.inner.owner
    }

    /// Limits in force.
    pub fn limits(&self) -> &JobLimits {
        &self.inner.limits
    }

    /// Accepts a job: durable (fsynced) when this returns. `QUEUE_FULL` when too many are unfinished.
    /// With `retry_of`, the original must be finished, not completed and not already retried; it is
    /// marked as retried in the same write.
    pub fn accept(&self, spec: JobSpec, targets: Vec<String>, origin: &str, retry_of: Option<&JobId>) -> Result<Job> {
        self.accept_for(spec, targets, origin, retry_of, None)
    }

    /// [`Jobs::accept`] on behalf of the front end process `submitter`.
    pub fn accept_for(
        &self,
        spec: JobSpec,
        targets: Vec<String>,
        origin: &str,
        retry_of: Option<&JobId>,
        submitter: Option<u32>,
    ) -> Result<Job> {
        let mut job = self.accept_template(spec, targets, origin)?;
        job.retry_of = retry_of.cloned();
        job.submitter = submitter;
        let max = self.inner.limits.max_queue;
        self.with_lock(true, |table| {
            if table.unfinished() >= max {
                return Err(Error::QueueFull { max });
            }
            let mut events = vec![Event::Accepted { job: Box::new(job.clone()) }];
            if let Some(orig) = retry_of {
                let o = table.get(orig).ok_or_else(|| Error::NotFound { what: "job", name: orig.to_string() })?;
                if let Some(by) = &o.retried_by {
                    return Err(Error::AlreadyRetried { id: orig.to_string(), by: by.to_string() });
                }
                if !o.status.is_terminal() {
                    return Err(Error::InvalidArgument(format!("job {orig} is still {}", o.status.as_str())));
                }
                if o.status == JobStatus::Completed {
                    return Err(Error::InvalidArgument(format!("job {orig} completed; submit it again instead")));
                }
                events.push(Event::Retried { id: orig.clone(), by: job.id.clone() });
            }
            Ok((events, ()))
        })?;
        Ok(job)
    }

    /// Accepts a fan-out in one durable write: a parent job over every target and one child job per
    /// target (linked by `parent`). The queue counts the fan-out once (its children are bounded by the
    /// number of targets a call may have).
    pub fn accept_fleet(&self, spec: JobSpec, targets: Vec<String>, origin: &str) -> Result<(Job, Vec<Job>)> {
        let parent = self.accept_template(spec.clone(), targets.clone(), origin)?;
        let children: Vec<Job> = targets
            .iter()
            .map(|t| {
                let mut c = self.accept_template(spec.clone(), vec![t.clone()], origin).expect("one target");
                c.parent = Some(parent.id.clone());
                c
            })
            .collect();
        let max = self.inner.limits.max_queue;
        self.with_lock(true, |table| {
            if table.unfinished() + 1 > max {
                return Err(Error::QueueFull { max });
            }
            let mut events = vec![Event::Accepted { job: Box::new(parent.clone()) }];
            events.extend(children.iter().map(|c| Event::Accepted { job: Box::new(c.clone()) }));
            Ok((events, ()))
        })?;
        Ok((parent, children))
    }

    fn accept_template(&self, spec: JobSpec, targets: Vec<String>, origin: &str) -> Result<Job> {
        if targets.is_empty() {
            return Err(Error::InvalidArgument("a job needs at least one target".into()));
        }
        let work = self.inner.work.open_for(&targets);
        Ok(Job {
            id: JobId::random(),
            kind: spec.kind(),
            targets,
            spec,
            status: JobStatus::Pending,
            created_at: now_ms(),
            started_at: None,
            finished_at: None,
            attempt: 1,
            retry_of: None,
            retried_by: None,
            parent: None,
            owner: self.inner.owner.clone(),
            cancel_requested: false,
            origin: origin.to_string(),
            submitter: None,
            work,
            result: None,
        })
    }

    /// Records that an attempt started.
    pub fn start(&self, id: &JobId, attempt: u32) -> Result<()> {
        let ev = Event::Started { id: id.clone(), at: now_ms(), attempt };
        self.with_lock(false, |_| Ok((vec![ev], ())))
    }

    /// Records the end of a job (fsynced).
    pub fn finish(&self, id: &JobId, status: JobStatus, result: JobResult) -> Result<()> {
        debug_assert!(status.is_terminal());
        let ev = Event::Finished { id: id.clone(), at: now_ms(), status, result: Box::new(result) };
        self.with_lock(true, |_| Ok((vec![ev], ())))?;
        self.inner.local.lock().expect("lock").remove(id);
        Ok(())
    }

    /// [`Jobs::finish`], tried again for up to about 30 s when the journal cannot be written (no file
    /// descriptor left during a large fan-out, a full disk freeing up): a job that ran is never left
    /// `running` on record while this process lives.
    pub async fn finish_surely(&self, id: &JobId, status: JobStatus, result: JobResult) {
        let mut pause = std::time::Duration::from_millis(50);
        for attempt in 0.. {
            match self.finish(id, status, result.clone()) {
                Ok(()) => return,
                Err(e) if attempt < 20 => {
                    tracing::warn!(job = %id, error = %e, "cannot record the job's end yet; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(2));
                }
                Err(e) => {
                    tracing::error!(job = %id, error = %e, "cannot record the job's end");
                    return;
                }
            }
        }
    }

    /// Asks for a job to be cancelled, from any process. Its owner kills the remote command within a
    /// second. Returns the job as it is now (already terminal: nothing to do).
    pub fn request_cancel(&self, id: &JobId) -> Result<Job> {
        self.with_lock(true, |table| {
            let j = table.get(id).ok_or_else(|| Error::NotFound { what: "job", name: id.to_string() })?;
            let ev = if j.status.is_terminal() || j.cancel_requested {
                vec![]
            } else {
                vec![Event::CancelRequested { id: id.clone(), at: now_ms() }]
            };
            Ok((ev, ()))
        })?;
        self.get(id)
    }

    /// Registers a job this process runs; the receiver turns `true` when a cancel is requested.
    pub fn register_local(&self, id: &JobId) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        self.inner.local.lock().expect("lock").insert(id.clone(), tx);
        // A cancel may already be on record.
        if self.get(id).is_ok_and(|j| j.cancel_requested) {
            self.signal_local_cancel(id);
        }
        rx
    }

    fn signal_local_cancel(&self, id: &JobId) {
        if let Some(tx) = self.inner.local.lock().expect("lock").get(id) {
            let _ = tx.send(true);
        }
    }

    /// Ids of jobs this process is running.
    pub fn local_jobs(&self) -> Vec<JobId> {
        self.inner.local.lock().expect("lock").keys().cloned().collect()
    }

    /// One job, as of the latest journal.
    pub fn get(&self, id: &JobId) -> Result<Job> {
        self.refresh()?;
        let shared = self.inner.shared.lock().expect("lock");
        shared.table.get(id).cloned().ok_or_else(|| Error::NotFound { what: "job", name: id.to_string() })
    }

    /// A page of jobs, newest first.
    pub fn list(&self, filter: &Filter) -> Result<Page> {
        self.refresh()?;
        Ok(self.inner.shared.lock().expect("lock").table.list(filter))
    }

    /// Counts and rates.
    pub fn stats(&self) -> Result<Stats> {
        self.refresh()?;
        Ok(self.inner.shared.lock().expect("lock").table.stats())
    }

    /// The output file of a job.
    pub fn output_path(&self, id: &JobId) -> PathBuf {
        self.inner.dir.join(format!("{id}.log"))
    }

    /// Subscribes to changes and (for jobs run here) output.
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.inner.events.subscribe()
    }

    /// Catches up with what other processes wrote (no lock needed: only complete lines are read).
    pub fn refresh(&self) -> Result<()> {
        let mut shared = self.inner.shared.lock().expect("lock");
        self.catch_up(&mut shared)
    }

    /// Runs `decide` on the latest state under the journal lock and appends the events it returns.
    fn with_lock<T>(&self, sync: bool, decide: impl FnOnce(&Table) -> Result<(Vec<Event>, T)>) -> Result<T> {
        let mut shared = self.inner.shared.lock().expect("lock");
        let _lock = FileLock::exclusive(self.inner.journal.path())?;
        self.catch_up(&mut shared)?;
        let (events, out) = decide(&shared.table)?;
        if !events.is_empty() || self.inner.journal.size() > 0 {
            // An empty append still repairs a torn tail.
            self.inner.journal.append(&events, sync && !events.is_empty())?;
        }
        self.catch_up(&mut shared)?;
        Ok(out)
    }

    fn catch_up(&self, shared: &mut Shared) -> Result<()> {
        let outcome = self.inner.journal.read(&mut shared.cursor)?;
        let events = match outcome {
            ReadOutcome::More(events) => events,
            ReadOutcome::Reset(events) => {
                shared.table = Table::default();
                let _ = self.inner.events.send(JobEvent::Reloaded);
                events
            }
        };
        for ev in events {
            let id = match &ev {
                Event::Accepted { job } => job.id.clone(),
                Event::Started { id, .. }
                | Event::Finished { id, .. }
                | Event::CancelRequested { id, .. }
                | Event::Retried { id, .. }
                | Event::Crashed { id, .. } => id.clone(),
            };
            let cancel = matches!(ev, Event::CancelRequested { .. });
            shared.table.apply(ev);
            if cancel {
                self.signal_local_cancel(&id);
            }
            if self.inner.events.receiver_count() > 0
                && let Some(j) = shared.table.get(&id)
            {
                let _ = self.inner.events.send(JobEvent::Changed(Box::new(j.clone())));
            }
        }
        Ok(())
    }
}
