//! `sshdeck-mcp`: the MCP stdio server. stdout carries JSON-RPC only; logs go to the data dir.

mod file_jobs;
mod http;
mod render;
mod resources;
mod schema;
mod server;
mod stdio;
mod tasks;
mod tokens;
mod tools;
mod toolsets;
mod trail;
mod watch;

use std::io::Write;

use anyhow::Result;
use rmcp::ServiceExt;
use sshdeck_core::Deck;
use sshdeck_core::config::Settings;

const USAGE: &str = "sshdeck-mcp: the sshdeck MCP server (a drop-in for the Node MCP SFTP/SSH Orchestrator).

Usage: sshdeck-mcp                     serve MCP on stdin/stdout (an MCP client starts it)
       sshdeck-mcp --http [ADDR:PORT]  serve MCP over Streamable HTTP at /mcp (default MCP_HTTP_ADDR,
                                       127.0.0.1:8808; another address needs a token)
       sshdeck-mcp token create NAME [--readonly]   make a bearer token (printed once)
       sshdeck-mcp token list | token revoke NAME
       sshdeck-mcp --help   this text
       sshdeck-mcp --version

Settings come from the environment (MCP_DATA_DIR, MCP_TOOLSETS, MCP_READONLY, ...), ./.env and
<data dir>/config.toml; `sshdeck settings` lists them. `sshdeck mcp-config` prints a client config.";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut http_addr = None;
    match args.first().map(String::as_str) {
        Some("token") => return token(&args[1..]),
        Some("--http") => {
            let settings = Settings::load()?;
            http_addr = Some(match args.get(1) {
                Some(a) => a.parse().map_err(|_| anyhow::anyhow!("--http {a}: expected ADDRESS:PORT"))?,
                None => settings.mcp_http_addr,
            });
        }
        _ => {}
    }
    match args.first().map(String::as_str).filter(|a| *a != "--http") {
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
        let http_addr = http_addr.or(deck.settings().mcp_http.then_some(deck.settings().mcp_http_addr));
        if let Some(addr) = http_addr {
            let r = http::serve(deck.clone(), listed, addr).await;
            deck.shutdown().await;
            return r;
        }
        let server = server::Sshdeck::new(deck.clone(), listed);
        let service = server.serve(stdio::transport()).await?;
        let reason = service.waiting().await;
        tracing::info!(?reason, "MCP client gone; stopping");
        deck.shutdown().await;
        Ok(())
    })
}

/// `sshdeck-mcp token create|list|revoke`.
fn token(args: &[String]) -> Result<()> {
    let settings = Settings::load()?;
    let data = sshdeck_core::data_dir::DataDir::open(&settings.data_dir)?;
    let data = data.root();
    let mut out = std::io::stdout().lock();
    match (args.first().map(String::as_str), args.get(1)) {
        (Some("create"), Some(name)) => {
            let readonly = args.iter().any(|a| a == "--readonly");
            let t = tokens::create(data, name, readonly)?;
            writeln!(out, "{t}")?;
            let what = if readonly { "read-only token" } else { "token" };
            eprintln!("{what} {name} created; it is shown only now (clients send it as Authorization: Bearer …)");
        }
        (Some("list"), _) => {
            for t in tokens::load(data)? {
                let ro = if t.readonly { "read-only" } else { "read-write" };
                writeln!(out, "{}\t{ro}\tcreated {}", t.name, t.created_at)?;
            }
        }
        (Some("revoke"), Some(name)) => {
            tokens::revoke(data, name)?;
            writeln!(out, "revoked {name}")?;
        }
        _ => anyhow::bail!("usage: sshdeck-mcp token create NAME [--readonly] | token list | token revoke NAME"),
    }
    Ok(())
}
