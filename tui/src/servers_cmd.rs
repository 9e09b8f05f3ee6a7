//! `sshdeck servers …`.

use std::io::{BufRead, Write};

use anyhow::{Context, Result};
use sshdeck_core::Deck;
use sshdeck_core::secret::Secret;
use sshdeck_core::servers::{
    Added, HostKeyPolicy, ImportReport, ServerConfig, ServerSummary, parse_node_servers_json, parse_ssh_config,
};
use sshdeck_core::servers::{expand_tilde, home_dir};

use crate::cli::{AddArgs, EditArgs, ServersCommand};

pub async fn run(deck: &Deck, cmd: ServersCommand) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    match cmd {
        ServersCommand::Add(args) => {
            let alias = args.alias.clone();
            let force = args.force;
            let connect = !args.no_connect;
            let config = config_from(args)?;
            check_jumps(deck, config.proxy_jump.as_deref())?;
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
            drop(out);
            if connect {
                first_contact(deck, &alias).await?;
            }
            return Ok(0);
        }
        ServersCommand::Edit(args) => return edit(deck, args),
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
        ServersCommand::Show { alias, json } => {
            let s = ServerSummary::from(&deck.server(&alias)?);
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&s)?)?;
            } else {
                let key = s.key_path.as_ref().map_or("-".to_string(), |k| k.display().to_string());
                let set = |b: bool| if b { "set" } else { "not set" };
                writeln!(out, "alias          {}", s.alias)?;
                writeln!(out, "target         {}@{}:{}", s.user, s.host, s.port)?;
                writeln!(out, "auth           {}", s.auth)?;
                writeln!(out, "key file       {key}")?;
                writeln!(out, "password       {}", set(s.has_password))?;
                writeln!(out, "passphrase     {}", set(s.has_passphrase))?;
                writeln!(out, "host keys      {}", s.host_key_policy)?;
                writeln!(out, "proxy jump     {}", s.proxy_jump.as_deref().unwrap_or("-"))?;
                writeln!(out, "tags           {}", if s.tags.is_empty() { "-".into() } else { s.tags.join(",") })?;
                writeln!(
                    out,
                    "readonly       {}",
                    if s.readonly { "yes: commands and uploads refused" } else { "no" }
                )?;
            }
        }
        ServersCommand::Test { target, timeout, json } => return test(deck, &target, timeout, json).await,
        ServersCommand::ImportSshConfig { file, force } => {
            let path = match file {
                Some(f) => f,
                None => home_dir().context("no home directory")?.join(".ssh/config"),
            };
            let text = sshdeck_core::servers::read_ssh_config(&path)?;
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
    let password = if a.password_stdin {
        Some(password_from_stdin()?)
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

/// After `servers add`: connect once (`true` through the pool) and show the host key on record, as ssh
/// does on first contact. A failure is a warning: the server stays registered.
async fn first_contact(deck: &Deck, alias: &str) -> Result<()> {
    let mut opts = deck.exec_options();
    opts.timeout = Some(std::time::Duration::from_secs(15));
    let mut out = std::io::stdout().lock();
    match deck.exec(alias, "true", opts, &mut |_, _| {}).await {
        Ok(_) => {
            let server = deck.server(alias)?;
            for (algorithm, fingerprint, at) in deck.host_keys(alias)? {
                writeln!(
                    out,
                    "host key of {}:{}: {algorithm} {fingerprint} ({at})",
                    server.config.host, server.config.port
                )?;
            }
            writeln!(out, "connected to {alias} as {}", server.config.user)?;
        }
        Err(e) => eprintln!(
            "warning: {alias} is registered but the first connection failed: error[{}]: {e} \
             (`sshdeck servers test {alias}` tries again; --no-connect skips this)",
            e.code()
        ),
    }
    Ok(())
}

/// `servers edit`: what is given changes, the rest is kept; prints what changed.
fn edit(deck: &Deck, a: EditArgs) -> Result<i32> {
    let before = deck.server(&a.alias)?.config;
    let mut c = before.clone();
    let mut changes: Vec<String> = Vec::new();
    if let Some(h) = a.host {
        note(&mut changes, "host", c.host.clone(), h.clone());
        c.host = h;
    }
    if let Some(u) = a.user {
        note(&mut changes, "user", c.user.clone(), u.clone());
        c.user = u;
    }
    if let Some(p) = a.port {
        note(&mut changes, "port", c.port.to_string(), p.to_string());
        c.port = p;
    }
    let shown = |k: &Option<std::path::PathBuf>| k.as_ref().map_or("-".to_string(), |p| p.display().to_string());
    if let Some(k) = a.key_path {
        let k = Some(expand_tilde(&k.to_string_lossy()));
        if let Some(path) = &k
            && !path.exists()
        {
            return Err(
                sshdeck_core::Error::InvalidArgument(format!("key file {} does not exist", path.display())).into()
            );
        }
        note(&mut changes, "key", shown(&c.key_path), shown(&k));
        c.key_path = k;
    }
    if a.no_key {
        note(&mut changes, "key", shown(&c.key_path), "-".into());
        c.key_path = None;
    }
    if let Some(var) = &a.passphrase_env {
        c.passphrase = Some(secret_from_env(var)?);
        changes.push("passphrase replaced".into());
    }
    if let Some(var) = &a.password_env {
        c.password = Some(secret_from_env(var)?);
        changes.push("password replaced".into());
    }
    if a.password_stdin {
        c.password = Some(password_from_stdin()?);
        changes.push("password replaced".into());
    }
    if a.no_password && c.password.take().is_some() {
        changes.push("password removed".into());
    }
    if a.agent || a.no_agent {
        note(&mut changes, "agent", c.agent.to_string(), a.agent.to_string());
        c.agent = a.agent;
    }
    if let Some(p) = &a.host_key_policy {
        let p = HostKeyPolicy::parse(p)?;
        note(&mut changes, "host-key-policy", format!("{:?}", c.host_key_policy), format!("{p:?}"));
        c.host_key_policy = p;
    }
    if !a.tags.is_empty() || a.no_tags {
        let list = |t: &[String]| if t.is_empty() { "-".to_string() } else { t.join(",") };
        note(&mut changes, "tags", list(&c.tags), list(&a.tags));
        c.tags = a.tags;
    }
    if let Some(j) = a.proxy_jump {
        let j = Some(j).filter(|j| !j.trim().is_empty());
        check_jumps(deck, j.as_deref())?;
        note(&mut changes, "proxy-jump", c.proxy_jump.clone().unwrap_or("-".into()), j.clone().unwrap_or("-".into()));
        c.proxy_jump = j;
    }
    if a.readonly || a.writable {
        note(&mut changes, "readonly", c.readonly.to_string(), a.readonly.to_string());
        c.readonly = a.readonly;
    }
    let mut out = std::io::stdout().lock();
    if changes.is_empty() {
        writeln!(out, "{}: nothing changed", a.alias)?;
        return Ok(0);
    }
    deck.add_server(&a.alias, c, true)?;
    writeln!(out, "{}: {}", a.alias, changes.join("; "))?;
    Ok(0)
}

/// Records `what old -> new` when it changed.
fn note(changes: &mut Vec<String>, what: &str, old: String, new: String) {
    if old != new {
        changes.push(format!("{what} {old} -> {new}"));
    }
}

fn secret_from_env(var: &str) -> Result<Secret> {
    let v = std::env::var(var).map_err(|_| {
        sshdeck_core::Error::InvalidArgument(format!(
            "environment variable {var} is not set (named by --password-env or --passphrase-env)"
        ))
    })?;
    Ok(Secret::new(v))
}

fn password_from_stdin() -> Result<Secret> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(Secret::new(line.trim_end_matches(['\n', '\r'])))
}

/// `--proxy-jump`: a hop that looks like an alias (no `.`, `@` or `:`) must be a registered one.
fn check_jumps(deck: &Deck, jumps: Option<&str>) -> Result<()> {
    for hop in jumps.unwrap_or_default().split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let looks_like_alias = !hop.contains(['.', '@', ':']);
        if looks_like_alias && hop != "localhost" && deck.server(hop).is_err() {
            return Err(sshdeck_core::Error::InvalidArgument(format!(
                "--proxy-jump {hop}: no server has that alias (register it first, or give user@host:port)"
            ))
            .into());
        }
    }
    Ok(())
}

/// `servers test`: `true` on each server through the pool (not recorded as jobs); a line each.
async fn test(deck: &Deck, target: &str, timeout: u64, json: bool) -> Result<i32> {
    let aliases = deck.resolve_targets(&[target.to_string()])?;
    let width = aliases.iter().map(String::len).max().unwrap_or(5);
    let probes = aliases.iter().map(|alias| async move {
        let mut opts = deck.exec_options();
        opts.timeout = Some(std::time::Duration::from_secs(timeout.max(1)));
        let started = std::time::Instant::now();
        let r = deck.exec(alias, "true", opts, &mut |_, _| {}).await;
        (alias.clone(), r.map(|_| started.elapsed().as_secs_f64() * 1000.0))
    });
    use futures_util::StreamExt;
    // In order, FLEET_CONCURRENCY at a time (the pool paces handshakes per host too).
    let results: Vec<_> =
        futures_util::stream::iter(probes).buffered(deck.settings().fleet_concurrency).collect().await;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<_> = results
            .iter()
            .map(|(a, r)| match r {
                Ok(ms) => serde_json::json!({"alias": a, "ok": true, "ms": (ms * 10.0).round() / 10.0}),
                Err(e) => {
                    serde_json::json!({"alias": a, "ok": false, "error": {"code": e.code(), "message": e.to_string()}})
                }
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
    } else {
        for (alias, r) in &results {
            match r {
                Ok(ms) => writeln!(out, "{alias:<width$}  ok      {ms:.0} ms")?,
                Err(e) => writeln!(out, "{alias:<width$}  FAILED  {}: {e}", e.code())?,
            }
        }
        writeln!(out, "{} of {} ok", results.len() - failed, results.len())?;
    }
    Ok(if failed == 0 { 0 } else { 1 })
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
