//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// sshdeck: run and watch work on your servers over SSH. With no command, opens the console.
#[derive(Debug, Parser)]
#[command(name = "sshdeck", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Console: hide every action that changes something (cancel, retry, run).
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the server registry.
    #[command(subcommand)]
    Servers(ServersCommand),
    /// Run a command on a server; its stdout, stderr and exit code become sshdeck's.
    Exec(ExecArgs),
    /// An interactive login shell on a server (or CMD on a terminal), as `ssh TARGET [CMD]`.
    Ssh(SshArgs),
    /// Upload files, directories or globs: `sshdeck put ALIAS LOCAL... REMOTE`.
    Put(TransferArgs),
    /// Download files, directories or globs: `sshdeck get ALIAS REMOTE... LOCAL`.
    Get(TransferArgs),
    /// Compare two files or two directory trees, each `ALIAS:/path` or local (exit 1 when they differ).
    Diff(crate::files_cmd::DiffArgs),
    /// Snapshots of files and directories: create, list, diff, restore, delete.
    #[command(subcommand)]
    Snapshot(crate::snapshot_cmd::SnapshotCommand),
    /// SSH tunnels through a server, held by the runner: add (-L, -R, -D as ssh), list, close, allow.
    #[command(subcommand)]
    Tunnel(crate::tunnel_cmd::TunnelCommand),
    /// What a server is and runs, parsed: OS, CPU, memory, disks, listening ports with their
    /// processes, systemd, Docker, PM2 (cached an hour; --force gathers again).
    Inventory(crate::insight_cmd::InventoryArgs),
    /// The graph domain -> nginx location -> port -> process, PM2 app or container, of every server
    /// or of TARGETs (cached five minutes; --live reads now). Exit 1 when a server could not be read.
    Overview(crate::insight_cmd::OverviewArgs),
    /// The audit trail: every mutating action of every front end (MCP tools, CLI commands), with who,
    /// on which servers, the result and the job; secrets removed.
    Audit {
        /// Only the last DURATION (e.g. 12h, 7d… as 30s, 5m, 1h).
        #[arg(long)]
        since: Option<String>,
        /// At most this many (the most recent).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Inspect and manage jobs (every command sshdeck runs is a job).
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Show every setting in force, where it came from (environment, .env, config.toml, default)
    /// and what it means.
    Settings {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a ready MCP client config (`mcpServers`) that starts sshdeck-mcp on the data dir in force.
    McpConfig,
    /// Print shell completions: `sshdeck completions bash > ~/.local/share/bash-completion/completions/sshdeck`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Write man pages (sshdeck.1 and one per subcommand, e.g. sshdeck-exec.1) into DIR.
    Man {
        /// Where to write them (e.g. ~/.local/share/man/man1).
        dir: PathBuf,
    },
    /// Start a private sshd on 127.0.0.1, register it as `demo` in a temporary data dir, run a few
    /// jobs on it and open the console (needs openssh-server installed).
    Demo,
    /// Run the data dir's job runner in this process (front ends start it; see README).
    #[command(hide = true)]
    Runner,
}

#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Target: a registered alias, a Host of ~/.ssh/config, or [user@]host[:port].
    pub alias: String,
    /// Sources, then the destination.
    #[arg(required = true, num_args = 2..)]
    pub paths: Vec<String>,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// Compare sha256 of both ends.
    #[arg(long)]
    pub verify: bool,
    /// Print one JSON object with the result.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// ssh's -l, -p and -i, for a target that is not registered.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Login user for a target that is not registered (as ssh's -l).
    #[arg(short = 'l', value_name = "USER")]
    pub login: Option<String>,
    /// Port for a target that is not registered (as ssh's -p).
    #[arg(short = 'p', value_name = "PORT")]
    pub port: Option<u16>,
    /// Key file for a target that is not registered (as ssh's -i).
    #[arg(short = 'i', value_name = "KEY")]
    pub identity: Option<PathBuf>,
}

impl TargetArgs {
    /// As the core takes them.
    pub fn flags(&self) -> sshdeck_core::deck::TargetFlags {
        sshdeck_core::deck::TargetFlags { user: self.login.clone(), port: self.port, key: self.identity.clone() }
    }
}

/// `sshdeck ssh TARGET [CMD...]`.
#[derive(Debug, Args)]
pub struct SshArgs {
    /// Target: a registered alias, a Host of ~/.ssh/config, or [user@]host[:port].
    pub alias: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// A command to run on the terminal instead of the login shell.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl SshArgs {
    /// As `exec -t` takes it (a terminal when stdin is one, as ssh decides).
    pub fn into_exec(self) -> ExecArgs {
        use std::io::IsTerminal;
        let command =
            if self.command.is_empty() { vec![sshdeck_core::exec::LOGIN_SHELL.to_string()] } else { self.command };
        ExecArgs {
            alias: self.alias,
            timeout: None,
            target: self.target,
            json: false,
            detach: false,
            detached_child: false,
            no_stdin: false,
            tty: std::io::stdin().is_terminal(),
            command,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List(ListArgs),
    /// Show one job and the end of its output.
    Show {
        /// Job id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a job's output (--follow: keep printing until it ends).
    Logs {
        /// Job id.
        id: String,
        /// Follow the output while the job runs.
        #[arg(long, short)]
        follow: bool,
    },
    /// Cancel a job, whichever process runs it; its remote command is killed.
    Cancel {
        /// Job id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a finished (not completed) job again as a new attempt.
    Retry(RetryArgs),
    /// Counts by status and kind, average duration, success rate.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only these statuses (pending, running, completed, failed, timed_out, cancelled, crashed).
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
    /// Only jobs on this server.
    #[arg(long)]
    pub alias: Option<String>,
    /// Only this kind (exec, sequence, interactive, transfer, monitor, file).
    #[arg(long)]
    pub kind: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Skip this many.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Also list the per-host jobs of fan-outs (hidden by default: their fan-out stands for them).
    #[arg(long)]
    pub all: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Job id.
    pub id: String,
    /// Print the new job id and let it run in the background.
    #[arg(long)]
    pub detach: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[arg(long, hide = true)]
    pub detached_child: bool,
}

#[derive(Debug, Subcommand)]
pub enum ServersCommand {
    /// Register a server (use --force to replace an existing alias); connects once and shows the
    /// host key it learned, as ssh does on first contact (--no-connect skips it).
    Add(AddArgs),
    /// Change some settings of a registered server; the others are kept.
    Edit(EditArgs),
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
    /// One server's settings (secrets are never shown, only whether they are set).
    Show {
        /// Alias.
        alias: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Connect and run `true` on servers: an alias, a list, group:NAME, tag:NAME or all. Exit 1 if any fails.
    Test {
        /// Which servers.
        target: String,
        /// Seconds per server (10).
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
    /// Register only: do not connect to learn and show the host key.
    #[arg(long)]
    pub no_connect: bool,
}

/// `servers edit ALIAS`: only what is given changes.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// Alias of the server to change.
    pub alias: String,
    /// Host name or IP address.
    #[arg(long)]
    pub host: Option<String>,
    /// Remote user.
    #[arg(long)]
    pub user: Option<String>,
    /// SSH port.
    #[arg(long)]
    pub port: Option<u16>,
    /// Private key file.
    #[arg(long = "key", conflicts_with = "no_key")]
    pub key_path: Option<PathBuf>,
    /// Forget the key file.
    #[arg(long)]
    pub no_key: bool,
    /// Read a new key passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Read a new password from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with_all = ["password_stdin", "no_password"])]
    pub password_env: Option<String>,
    /// Read a new password from the first line of standard input.
    #[arg(long, conflicts_with = "no_password")]
    pub password_stdin: bool,
    /// Forget the password.
    #[arg(long)]
    pub no_password: bool,
    /// Authenticate with the running ssh-agent.
    #[arg(long, conflicts_with = "no_agent")]
    pub agent: bool,
    /// Stop using the ssh-agent.
    #[arg(long)]
    pub no_agent: bool,
    /// Host-key policy: strict, accept-new or off.
    #[arg(long)]
    pub host_key_policy: Option<String>,
    /// Tags (repeatable): replace the server's tags.
    #[arg(long = "tag", conflicts_with = "no_tags")]
    pub tags: Vec<String>,
    /// Remove every tag.
    #[arg(long)]
    pub no_tags: bool,
    /// Bastion(s): registered aliases or [user@]host[:port], comma-separated; "" removes them.
    #[arg(long)]
    pub proxy_jump: Option<String>,
    /// Refuse commands and uploads on this server (reads still work).
    #[arg(long, conflicts_with = "writable")]
    pub readonly: bool,
    /// Allow commands and uploads again.
    #[arg(long)]
    pub writable: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Target: a registered alias, a Host of ~/.ssh/config, [user@]host[:port]; or many: a,b,c,
    /// group:NAME, tag:NAME or all (a fan-out, one line per host).
    pub alias: String,
    /// Time limit, e.g. 30, 30s, 5m, 1h (default and 0: none, as ssh).
    #[arg(long)]
    pub timeout: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print one JSON object with the result instead of streaming output.
    #[arg(long)]
    pub json: bool,
    /// Print the job id and let the command run in the background.
    #[arg(long)]
    pub detach: bool,
    #[arg(long, hide = true)]
    pub detached_child: bool,
    /// Read nothing from stdin (as ssh -n); otherwise a stdin that is not a terminal is streamed to
    /// the command.
    #[arg(short = 'n')]
    pub no_stdin: bool,
    /// Run the command on a terminal (as ssh -t): raw keys in, the screen out, size changes followed.
    #[arg(short = 't')]
    pub tty: bool,
    /// The command, after `--`. Several words are joined with spaces, as ssh does.
    #[arg(last = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}
