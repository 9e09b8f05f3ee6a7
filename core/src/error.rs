//! The one error type of `sshdeck-core`, with a stable machine-readable code per variant.

use std::path::PathBuf;
use std::time::Duration;

use crate::capture::ExecOutput;

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core. Messages name the host, path or alias involved and never
/// contain a password or passphrase.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting (environment variable, `.env` entry or `config.toml` key) has a value we cannot use.
    #[error("invalid setting {name}={value:?} (from {source_name}): {reason}")]
    InvalidSetting {
        /// Variable or key name, e.g. `MAX_CONNECTIONS_PER_SERVER`.
        name: String,
        /// The offending value as written.
        value: String,
        /// Where it came from: `environment`, `.env`, or a file path.
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A caller-supplied value is malformed (alias, port, path, command…).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A named thing (server alias, file, job) does not exist.
    #[error("{what} not found: {name}")]
    NotFound {
        /// Kind of thing, e.g. `server`.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// Creating something that already exists without asking to replace it.
    #[error("{what} already exists: {name}")]
    AlreadyExists {
        /// Kind of thing, e.g. `server`.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// TCP connection or SSH handshake failed (refused, unreachable, timed out, protocol error).
    #[error("cannot connect to {host}:{port}: {reason}")]
    ConnectionFailed {
        /// Host as configured.
        host: String,
        /// Port.
        port: u16,
        /// Why.
        reason: String,
    },
    /// The server accepted the connection and then closed or broke it before the login completed (as
    /// sshd does past `MaxStartups`, or while restarting): worth another try, unlike a refused port.
    /// Reported as `CONNECTION_FAILED`.
    #[error("cannot connect to {host}:{port}: SSH handshake failed: {reason}")]
    HandshakeDropped {
        /// Host as configured.
        host: String,
        /// Port.
        port: u16,
        /// Why.
        reason: String,
    },
    /// The connection dropped while a command or request was in flight.
    #[error("connection to {host} lost: {reason}")]
    ConnectionLost {
        /// Host as configured.
        host: String,
        /// Why.
        reason: String,
    },
    /// The server refused every authentication method we tried.
    #[error("authentication failed for {user}@{host} (tried: {tried})")]
    AuthFailed {
        /// Remote user.
        user: String,
        /// Host as configured.
        host: String,
        /// Methods tried, e.g. `publickey(/home/u/.ssh/id_ed25519), password`.
        tried: String,
    },
    /// A private key could not be read or decrypted.
    #[error("cannot load private key {path}: {reason}")]
    KeyInvalid {
        /// Key file.
        path: PathBuf,
        /// Why (wrong passphrase, unsupported format…).
        reason: String,
    },
    /// The server's host key differs from the one recorded for it.
    #[error(
        "host key mismatch for {host}: known_hosts ({known_at}) has {expected}, server offered {actual}; \
         if the server was legitimately reinstalled, remove the old entry and connect again"
    )]
    HostKeyMismatch {
        /// Host as looked up in known_hosts (`host` or `[host]:port`).
        host: String,
        /// Fingerprint(s) on record.
        expected: String,
        /// Fingerprint the server presented.
        actual: String,
        /// File and line of the entry on record.
        known_at: String,
    },
    /// Policy `strict` and the host is not in any known_hosts file.
    #[error("host key for {host} is unknown ({fingerprint}) and the host-key policy is strict")]
    HostKeyUnknown {
        /// Host as looked up.
        host: String,
        /// Fingerprint the server presented.
        fingerprint: String,
    },
    /// The host key is marked `@revoked` in a known_hosts file.
    #[error("host key {fingerprint} of {host} is revoked ({known_at})")]
    HostKeyRevoked {
        /// Host as looked up.
        host: String,
        /// Fingerprint the server presented.
        fingerprint: String,
        /// File and line of the `@revoked` entry.
        known_at: String,
    },
    /// The command ran past its timeout and was killed on the server.
    #[error("command timed out after {:.1}s on {alias} and was killed", timeout.as_secs_f64())]
    CommandTimeout {
        /// Server alias.
        alias: String,
        /// The timeout that expired.
        timeout: Duration,
        /// Output captured before the kill.
        partial: Box<ExecOutput>,
    },
    /// The caller cancelled the command; it was killed on the server.
    #[error("command on {alias} was cancelled and killed")]
    Cancelled {
        /// Server alias.
        alias: String,
        /// Output captured before the kill.
        partial: Box<ExecOutput>,
    },
    /// An interactive command asked for a password nobody supplied; it was stopped.
    #[error("command on {alias} asked {prompt:?} and no answer was supplied for it; it was stopped")]
    PromptUnanswered {
        /// Server alias.
        alias: String,
        /// The prompt.
        prompt: String,
        /// Output before it was stopped.
        partial: Box<ExecOutput>,
    },
    /// The server refused to open a channel or run the request.
    #[error("channel request refused by {host}: {reason}")]
    ChannelFailed {
        /// Host as configured.
        host: String,
        /// Why.
        reason: String,
    },
    /// The operator's command policy forbids this command.
    #[error("command refused by the operator's policy ({path}): matches deny pattern {pattern:?}")]
    PolicyDenied {
        /// The matching pattern.
        pattern: String,
        /// The policy file.
        path: PathBuf,
    },
    /// The command matches a destructive pattern and was not confirmed (`force`, or the human's answer).
    #[error(
        "{command:?} looks destructive ({reason}): not run without confirmation; call again with force: true, or dry_run: true to see what would run"
    )]
    ConfirmationRequired {
        /// The command.
        command: String,
        /// What matched, in words.
        reason: String,
    },
    /// sshdeck itself ran out of a resource (file descriptors) before the command started.
    #[error("{what}: {reason}")]
    ResourceExhausted {
        /// What could not be done.
        what: String,
        /// Why, with the limit and how to raise it.
        reason: String,
    },
    /// The server is marked `readonly` in the registry.
    #[error("{what} on {alias} is refused: the server is marked readonly in servers.json (reads still work)")]
    ServerReadOnly {
        /// The alias.
        alias: String,
        /// What was asked (`exec`, `transfer`…).
        what: &'static str,
    },
    /// Mutating operations are disabled (`MCP_READONLY`).
    #[error("{0} is refused: sshdeck runs in read-only mode")]
    ReadOnly(String),
    /// Too many unfinished jobs.
    #[error("the queue is full: {max} unfinished jobs (MAX_QUEUE_SIZE); wait or cancel some")]
    QueueFull {
        /// The limit.
        max: usize,
    },
    /// The job was already retried; retry the newer attempt instead.
    #[error("job {id} was already retried as {by}")]
    AlreadyRetried {
        /// The job asked for.
        id: String,
        /// Its retry.
        by: String,
    },
    /// A local file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What we were doing, e.g. `cannot write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A remote command needed by a recipe is not installed on the host.
    #[error("{tool} is not installed on {alias} (or not on the PATH of a non-interactive shell)")]
    NotInstalled {
        /// The server alias.
        alias: String,
        /// The missing program.
        tool: String,
    },
    /// The remote user may not do this (sudo refused, socket not readable…).
    #[error("permission denied on {alias}: {reason}")]
    PermissionDenied {
        /// The server alias.
        alias: String,
        /// What the host said.
        reason: String,
    },
    /// A recipe's remote command failed.
    #[error("{what} failed on {alias} (exit {exit}): {stderr}")]
    RemoteFailed {
        /// The server alias.
        alias: String,
        /// What was run.
        what: String,
        /// Exit code, or -1 when a signal ended it.
        exit: i64,
        /// The first lines of its error output.
        stderr: String,
    },
    /// A recipe's remote command printed something that cannot be parsed.
    #[error("unexpected output from {what} on {alias}: {excerpt}")]
    UnexpectedOutput {
        /// The server alias.
        alias: String,
        /// What was run.
        what: String,
        /// The start of the output.
        excerpt: String,
    },
    /// The text an edit replaces is not in the file.
    #[error("oldString not found in {path}")]
    OldStringNotFound {
        /// The file.
        path: String,
    },
    /// The text an edit replaces occurs more than once and `replaceAll` was not asked.
    #[error("oldString occurs {count} times in {path}: give more context to make it unique, or replaceAll: true")]
    MultipleMatches {
        /// The file.
        path: String,
        /// How many times.
        count: usize,
    },
    /// A file changed since its hash was taken: the write was refused.
    #[error("{path} changed: its sha256 is {actual:?}, not the expected {expected:?}; read it again, then retry")]
    HashMismatch {
        /// The file.
        path: String,
        /// The hash the caller expected.
        expected: String,
        /// Its hash now (empty: it does not exist).
        actual: String,
    },
    /// An error that happened in the data dir's runner, as it reported it.
    #[error("{message}")]
    Relayed {
        /// Its stable code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The runner could not be started or reached.
    #[error("the sshdeck runner is unavailable: {0}")]
    RunnerUnavailable(String),
    /// A data file exists but cannot be parsed.
    #[error("cannot parse {path}: {reason}")]
    DataCorrupt {
        /// The file.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
}

/// Every code [`Error::code`] gives, so a relayed code maps back to its static name.
const CODES: &[&str] = &[
    "INVALID_SETTING",
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "CONNECTION_FAILED",
    "CONNECTION_LOST",
    "AUTH_FAILED",
    "KEY_INVALID",
    "HOST_KEY_MISMATCH",
    "HOST_KEY_UNKNOWN",
    "HOST_KEY_REVOKED",
    "COMMAND_TIMEOUT",
    "CANCELLED",
    "PROMPT_UNANSWERED",
    "CHANNEL_FAILED",
    "POLICY_DENIED",
    "READ_ONLY",
    "CONFIRMATION_REQUIRED",
    "RESOURCE_EXHAUSTED",
    "QUEUE_FULL",
    "ALREADY_RETRIED",
    "IO_ERROR",
    "DATA_CORRUPT",
    "NOT_INSTALLED",
    "PERMISSION_DENIED",
    "COMMAND_FAILED",
    "UNEXPECTED_OUTPUT",
    "RUNNER_UNAVAILABLE",
    "HASH_MISMATCH",
    "OLDSTRING_NOT_FOUND",
    "MULTIPLE_MATCHES",
];

impl Error {
    /// The stable code of this error, for scripts and MCP clients.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidSetting { .. } => "INVALID_SETTING",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::NotFound { .. } => "NOT_FOUND",
            Error::AlreadyExists { .. } => "ALREADY_EXISTS",
            Error::ConnectionFailed { .. } | Error::HandshakeDropped { .. } => "CONNECTION_FAILED",
            Error::ConnectionLost { .. } => "CONNECTION_LOST",
            Error::AuthFailed { .. } => "AUTH_FAILED",
            Error::KeyInvalid { .. } => "KEY_INVALID",
            Error::HostKeyMismatch { .. } => "HOST_KEY_MISMATCH",
            Error::HostKeyUnknown { .. } => "HOST_KEY_UNKNOWN",
            Error::HostKeyRevoked { .. } => "HOST_KEY_REVOKED",
            Error::CommandTimeout { .. } => "COMMAND_TIMEOUT",
            Error::Cancelled { .. } => "CANCELLED",
            Error::PromptUnanswered { .. } => "PROMPT_UNANSWERED",
            Error::ChannelFailed { .. } => "CHANNEL_FAILED",
            Error::PolicyDenied { .. } => "POLICY_DENIED",
            Error::ReadOnly(_) | Error::ServerReadOnly { .. } => "READ_ONLY",
            Error::ConfirmationRequired { .. } => "CONFIRMATION_REQUIRED",
            Error::ResourceExhausted { .. } => "RESOURCE_EXHAUSTED",
            Error::QueueFull { .. } => "QUEUE_FULL",
            Error::AlreadyRetried { .. } => "ALREADY_RETRIED",
            Error::Io { .. } => "IO_ERROR",
            Error::DataCorrupt { .. } => "DATA_CORRUPT",
            Error::NotInstalled { .. } => "NOT_INSTALLED",
            Error::PermissionDenied { .. } => "PERMISSION_DENIED",
            Error::RemoteFailed { .. } => "COMMAND_FAILED",
            Error::UnexpectedOutput { .. } => "UNEXPECTED_OUTPUT",
            Error::RunnerUnavailable(_) => "RUNNER_UNAVAILABLE",
            Error::HashMismatch { .. } => "HASH_MISMATCH",
            Error::OldStringNotFound { .. } => "OLDSTRING_NOT_FOUND",
            Error::MultipleMatches { .. } => "MULTIPLE_MATCHES",
            Error::Relayed { code, .. } => CODES.iter().find(|c| **c == code).copied().unwrap_or("INTERNAL"),
        }
    }

    /// True when the failure happened before any command reached the server, so running the request
    /// again cannot run anything twice.
    pub fn is_before_command(&self) -> bool {
        matches!(
            self,
            Error::ConnectionFailed { .. }
                | Error::HandshakeDropped { .. }
                | Error::ChannelFailed { .. }
                | Error::ResourceExhausted { .. }
        )
    }

    /// Output captured before a timeout or cancel, if any.
    pub fn partial_output(&self) -> Option<&ExecOutput> {
        match self {
            Error::CommandTimeout { partial, .. }
            | Error::Cancelled { partial, .. }
            | Error::PromptUnanswered { partial, .. } => Some(partial),
            _ => None,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_distinct() {
        let errors = [
            Error::InvalidArgument("x".into()),
            Error::NotFound { what: "server", name: "a".into() },
            Error::ConnectionFailed { host: "h".into(), port: 22, reason: "refused".into() },
            Error::AuthFailed { user: "u".into(), host: "h".into(), tried: "password".into() },
            Error::HostKeyMismatch {
                host: "h".into(),
                expected: "SHA256:a".into(),
                actual: "SHA256:b".into(),
                known_at: "f:1".into(),
            },
        ];
        let codes: Vec<_> = errors.iter().map(Error::code).collect();
        assert_eq!(codes, ["INVALID_ARGUMENT", "NOT_FOUND", "CONNECTION_FAILED", "AUTH_FAILED", "HOST_KEY_MISMATCH"]);
        let msg = errors[4].to_string();
        assert!(msg.contains("SHA256:a") && msg.contains("SHA256:b") && msg.contains("for h"), "{msg}");
    }
}
