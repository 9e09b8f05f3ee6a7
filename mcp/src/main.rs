//! `sshdeck-mcp`: the MCP stdio server. stdout carries JSON-RPC only; logs go to the data dir.

mod file_jobs;
mod render;
mod resources;
mod schema;
mod server;
mod stdio;
mod tasks;
mod tools;
mod toolsets;

use std::io::Write;

use anyhow::Result;
use rmcp::ServiceExt;
use sshdeck_core::Deck;
use sshdeck_core::config::Settings;

const USAGE: &str = "sshdeck-mcp: the sshdeck MCP server (a drop-in for the Node MCP SFTP/SSH Orchestrator).

Usage: sshdeck-mcp          serve MCP on stdin/stdout (an MCP client starts it)
       sshdeck-mcp --help   this text
       sshdeck-mcp --version

Settings come from the environment (MCP_DATA_DIR, MCP_TOOLSETS, MCP_READONLY, ...), ./.env and
<data dir>/config.toml; `sshdeck settings` lists them. `sshdeck mcp-config` prints a client config.";

fn main() -> Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("--help" | "-h") => {
            writeln!(std::io::stdout(), "{USAGE}")?;
            return Ok(());
        }
        Some("--version" | "-V") => {
            writeln!(std::io::stdout(), "sshdeck-mcp {}", env!("CARGO_PKG_VERSION"))?;
            return Ok(());
        }
        Some("--runner") => {
            use sshdeck_core::runner;
            runner::main(Settings::load()?, |s, logs| sshdeck_core::logging::init(s, logs, runner::PROGRAM))?;
            return Ok(());
        }
        Some(other) => anyhow::bail!("unknown argument {other:?} (see sshdeck-mcp --help)"),
        None => {}
    }
    let settings = Settings::load()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let launcher = sshdeck_core::link::Launcher { program: std::env::current_exe()?, args: vec!["--runner".into()] };
        let deck = Deck::open_front_end(settings, "sshdeck-mcp", launcher)?;
        let _log = sshdeck_core::logging::init(deck.settings(), deck.logs_dir()?, "sshdeck-mcp")?;
        tracing::info!(data_dir = %deck.data_root().display(), readonly = deck.settings().readonly, "MCP server starting");
        if let Some(hint) = &deck.settings().node_dir_hint {
            // stderr is the client's log view; stdout belongs to the protocol.
            tracing::warn!("{hint}");
            eprintln!("sshdeck-mcp: {hint}");
        }
        let listed = toolsets::parse(&deck.settings().toolsets).map_err(|e| sshdeck_core::Error::InvalidSetting {
            name: "MCP_TOOLSETS".into(),
            value: deck.settings().toolsets.clone(),
            source_name: "settings".into(),
            reason: e.to_string(),
        })?;
        let server = server::Sshdeck::new(deck.clone(), listed);
        let service = server.serve(stdio::transport()).await?;
        let reason = service.waiting().await;
        tracing::info!(?reason, "MCP client gone; stopping");
        deck.shutdown().await;
        Ok(())
    })
}
