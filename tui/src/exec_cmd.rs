//! `sshdeck exec ALIAS -- CMD...`.

use std::io::Write;

use anyhow::Result;
use serde_json::json;
use sshdeck_core::Deck;
use sshdeck_core::exec::{ExecOptions, Stream};

use crate::cli::ExecArgs;
use crate::report::{EXIT_ERROR, parse_duration};

/// Runs the command, streaming its output to the matching local streams (or collecting it for
/// `--json`). Ctrl-C cancels it, which kills it on the server. Returns the exit status to use.
pub async fn run(deck: &Deck, args: ExecArgs) -> Result<i32> {
    let command = args.command.join(" ");
    let mut opts: ExecOptions = deck.exec_options();
    if let Some(t) = &args.timeout {
        opts.timeout = Some(parse_duration(t)?);
    }
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    opts.cancel = Some(cancel_rx);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = cancel_tx.send(true);
        }
    });
    let json = args.json;
    let mut stream_out = |s: Stream, data: &[u8]| {
        if json {
            return;
        }
        let _ = match s {
            Stream::Stdout => std::io::stdout()
                .write_all(data)
                .and_then(|_| std::io::stdout().flush()),
            Stream::Stderr => std::io::stderr().write_all(data),
        };
    };
    let out = deck
        .exec(&args.alias, &command, opts, &mut stream_out)
        .await?;
    if json {
        let v = json!({"ok": out.success(), "alias": args.alias, "command": command, "result": out.report()});
        writeln!(std::io::stdout(), "{v}")?;
    }
    Ok(match (out.exit_code, &out.exit_signal) {
        (Some(code), _) => i32::try_from(code).unwrap_or(EXIT_ERROR).min(255),
        (None, Some(sig)) => 128 + signal_number(sig),
        (None, None) => EXIT_ERROR,
    })
}

fn signal_number(name: &str) -> i32 {
    match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        _ => 0,
    }
}
