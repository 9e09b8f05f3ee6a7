//! The job store's upkeep: this process's heartbeat, the live processes, jobs of dead processes
//! marked `crashed`, and journal compaction.

use std::collections::HashMap;

use super::journal::Event;
use super::runtime::{self, Heartbeat, Liveness};
use super::{COMPACT_AT_BYTES, Job, JobId, Jobs, Owner, now_ms};
use crate::data_dir::FileLock;
use crate::error::Result;
use crate::pool::PoolStats;
use crate::tunnels::TunnelInfo;

impl Jobs {
    /// Writes this process's heartbeat, with its pool stats and tunnels.
    pub fn beat(&self, pool: PoolStats, tunnels: Vec<TunnelInfo>) -> Result<()> {
        let owner = self.inner.owner.clone();
        let proc_start = runtime::proc_start_ticks(owner.pid);
        self.inner.runtime.beat(&Heartbeat {
            owner,
            started_at: self.inner.started_at,
            last_beat: now_ms(),
            proc_start,
            pool,
            tunnels,
        })
    }

    /// Every live process's heartbeat (for the console's pool view).
    pub fn processes(&self) -> Vec<Heartbeat> {
        self.inner.runtime.all()
    }

    /// Removes this process's heartbeat (clean exit).
    pub fn retire(&self) {
        self.inner.runtime.remove(self.inner.owner.pid);
    }

    /// Marks `crashed` every unfinished job whose owner is gone. Returns their ids.
    pub fn sweep_crashed(&self) -> Result<Vec<JobId>> {
        let me = self.inner.owner.clone();
        let runtime = self.inner.runtime.clone();
        self.with_lock(true, |table| {
            let mut verdicts: HashMap<Owner, Liveness> = HashMap::new();
            let mut events = Vec::new();
            let mut ids = Vec::new();
            for j in table.iter().filter(|j| !j.status.is_terminal() && j.owner != me) {
                let v = *verdicts.entry(j.owner.clone()).or_insert_with(|| runtime.is_alive(&j.owner));
                if let Liveness::Dead(why) = v {
                    let reason = format!("owner {} (pid {}) died: {why}", j.owner.program, j.owner.pid);
                    tracing::warn!(job = %j.id, %reason, "marking job crashed");
                    events.push(Event::Crashed { id: j.id.clone(), at: now_ms(), reason });
                    ids.push(j.id.clone());
                }
            }
            Ok((events, ids))
        })
    }

    /// Compacts the journal when it is large or holds jobs past retention.
    pub fn compact_if_due(&self) -> Result<()> {
        let cutoff = now_ms().saturating_sub(self.inner.limits.retention_ms);
        let due = self.inner.journal.size() > COMPACT_AT_BYTES || {
            let shared = self.inner.shared.lock().expect("lock");
            shared.table.iter().any(|j| j.status.is_terminal() && j.finished_at.unwrap_or(j.created_at) < cutoff)
        };
        if due { self.compact() } else { Ok(()) }
    }

    /// Rewrites the journal as one record per job, dropping finished jobs past retention (and their
    /// output files).
    pub fn compact(&self) -> Result<()> {
        let cutoff = now_ms().saturating_sub(self.inner.limits.retention_ms);
        let mut shared = self.inner.shared.lock().expect("lock");
        let _lock = FileLock::exclusive(self.inner.journal.path())?;
        self.catch_up(&mut shared)?;
        let mut table = shared.table.clone();
        let dropped = table.drop_finished_before(cutoff);
        self.inner.journal.rewrite(&table.snapshot())?;
        self.catch_up(&mut shared)?;
        for id in &dropped {
            let _ = std::fs::remove_file(self.output_path(id));
        }
        tracing::info!(dropped = dropped.len(), kept = table.iter().count(), "journal compacted");
        Ok(())
    }

    /// Removes the finished jobs `pick` chooses (with their fan-outs' per-host jobs and their output
    /// files) from the journal; never a job still pending or running. With `dry_run`, removes nothing.
    /// Returns the jobs chosen.
    pub fn purge(&self, pick: impl Fn(&Job) -> bool, dry_run: bool) -> Result<Vec<Job>> {
        let mut shared = self.inner.shared.lock().expect("lock");
        let _lock = FileLock::exclusive(self.inner.journal.path())?;
        self.catch_up(&mut shared)?;
        let mut table = shared.table.clone();
        let gone = table.drop_finished_where(pick);
        let chosen: Vec<Job> = gone.iter().filter_map(|id| shared.table.get(id).cloned()).collect();
        if dry_run || gone.is_empty() {
            return Ok(chosen);
        }
        self.inner.journal.rewrite(&table.snapshot())?;
        self.catch_up(&mut shared)?;
        for id in &gone {
            let _ = std::fs::remove_file(self.output_path(id));
        }
        tracing::info!(purged = gone.len(), "jobs purged");
        Ok(chosen)
    }
}
