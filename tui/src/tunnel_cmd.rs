//! `sshdeck tunnel add|list|close|allow`: the tunnel tools on the command line, with ssh's forward
//! syntax (`-L [bind:]port:host:hostport`, `-R port:host:hostport`, `-D [bind:]port`). Tunnels live
//! in the runner, so `add` returns once the tunnel is up; `-N` (or a data dir without a runner) keeps
//! it in the foreground until Ctrl-C, as `ssh -N` does.

use std::io::Write;

use anyhow::Result;
use clap::{ArgGroup, Args, Subcommand};
use serde_json::json;
use sshdeck_core::tunnels::{TunnelInfo, TunnelKind, TunnelOp, TunnelSpec};
use sshdeck_core::{Deck, Error};

#[derive(Debug, Subcommand)]
pub enum TunnelCommand {
    /// Open a tunnel via a server: `sshdeck tunnel add web -L 8080:localhost:80` (or -R, -D).
    Add(AddArgs),
    /// Open tunnels: where each listens, its target, state, connections and bytes; then the ports
    /// tunnels may use.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Close a tunnel and every connection through it.
    Close {
        /// The tunnel's name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Allow tunnels to listen on PORT (the data dir's tunnel_allowlist.json), or `--remove` it.
    Allow {
        /// Ports (1-65535).
        #[arg(required = true)]
        ports: Vec<u16>,
        /// Remove the ports instead (open tunnels stay until closed).
        #[arg(long)]
        remove: bool,
    },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("forward").required(true).args(["local", "remote", "socks"])))]
pub struct AddArgs {
    /// The server the tunnel goes through (a registered alias).
    pub via: String,
    /// Listen here on [bind:]port and reach host:hostport from the server, as `ssh -L`.
    #[arg(short = 'L', value_name = "[BIND:]PORT:HOST:HOSTPORT")]
    pub local: Option<String>,
    /// Listen on the server's loopback on port and reach host:hostport from here, as `ssh -R`.
    #[arg(short = 'R', value_name = "PORT:HOST:HOSTPORT")]
    pub remote: Option<String>,
    /// A SOCKS5 proxy here on [bind:]port whose connections the server makes, as `ssh -D`.
    #[arg(short = 'D', value_name = "[BIND:]PORT")]
    pub socks: Option<String>,
    /// The tunnel's name (default: VIA-L8080, VIA-R9000, VIA-D1080).
    #[arg(long)]
    pub name: Option<String>,
    /// Add the listen port to the allowlist first.
    #[arg(long)]
    pub allow: bool,
    /// Stay in the foreground and close the tunnel on Ctrl-C, as `ssh -N`.
    #[arg(short = 'N', long)]
    pub foreground: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Splits on `:` outside `[...]` (`[::1]:80` is two fields).
fn fields(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0u32);
    for c in s.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

fn port(s: &str, what: &str) -> Result<u16, Error> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(Error::InvalidArgument(format!("{what}: {s:?} is not a port (1-65535)"))),
    }
}

/// The spec an `add` asks for: kind, listen port, bind address, target.
pub fn spec_of(a: &AddArgs) -> Result<TunnelSpec, Error> {
    let bad = |flag: &str, v: &str, form: &str| Error::InvalidArgument(format!("-{flag} {v:?}: expected {form}"));
    let unbracket = |s: &str| s.trim_start_matches('[').trim_end_matches(']').to_string();
    let (kind, flag, value) = match (&a.local, &a.remote, &a.socks) {
        (Some(v), None, None) => (TunnelKind::Local, "L", v),
        (None, Some(v), None) => (TunnelKind::Remote, "R", v),
        (None, None, Some(v)) => (TunnelKind::Socks, "D", v),
        _ => return Err(Error::InvalidArgument("give one of -L, -R or -D".into())),
    };
    let f = fields(value);
    let (bind, listen, target) = match (kind, f.as_slice()) {
        (TunnelKind::Socks, [p]) => (None, p, None),
        (TunnelKind::Socks, [b, p]) => (Some(unbracket(b)), p, None),
        (TunnelKind::Socks, _) => return Err(bad(flag, value, "[BIND:]PORT")),
        (_, [p, h, hp]) => (None, p, Some((h, hp))),
        (TunnelKind::Local, [b, p, h, hp]) => (Some(unbracket(b)), p, Some((h, hp))),
        (TunnelKind::Remote, [b, p, h, hp]) if ["localhost", "127.0.0.1", "[::1]", ""].contains(&b.as_str()) => {
            (None, p, Some((h, hp)))
        }
        (TunnelKind::Remote, [_, _, _, _]) => {
            return Err(Error::InvalidArgument(format!(
                "-R {value:?}: remote tunnels listen on the server's loopback only"
            )));
        }
        (TunnelKind::Local, _) => return Err(bad(flag, value, "[BIND:]PORT:HOST:HOSTPORT")),
        (_, _) => return Err(bad(flag, value, "PORT:HOST:HOSTPORT")),
    };
    let listen_port = port(listen, &format!("-{flag} {value:?}"))?;
    let target = match target {
        Some((h, hp)) => {
            let hp = port(hp, &format!("-{flag} {value:?}"))?;
            if h.is_empty() {
                return Err(bad(flag, value, "a target host"));
            }
            let h = unbracket(h);
            Some(if h.contains(':') { format!("[{h}]:{hp}") } else { format!("{h}:{hp}") })
        }
        None => None,
    };
    let name = a.name.clone().unwrap_or_else(|| format!("{}-{flag}{listen_port}", a.via));
    Ok(TunnelSpec { name, kind, listen_port, target, via: a.via.clone(), bind: bind.filter(|b| !b.is_empty()) })
}

/// One row of `tunnel list`.
fn row(t: &TunnelInfo) -> String {
    let target = t.target.clone().unwrap_or_else(|| "SOCKS5".into());
    let state = match &t.error {
        Some(e) if t.state != "up" => format!("{} ({e})", t.state),
        _ => t.state.clone(),
    };
    format!(
        "{:<20} {:<6} {:<26} {:<24} {:<12} {:>4} {:>6} {:>12} {:>12}  {state}",
        t.name,
        t.kind.as_str(),
        t.listen,
        target,
        t.via,
        t.connections,
        t.total_connections,
        t.bytes_sent,
        t.bytes_received
    )
}

fn who() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Runs a `tunnel` subcommand.
pub async fn run(deck: &Deck, cmd: TunnelCommand) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    match cmd {
        TunnelCommand::Add(a) => {
            let spec = spec_of(&a)?;
            if a.allow && deck.tunnel_allow(spec.listen_port, true, &who())? && !a.json {
                writeln!(out, "port {} added to the tunnel allowlist", spec.listen_port)?;
            }
            let name = spec.name.clone();
            let v = deck.tunnel(TunnelOp::Create { spec, origin: "cli".into() }).await?;
            let t = v.first().ok_or_else(|| Error::RunnerUnavailable("no tunnel came back".into()))?;
            if a.json {
                writeln!(out, "{}", serde_json::to_string(t)?)?;
            } else {
                let to = t.target.as_deref().map_or_else(|| "SOCKS5".to_string(), |t| format!("-> {t}"));
                writeln!(out, "tunnel {} up: {} {to} via {}", t.name, t.listen, t.via)?;
            }
            out.flush()?;
            drop(out);
            if a.foreground || !deck.uses_runner() {
                if !a.foreground {
                    eprintln!("no runner holds tunnels for this data dir (RUNNER_MODE): Ctrl-C closes it");
                }
                tokio::signal::ctrl_c().await?;
                deck.tunnel(TunnelOp::Close { name }).await?;
                return Ok(crate::report::EXIT_INTERRUPTED);
            }
            Ok(0)
        }
        TunnelCommand::List { json } => {
            let v = deck.tunnel(TunnelOp::List).await?;
            let allowed = deck.tunnel_ports()?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&json!({"tunnels": v, "allowedPorts": allowed}))?)?;
                return Ok(0);
            }
            if v.is_empty() {
                writeln!(out, "no open tunnel")?;
            } else {
                writeln!(
                    out,
                    "{:<20} {:<6} {:<26} {:<24} {:<12} {:>4} {:>6} {:>12} {:>12}  STATE",
                    "NAME", "TYPE", "LISTEN", "TARGET", "VIA", "OPEN", "TOTAL", "SENT", "RECEIVED"
                )?;
                for t in &v {
                    writeln!(out, "{}", row(t))?;
                }
            }
            let ports: Vec<String> = allowed.iter().map(u16::to_string).collect();
            let ports = if ports.is_empty() { "none (sshdeck tunnel allow PORT)".into() } else { ports.join(" ") };
            writeln!(out, "allowed ports: {ports}")?;
            Ok(0)
        }
        TunnelCommand::Close { name, json } => {
            let v = deck.tunnel(TunnelOp::Close { name }).await?;
            for t in &v {
                if json {
                    writeln!(out, "{}", serde_json::to_string(t)?)?;
                } else {
                    writeln!(out, "tunnel {} closed ({} connections in all)", t.name, t.total_connections)?;
                }
            }
            Ok(0)
        }
        TunnelCommand::Allow { ports, remove } => {
            for p in ports {
                let changed = deck.tunnel_allow(p, !remove, &who())?;
                let what = match (remove, changed) {
                    (false, true) => "allowed",
                    (false, false) => "was already allowed",
                    (true, true) => "removed from the allowlist",
                    (true, false) => "was not in the allowlist",
                };
                writeln!(out, "port {p} {what}")?;
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn spec(args: &[&str]) -> Result<TunnelSpec, Error> {
        let cli = crate::cli::Cli::try_parse_from(["sshdeck", "tunnel", "add"].iter().chain(args)).expect("parses");
        match cli.command {
            Some(crate::cli::Command::Tunnel(TunnelCommand::Add(a))) => spec_of(&a),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forwards_read_as_ssh_reads_them() {
        let s = spec(&["web", "-L", "8080:localhost:80"]).unwrap();
        assert_eq!(
            (s.kind, s.listen_port, s.target.as_deref(), s.bind),
            (TunnelKind::Local, 8080, Some("localhost:80"), None)
        );
        assert_eq!(s.name, "web-L8080");
        let s = spec(&["web", "-L", "[::1]:8080:[fd00::1]:443", "--name", "api"]).unwrap();
        assert_eq!(
            (s.bind.as_deref(), s.target.as_deref(), s.name.as_str()),
            (Some("::1"), Some("[fd00::1]:443"), "api")
        );
        let s = spec(&["web", "-R", "9000:127.0.0.1:3000"]).unwrap();
        assert_eq!((s.kind, s.listen_port, s.target.as_deref()), (TunnelKind::Remote, 9000, Some("127.0.0.1:3000")));
        let s = spec(&["web", "-D", "127.0.0.1:1080"]).unwrap();
        assert_eq!(
            (s.kind, s.listen_port, s.bind.as_deref(), s.target),
            (TunnelKind::Socks, 1080, Some("127.0.0.1"), None)
        );
    }

    #[test]
    fn malformed_forwards_are_invalid_arguments() {
        for bad in [["-L", "8080"], ["-L", "0:h:80"], ["-L", "8080:h:x"], ["-R", "0.0.0.0:9000:h:80"], ["-D", "a:b:c"]]
        {
            let e = spec(&["web", bad[0], bad[1]]).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT", "{bad:?}: {e}");
        }
        assert!(crate::cli::Cli::try_parse_from(["sshdeck", "tunnel", "add", "web"]).is_err(), "one forward needed");
        assert!(
            crate::cli::Cli::try_parse_from(["sshdeck", "tunnel", "add", "web", "-L", "1:h:2", "-D", "3"]).is_err(),
            "only one forward"
        );
    }
}
