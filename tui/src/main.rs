//! `sshdeck`: the operator's console (no subcommand) and command line.

mod audit_cmd;
mod cli;
mod demo;
mod detach;
mod exec_cmd;
mod files_cmd;
mod insight_cmd;
mod jobs_cmd;
mod report;
mod servers_cmd;
mod snapshot_cmd;
mod terminal;
mod transfer_cmd;
mod tunnel_cmd;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use sshdeck_console::console;
use sshdeck_core::Deck;
use sshdeck_core::config::{SETTINGS, Settings};

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `sshdeck exec web hostname`: the remote command goes after `--`, as with ssh's options.
            let exec = std::env::args().nth(1).as_deref() == Some("exec");
            let code = e.exit_code();
            let _ = e.print();
            if exec && e.kind() == clap::error::ErrorKind::UnknownArgument {
                eprintln!("hint: put the remote command after `--`: sshdeck exec ALIAS -- COMMAND");
            }
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    let json = match &cli.command {
        Some(Command::Exec(a)) => a.json,
        Some(Command::Servers(cli::ServersCommand::List { json })) => *json,
        Some(Command::Jobs(
            cli::JobsCommand::Show { json, .. }
            | cli::JobsCommand::Cancel { json, .. }
            | cli::JobsCommand::Stats { json },
        )) => *json,
        Some(Command::Jobs(cli::JobsCommand::List(a))) => a.json,
        Some(Command::Put(a) | Command::Get(a)) => a.json,
        Some(Command::Jobs(cli::JobsCommand::Retry(a))) => a.json,
        Some(Command::Tunnel(
            tunnel_cmd::TunnelCommand::List { json } | tunnel_cmd::TunnelCommand::Close { json, .. },
        )) => *json,
        Some(Command::Tunnel(tunnel_cmd::TunnelCommand::Add(a))) => a.json,
        Some(Command::Inventory(a)) => a.json,
        Some(Command::Overview(a)) => a.json,
        _ => false,
    };
    // `sshdeck ssh TARGET [CMD]` is `exec -t` with the login shell as the default command.
    let cli = Cli {
        command: cli.command.map(|c| match c {
            Command::Ssh(a) => Command::Exec(a.into_exec()),
            other => other,
        }),
        ..cli
    };
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            report::print_error(&e, json);
            e.downcast_ref::<sshdeck_core::Error>().map_or(report::EXIT_ERROR, report::exit_code)
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(255))
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    if matches!(cli.command, Some(Command::Demo)) {
        return demo::run(cli.readonly);
    }
    let settings = Settings::load()?;
    if let Some(hint) = &settings.node_dir_hint {
        eprintln!("note: {hint}");
    }
    match &cli.command {
        Some(Command::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "sshdeck", &mut std::io::stdout());
            return Ok(0);
        }
        Some(Command::Man { dir }) => return write_man_pages(dir).map(|_| 0),
        _ => {}
    }
    if matches!(cli.command, Some(Command::Runner)) {
        use sshdeck_core::runner;
        runner::main(settings, |s, logs| sshdeck_core::logging::init(s, logs, runner::PROGRAM))?;
        return Ok(0);
    }
    if matches!(cli.command, Some(Command::McpConfig)) {
        writeln!(std::io::stdout().lock(), "{}", mcp_config(&settings))?;
        return Ok(0);
    }
    let Some(command) = cli.command else {
        let readonly = cli.readonly || settings.readonly;
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        return runtime.block_on(async move {
            let deck = Deck::open_front_end(settings, "sshdeck-console", launcher()?)?;
            let _log = sshdeck_core::logging::init(deck.settings(), deck.logs_dir()?, "sshdeck")?;
            let since = now_ms();
            let r = console::run(deck.clone(), readonly).await;
            if deck.uses_runner() {
                say_what_goes_on(&deck, since);
            }
            deck.shutdown().await;
            r.map(|_| 0)
        });
    };
    if let Command::Exec(args) = &command
        && let Some(r) = exec_cmd::quick(&settings, args)
    {
        if let Some((action, targets)) = audit_cmd::audited(&command) {
            audit_cmd::record(&settings.data_dir, &action, targets, &r);
        }
        return r;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let deck = Deck::open_front_end(settings, "sshdeck", launcher()?)?;
        let _log = sshdeck_core::logging::init(deck.settings(), deck.logs_dir()?, "sshdeck")?;
        tracing::debug!(?command, "start");
        let audited = audit_cmd::audited(&command);
        let outcome: anyhow::Result<i32> = async {
            Ok(match command {
                Command::Servers(cmd) => servers_cmd::run(&deck, cmd).await?,
                Command::Jobs(cmd) => jobs_cmd::run(&deck, cmd).await?,
                Command::Put(args) => transfer_cmd::run(&deck, sshdeck_core::sftp::Direction::Upload, args).await?,
                Command::Get(args) => transfer_cmd::run(&deck, sshdeck_core::sftp::Direction::Download, args).await?,
                Command::Exec(args) => {
                    let r = exec_cmd::exec(&deck, args).await;
                    if let Err(e) = &r {
                        tracing::info!(error = %e, "exec failed");
                    }
                    r?
                }
                Command::Settings { json } => {
                    print_settings(&deck, json)?;
                    0
                }
                Command::Audit { since, limit, json } => audit_cmd::show(&deck, since.as_deref(), limit, json)?,
                Command::Diff(args) => files_cmd::diff(&deck, args).await?,
                Command::Snapshot(cmd) => snapshot_cmd::snapshot(&deck, cmd).await?,
                Command::Tunnel(cmd) => tunnel_cmd::run(&deck, cmd).await?,
                Command::Inventory(a) => insight_cmd::inventory(&deck, a).await?,
                Command::Overview(a) => insight_cmd::overview(&deck, a).await?,
                Command::Demo
                | Command::McpConfig
                | Command::Runner
                | Command::Ssh(_)
                | Command::Completions { .. }
                | Command::Man { .. } => {
                    unreachable!("handled before the data dir is opened")
                }
            })
        }
        .await;
        if let Some((action, targets)) = audited {
            audit_cmd::record(deck.data_root(), &action, targets, &outcome);
        }
        deck.shutdown().await;
        outcome
    })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// After the console quits: the jobs it started that still run go on in the runner; say so.
fn say_what_goes_on(deck: &Deck, since: u64) {
    use sshdeck_core::jobs::{Filter, JobStatus};
    let filter = Filter {
        statuses: vec![JobStatus::Pending, JobStatus::Running],
        limit: usize::MAX,
        top_level: true,
        ..Default::default()
    };
    let Ok(page) = deck.jobs_page(&filter) else { return };
    let mine: Vec<_> = page.jobs.iter().filter(|j| j.origin == "console" && j.created_at >= since).collect();
    if mine.is_empty() {
        return;
    }
    let ids: Vec<_> = mine.iter().map(|j| j.id.to_string()).collect();
    let (what, verb) =
        if mine.len() == 1 { ("1 job started here is", "it goes") } else { ("jobs started here are", "they go") };
    let count = if mine.len() == 1 { String::new() } else { format!("{} ", mine.len()) };
    eprintln!(
        "{count}{what} still running; {verb} on in the background runner: {} (follow with `sshdeck jobs logs --follow ID`)",
        ids.join(" ")
    );
}

/// How a front end starts the data dir's runner: this binary, `sshdeck runner`.
pub(crate) fn launcher() -> anyhow::Result<sshdeck_core::link::Launcher> {
    Ok(sshdeck_core::link::Launcher { program: std::env::current_exe()?, args: vec!["runner".into()] })
}

/// Man pages generated from the command-line definitions: `sshdeck.1`, then `sshdeck-SUB.1` for each
/// subcommand (and `sshdeck-SUB-SUBSUB.1` below it).
fn write_man_pages(dir: &std::path::Path) -> anyhow::Result<()> {
    fn write(cmd: &clap::Command, name: &str, dir: &std::path::Path, out: &mut Vec<String>) -> anyhow::Result<()> {
        let cmd = cmd.clone().name(name.to_string());
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
        let file = dir.join(format!("{name}.1"));
        std::fs::write(&file, page)?;
        out.push(file.display().to_string());
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            write(sub, &format!("{name}-{}", sub.get_name()), dir, out)?;
        }
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let cmd = <Cli as clap::CommandFactory>::command();
    write(&cmd, "sshdeck", dir, &mut written)?;
    writeln!(std::io::stdout().lock(), "{} man pages written to {}", written.len(), dir.display())?;
    Ok(())
}

/// An MCP client config for sshdeck-mcp: the binary next to this one when it is there, and the data
/// dir in force (so the agent's jobs show in this console).
fn mcp_config(settings: &Settings) -> String {
    let beside =
        std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("sshdeck-mcp"))).filter(|p| p.exists());
    let command = beside.map_or_else(|| "sshdeck-mcp".to_string(), |p| p.display().to_string());
    let config = serde_json::json!({"mcpServers": {"sshdeck": {
        "command": command,
        "env": {"MCP_DATA_DIR": settings.data_dir.display().to_string()}
    }}});
    serde_json::to_string_pretty(&config).expect("serializes")
}

fn print_settings(deck: &Deck, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let origins = &deck.settings().origins;
    if json {
        let rows: Vec<_> = origins
            .iter()
            .zip(SETTINGS)
            .map(|(o, (_, default, meaning))| {
                serde_json::json!({"name": o.name, "value": o.value, "source": o.source, "default": default, "meaning": meaning})
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"dataDir": deck.data_root(), "settings": rows}))?
        )?;
        return Ok(());
    }
    writeln!(out, "data dir: {}", deck.data_root().display())?;
    writeln!(out, "(first found wins: environment, ./.env, config.toml in the data dir, defaults)\n")?;
    let vw = origins.iter().map(|o| o.value.chars().count()).max().unwrap_or(5).clamp(5, 40);
    writeln!(out, "{:<32}  {:<vw$}  {:<12}  MEANING", "NAME", "VALUE", "SOURCE")?;
    for (o, (_, _, meaning)) in origins.iter().zip(SETTINGS) {
        writeln!(out, "{:<32}  {:<vw$}  {:<12}  {meaning}", o.name, o.value, o.source)?;
    }
    Ok(())
}
