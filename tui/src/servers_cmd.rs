//! `sshdeck servers …`.

use std::io::{BufRead, Write};

use anyhow::{Context, Result};
use sshdeck_core::Deck;
use sshdeck_core::secret::Secret;
use sshdeck_core::servers::{
    Added, HostKeyPolicy, ImportReport, ServerConfig, ServerSummary, parse_node_servers_json, parse_ssh_config,
};
use sshdeck_core::servers::{expand_tilde, home_dir};

use crate::cli::{AddArgs, ServersCommand};

pub fn run(deck: &Deck, cmd: ServersCommand) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    match cmd {
        ServersCommand::Add(args) => {
            let alias = args.alias.clone();
            let force = args.force;
            let config = config_from(args)?;
            if let Some(k) = &config.key_path
                && !k.exists()
            {
                return Err(
                    sshdeck_core::Error::InvalidArgument(format!("key file {} does not exist", k.display())).into()
                );
            }
            let what = match deck.add_server(&alias, config, force)? {
                Added::Created => "added",
                Added::Replaced => "replaced",
            };
            writeln!(out, "{what} {alias}")?;
        }
        ServersCommand::List { json } => {
            let list: Vec<ServerSummary> = deck.servers()?.iter().map(ServerSummary::from).collect();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                print_table(&mut out, &list)?;
            }
        }
        ServersCommand::Remove { alias } => {
            deck.remove_server(&alias)?;
            writeln!(out, "removed {alias}")?;
        }
        ServersCommand::ImportSshConfig { file, force } => {
            let path = match file {
                Some(f) => f,
                None => home_dir().context("no home directory")?.join(".ssh/config"),
            };
            let text = std::fs::read_to_string(&path).map_err(|e| sshdeck_core::Error::Io {
                action: "cannot read",
                path: path.clone(),
                source: e,
            })?;
            let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
            let (entries, warnings) = parse_ssh_config(&text, &user);
            for w in warnings {
                eprintln!("warning: {}: {w}", path.display());
            }
            print_report(&mut out, &deck.import_servers(entries, force)?)?;
        }
        ServersCommand::ImportJson { file, force } => {
            let bytes = std::fs::read(&file).map_err(|e| sshdeck_core::Error::Io {
                action: "cannot read",
                path: file.clone(),
                source: e,
            })?;
            let entries = parse_node_servers_json(&bytes)?;
            print_report(&mut out, &deck.import_servers(entries, force)?)?;
        }
    }
    Ok(0)
}

fn config_from(a: AddArgs) -> Result<ServerConfig> {
    let secret_from_env = |var: &str| -> Result<Secret> {
        let v = std::env::var(var).map_err(|_| {
            sshdeck_core::Error::InvalidArgument(format!(
                "environment variable {var} is not set (named by --password-env or --passphrase-env)"
            ))
        })?;
        Ok(Secret::new(v))
    };
    let password = if a.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Some(Secret::new(line.trim_end_matches(['\n', '\r'])))
    } else {
        a.password_env.as_deref().map(secret_from_env).transpose()?
    };
    Ok(ServerConfig {
        host: a.host,
        user: a.user,
        port: a.port,
        key_path: a.key_path.map(|k| expand_tilde(&k.to_string_lossy())),
        passphrase: a.passphrase_env.as_deref().map(secret_from_env).transpose()?,
        password,
        agent: a.agent,
        host_key_policy: HostKeyPolicy::parse(&a.host_key_policy)?,
        tags: a.tags,
        proxy_jump: a.proxy_jump,
        ..ServerConfig::new("", "")
    })
}

fn print_table(out: &mut impl Write, list: &[ServerSummary]) -> Result<()> {
    if list.is_empty() {
        writeln!(out, "no servers registered (add one with `sshdeck servers add`)")?;
        return Ok(());
    }
    let rows: Vec<[String; 6]> = list.iter().map(ServerSummary::columns).collect();
    let header = ServerSummary::HEADER.map(String::from);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

fn print_report(out: &mut impl Write, r: &ImportReport) -> Result<()> {
    writeln!(out, "added {}, replaced {}, skipped {}", r.added.len(), r.replaced.len(), r.skipped.len())?;
    for a in &r.added {
        writeln!(out, "  + {a}")?;
    }
    for a in &r.replaced {
        writeln!(out, "  ~ {a}")?;
    }
    for (a, why) in &r.skipped {
        writeln!(out, "  - {a}: {why}")?;
    }
    Ok(())
}
