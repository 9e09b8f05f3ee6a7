//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// sshdeck: run and watch work on your servers over SSH.
#[derive(Debug, Parser)]
#[command(name = "sshdeck", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the server registry.
    #[command(subcommand)]
    Servers(ServersCommand),
    /// Run a command on a server; its stdout, stderr and exit code become sshdeck's.
    Exec(ExecArgs),
    /// Show the settings in force and where the data directory is.
    Settings,
}

#[derive(Debug, Subcommand)]
pub enum ServersCommand {
    /// Register a server (use --force to replace an existing alias).
    Add(AddArgs),
    /// List servers (secrets are never shown).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a server.
    Remove {
        /// Alias to remove.
        alias: String,
    },
    /// Import hosts from an OpenSSH client config (default ~/.ssh/config).
    ImportSshConfig {
        /// Config file.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Replace aliases that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Import the Node MCP orchestrator's servers.json.
    ImportJson {
        /// The file to import.
        file: PathBuf,
        /// Replace aliases that already exist.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Alias (letters, digits, '.', '_', '-').
    pub alias: String,
    /// Host name or IP address.
    #[arg(long)]
    pub host: String,
    /// Remote user.
    #[arg(long)]
    pub user: String,
    /// SSH port.
    #[arg(long, default_value_t = 22)]
    pub port: u16,
    /// Private key file.
    #[arg(long = "key")]
    pub key_path: Option<PathBuf>,
    /// Read the key passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "password_stdin")]
    pub password_env: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Authenticate with the running ssh-agent.
    #[arg(long)]
    pub agent: bool,
    /// Host-key policy: strict, accept-new (default) or off.
    #[arg(long, default_value = "accept-new")]
    pub host_key_policy: String,
    /// A tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Bastion(s): registered aliases or [user@]host[:port], comma-separated.
    #[arg(long)]
    pub proxy_jump: Option<String>,
    /// Replace the alias if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Server alias.
    pub alias: String,
    /// Timeout, e.g. 30, 1.5s, 500ms, 2m (default: MCP_DEFAULT_CMD_TIMEOUT_MS).
    #[arg(long)]
    pub timeout: Option<String>,
    /// Print one JSON object with the result instead of streaming output.
    #[arg(long)]
    pub json: bool,
    /// The command, after `--`. Several words are joined with spaces, as ssh does.
    #[arg(last = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}
