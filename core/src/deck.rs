//! [`Deck`]: the one object a front end holds. It owns the settings, the registry, the pool and the
//! job store, runs the jobs this process accepts, and keeps this process's heartbeat.

mod adhoc;
mod checks;
mod fleet;
pub mod live;
mod queue;
pub mod quick;
mod records;
mod run;
mod shells;
mod snapshots;
mod submit;
mod tunnels;
mod view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::{RunnerMode, Settings};
use crate::data_dir::DataDir;
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, Stream};
use crate::jobs::{Job, JobId, JobLimits, Jobs};
use crate::link::{Launcher, Link};
use crate::pool::{Pool, PoolLimits, PoolStats};
use crate::servers::{Added, Registry, Server, ServerConfig};
use crate::ssh::{ConnectOptions, KnownHosts, Target, resolve_jumps};

/// How often a process re-reads the journal (cancel requests from other processes land within this).
const FOLLOW_EVERY: Duration = Duration::from_millis(250);
/// How often the heartbeat is written.
const BEAT_EVERY: Duration = Duration::from_secs(1);
/// How often jobs of dead processes are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// How often compaction is considered.
const COMPACT_EVERY: Duration = Duration::from_secs(600);

/// Longest command line accepted (sshd refuses requests past its packet size anyway).
pub const MAX_COMMAND_BYTES: usize = 128 * 1024;

/// A sink for a job's output as it arrives (the CLI prints it): step index (0 for a plain command),
/// stream, bytes.
pub type OutputSink = Box<dyn FnMut(usize, Stream, &[u8]) + Send>;

/// Cheap-to-clone handle on settings, registry, pool and jobs.
#[derive(Clone)]
pub struct Deck {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    data_dir: DataDir,
    registry: Registry,
    pool: Pool,
    jobs: Jobs,
    stop: Notify,
    progress: Mutex<HashMap<JobId, Arc<crate::sftp::Progress>>>,
    /// Targets resolved by [`Deck::resolve_target`] (not registered), by name.
    adhoc: Mutex<HashMap<String, ServerConfig>>,
    /// Set in a front end whose jobs run in the data dir's runner.
    link: Option<Link>,
    /// Shell sessions held by this process (in a front end with a runner: none; the runner's).
    shells: crate::shells::Shells,
    /// Tunnels held by this process (in a front end with a runner: none; the runner's).
    tunnels: crate::tunnels::Tunnels,
}

pub use adhoc::TargetFlags;
pub use live::Live;
pub use queue::Retried;
pub use records::FileJob;
pub use submit::JobInput;

impl Deck {
    /// Opens the data dir (creating it 0700), the job store (marking jobs of dead processes crashed)
    /// and the pool, and starts this process's heartbeat. `program` names the process in job records.
    /// Needs a tokio runtime.
    pub fn open(settings: Settings, program: &str) -> Result<Deck> {
        Self::open_with(settings, program, None)
    }

    /// [`Deck::open`] for a front end: with `RUNNER_MODE=shared` (the default) its jobs and commands go
    /// to the data dir's runner, started with `launcher` when none runs, and outlive this process.
    pub fn open_front_end(settings: Settings, program: &str, launcher: Launcher) -> Result<Deck> {
        let shared = settings.runner_mode == RunnerMode::Shared;
        Self::open_with(settings, program, shared.then_some(launcher))
    }

    fn open_with(settings: Settings, program: &str, launcher: Option<Launcher>) -> Result<Deck> {
        let data_dir = DataDir::open(&settings.data_dir)?;
        crate::fleet::Groups::migrate(&data_dir);
        let (soft, hard) = crate::limits::raise_open_files();
        tracing::debug!(soft, hard, "open-file limit");
        let registry = Registry::new(&data_dir);
        let pool = Pool::new(
            PoolLimits {
                max_connections: settings.max_connections_per_server,
                min_connections: settings.min_connections_per_server,
                channels_per_connection: settings.channels_per_connection,
                idle_timeout: settings.idle_timeout,
            },
            ConnectOptions {
                timeout: settings.connect_timeout,
                keep_alive: settings.keep_alive_interval,
                known_hosts: KnownHosts::new(data_dir.known_hosts_file()),
                agent_socket: settings.agent_socket.clone(),
            },
        );
        let jobs = Jobs::open(
            &data_dir,
            JobLimits {
                max_queue: settings.max_queue_size,
                retention_ms: settings.history_retention.as_millis() as u64,
                output_limit: settings.job_output_limit,
            },
            program,
        )?;
        let link = match launcher {
            Some(l) => Some(Link::new(data_dir.runtime_dir()?, l, jobs.clone(), program)),
            None => None,
        };
        let shells = crate::shells::Shells::new(crate::shells::ShellLimits {
            per_server: settings.shell_max_per_server,
            total: settings.shell_max_sessions,
            idle: settings.shell_idle_timeout,
        });
        let deck = Deck {
            inner: Arc::new(Inner {
                settings,
                data_dir,
                registry,
                pool,
                jobs,
                stop: Notify::new(),
                progress: Mutex::default(),
                adhoc: Mutex::default(),
                link,
                shells,
                tunnels: crate::tunnels::Tunnels::default(),
            }),
        };
        deck.spawn_maintenance();
        Ok(deck)
    }

    fn spawn_maintenance(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut follow = tokio::time::interval(FOLLOW_EVERY);
            let mut beat = tokio::time::interval(BEAT_EVERY);
            let mut sweep = tokio::time::interval(SWEEP_EVERY);
            let mut compact = tokio::time::interval(COMPACT_EVERY);
            for t in [&mut follow, &mut beat, &mut sweep, &mut compact] {
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t.tick().await;
            }
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let stopped = inner.stop.notified();
                tokio::select! {
                    _ = stopped => return,
                    _ = follow.tick() => log_err("follow journal", inner.jobs.refresh()),
                    _ = beat.tick() => log_err("heartbeat", inner.jobs.beat(inner.pool.stats(), inner.tunnels.list())),
                    _ = sweep.tick() => log_err("crash sweep", inner.jobs.sweep_crashed().map(|_| ())),
                    _ = compact.tick() => log_err("compaction", inner.jobs.compact_if_due()),
                }
            }
        });
    }

    /// Settings in force.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The job store, with its write side. Crate-private: front ends use the read methods of
    /// `deck/view.rs`. With the `test-support` feature (tests only) this and `data_dir` are public.
    #[cfg(not(feature = "test-support"))]
    pub(crate) fn jobs(&self) -> &Jobs {
        &self.inner.jobs
    }

    #[cfg(feature = "test-support")]
    #[doc(hidden)]
    pub fn data_dir(&self) -> &DataDir {
        &self.inner.data_dir
    }

    #[cfg(feature = "test-support")]
    #[doc(hidden)]
    pub fn jobs(&self) -> &Jobs {
        &self.inner.jobs
    }

    /// Registers (or with `replace`, updates) a server. Pooled connections built from older
    /// settings of that alias are never reused.
    pub fn add_server(&self, alias: &str, config: ServerConfig, replace: bool) -> Result<Added> {
        self.inner.registry.add(alias, config, replace)
    }

    /// Removes a server and closes its pooled connections.
    pub fn remove_server(&self, alias: &str) -> Result<Server> {
        let removed = self.inner.registry.remove(alias)?;
        self.inner.pool.evict(alias);
        Ok(removed)
    }

    /// The connection target of an alias, bastions resolved through the registry.
    pub fn target(&self, alias: &str) -> Result<Target> {
        let servers = self.inner.registry.list()?;
        let config = match servers.iter().find(|s| s.alias == alias) {
            Some(s) => s.config.clone(),
            None => self.adhoc(alias).ok_or_else(|| Error::NotFound { what: "server", name: alias.to_string() })?,
        };
        let lookup = |a: &str| servers.iter().find(|s| s.alias == a).map(|s| s.config.clone());
        let jumps = resolve_jumps(&config, &lookup)?;
        Ok(Target { alias: alias.to_string(), config, jumps })
    }

    /// Default exec options from the settings (timeout, capture bound).
    pub fn exec_options(&self) -> ExecOptions {
        ExecOptions {
            timeout: Some(self.inner.settings.default_cmd_timeout),
            capture_limit: self.inner.settings.capture_limit,
            ..ExecOptions::default()
        }
    }

    /// Live counters of a transfer job this process runs, or submitted to the runner.
    pub fn transfer_progress(&self, id: &JobId) -> Option<Arc<crate::sftp::Progress>> {
        if let Some(p) = self.inner.link.as_ref().and_then(|l| l.progress(id)) {
            return Some(p);
        }
        self.inner.progress.lock().expect("lock").get(id).cloned()
    }

    pub(crate) fn progress_for(&self, id: &JobId) -> Arc<crate::sftp::Progress> {
        self.inner.progress.lock().expect("lock").entry(id.clone()).or_default().clone()
    }

    pub(crate) fn forget_progress(&self, id: &JobId) {
        self.inner.progress.lock().expect("lock").remove(id);
    }

    /// Pool counters of whoever runs this front end's commands: the runner's (when it is up), else
    /// this process's.
    pub fn pool_stats(&self) -> PoolStats {
        if let Some(stats) = self.inner.link.as_ref().and_then(Link::pool_stats) {
            return stats;
        }
        self.inner.pool.stats()
    }

    /// The pool (for direct leases).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Stops this process's part: cancels the jobs it still runs (killing their commands) and waits
    /// up to `grace` for them to record their end, stops the heartbeat, closes connections.
    pub async fn shutdown_with(&self, grace: Duration) {
        let local = self.inner.jobs.local_jobs();
        for id in &local {
            let _ = self.inner.jobs.request_cancel(id);
        }
        let deadline = tokio::time::Instant::now() + grace;
        while !self.inner.jobs.local_jobs().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.inner.shells.close_all().await;
        self.inner.tunnels.close_all().await;
        self.inner.stop.notify_waiters();
        self.inner.jobs.retire();
        self.inner.pool.shutdown().await;
    }

    /// [`Deck::shutdown_with`] with a 3 s grace.
    pub async fn shutdown(&self) {
        self.shutdown_with(Duration::from_secs(3)).await;
    }

    fn start(&self, job: Job, input: JobInput) {
        let cancel = self.inner.jobs.register_local(&job.id);
        let deck = self.clone();
        tokio::spawn(async move { run::run_job(deck, job, cancel, input).await });
    }
}

fn log_err(what: &str, r: Result<()>) {
    if let Err(e) = r {
        tracing::warn!(error = %e, "{what} failed");
    }
}
