//! Remote recipes built on exec: log sources, system resources, services, Fail2Ban and network
//! diagnostics. Each is a fixed script run by `sh` with its values as positional parameters (so no
//! value is ever parsed as shell), in one round trip, and its output is parsed into structure.

use std::time::Duration;

use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::exec::ExecOutput;
use crate::remote::Remote;
use crate::ssh::quote::shell_quote;

pub mod fail2ban;
pub mod http;
pub mod inventory;
pub mod logs;
pub mod net;
pub mod nginx;
pub mod overview;
pub mod services;
pub mod system;

/// The remote command that runs `script` with `args` as `$1`, `$2`…
pub fn sh_command(script: &str, args: &[&str]) -> String {
    let mut cmd = format!("sh -c {} sshdeck", shell_quote(script));
    for a in args {
        cmd.push(' ');
        cmd.push_str(&shell_quote(a));
    }
    cmd
}

/// How a recipe runs.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Kill it after this long (default 30 s).
    pub timeout: Option<Duration>,
    /// Stop it when this turns true.
    pub cancel: Option<watch::Receiver<bool>>,
    /// Bytes for its stdin (credentials travel here, never on a command line).
    pub stdin: Option<Vec<u8>>,
}

/// Runs a recipe script through the pool (no job record: recipes are read-only probes).
pub async fn run_script(deck: &dyn Remote, alias: &str, script: &str, args: &[&str], run: Run) -> Result<ExecOutput> {
    let mut opts = deck.exec_options();
    opts.timeout = Some(run.timeout.unwrap_or(Duration::from_secs(30)));
    opts.cancel = run.cancel;
    opts.stdin = run.stdin;
    deck.exec(alias, &sh_command(script, args), opts, &mut |_, _| {}).await
}

/// Runs `get_system_resources`.
pub async fn system_resources(deck: &dyn Remote, alias: &str, run: Run) -> Result<system::SystemResources> {
    let out = run_script(deck, alias, system::SCRIPT, &[], run).await?;
    let text = out.stdout.text();
    system::parse(&text).ok_or_else(|| unexpected(alias, "system resources", &out))
}

/// Runs `get_services_status`.
pub async fn services_status(deck: &dyn Remote, alias: &str, run: Run) -> Result<services::ServicesStatus> {
    let out = run_script(deck, alias, services::SCRIPT, &[], run).await?;
    let text = out.stdout.text();
    if !text.contains("@@sshdeck ") {
        return Err(unexpected(alias, "services status", &out));
    }
    Ok(services::parse(&text))
}

/// Runs `get_fail2ban_status` for one jail or all.
pub async fn fail2ban_status(
    deck: &dyn Remote,
    alias: &str,
    jail: Option<&str>,
    run: Run,
) -> Result<fail2ban::Fail2ban> {
    let jail = jail.unwrap_or("");
    if jail.starts_with('-') || jail.contains(['\n', '\r']) {
        return Err(Error::InvalidArgument(format!("jail {jail:?}: not a jail name")));
    }
    let out = run_script(deck, alias, fail2ban::SCRIPT, &[jail], run).await?;
    fail2ban::parse(alias, &out.stdout.text())
}

/// The error for output a recipe cannot parse: the start of stdout, else of stderr.
pub(crate) fn unexpected(alias: &str, what: &str, out: &ExecOutput) -> Error {
    let stdout = out.stdout.text();
    let text = if stdout.trim().is_empty() { out.stderr.text() } else { stdout };
    Error::UnexpectedOutput {
        alias: alias.to_string(),
        what: what.to_string(),
        excerpt: text.trim().chars().take(300).collect(),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn prefix(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Splits the script's output into `(section, body)` pairs: a section starts at a line that begins
/// with `@@sshdeck `.
pub(crate) fn sections(out: &str) -> Vec<(&str, &str)> {
    let mut found: Vec<(&str, &str)> = Vec::new();
    let mut current: Option<(&str, usize)> = None;
    let mut at = 0;
    for line in out.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("@@sshdeck ") {
            if let Some((n, start)) = current {
                found.push((n, &out[start..at]));
            }
            current = Some((name.trim(), at + line.len()));
        }
        at += line.len();
    }
    if let Some((n, start)) = current {
        found.push((n, &out[start..]));
    }
    found
}

/// `NOT_INSTALLED` for a script's `@@sshdeck missing TOOL` line.
pub(crate) fn missing(alias: &str, head: &str) -> Option<Error> {
    head.strip_prefix("missing ").map(|tool| Error::NotInstalled { alias: alias.to_string(), tool: tool.to_string() })
}

/// A failure reason as the `{code, message}` object every tool result uses for `error`.
fn error_object<S: serde::Serializer>(
    code: &str,
    message: &Option<String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(2))?;
    m.serialize_entry("code", code)?;
    m.serialize_entry("message", message.as_deref().unwrap_or(""))?;
    m.end()
}

pub(crate) fn command_failed<S: serde::Serializer>(
    message: &Option<String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    error_object("COMMAND_FAILED", message, s)
}

pub(crate) fn connection_failed<S: serde::Serializer>(
    message: &Option<String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    error_object("CONNECTION_FAILED", message, s)
}
