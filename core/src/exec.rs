//! Running one command on an SSH channel: output capture, exit status, timeout and cancel that kill
//! the remote process group.

use std::time::{Duration, Instant};

use russh::{ChannelMsg, Sig};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use std::sync::{Arc, Mutex};

pub use crate::capture::ExecOutput;
use crate::error::{Error, Result};
use crate::interact::{Action, Interaction};

/// Which stream a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How to run a command.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Kill the command after this long. `None`: no limit.
    pub timeout: Option<Duration>,
    /// Bytes kept in memory per stream (head + tail).
    pub capture_limit: usize,
    /// Bytes written to the command's stdin before EOF.
    pub stdin: Option<Vec<u8>>,
    /// The command's stdin as a stream (EOF when its sender is dropped); taken by the first attempt
    /// that starts the command.
    pub input: Option<Input>,
    /// When this turns `true`, the command is killed and the call returns `CANCELLED`.
    pub cancel: Option<watch::Receiver<bool>>,
    /// Run on a PTY and answer prompts (output is ANSI-stripped; stdout and stderr merge).
    pub interaction: Option<Arc<Mutex<Interaction>>>,
    /// Run on a PTY the user's terminal drives (raw bytes both ways; with [`LOGIN_SHELL`] as the
    /// command, the login shell).
    pub pty: Option<Pty>,
}

/// The command that opens the login shell instead (ssh without a command): on a terminal, or reading
/// commands from stdin.
pub const LOGIN_SHELL: &str = "(login shell)";

/// A terminal's size changes (columns, rows), taken once by the command that starts.
pub type Resizes = Arc<Mutex<Option<mpsc::Receiver<(u32, u32)>>>>;

/// A PTY for a user's terminal: its type, size, and its size changes.
#[derive(Debug, Clone)]
pub struct Pty {
    /// `TERM`, e.g. `xterm-256color`.
    pub term: String,
    /// Columns.
    pub cols: u32,
    /// Rows.
    pub rows: u32,
    /// New sizes (columns, rows) as the terminal changes; taken by the command that starts.
    pub resizes: Resizes,
}

impl Pty {
    /// A PTY of this type and size, and the sender of its size changes.
    pub fn new(term: &str, cols: u32, rows: u32) -> (mpsc::Sender<(u32, u32)>, Pty) {
        let (tx, rx) = mpsc::channel(16);
        (tx, Pty { term: term.to_string(), cols, rows, resizes: Arc::new(Mutex::new(Some(rx))) })
    }
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            timeout: None,
            capture_limit: 1 << 20,
            stdin: None,
            input: None,
            cancel: None,
            interaction: None,
            pty: None,
        }
    }
}

/// Chunks of a command's stdin, in bounded memory: the sender waits while the channel's window is full.
#[derive(Debug, Clone)]
pub struct Input(Arc<Mutex<Option<mpsc::Receiver<Vec<u8>>>>>);

impl Input {
    /// A stream of at most `depth` chunks in flight, and its sending end.
    pub fn channel(depth: usize) -> (mpsc::Sender<Vec<u8>>, Input) {
        let (tx, rx) = mpsc::channel(depth);
        (tx, Input(Arc::new(Mutex::new(Some(rx)))))
    }

    pub(crate) fn take(&self) -> Option<mpsc::Receiver<Vec<u8>>> {
        self.0.lock().expect("lock").take()
    }
}

/// How long a command gets between SIGTERM and SIGKILL when it is stopped.
const KILL_GRACE: Duration = Duration::from_millis(500);

/// Runs `command` on an open session channel. `on_output` sees every chunk as it arrives.
/// `alias`/`host` only name the server in errors.
pub(crate) async fn run(
    mut channel: russh::Channel<russh::client::Msg>,
    alias: &str,
    host: &str,
    command: &str,
    mut opts: ExecOptions,
    on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
) -> Result<ExecOutput> {
    let started = Instant::now();
    let mut out = ExecOutput::new(opts.capture_limit);
    let lost = |e: russh::Error| Error::ConnectionLost { host: host.to_string(), reason: e.to_string() };
    let interaction = opts.interaction.take();
    let pty = opts.pty.take();
    let mut resizes = pty.as_ref().and_then(|p| p.resizes.lock().expect("lock").take());
    if let Some(p) = &pty {
        channel.request_pty(true, &p.term, p.cols, p.rows, 0, 0, &[]).await.map_err(lost)?;
    } else if interaction.is_some() {
        channel.request_pty(false, "xterm", 200, 50, 0, 0, &[]).await.map_err(lost)?;
    }
    if command == LOGIN_SHELL {
        channel.request_shell(true).await.map_err(lost)?;
    } else {
        channel.exec(true, command.as_bytes()).await.map_err(lost)?;
    }
    if let Some(input) = opts.stdin.take() {
        channel.data(&input[..]).await.map_err(lost)?;
    }
    // A streamed stdin is written by its own task (the window may make it wait while output keeps
    // being read here), which sends EOF at its end; it stops when the command ends.
    let streamed = match opts.input.take().and_then(|i| i.take()) {
        Some(mut rx) if interaction.is_none() => {
            let mut w = channel.make_writer();
            Some(AbortOnDrop(tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                while let Some(chunk) = rx.recv().await {
                    if w.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                let _ = w.shutdown().await;
            })))
        }
        _ => None,
    };
    if interaction.is_none() && streamed.is_none() {
        // Without EOF a command that reads stdin would wait forever. (On a PTY, EOF would read as
        // ^D at the next prompt, so an interactive command keeps its input open.)
        channel.eof().await.map_err(lost)?;
    }

    let deadline = opts.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut cancel = opts.cancel.take();
    enum Stop {
        Timeout,
        Cancel,
        Unanswerable(String),
    }
    let stop = loop {
        let msg = tokio::select! {
            msg = channel.wait() => msg,
            _ = sleep_until(deadline) => break Some(Stop::Timeout),
            _ = cancelled(&mut cancel) => break Some(Stop::Cancel),
            size = next_size(&mut resizes) => {
                match size {
                    Some((cols, rows)) => {
                        let _ = channel.window_change(cols, rows, 0, 0).await;
                    }
                    None => resizes = None,
                }
                continue;
            }
        };
        match msg {
            Some(ChannelMsg::Data { data }) if interaction.is_some() => {
                let (text, actions) = interaction.as_ref().expect("checked").lock().expect("lock").feed(&data);
                out.stdout.push(text.as_bytes());
                on_output(Stream::Stdout, text.as_bytes());
                let mut unanswerable = None;
                for a in actions {
                    match a {
                        Action::Send(answer) => channel.data(answer.as_bytes()).await.map_err(lost)?,
                        Action::Unanswerable(prompt) => unanswerable = Some(prompt),
                    }
                }
                if let Some(prompt) = unanswerable {
                    break Some(Stop::Unanswerable(prompt));
                }
            }
            Some(msg) => {
                if let Some(e) = absorb(&mut out, msg, host, on_output) {
                    return Err(e);
                }
            }
            None => break None,
        }
    };
    if let Some(i) = &interaction {
        // Text held back in case it began an answer.
        let rest = i.lock().expect("lock").finish();
        if !rest.is_empty() {
            out.stdout.push(rest.as_bytes());
            on_output(Stream::Stdout, rest.as_bytes());
        }
    }
    if let Some(stop) = stop {
        kill(&mut channel, &mut out, host, on_output).await;
        out.duration = started.elapsed();
        let partial = Box::new(out);
        return Err(match stop {
            Stop::Timeout => {
                Error::CommandTimeout { alias: alias.to_string(), timeout: opts.timeout.unwrap_or_default(), partial }
            }
            Stop::Cancel => Error::Cancelled { alias: alias.to_string(), partial },
            Stop::Unanswerable(prompt) => Error::PromptUnanswered { alias: alias.to_string(), prompt, partial },
        });
    }
    out.duration = started.elapsed();
    if out.exit_code.is_none() && out.exit_signal.is_none() {
        return Err(Error::ConnectionLost {
            host: host.to_string(),
            reason: "channel closed before the command reported an exit status".into(),
        });
    }
    Ok(out)
}

/// A task stopped when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Folds one channel message into `out`. Returns an error for a refused exec request.
fn absorb(
    out: &mut ExecOutput,
    msg: ChannelMsg,
    host: &str,
    on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
) -> Option<Error> {
    match msg {
        ChannelMsg::Data { data } => {
            out.stdout.push(&data);
            on_output(Stream::Stdout, &data);
        }
        ChannelMsg::ExtendedData { data, ext: 1 } => {
            out.stderr.push(&data);
            on_output(Stream::Stderr, &data);
        }
        ChannelMsg::ExitStatus { exit_status } => out.exit_code = Some(exit_status),
        ChannelMsg::ExitSignal { signal_name, .. } => out.exit_signal = Some(signal_name_str(&signal_name)),
        ChannelMsg::Failure => {
            return Some(Error::ChannelFailed { host: host.to_string(), reason: "exec request refused".into() });
        }
        _ => {}
    }
    None
}

/// Stops the remote command: SIGTERM to its process group, SIGKILL after a short grace, then close.
/// sshd delivers a channel `signal` request with `killpg`, so the whole command tree goes.
async fn kill(
    channel: &mut russh::Channel<russh::client::Msg>,
    out: &mut ExecOutput,
    host: &str,
    on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
) {
    let _ = channel.signal(Sig::TERM).await;
    let grace = tokio::time::sleep(KILL_GRACE);
    tokio::pin!(grace);
    let mut closed = false;
    loop {
        tokio::select! {
            msg = channel.wait() => match msg {
                Some(ChannelMsg::Close) | None => { closed = true; break; }
                Some(m) => { absorb(out, m, host, on_output); }
            },
            _ = &mut grace => break,
        }
    }
    if !closed {
        let _ = channel.signal(Sig::KILL).await;
        let _ = channel.close().await;
    }
}

fn signal_name_str(sig: &Sig) -> String {
    match sig {
        Sig::ABRT => "ABRT".into(),
        Sig::ALRM => "ALRM".into(),
        Sig::FPE => "FPE".into(),
        Sig::HUP => "HUP".into(),
        Sig::ILL => "ILL".into(),
        Sig::INT => "INT".into(),
        Sig::KILL => "KILL".into(),
        Sig::PIPE => "PIPE".into(),
        Sig::QUIT => "QUIT".into(),
        Sig::SEGV => "SEGV".into(),
        Sig::TERM => "TERM".into(),
        Sig::USR1 => "USR1".into(),
        Sig::Custom(s) => s.clone(),
    }
}

async fn next_size(rx: &mut Option<mpsc::Receiver<(u32, u32)>>) -> Option<(u32, u32)> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn cancelled(rx: &mut Option<watch::Receiver<bool>>) {
    match rx {
        Some(rx) => {
            if rx.wait_for(|c| *c).await.is_err() {
                // Sender dropped without cancelling: never cancel.
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}
