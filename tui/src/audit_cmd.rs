//! `sshdeck audit`: the data dir's audit trail (every mutating action of every front end), and the
//! record each mutating CLI command leaves in it.

use std::io::Write;

use anyhow::Result;
use serde_json::json;
use sshdeck_core::Deck;
use sshdeck_core::audit::Entry;

use crate::cli::{Command, JobsCommand, ServersCommand};
use crate::snapshot_cmd::SnapshotCommand;
use crate::tunnel_cmd::TunnelCommand;

/// What a command changes, for the trail: its name and the servers it concerns (`None`: it changes
/// nothing, or only prints).
pub fn audited(cmd: &Command) -> Option<(String, Vec<String>)> {
    let one = |a: &str| vec![a.to_string()];
    Some(match cmd {
        Command::Exec(a) => ("exec".into(), a.alias.split(',').map(str::to_string).collect()),
        Command::Put(a) => ("put".into(), one(&a.alias)),
        Command::Servers(ServersCommand::Add(a)) => ("servers add".into(), one(&a.alias)),
        Command::Servers(ServersCommand::Edit(a)) => ("servers edit".into(), one(&a.alias)),
        Command::Servers(ServersCommand::Remove { alias, .. }) => ("servers remove".into(), one(alias)),
        Command::Servers(ServersCommand::ImportSshConfig { .. }) => ("servers import-ssh-config".into(), Vec::new()),
        Command::Jobs(JobsCommand::Cancel { .. }) => ("jobs cancel".into(), Vec::new()),
        Command::Jobs(JobsCommand::Retry(_)) => ("jobs retry".into(), Vec::new()),
        Command::Snapshot(SnapshotCommand::Restore { force: true, to, .. }) => {
            ("snapshot restore".into(), to.iter().cloned().collect())
        }
        Command::Snapshot(SnapshotCommand::Delete { .. }) => ("snapshot delete".into(), Vec::new()),
        Command::Tunnel(TunnelCommand::Add(a)) => ("tunnel add".into(), one(&a.via)),
        Command::Tunnel(TunnelCommand::Close { .. }) => ("tunnel close".into(), Vec::new()),
        Command::Tunnel(TunnelCommand::Allow { remove, .. }) => {
            (if *remove { "tunnel allow --remove" } else { "tunnel allow" }.into(), Vec::new())
        }
        _ => return None,
    })
}

/// Appends a finished command to the trail: its arguments as typed (secrets never come on the
/// command line: passwords come from the environment or stdin), its exit status or error code.
pub fn record(data_root: &std::path::Path, action: &str, targets: Vec<String>, outcome: &Result<i32>) {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let who = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    let mut e = Entry::now("cli", &who, action, targets, json!({"argv": argv}));
    e.result = match outcome {
        Ok(0) => "ok".into(),
        Ok(code) => format!("exit {code}"),
        Err(err) => err.downcast_ref::<sshdeck_core::Error>().map_or("ERROR", |e| e.code()).to_string(),
    };
    if let Err(err) = sshdeck_core::audit::Audit::new(data_root).record(&e) {
        tracing::warn!(error = %err, "cannot write the audit trail");
    }
}

/// `sshdeck audit [--since DURATION] [--limit N] [--json]`.
pub fn show(deck: &Deck, since: Option<&str>, limit: usize, json: bool) -> Result<i32> {
    let since_ms = match since {
        Some(s) => {
            let d = crate::report::parse_duration(s)?;
            sshdeck_core::jobs::now_ms().saturating_sub(d.as_millis() as u64)
        }
        None => 0,
    };
    let entries = deck.audit().read(since_ms, limit)?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&entries)?)?;
        return Ok(0);
    }
    if entries.is_empty() {
        writeln!(out, "no audited action")?;
    }
    for e in &entries {
        let targets = if e.targets.is_empty() { "-".to_string() } else { e.targets.join(",") };
        let job = e.job.as_deref().unwrap_or("-");
        writeln!(
            out,
            "{}  {:<4} {:<12} {:<24} {:<16} {:<16} job {job}",
            e.at, e.front_end, e.caller, e.action, targets, e.result
        )?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_commands_that_change_something_are_audited() {
        use clap::Parser;
        let cmd = |args: &[&str]| {
            crate::cli::Cli::parse_from(std::iter::once("sshdeck").chain(args.iter().copied())).command.unwrap()
        };
        assert_eq!(audited(&cmd(&["exec", "web1,web2", "--", "uptime"])).unwrap().1, ["web1", "web2"]);
        assert!(audited(&cmd(&["jobs", "list"])).is_none());
        assert!(audited(&cmd(&["snapshot", "restore", "x"])).is_none(), "a plan changes nothing");
        assert_eq!(audited(&cmd(&["snapshot", "restore", "x", "--force"])).unwrap().0, "snapshot restore");
    }
}
