//! The list of settings (name, default, meaning) and the enumerated kinds of value they take.

/// Every setting sshdeck reads, as (name, default, meaning). Also the list of keys `config.toml` accepts
/// (case-insensitive).
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("MCP_DATA_DIR", "", "data directory (default: platform config dir for sshdeck)"),
    ("MCP_SYNC_TIMEOUT_S", "25", "seconds a tool call waits before answering with a job id"),
    ("MCP_DEFAULT_CMD_TIMEOUT_MS", "300000", "default command timeout"),
    ("MCP_INTERACTIVE_CMD_TIMEOUT_MS", "120000", "default interactive command timeout"),
    ("MAX_CONNECTIONS_PER_SERVER", "5", "pooled SSH connections per server, at most"),
    ("MIN_CONNECTIONS_PER_SERVER", "1", "idle connections kept per server"),
    ("IDLE_TIMEOUT", "300000", "ms before an idle pooled connection is closed"),
    ("KEEP_ALIVE_INTERVAL", "30000", "ms between SSH keep-alives (0 disables)"),
    ("MAX_QUEUE_SIZE", "1000", "unfinished jobs accepted at once"),
    ("HISTORY_RETENTION", "2678400000", "ms finished jobs are kept"),
    ("MCP_DEBUG", "false", "debug logging"),
    ("LOG_LEVEL", "info", "error, warn, info, debug or trace"),
    ("SSH_CONNECT_TIMEOUT_MS", "10000", "TCP connect + handshake + auth timeout"),
    ("SSH_CHANNELS_PER_CONNECTION", "8", "concurrent channels per connection (1-9, sshd allows 10)"),
    ("EXEC_CAPTURE_LIMIT_BYTES", "1048576", "bytes of each stream kept in memory per command (head + tail)"),
    ("JOB_OUTPUT_LIMIT_BYTES", "67108864", "bytes of output kept in each job's log file"),
    ("JOB_AUTO_RETRIES", "2", "automatic retries when the connection failed before the command started"),
    ("MCP_READONLY", "false", "refuse every mutating MCP tool"),
    ("MCP_INLINE_OUTPUT_BYTES", "16384", "bytes of each stream a tool result carries inline (head + tail)"),
    ("FLEET_CONCURRENCY", "32", "hosts a fan-out runs on at once"),
    ("FLEET_MAX_TARGETS", "1000", "hosts one fan-out may reach"),
    ("MCP_TOOLSETS", "default", "toolsets tools/list shows: default, all, or names (core,transfers,ops,…)"),
    (
        "RUNNER_MODE",
        "shared",
        "shared: one background runner per data dir runs every job; inprocess: each front end runs its own",
    ),
    ("RUNNER_PERSIST_S", "600", "seconds the runner stays up with no job and no client"),
    ("MCP_TRANSPORT", "stdio", "how sshdeck-mcp serves: stdio, or http (Streamable HTTP at MCP_HTTP_ADDR)"),
    ("MCP_HTTP_ADDR", "127.0.0.1:8808", "address sshdeck-mcp --http listens on (non-loopback needs a token)"),
    ("SNAPSHOT_MAX_BYTES", "268435456", "largest total size of one file snapshot"),
    ("SNAPSHOT_MAX_FILES", "20000", "most files in one file snapshot"),
    ("SHELL_MAX_PER_SERVER", "4", "open shell sessions (shell_create) per server, at most"),
    ("SHELL_MAX_SESSIONS", "16", "open shell sessions in all, at most"),
    ("SHELL_IDLE_TIMEOUT_S", "900", "seconds an unused shell session stays open"),
    ("TUNNEL_ALLOWED_PORTS", "", "ports tunnels may listen on (e.g. 8080,9000-9010), besides tunnel_allowlist.json"),
    ("TUNNEL_BIND_ADDRESS", "127.0.0.1", "address local tunnel listeners bind (only the operator widens it)"),
];

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Normal.
    Info,
    /// Verbose.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The `tracing` filter directive for this level.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// Where a front end's jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerMode {
    /// In the data dir's one background runner, which holds the only pool and outlives front ends.
    Shared,
    /// In the front end's own process, dying with it (embedding, tests).
    InProcess,
}
