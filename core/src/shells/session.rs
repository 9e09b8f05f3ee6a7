//! One shell session: an interactive shell on a PTY, on a channel of a pooled connection (it holds
//! that channel slot while open). Commands are written one at a time as
//! `eval 'COMMAND' </dev/null; <marker>`: `eval` of a quoted string keeps a command with a syntax
//! error from swallowing what follows, a builtin with a redirection runs in the shell itself (so
//! `cd`, `export` and `source` last), and stdin is not the session's. (Not a `{ …; }` group: after a
//! syntax error inside `eval` in a group, interactive bash misparses the next line.) The terminal has echo, line editing,
//! output processing and flow control off, so output arrives as the command wrote it (stdout and
//! stderr together, as on a terminal); Ctrl-C still interrupts the command in the foreground and the
//! interactive shell stays.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelWriteHalf, Pty};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::frame::{End, Framer, marker_command};
use crate::error::{Error, Result};
use crate::pool::{Lease, Pool};
use crate::ssh::Target;
use crate::ssh::quote::shell_quote;

/// The program the channel runs: bash when there is one (no rc files, no line editing), else sh.
const START: &str = "if command -v bash >/dev/null 2>&1; then PS1= PS2= HISTFILE= exec bash --noprofile --norc --noediting -i; else PS1= PS2= exec sh -i; fi";

/// Terminal modes: no echo, no line editing (no 4 KiB line limit), no output processing (bytes as
/// written, `\n` not turned into `\r\n`), no flow control, no `\r` → `\n`; signals from
/// Ctrl-C stay.
const MODES: &[(Pty, u32)] = &[
    (Pty::ECHO, 0),
    (Pty::ICANON, 0),
    (Pty::IEXTEN, 0),
    (Pty::IXON, 0),
    (Pty::ICRNL, 0),
    (Pty::OPOST, 0),
    (Pty::ONLCR, 0),
    (Pty::ISIG, 1),
];

/// How long opening a session (channel, shell, workdir and variables) may take.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long an interrupted command gets to give the prompt back before the session is closed.
const INTERRUPT_GRACE: Duration = Duration::from_secs(3);
/// Output kept while no command reads it (background jobs printing between commands).
const PENDING_MAX: usize = 4 << 20;

/// Bytes the terminal would turn into signals: refused in commands.
pub(crate) fn check_command(command: &str) -> Result<()> {
    if let Some(c) = command.chars().find(|c| matches!(c, '\x03' | '\x1a' | '\x1c' | '\0')) {
        return Err(Error::InvalidArgument(format!(
            "the command contains the control character {:?}, which a shell session's terminal would take as a signal",
            c
        )));
    }
    Ok(())
}

/// What the reading task has received and nobody has taken yet.
#[derive(Default)]
struct Pending {
    data: Vec<u8>,
    dropped: u64,
    exit: Option<u32>,
    closed: bool,
}

struct Inbox {
    state: Mutex<Pending>,
    notify: Notify,
}

/// What [`ShellSession::next`] got.
enum Got {
    Data(Vec<u8>),
    Closed,
    Timeout,
    Cancelled,
}

/// How a command in the session ended.
#[derive(Debug)]
pub(crate) struct Ran {
    /// `$?` (after an interrupt, the interrupted command's: usually 130).
    pub status: Option<i32>,
    /// Stopped by its timeout (Ctrl-C).
    pub timed_out: bool,
    /// Stopped on request (Ctrl-C).
    pub cancelled: bool,
    /// The shell is gone (the command ran `exit`, the connection dropped, or it would not stop).
    pub closed: bool,
    /// Why it closed, when it did.
    pub closed_reason: Option<String>,
}

/// An open session.
pub(crate) struct ShellSession {
    write: ChannelWriteHalf<Msg>,
    inbox: Arc<Inbox>,
    reader: tokio::task::JoinHandle<()>,
    _lease: Lease,
    /// Output that arrived after the last marker, given to the next command.
    carry: Vec<u8>,
    /// `$PWD` after the last command.
    pub cwd: String,
    pub closed: bool,
    alias: String,
}

impl Drop for ShellSession {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn nonce() -> String {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("the OS random source works");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl ShellSession {
    /// Opens a session on `target`: starts the shell, then `cd` to `workdir` and exports `env`.
    pub(crate) async fn open(
        pool: &Pool,
        target: &Target,
        workdir: Option<&str>,
        env: &[(String, String)],
    ) -> Result<ShellSession> {
        let alias = target.alias.clone();
        let lost = |e: russh::Error| Error::ConnectionLost { host: target.config.host.clone(), reason: e.to_string() };
        let timeout = || Error::ConnectionFailed {
            host: target.config.host.clone(),
            port: target.config.port,
            reason: format!("the shell session did not start within {START_TIMEOUT:?}"),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let lease = tokio::time::timeout_at(deadline, pool.acquire(target)).await.map_err(|_| timeout())??;
        let channel =
            tokio::time::timeout_at(deadline, lease.session().open_channel()).await.map_err(|_| timeout())??;
        channel.request_pty(true, "dumb", 250, 50, 0, 0, MODES).await.map_err(lost)?;
        channel.exec(true, START).await.map_err(lost)?;
        let (mut read, write) = channel.split();
        let inbox = Arc::new(Inbox { state: Mutex::default(), notify: Notify::new() });
        let reader = {
            let inbox = inbox.clone();
            tokio::spawn(async move {
                loop {
                    let msg = read.wait().await;
                    let mut s = inbox.state.lock().expect("lock");
                    match msg {
                        Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                            s.data.extend_from_slice(&data);
                            if s.data.len() > PENDING_MAX {
                                let cut = s.data.len() - PENDING_MAX;
                                s.data.drain(..cut);
                                s.dropped += cut as u64;
                            }
                        }
                        Some(ChannelMsg::ExitStatus { exit_status }) => s.exit = Some(exit_status),
                        Some(ChannelMsg::Close) | None => {
                            s.closed = true;
                            drop(s);
                            inbox.notify.notify_one();
                            return;
                        }
                        Some(_) => continue,
                    }
                    drop(s);
                    inbox.notify.notify_one();
                }
            })
        };
        let mut session = ShellSession {
            write,
            inbox,
            reader,
            _lease: lease,
            carry: Vec::new(),
            cwd: String::new(),
            closed: false,
            alias: alias.clone(),
        };
        let mut setup =
            String::from("PS1=''; PS2=''; unset PROMPT_COMMAND HISTFILE 2>/dev/null; set +o history 2>/dev/null");
        if let Some(dir) = workdir {
            setup.push_str(&format!("; cd -- {} || (exit 66)", shell_quote(dir)));
        }
        for (k, v) in env {
            if k.is_empty()
                || k.starts_with(|c: char| c.is_ascii_digit())
                || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(Error::InvalidArgument(format!(
                    "environment variable name {k:?}: letters, digits and _ only"
                )));
            }
            setup.push_str(&format!("; export {k}={}", shell_quote(v)));
        }
        let (never, rx) = watch::channel(false);
        let mut said = Vec::new();
        let ran = session.run_line(&setup, Some(deadline), rx, &mut |d| said.extend_from_slice(d)).await?;
        drop(never);
        if ran.closed || ran.timed_out {
            return Err(Error::ConnectionFailed {
                host: target.config.host.clone(),
                port: target.config.port,
                reason: "the shell session did not start".into(),
            });
        }
        match (ran.status, workdir) {
            (Some(66), Some(dir)) => Err(Error::NotFound { what: "working directory", name: format!("{alias}:{dir}") }),
            (Some(0), _) => Ok(session),
            (status, _) => Err(Error::RemoteFailed {
                what: "starting the shell session".into(),
                alias,
                exit: status.unwrap_or(-1).into(),
                stderr: String::from_utf8_lossy(&said).trim().to_string(),
            }),
        }
    }

    /// Runs `command` (checked with [`check_command`]); `on_output` sees its output as it arrives.
    /// At `deadline`, or when `cancel` turns true, the command gets Ctrl-C and the session stays.
    pub(crate) async fn run(
        &mut self,
        command: &str,
        deadline: Option<Instant>,
        cancel: watch::Receiver<bool>,
        on_output: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<Ran> {
        check_command(command)?;
        if self.closed {
            return Err(Error::ConnectionLost {
                host: self.alias.clone(),
                reason: "the shell session has ended".into(),
            });
        }
        self.run_line(&format!("eval {} </dev/null", shell_quote(command)), deadline, cancel, on_output).await
    }

    async fn run_line(
        &mut self,
        line: &str,
        deadline: Option<Instant>,
        mut cancel: watch::Receiver<bool>,
        on_output: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<Ran> {
        let n1 = nonce();
        let mut first = Framer::new(&n1);
        self.send(format!("{line}; {}\n", marker_command(&n1)).as_bytes()).await?;
        let mut ran = Ran { status: None, timed_out: false, cancelled: false, closed: false, closed_reason: None };
        // After an interrupt: the marker of the line sent then, fed with what the first passes on.
        let mut second: Option<Framer> = None;
        let mut first_done = false;
        let mut input = std::mem::take(&mut self.carry);
        let mut grace_until: Option<Instant> = None;
        loop {
            if !input.is_empty() {
                let data = std::mem::take(&mut input);
                let (passed, rest, end) = if first_done {
                    (Vec::new(), data, None)
                } else {
                    let (out, end) = first.feed(&data);
                    let rest = end.as_ref().map(|e| e.rest.clone()).unwrap_or_default();
                    (out, rest, end)
                };
                if let Some(End { status, cwd, .. }) = end {
                    first_done = true;
                    ran.status = Some(status);
                    self.cwd = cwd;
                }
                match second.as_mut() {
                    None => {
                        on_output(&passed);
                        if first_done {
                            self.carry = rest;
                            return Ok(ran);
                        }
                    }
                    Some(f) => {
                        let (mut out, mut end) = f.feed(&passed);
                        if end.is_none() && !rest.is_empty() {
                            let (o, e) = f.feed(&rest);
                            out.extend(o);
                            end = e;
                        }
                        on_output(&out);
                        if let Some(e) = end {
                            if !first_done {
                                ran.status = Some(e.status);
                            }
                            self.cwd = e.cwd;
                            self.carry = e.rest;
                            return Ok(ran);
                        }
                    }
                }
            }
            let wait_until = grace_until.or(if second.is_none() { deadline } else { None });
            match self.next(wait_until, &mut cancel, second.is_none()).await {
                Got::Data(d) => input = d,
                Got::Closed => {
                    let rest = first.flush();
                    on_output(&rest);
                    self.closed = true;
                    ran.closed = true;
                    let exit = self.inbox.state.lock().expect("lock").exit;
                    if ran.status.is_none() {
                        ran.status = exit.map(|e| e as i32);
                    }
                    ran.closed_reason = Some(match exit {
                        Some(code) => format!("the shell exited (status {code})"),
                        None => "the connection closed".into(),
                    });
                    return Ok(ran);
                }
                Got::Timeout | Got::Cancelled if second.is_some() => {
                    // Ctrl-C did not give the prompt back: the session cannot be trusted any more.
                    self.closed = true;
                    ran.closed = true;
                    ran.closed_reason = Some("the command did not stop on Ctrl-C; the session was closed".into());
                    let _ = self.write.close().await;
                    return Ok(ran);
                }
                stop @ (Got::Timeout | Got::Cancelled) => {
                    match stop {
                        Got::Timeout => ran.timed_out = true,
                        _ => ran.cancelled = true,
                    }
                    let n2 = nonce();
                    second = Some(Framer::new(&n2));
                    self.send(b"\x03").await?;
                    self.send(format!("{}\n", marker_command(&n2)).as_bytes()).await?;
                    grace_until = Some(Instant::now() + INTERRUPT_GRACE);
                }
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.write.data_bytes(bytes.to_vec()).await.map_err(|e| {
            self.closed = true;
            Error::ConnectionLost { host: self.alias.clone(), reason: e.to_string() }
        })
    }

    /// The next bytes, the end of the channel, the deadline, or (when `watch_cancel`) a cancel.
    async fn next(&self, until: Option<Instant>, cancel: &mut watch::Receiver<bool>, watch_cancel: bool) -> Got {
        let mut watching = watch_cancel;
        loop {
            {
                let mut s = self.inbox.state.lock().expect("lock");
                if !s.data.is_empty() {
                    if s.dropped > 0 {
                        let note =
                            format!("\n[sshdeck: {} bytes printed while no command ran were dropped]\n", s.dropped);
                        s.dropped = 0;
                        let mut d = note.into_bytes();
                        d.append(&mut s.data);
                        return Got::Data(d);
                    }
                    return Got::Data(std::mem::take(&mut s.data));
                }
                if s.closed {
                    return Got::Closed;
                }
            }
            if watching && *cancel.borrow() {
                return Got::Cancelled;
            }
            tokio::select! {
                _ = self.inbox.notify.notified() => {}
                _ = sleep_until(until) => return Got::Timeout,
                r = cancel.changed(), if watching => {
                    // Nobody can cancel any more: wait without it.
                    if r.is_err() {
                        watching = false;
                    }
                }
            }
        }
    }

    /// Ends the shell (`exit`, then the channel).
    pub(crate) async fn close(&mut self) {
        if !self.closed {
            let _ = self.write.data_bytes(b"exit 0\n".to_vec()).await;
            let _ = self.write.eof().await;
            let _ = self.write.close().await;
            self.closed = true;
        }
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
