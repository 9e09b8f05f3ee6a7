//! Shell sessions (`shell_create`, `shell_exec`, `shell_list`, `shell_close`): interactive shells kept
//! open on pooled connections where jobs run (the runner), so a `cd`, an `export` or a sourced
//! virtualenv lasts from one command to the next and the sessions outlive the front end that opened
//! them. Commands of one session run one at a time, each as a `shell` job; a session unused for
//! `SHELL_IDLE_TIMEOUT_S` is closed; `SHELL_MAX_PER_SERVER` and `SHELL_MAX_SESSIONS` cap them.

mod frame;
mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::jobs::now_ms;
use crate::pool::Pool;
use crate::ssh::Target;
pub(crate) use session::Ran;
use session::ShellSession;

/// How often idle sessions are looked for.
const REAP_EVERY: Duration = Duration::from_secs(5);

/// A session as `shell_list` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShellInfo {
    /// The id `shell_exec` takes.
    pub session_id: String,
    /// The server.
    pub alias: String,
    /// Who opened it (`mcp`, `mcp:NAME`, `cli`).
    pub origin: String,
    /// Opened at (ms since the epoch).
    pub created_at: u64,
    /// Last command ended (or the session opened) at (ms since the epoch).
    pub last_used_at: u64,
    /// Commands run.
    pub commands: u64,
    /// A command is running.
    pub busy: bool,
    /// The working directory after the last command.
    pub cwd: String,
    /// Default timeout of its commands in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd_timeout_ms: Option<u64>,
    /// Seconds of disuse after which it is closed.
    pub idle_close_s: u64,
}

/// What a front end asks of the sessions of the process that holds them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ShellOp {
    /// Open one.
    Create {
        /// Server.
        alias: String,
        /// `cd` there first.
        #[serde(default)]
        workdir: Option<String>,
        /// Variables to export.
        #[serde(default)]
        env: Vec<(String, String)>,
        /// Default command timeout (ms).
        #[serde(default)]
        cmd_timeout_ms: Option<u64>,
        /// Who asks.
        origin: String,
    },
    /// Every open session.
    List,
    /// Close one.
    Close {
        /// The session.
        id: String,
    },
}

/// Caps and idle time.
#[derive(Debug, Clone, Copy)]
pub struct ShellLimits {
    /// Sessions per server.
    pub per_server: usize,
    /// Sessions in all.
    pub total: usize,
    /// Disuse before a session is closed.
    pub idle: Duration,
}

struct Entry {
    info: Mutex<ShellInfo>,
    session: tokio::sync::Mutex<ShellSession>,
}

/// The open sessions of this process. Cheap to clone.
#[derive(Clone)]
pub struct Shells {
    open: Arc<Mutex<HashMap<String, Arc<Entry>>>>,
    /// Sessions being opened, counted against the caps.
    opening: Arc<Mutex<Vec<String>>>,
    limits: ShellLimits,
}

impl Shells {
    /// No session yet; a task closes idle ones while this value (or a clone) lives. Needs a runtime.
    pub fn new(limits: ShellLimits) -> Shells {
        let shells = Shells { open: Arc::default(), opening: Arc::default(), limits };
        let weak = Arc::downgrade(&shells.open);
        let idle = limits.idle;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REAP_EVERY);
            loop {
                tick.tick().await;
                let Some(open) = weak.upgrade() else { return };
                let cutoff = now_ms().saturating_sub(idle.as_millis() as u64);
                let stale: Vec<(String, Arc<Entry>)> = open
                    .lock()
                    .expect("lock")
                    .iter()
                    .filter(|(_, e)| {
                        let i = e.info.lock().expect("lock");
                        !i.busy && i.last_used_at < cutoff
                    })
                    .map(|(k, e)| (k.clone(), e.clone()))
                    .collect();
                for (id, entry) in stale {
                    open.lock().expect("lock").remove(&id);
                    tracing::info!(session = %id, "shell session idle: closed");
                    entry.session.lock().await.close().await;
                }
            }
        });
        shells
    }

    /// Opens a session on `target` (already checked: it exists and may be changed).
    pub async fn create(
        &self,
        pool: &Pool,
        target: &Target,
        workdir: Option<&str>,
        env: &[(String, String)],
        cmd_timeout_ms: Option<u64>,
        origin: &str,
    ) -> Result<ShellInfo> {
        let alias = target.alias.clone();
        {
            let open = self.open.lock().expect("lock");
            let mut opening = self.opening.lock().expect("lock");
            let on_server = open.values().filter(|e| e.info.lock().expect("lock").alias == alias).count()
                + opening.iter().filter(|a| **a == alias).count();
            if open.len() + opening.len() >= self.limits.total {
                return Err(too_many(format!("{} shell sessions are open (SHELL_MAX_SESSIONS)", self.limits.total)));
            }
            if on_server >= self.limits.per_server {
                return Err(too_many(format!(
                    "{} shell sessions are open on {alias} (SHELL_MAX_PER_SERVER)",
                    self.limits.per_server
                )));
            }
            opening.push(alias.clone());
        }
        let opened = ShellSession::open(pool, target, workdir, env).await;
        {
            let mut opening = self.opening.lock().expect("lock");
            if let Some(i) = opening.iter().position(|a| *a == alias) {
                opening.remove(i);
            }
        }
        let session = opened?;
        let id = format!("sh-{}", crate::jobs::JobId::random());
        let now = now_ms();
        let info = ShellInfo {
            session_id: id.clone(),
            alias,
            origin: origin.to_string(),
            created_at: now,
            last_used_at: now,
            commands: 0,
            busy: false,
            cwd: session.cwd.clone(),
            cmd_timeout_ms,
            idle_close_s: self.limits.idle.as_secs(),
        };
        let entry = Arc::new(Entry { info: Mutex::new(info.clone()), session: tokio::sync::Mutex::new(session) });
        self.open.lock().expect("lock").insert(id, entry);
        Ok(info)
    }

    /// Every open session, oldest first.
    pub fn list(&self) -> Vec<ShellInfo> {
        let mut v: Vec<ShellInfo> =
            self.open.lock().expect("lock").values().map(|e| e.info.lock().expect("lock").clone()).collect();
        v.sort_by_key(|i| (i.created_at, i.session_id.clone()));
        v
    }

    /// How many are open.
    pub fn count(&self) -> usize {
        self.open.lock().expect("lock").len()
    }

    /// One session's description.
    pub fn get(&self, id: &str) -> Result<ShellInfo> {
        Ok(self.entry(id)?.info.lock().expect("lock").clone())
    }

    fn entry(&self, id: &str) -> Result<Arc<Entry>> {
        self.open
            .lock()
            .expect("lock")
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound { what: "shell session", name: id.to_string() })
    }

    /// Closes a session (a command still running in it is interrupted by the shell's end).
    pub async fn close(&self, id: &str) -> Result<ShellInfo> {
        let entry = self.entry(id)?;
        self.open.lock().expect("lock").remove(id);
        let info = entry.info.lock().expect("lock").clone();
        match entry.session.try_lock() {
            Ok(mut s) => s.close().await,
            // Busy: dropping the entry closes the channel when the command's run lets go of it.
            Err(_) => tracing::info!(session = %id, "closing a busy shell session"),
        }
        Ok(info)
    }

    /// Closes every session.
    pub async fn close_all(&self) {
        let all: Vec<Arc<Entry>> = self.open.lock().expect("lock").drain().map(|(_, e)| e).collect();
        for e in all {
            if let Ok(mut s) = e.session.try_lock() {
                s.close().await;
            }
        }
    }

    /// Runs `command` in session `id` (waiting for the one before it), with its default timeout
    /// unless `timeout_ms` is given.
    pub(crate) async fn run(
        &self,
        id: &str,
        command: &str,
        timeout_ms: Option<u64>,
        cancel: tokio::sync::watch::Receiver<bool>,
        on_output: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<(Ran, Duration)> {
        let entry = self.entry(id)?;
        let mut session = entry.session.lock().await;
        let default = entry.info.lock().expect("lock").cmd_timeout_ms;
        let limit = timeout_ms.or(default).filter(|ms| *ms > 0).map(Duration::from_millis);
        entry.info.lock().expect("lock").busy = true;
        let started = tokio::time::Instant::now();
        let result = session.run(command, limit.map(|l| started + l), cancel, on_output).await;
        let closed = session.closed;
        {
            let mut info = entry.info.lock().expect("lock");
            info.busy = false;
            info.commands += 1;
            info.last_used_at = now_ms();
            info.cwd = session.cwd.clone();
        }
        drop(session);
        if closed {
            self.open.lock().expect("lock").remove(id);
        }
        Ok((result?, limit.unwrap_or_default()))
    }

    /// Checks a command a session would take, before it is accepted.
    pub fn check_command(command: &str) -> Result<()> {
        session::check_command(command)
    }
}

fn too_many(reason: String) -> Error {
    Error::ResourceExhausted {
        what: "cannot open a shell session".into(),
        reason: format!("{reason}: close one with shell_close"),
    }
}
