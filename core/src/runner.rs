//! The runner: one background process per data dir that runs every front end's jobs and holds the
//! only SSH pool, as OpenSSH's ControlMaster holds a connection for many `ssh` calls.
//!
//! - **Found** through `runtime/runner.sock` (mode 0600 in a 0700 dir; each peer's uid is checked).
//! - **Elected** by `runtime/runner.lock`: a starting runner that cannot take the lock exits, so front
//!   ends racing to start one end with exactly one. A stale socket is replaced by the lock's holder.
//! - **Leaves** after `RUNNER_PERSIST_S` with no job and no connection, when its socket is removed or
//!   replaced, or on SIGTERM (its running jobs are then cancelled and recorded).
//! - **Killed** (SIGKILL): its heartbeat stops, and the next process that looks marks its running jobs
//!   `crashed`; the next front end that needs a runner starts a new one.
//!
//! The boundary a shared queue would use later: front ends only *submit* (the socket's [`Request`]s);
//! the runner *claims and runs* through its in-process [`Deck`]. Nothing else crosses.

mod queue;
mod serve;

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::config::Settings;
use crate::data_dir::{DataDir, FileLock};
use crate::deck::Deck;
use crate::error::{Error, Result};
use crate::link::wire::Request;

/// The process name in job records and the log file's name.
pub const PROGRAM: &str = "sshdeck-runner";

/// Runs the runner in this process until it leaves: detaches into its own session, takes the
/// election lock (returning at once when another runner holds it), has the binary start its logging
/// (`start_logging(settings, logs dir)`, whose guard lives as long as the runner; the binaries log to
/// `logs/sshdeck-runner.*` with [`crate::logging::init`] and [`PROGRAM`]), serves the socket. The
/// binaries call it for their hidden runner argument.
pub fn main<G>(settings: Settings, start_logging: impl FnOnce(&Settings, PathBuf) -> Result<G>) -> Result<()> {
    // A new session: no terminal, and the front end's Ctrl-C or hang-up never reaches it.
    let _ = nix::unistd::setsid();
    let data_dir = DataDir::open(&settings.data_dir)?;
    let runtime_dir = data_dir.runtime_dir()?;
    let socket = runtime_dir.join("runner.sock");
    let Some(_lock) = FileLock::try_exclusive(&runtime_dir.join("runner"))? else {
        return Ok(()); // another runner serves this data dir
    };
    let _log = start_logging(&settings, data_dir.logs_dir()?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the runtime", &runtime_dir, e))?;
    runtime.block_on(async move {
        let _ = std::fs::remove_file(&socket);
        let listener =
            tokio::net::UnixListener::bind(&socket).map_err(|e| Error::io("cannot listen on", &socket, e))?;
        crate::data_dir::set_mode(&socket, 0o600)?;
        let ino = std::fs::metadata(&socket).map_err(|e| Error::io("cannot read", &socket, e))?.ino();
        let pid_file = runtime_dir.join("runner.pid");
        crate::data_dir::atomic_write(&pid_file, format!("{}\n", std::process::id()).as_bytes(), 0o600)?;
        let persist = settings.runner_persist;
        let deck = Deck::open(settings, PROGRAM)?;
        tracing::info!(pid = std::process::id(), socket = %socket.display(), ?persist, "runner serving");
        serve::serve(deck.clone(), listener, persist, Watched { socket: socket.clone(), ino }).await;
        if std::fs::metadata(&socket).is_ok_and(|m| m.ino() == ino) {
            let _ = std::fs::remove_file(&socket);
            let _ = std::fs::remove_file(&pid_file);
        }
        deck.shutdown().await;
        tracing::info!("runner stopped");
        Ok(())
    })
}

/// The socket this runner bound: when it disappears or another file takes its place (the data dir
/// was removed, or moved), the runner leaves.
pub(crate) struct Watched {
    socket: PathBuf,
    ino: u64,
}

impl Watched {
    fn still_ours(&self) -> bool {
        std::fs::metadata(&self.socket).is_ok_and(|m| m.ino() == self.ino)
    }
}

/// A request's name, for the runner's log (never its arguments, which may hold answers).
fn describe(r: &Request) -> &'static str {
    match r {
        Request::Submit { .. } => "submit",
        Request::Retry { .. } => "retry",
        Request::SubmitFleet { .. } => "fleet",
        Request::Cancel { .. } => "cancel",
        Request::Exec { .. } => "exec",
        Request::Attach { .. } => "attach",
        Request::PoolStats => "pool_stats",
        Request::Shell { .. } => "shell",
        Request::Tunnel { .. } => "tunnel",
    }
}
