//! Fan-out: one parent job over many hosts, one child job per host, run with bounded concurrency
//! (`FLEET_CONCURRENCY`). New handshakes stay paced per host:port by the pool, under sshd's
//! `MaxStartups`. Cancelling the parent cancels every child; the parent's result summarises them.

use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::{Deck, run};
use crate::error::Result;
use crate::fleet::{self, FleetSummary, Groups, OutputGroup};
use crate::jobs::{Ending, Job, JobResult, JobSpec, JobStatus};

impl Deck {
    /// The server groups.
    pub fn groups(&self) -> Groups {
        Groups::new(&self.inner.data_dir)
    }

    /// Resolves target expressions (aliases, `group:NAME`, `tag:NAME`, `all`, comma lists) to aliases.
    pub fn resolve_targets(&self, exprs: &[String]) -> Result<Vec<String>> {
        fleet::resolve(
            exprs,
            &self.inner.registry.list()?,
            &self.groups().list()?,
            self.inner.settings.fleet_max_targets,
        )
    }

    /// Accepts a fan-out of `spec` over `aliases` (durably, in one write) and starts it in this
    /// process. Returns the parent and its children.
    pub fn submit_fleet(&self, aliases: Vec<String>, spec: JobSpec, origin: &str) -> Result<(Job, Vec<Job>)> {
        if matches!(spec, JobSpec::Interactive { .. } | JobSpec::Transfer { .. }) {
            return Err(crate::Error::InvalidArgument(
                "interactive commands and transfers run on one server at a time".into(),
            ));
        }
        self.preflight(&aliases, &spec)?;
        let need = aliases.len() as u64 + crate::limits::RESERVED_FILES;
        let limit = crate::limits::open_files();
        if limit > 0 && need > limit {
            tracing::warn!(
                hosts = aliases.len(),
                limit,
                "a fan-out to {} hosts needs about {need} open files and the limit is {limit} (hard limit too): \
                 hosts past it fail with RESOURCE_EXHAUSTED; raise `ulimit -Hn`",
                aliases.len()
            );
        }
        if let Some(link) = &self.inner.link {
            let request = crate::link::wire::Request::SubmitFleet {
                aliases: aliases.clone(),
                spec: spec.clone(),
                origin: origin.into(),
            };
            match link.submit_fleet(request) {
                Ok(r) => return r,
                Err(crate::link::Unreachable(e)) => {
                    tracing::warn!(error = %e, "runner unreachable: running the fan-out here")
                }
            }
        }
        let (parent, children) = self.inner.jobs.accept_fleet(spec, aliases, origin)?;
        let parent_cancel = self.inner.jobs.register_local(&parent.id);
        let cancels: Vec<_> = children.iter().map(|c| self.inner.jobs.register_local(&c.id)).collect();
        let deck = self.clone();
        let (p, c) = (parent.clone(), children.clone());
        tokio::spawn(async move { run_fleet(deck, p, c, cancels, parent_cancel).await });
        Ok((parent, children))
    }

    /// The children of a fan-out job, in target order.
    pub fn fleet_children(&self, parent: &Job) -> Vec<Job> {
        let filter = crate::jobs::Filter { limit: usize::MAX, parent: Some(parent.id.clone()), ..Default::default() };
        let mut children = self.inner.jobs.list(&filter).map(|p| p.jobs).unwrap_or_default();
        children.sort_by_key(|c| parent.targets.iter().position(|t| Some(t) == c.targets.first()));
        children
    }
}

async fn run_fleet(
    deck: Deck,
    parent: Job,
    children: Vec<Job>,
    cancels: Vec<watch::Receiver<bool>>,
    mut parent_cancel: watch::Receiver<bool>,
) {
    let jobs = deck.jobs().clone();
    let started = Instant::now();
    if let Err(e) = jobs.start(&parent.id, 1) {
        tracing::warn!(job = %parent.id, error = %e, "cannot record fan-out start");
    }
    tracing::info!(job = %parent.id, hosts = children.len(), "fan-out started");
    let permits = Arc::new(Semaphore::new(deck.settings().fleet_concurrency));
    let mut set = JoinSet::new();
    for (child, cancel) in children.iter().cloned().zip(cancels) {
        let (deck, permits) = (deck.clone(), permits.clone());
        set.spawn(async move {
            let mut waiting = cancel.clone();
            let permit = tokio::select! {
                p = permits.acquire_owned() => p.ok(),
                _ = waiting.wait_for(|c| *c) => None,
            };
            if permit.is_none() || *cancel.borrow() {
                let r = JobResult::ended(Ending::error("CANCELLED", "cancelled before it started"));
                let _ = deck.jobs().finish(&child.id, JobStatus::Cancelled, r);
                return;
            }
            run::run_job(deck, child, cancel, super::JobInput::default()).await;
        });
    }
    let mut cancelled = false;
    loop {
        tokio::select! {
            next = set.join_next() => if next.is_none() { break },
            _ = parent_cancel.wait_for(|c| *c), if !cancelled => {
                cancelled = true;
                for c in &children {
                    let _ = jobs.request_cancel(&c.id);
                }
            }
        }
    }
    let finished: Vec<Job> = children.iter().map(|c| jobs.get(&c.id).unwrap_or_else(|_| c.clone())).collect();
    let summary = summarize(&finished, |j| read_output(&jobs.output_path(&j.id)));
    let bad = summary.total - summary.ok;
    let status = if cancelled {
        JobStatus::Cancelled
    } else if bad == 0 {
        JobStatus::Completed
    } else {
        JobStatus::Failed
    };
    let record = JobResult {
        end: Ending {
            duration_ms: started.elapsed().as_millis() as u64,
            error_code: (bad > 0).then(|| if cancelled { "CANCELLED".into() } else { "FLEET_PARTIAL".into() }),
            error_message: (bad > 0).then(|| format!("{bad} of {} hosts did not succeed", summary.total)),
            ..Ending::default()
        },
        fleet: Some(summary),
        ..JobResult::default()
    };
    tracing::info!(job = %parent.id, status = status.as_str(), "fan-out finished");
    jobs.finish_surely(&parent.id, status, record).await;
}

/// A child's output file, up to 1 MiB (enough to tell outputs apart).
fn read_output(path: &std::path::Path) -> Vec<u8> {
    use std::io::Read;
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(1 << 20).read_to_end(&mut buf);
    }
    buf
}

/// Bytes of output a group shows.
const SAMPLE: usize = 1024;

const UNREACHABLE: [&str; 7] = [
    "CONNECTION_FAILED",
    "AUTH_FAILED",
    "KEY_INVALID",
    "HOST_KEY_MISMATCH",
    "HOST_KEY_UNKNOWN",
    "HOST_KEY_REVOKED",
    "CHANNEL_FAILED",
];

/// Summarises finished children; `output` gives each one's output bytes.
fn summarize(children: &[Job], output: impl Fn(&Job) -> Vec<u8>) -> FleetSummary {
    let mut s = FleetSummary { total: children.len(), ..Default::default() };
    let mut keyed: Vec<(Vec<u8>, OutputGroup)> = Vec::new();
    for c in children {
        let r = c.result.clone().unwrap_or_default();
        let code = r.end.error_code.clone();
        match c.status {
            JobStatus::Completed => s.ok += 1,
            JobStatus::TimedOut => s.timed_out += 1,
            JobStatus::Cancelled => s.cancelled += 1,
            _ if code.as_deref().is_some_and(|c| UNREACHABLE.contains(&c)) => s.unreachable += 1,
            _ => s.failed += 1,
        }
        let out = output(c);
        let mut key = Sha256::new();
        key.update(c.status.as_str());
        // The message too: "refused" and "dropped" are both CONNECTION_FAILED but not the same story.
        key.update(format!("{:?}{:?}{:?}", r.end.exit_code, code, r.end.error_message));
        key.update(&out);
        let key = key.finalize().to_vec();
        let alias = c.targets.first().cloned().unwrap_or_default();
        match keyed.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.aliases.push(alias),
            None => {
                let cut = out.len().min(SAMPLE);
                keyed.push((
                    key,
                    OutputGroup {
                        aliases: vec![alias],
                        status: c.status.as_str().to_string(),
                        exit_code: r.end.exit_code,
                        error_code: code,
                        error_message: r.end.error_message,
                        output: String::from_utf8_lossy(&out[..cut]).into_owned(),
                        output_bytes: out.len() as u64,
                    },
                ));
            }
        }
    }
    s.groups = keyed.into_iter().map(|(_, g)| g).collect();
    // Largest groups first: the odd hosts out come last.
    s.groups.sort_by_key(|g| std::cmp::Reverse(g.aliases.len()));
    s
}
