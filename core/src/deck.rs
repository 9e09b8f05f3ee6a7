//! [`Deck`]: the one object a front end holds. It owns the settings, the registry and the pool, and
//! offers the operations both front ends need.

use std::sync::Arc;

use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::error::Result;
use crate::exec::{ExecOptions, ExecOutput, Stream};
use crate::pool::{Pool, PoolLimits, PoolStats};
use crate::servers::{Added, Registry, Server, ServerConfig};
use crate::ssh::{ConnectOptions, KnownHosts, Target, resolve_jumps};

/// Cheap-to-clone handle on settings, registry and pool.
#[derive(Clone)]
pub struct Deck {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    data_dir: DataDir,
    registry: Registry,
    pool: Pool,
}

impl Deck {
    /// Opens the data dir (creating it 0700) and builds the pool. Needs a tokio runtime.
    pub fn open(settings: Settings) -> Result<Deck> {
        let data_dir = DataDir::open(&settings.data_dir)?;
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
        Ok(Deck {
            inner: Arc::new(Inner {
                settings,
                data_dir,
                registry,
                pool,
            }),
        })
    }

    /// Settings in force.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.inner.data_dir
    }

    /// The server registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
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
        let server =
            servers
                .iter()
                .find(|s| s.alias == alias)
                .ok_or_else(|| crate::Error::NotFound {
                    what: "server",
                    name: alias.to_string(),
                })?;
        let lookup = |a: &str| {
            servers
                .iter()
                .find(|s| s.alias == a)
                .map(|s| s.config.clone())
        };
        let jumps = resolve_jumps(&server.config, &lookup)?;
        Ok(Target {
            alias: alias.to_string(),
            config: server.config.clone(),
            jumps,
        })
    }

    /// Default exec options from the settings (timeout, capture bound).
    pub fn exec_options(&self) -> ExecOptions {
        ExecOptions {
            timeout: Some(self.inner.settings.default_cmd_timeout),
            capture_limit: self.inner.settings.capture_limit,
            ..ExecOptions::default()
        }
    }

    /// Runs a command on a registered server through the pool.
    pub async fn exec(
        &self,
        alias: &str,
        command: &str,
        opts: ExecOptions,
        on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<ExecOutput> {
        if command.trim().is_empty() {
            return Err(crate::Error::InvalidArgument("command is empty".into()));
        }
        let target = self.target(alias)?;
        self.inner
            .pool
            .exec(&target, command, opts, on_output)
            .await
    }

    /// The pool (for stats and direct leases).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Pool counters of this process.
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.pool.stats()
    }

    /// Closes every pooled connection.
    pub async fn shutdown(&self) {
        self.inner.pool.shutdown().await;
    }
}
