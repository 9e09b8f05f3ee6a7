//! `--detach`: the job is accepted and run by a child `sshdeck` in its own process group, which
//! outlives this command. The child reports the accepted id (or an error) on its first stdout line.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Re-runs this program with `args` (which include `--detached-child`) and relays the job id.
pub fn spawn(args: &[String], json: bool) -> Result<i32> {
    let mut child = Command::new(std::env::current_exe().context("locating the sshdeck binary")?)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("starting the background sshdeck")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    let v: Value = match serde_json::from_str(&line) {
        Ok(v) => v,
        Err(_) => {
            let status = child.wait()?;
            bail!("the background sshdeck exited ({status}) before accepting the job");
        }
    };
    let mut out = std::io::stdout().lock();
    if let Some(id) = v["id"].as_str() {
        if json {
            writeln!(out, "{}", json!({"ok": true, "id": id, "status": "running"}))?;
        } else {
            writeln!(out, "{id}")?;
        }
        return Ok(0);
    }
    let code = v["error"]["code"].as_str().unwrap_or("INTERNAL");
    let message = v["error"]["message"].as_str().unwrap_or("unknown error");
    if json {
        writeln!(out, "{}", json!({"ok": false, "error": {"code": code, "message": message}}))?;
    } else {
        writeln!(std::io::stderr(), "error[{code}]: {message}")?;
    }
    Ok(crate::report::EXIT_ERROR)
}

/// In the child: tells the parent the accepted id, or the error's code and message.
pub fn report(result: Result<String, (&str, String)>) {
    let v = match result {
        Ok(id) => json!({"id": id}),
        Err((code, message)) => json!({"error": {"code": code, "message": message}}),
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{v}").and_then(|_| out.flush());
}
