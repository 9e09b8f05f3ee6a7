//! The socket side of a front end's link: connecting to the runner (starting it when none answers),
//! one request and its first reply, and streaming a command's stdin and terminal size changes.

use std::os::unix::net::UnixStream as StdStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::UnixStream;
use tokio::sync::watch;

use super::wire::{self, Envelope, Frame, PROTOCOL, Reply, Request};
use super::{Launcher, REPLY_WAIT, START_WAIT, Unreachable};
use crate::error::Error;

/// Streams a command's stdin to the runner as stdin frames, then the EOF frame, with the terminal's
/// size changes as resize frames; keeps the connection open until `done`.
pub async fn send_stdin(
    mut input: tokio::sync::mpsc::Receiver<Vec<u8>>,
    mut resizes: Option<tokio::sync::mpsc::Receiver<(u32, u32)>>,
    mut wr: tokio::net::unix::OwnedWriteHalf,
    mut done: watch::Receiver<bool>,
) {
    use tokio::io::AsyncWriteExt;
    let mut open = true;
    loop {
        let size = async {
            match resizes.as_mut() {
                Some(r) => r.recv().await,
                None => std::future::pending().await,
            }
        };
        let frame = tokio::select! {
            chunk = input.recv(), if open => match chunk {
                Some(c) => wire::stdin_frame(&c),
                None => {
                    open = false;
                    wire::eof_frame()
                }
            },
            s = size => match s {
                Some((cols, rows)) => wire::resize_frame(cols, rows),
                None => {
                    resizes = None;
                    continue;
                }
            },
            _ = async { drop(done.wait_for(|d| *d).await) } => return,
        };
        if wr.write_all(&frame).await.is_err() {
            return;
        }
    }
}

/// Connects to the runner at `socket`, starting it with `launcher` when none listens.
pub fn connect(socket: &Path, launcher: &Launcher) -> std::result::Result<StdStream, Unreachable> {
    if let Ok(s) = StdStream::connect(socket) {
        return Ok(s);
    }
    tracing::info!(program = %launcher.program.display(), "starting the runner");
    let mut child = Command::new(&launcher.program)
        .args(&launcher.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            Unreachable(Error::RunnerUnavailable(format!("cannot start {}: {e}", launcher.program.display())))
        })?;
    let deadline = Instant::now() + START_WAIT;
    let mut exited = None;
    loop {
        if let Ok(s) = StdStream::connect(socket) {
            // Reap it when it ends, so it never lingers as a zombie of this process.
            std::thread::spawn(move || child.wait());
            return Ok(s);
        }
        if exited.is_none() {
            exited = child.try_wait().ok().flatten();
        }
        if Instant::now() >= deadline {
            let why = match exited {
                Some(st) if !st.success() => format!("it exited ({st}); see the runner log in logs/"),
                _ => format!("it did not listen on {} within {START_WAIT:?}", socket.display()),
            };
            return Err(Unreachable(Error::RunnerUnavailable(why)));
        }
        std::thread::sleep(Duration::from_millis(if exited.is_some() { 20 } else { 5 }));
    }
}

/// Sends `request` on a fresh connection and reads the first reply. A runner of another version is
/// [`Unreachable`].
pub fn ask(mut s: StdStream, request: Request) -> std::result::Result<(StdStream, Reply), Unreachable> {
    let lost = |e: std::io::Error| Unreachable(Error::RunnerUnavailable(format!("runner connection: {e}")));
    s.set_read_timeout(Some(REPLY_WAIT)).map_err(lost)?;
    wire::send_blocking(&mut s, &Envelope { protocol: PROTOCOL.to_string(), request }).map_err(lost)?;
    let reply = match wire::read_frame_blocking(&mut s).map_err(lost)? {
        Some(Frame::Json(j)) => wire::parse::<Reply>(&j).map_err(lost)?,
        _ => return Err(lost(std::io::ErrorKind::UnexpectedEof.into())),
    };
    if let Reply::Failed { error } = &reply
        && error.code == "RUNNER_UNAVAILABLE"
    {
        return Err(Unreachable(Error::RunnerUnavailable(error.message.clone())));
    }
    Ok((s, reply))
}

/// A blocking stream made async (read timeout cleared).
pub fn into_tokio(s: StdStream) -> std::io::Result<UnixStream> {
    s.set_read_timeout(None)?;
    s.set_nonblocking(true)?;
    UnixStream::from_std(s)
}
