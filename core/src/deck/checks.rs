//! What a submission must pass before anything is accepted (the server exists and may be changed,
//! commands are valid and allowed by the operator's policy), what is destructive, and the `Remote`
//! capability the recipes run on.

use super::{Deck, MAX_COMMAND_BYTES};
use crate::error::{Error, Result};
use crate::exec::{ExecOptions, ExecOutput, Stream};
use crate::jobs::JobSpec;
use crate::policy::Policy;
use crate::pool::Pool;
use crate::ssh::Target;

impl Deck {
    pub(super) fn check_spec(&self, alias: &str, spec: &JobSpec) -> Result<()> {
        if let JobSpec::File { .. } = spec {
            return self.check_commands(spec); // refused there, whatever its targets
        }
        match self.inner.registry.get(alias) {
            Ok(server) => check_writable(&server, spec)?,
            // A target resolved for this process (ssh-style) is not readonly.
            Err(e) if self.adhoc(alias).is_none() => return Err(e),
            Err(_) => {}
        }
        if let JobSpec::Transfer { source_alias: Some(src), .. } = spec {
            self.inner.registry.get(src)?;
        }
        self.check_commands(spec)
    }

    /// What is destructive in `spec`: the first command matching a built-in destructive pattern or a
    /// `confirm` pattern of `policy.toml`, with the reason.
    pub fn destructive(&self, spec: &JobSpec) -> Result<Option<(String, String)>> {
        let policy = Policy::new(self.inner.data_dir.root());
        for command in spec.commands() {
            if let Some(reason) = policy.destructive(command)? {
                return Ok(Some((command.to_string(), reason)));
            }
        }
        Ok(None)
    }

    /// `POLICY_DENIED` when the operator's policy keeps the file tools away from `path`
    /// (`deny_paths` in `policy.toml`).
    pub fn check_file_path(&self, path: &str) -> Result<()> {
        Policy::new(self.inner.data_dir.root()).check_path(path)
    }

    /// Every check a submission of `spec` on `aliases` would make (servers exist and are writable,
    /// commands valid and allowed by the policy), without accepting anything.
    pub fn preflight(&self, aliases: &[String], spec: &JobSpec) -> Result<()> {
        for alias in aliases {
            check_writable(&self.inner.registry.get(alias)?, spec)?;
        }
        self.check_commands(spec)
    }

    /// Commands: not empty, not too long, not denied by the operator's policy.
    pub(super) fn check_commands(&self, spec: &JobSpec) -> Result<()> {
        if let JobSpec::File { tool, .. } = spec {
            return Err(Error::InvalidArgument(format!(
                "a {tool} call is a record of a file tool, not something to run: call the tool again"
            )));
        }
        let policy = Policy::new(self.inner.data_dir.root());
        if let JobSpec::Transfer { items, .. } = spec
            && items.iter().any(|i| i.local.contains('\0') || i.remote.contains('\0'))
        {
            return Err(Error::InvalidArgument("a path contains a NUL byte, which no path can carry".into()));
        }
        for command in spec.commands() {
            if command.trim().is_empty() {
                return Err(Error::InvalidArgument("command is empty".into()));
            }
            if command.contains('\0') {
                return Err(Error::InvalidArgument("the command contains a NUL byte, which no shell can carry".into()));
            }
            if command.len() > MAX_COMMAND_BYTES {
                return Err(Error::InvalidArgument(format!(
                    "command is {} bytes; the limit is {MAX_COMMAND_BYTES} (send larger scripts as a file)",
                    command.len()
                )));
            }
            policy.check(command)?;
        }
        Ok(())
    }
}

/// `READ_ONLY` when `spec` would change a server marked `readonly` (commands and uploads; reads pass).
fn check_writable(server: &crate::servers::Server, spec: &JobSpec) -> Result<()> {
    if server.config.readonly && spec.mutates() {
        return Err(Error::ServerReadOnly { alias: server.alias.clone(), what: spec.kind().as_str() });
    }
    Ok(())
}

impl crate::remote::Remote for Deck {
    fn exec_options(&self) -> ExecOptions {
        Deck::exec_options(self)
    }

    fn exec<'a>(
        &'a self,
        alias: &'a str,
        command: &'a str,
        opts: ExecOptions,
        on_output: &'a mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> crate::remote::BoxFuture<'a, Result<ExecOutput>> {
        Box::pin(Deck::exec(self, alias, command, opts, on_output))
    }

    fn target(&self, alias: &str) -> Result<Target> {
        Deck::target(self, alias)
    }

    fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    fn spool_dir(&self) -> std::path::PathBuf {
        self.inner.data_dir.root().join("tmp")
    }
}
