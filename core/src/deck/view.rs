//! What front ends read through [`Deck`]: jobs and their output, servers, live processes, sshdeck's
//! own logs, the API catalog. Front ends never touch the journal, output files, heartbeats or the
//! data dir's layout themselves; these methods are the only way in.

use std::path::{Path, PathBuf};

use tokio::sync::broadcast;

use super::Deck;
use crate::apis::Catalog;
use crate::error::Result;
use crate::jobs::output::{OutputFollower, read_range, read_tail};
use crate::jobs::{Filter, Job, JobEvent, JobId, Page, ProcessInfo, Stats};
use crate::servers::{ImportReport, Server, ServerConfig};

/// Levels of sshdeck's own log lines, lowest first (as `tracing` writes them).
const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

impl Deck {
    /// One job, as of the latest journal (`NOT_FOUND` when unknown).
    pub fn job(&self, id: &JobId) -> Result<Job> {
        self.inner.jobs.get(id)
    }

    /// A job by id as typed by a user: the whole id, or a unique prefix of 4 or more characters.
    pub fn job_by_text(&self, id: &str) -> Result<Job> {
        self.job(&self.resolve_job_id(id)?)
    }

    /// The id a user means: the whole id, or the one job whose id starts with what was typed (4
    /// characters at least); an ambiguous prefix is refused with the candidates.
    pub fn resolve_job_id(&self, text: &str) -> Result<JobId> {
        if let Ok(id) = JobId::parse(text) {
            return Ok(id);
        }
        let prefix = text.trim().to_ascii_lowercase();
        let typable = prefix.bytes().all(|b| crate::jobs::ID_ALPHABET.contains(&b));
        if !typable || prefix.len() < 4 || prefix.len() > crate::jobs::model::ID_LEN {
            return JobId::parse(text).map_err(|_| {
                crate::Error::InvalidArgument(format!(
                    "{text:?} is not a job id: give the whole id or 4 or more of its first characters"
                ))
            });
        }
        let all = self.jobs_page(&Filter { limit: usize::MAX, ..Default::default() })?;
        let found: Vec<JobId> =
            all.jobs.into_iter().map(|j| j.id).filter(|id| id.as_str().starts_with(&prefix)).collect();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(crate::Error::NotFound { what: "job", name: text.to_string() }),
            many => Err(crate::Error::InvalidArgument(format!(
                "{text:?} matches {} jobs: {}{}",
                many.len(),
                many.iter().take(10).map(JobId::as_str).collect::<Vec<_>>().join(", "),
                if many.len() > 10 { ", …" } else { "" }
            ))),
        }
    }

    /// A page of jobs, newest first.
    pub fn jobs_page(&self, filter: &Filter) -> Result<Page> {
        self.inner.jobs.list(filter)
    }

    /// Counts and rates of the job history.
    pub fn job_stats(&self) -> Result<Stats> {
        self.inner.jobs.stats()
    }

    /// At most `max` bytes of a job's recorded output from byte `offset`, and the output's whole size.
    pub fn job_output(&self, id: &JobId, offset: u64, max: u64) -> (Vec<u8>, u64) {
        read_range(&self.inner.jobs.output_path(id), offset, max)
    }

    /// The last `max` bytes of a job's recorded output.
    pub fn job_output_tail(&self, id: &JobId, max: u64) -> Vec<u8> {
        read_tail(&self.inner.jobs.output_path(id), max)
    }

    /// Follows a job's recorded output from byte `offset`, as it grows (any process's job).
    pub fn follow_output(&self, id: &JobId, offset: u64) -> OutputFollower {
        OutputFollower::new(self.inner.jobs.output_path(id), offset)
    }

    /// Changes of jobs run here (and their output), for live views.
    pub fn job_events(&self) -> broadcast::Receiver<JobEvent> {
        self.inner.jobs.subscribe()
    }

    /// Every live sshdeck process on this data dir, with its pool.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        self.inner.jobs.processes()
    }

    /// Every registered server.
    pub fn servers(&self) -> Result<Vec<Server>> {
        self.inner.registry.list()
    }

    /// One registered server (`NOT_FOUND` when unknown).
    pub fn server(&self, alias: &str) -> Result<Server> {
        self.inner.registry.get(alias)
    }

    /// Adds many servers in one write (see [`crate::servers::Registry::import`]).
    pub fn import_servers(&self, entries: Vec<(String, ServerConfig)>, replace: bool) -> Result<ImportReport> {
        self.inner.registry.import(entries, replace)
    }

    /// The audit trail of this data dir (`audit.jsonl`).
    pub fn audit(&self) -> crate::audit::Audit {
        crate::audit::Audit::new(self.inner.data_dir.root())
    }

    /// The per-server notes of this data dir (Node's `server_notes.json`).
    pub fn notes(&self) -> crate::notes::Notes {
        crate::notes::Notes::new(self.inner.data_dir.root())
    }

    /// The projects of this data dir (Node's `projects.json`).
    pub fn projects(&self) -> crate::projects::Projects {
        crate::projects::Projects::new(self.inner.data_dir.root())
    }

    /// The work sessions of this data dir (Node's `work_sessions.json`).
    pub fn work_sessions(&self) -> crate::work::WorkSessions {
        crate::work::WorkSessions::new(self.inner.data_dir.root())
    }

    /// The API health-check catalog of this data dir.
    pub fn api_catalog(&self) -> Catalog {
        Catalog::new(&self.inner.data_dir)
    }

    /// The data dir's root.
    pub fn data_root(&self) -> &Path {
        self.inner.data_dir.root()
    }

    /// Where sshdeck's own logs go (`logs/`, created 0700).
    pub fn logs_dir(&self) -> Result<PathBuf> {
        self.inner.data_dir.logs_dir()
    }

    /// The last `limit` lines of every sshdeck process's own log at `min_level` or above
    /// (`error`, `warn`, `info`, `debug`), containing `search` (any case), oldest first.
    pub fn log_lines(&self, min_level: Option<&str>, search: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let rank = |l: &str| LEVELS.iter().position(|x| x.eq_ignore_ascii_case(l));
        let min = match min_level {
            None => 0,
            Some(l) => rank(l).filter(|r| *r >= 1).ok_or_else(|| {
                crate::Error::InvalidArgument(format!("level {l:?}: expected error, warn, info or debug"))
            })?,
        };
        let search = search.map(str::to_lowercase);
        let mut lines: Vec<String> = Vec::new();
        for e in std::fs::read_dir(self.logs_dir()?).into_iter().flatten().flatten() {
            let Ok(text) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            lines.extend(
                text.lines()
                    .filter(|l| l.split_whitespace().nth(1).and_then(rank).is_some_and(|r| r >= min))
                    .filter(|l| search.as_ref().is_none_or(|s| l.to_lowercase().contains(s)))
                    .map(str::to_string),
            );
        }
        // Lines start with an RFC 3339 time, so text order is time order across files.
        lines.sort();
        Ok(lines.split_off(lines.len().saturating_sub(limit)))
    }

    /// The host keys on record for a registered server (algorithm, `SHA256:` fingerprint, file and
    /// line), as its last connection learned or checked them.
    pub fn host_keys(&self, alias: &str) -> Result<Vec<(String, String, String)>> {
        let server = self.inner.registry.get(alias)?;
        crate::ssh::KnownHosts::new(self.inner.data_dir.known_hosts_file())
            .keys_for(&server.config.host, server.config.port)
    }
}
