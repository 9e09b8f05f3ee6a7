//! The capability recipes need from whoever holds the connections: run a command on a registered
//! server, reach its pooled connections (for SFTP), and a private spool directory. [`crate::Deck`]
//! provides it; `ops`, `apis` and `sftp` take a `&dyn Remote`, so they sit below the façade and never
//! import it.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use crate::error::Result;
use crate::exec::{ExecOptions, ExecOutput, Stream};
use crate::pool::Pool;
use crate::ssh::Target;

/// A boxed future, as trait objects need.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Run on this server.
pub trait Remote: Send + Sync {
    /// Default options for a command (timeout, capture limit).
    fn exec_options(&self) -> ExecOptions;

    /// Runs `command` on `alias` through a pooled connection.
    fn exec<'a>(
        &'a self,
        alias: &'a str,
        command: &'a str,
        opts: ExecOptions,
        on_output: &'a mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> BoxFuture<'a, Result<ExecOutput>>;

    /// How to reach `alias` (its settings and bastions).
    fn target(&self, alias: &str) -> Result<Target>;

    /// The connection pool.
    fn pool(&self) -> &Pool;

    /// A private directory (0700) for files in transit (server-to-server copies).
    fn spool_dir(&self) -> PathBuf;
}
