//! The runner's wire protocol on its Unix socket: one request per connection, then replies until the
//! request is done. A frame is a big-endian `u32` length, a kind byte and a payload: kind 0 carries a
//! JSON [`Request`] or [`Reply`]; kind 1 carries output bytes (`u32` step, a stream byte, the data), so
//! output is never re-encoded.

use std::io::{Read, Write};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::Error;
use crate::exec::Stream;
use crate::jobs::{Job, JobId, JobSpec};
use crate::servers::ServerConfig;

/// Bumped whenever a message changes; a front end and a runner of different versions do not talk.
pub const PROTOCOL: &str = concat!("sshdeck-runner/1 ", env!("CARGO_PKG_VERSION"));

/// Largest frame accepted (a JSON message or an output chunk).
const MAX_FRAME: usize = 16 << 20;

const KIND_JSON: u8 = 0;
const KIND_OUTPUT: u8 = 1;
const KIND_STDIN: u8 = 2;
const KIND_EOF: u8 = 3;
const KIND_RESIZE: u8 = 4;

/// What a front end asks. Every request names the protocol it speaks.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// [`PROTOCOL`] of the sender.
    pub protocol: String,
    /// The request.
    pub request: Request,
}

/// A target the front end resolved itself (a `~/.ssh/config` Host or `user@host`): the runner learns
/// its settings with the request that uses it.
pub type Adhoc = Vec<(String, ServerConfig)>;

/// One request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Accept and run a job; with `follow`, stream its output and say when it ends.
    Submit {
        /// Server alias.
        alias: String,
        /// What to run.
        spec: JobSpec,
        /// Who asked (`mcp`, `cli`, `console`).
        origin: String,
        /// Answers to the spec's prompts, in order (never stored).
        answers: Vec<String>,
        /// Settings of an ad-hoc target.
        adhoc: Adhoc,
        /// Stream output and the end.
        follow: bool,
        /// The command's stdin follows on this connection (stdin frames, then an EOF frame).
        #[serde(default)]
        stdin: bool,
        /// Run on a PTY of this type and size (size changes follow as resize frames).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pty: Option<PtySize>,
    },
    /// Retry a finished job.
    Retry {
        /// The job.
        id: JobId,
        /// Who asked.
        origin: String,
        /// Stream output and the end.
        follow: bool,
    },
    /// Accept and run a fan-out.
    SubmitFleet {
        /// Hosts.
        aliases: Vec<String>,
        /// What to run on each.
        spec: JobSpec,
        /// Who asked.
        origin: String,
    },
    /// Cancel a job.
    Cancel {
        /// The job.
        id: JobId,
    },
    /// Run a command through the pool without a job (probes, log tails); closing the connection
    /// kills it.
    Exec {
        /// Server alias.
        alias: String,
        /// The command line.
        command: String,
        /// Timeout in milliseconds (absent: none).
        timeout_ms: Option<u64>,
        /// The command's stdin follows on this connection (stdin frames, then an EOF frame).
        #[serde(default)]
        stdin: bool,
        /// Settings of an ad-hoc target.
        adhoc: Adhoc,
    },
    /// The runner's pool counters.
    PoolStats,
    /// Open, list or close shell sessions (held by the runner).
    Shell {
        /// What to do.
        action: crate::shells::ShellOp,
    },
    /// Open, list or close tunnels (held by the runner).
    Tunnel {
        /// What to do.
        action: crate::tunnels::TunnelOp,
    },
    /// Stay connected: the runner counts this front end as a client and nudges it when jobs change.
    Attach {
        /// The front end's program name, for the runner's log.
        program: String,
    },
}

/// A terminal's type and size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PtySize {
    /// `TERM`.
    pub term: String,
    /// Columns.
    pub cols: u32,
    /// Rows.
    pub rows: u32,
}

impl PtySize {
    /// The type and size of `p`.
    pub fn of(p: &crate::exec::Pty) -> Self {
        PtySize { term: p.term.clone(), cols: p.cols, rows: p.rows }
    }
}

/// One answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// A job was accepted (or cancelled: the job as it is now).
    Job {
        /// The record.
        job: Box<Job>,
    },
    /// A fan-out was accepted.
    Fleet {
        /// The parent.
        parent: Box<Job>,
        /// One child per host.
        children: Vec<Job>,
    },
    /// The runner's pool counters.
    Pool {
        /// The counters.
        stats: crate::pool::PoolStats,
    },
    /// Shell sessions (the one opened, every one, or the one closed).
    Shells {
        /// The sessions.
        sessions: Vec<crate::shells::ShellInfo>,
    },
    /// Tunnels (the one opened, every one, or the one closed).
    Tunnels {
        /// The tunnels.
        tunnels: Vec<crate::tunnels::TunnelInfo>,
    },
    /// How far a followed transfer is.
    Progress {
        /// Bytes moved.
        bytes: u64,
        /// Bytes in all.
        total_bytes: u64,
        /// Files finished.
        files_done: u64,
        /// Files planned.
        files_total: u64,
    },
    /// A direct command or an attachment is under way.
    Ready,
    /// The followed job ended: its final record (also in the journal).
    Ended {
        /// The job as it ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job: Option<Box<Job>>,
    },
    /// A direct command ended.
    Exited {
        /// Exit code.
        exit_code: Option<u32>,
        /// Signal name.
        exit_signal: Option<String>,
        /// Wall time in microseconds.
        duration_us: u64,
    },
    /// The request failed.
    Failed {
        /// The error.
        error: WireError,
    },
    /// Jobs changed: read the journal again.
    Changed,
}

/// An error as it crosses the socket: its stable code, its message, and for a timeout the limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    /// [`Error::code`].
    pub code: String,
    /// The message.
    pub message: String,
    /// The timeout that expired (`COMMAND_TIMEOUT`), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl From<&Error> for WireError {
    fn from(e: &Error) -> Self {
        let timeout_ms = match e {
            Error::CommandTimeout { timeout, .. } => Some(timeout.as_millis() as u64),
            _ => None,
        };
        WireError { code: e.code().to_string(), message: e.to_string(), timeout_ms }
    }
}

impl WireError {
    /// Back to an [`Error`]: the variants front ends act on are rebuilt (`partial` is the output the
    /// front end saw); others keep their code and message.
    pub fn into_error(self, alias: &str, partial: crate::capture::ExecOutput) -> Error {
        match self.code.as_str() {
            "COMMAND_TIMEOUT" => Error::CommandTimeout {
                alias: alias.to_string(),
                timeout: Duration::from_millis(self.timeout_ms.unwrap_or(0)),
                partial: Box::new(partial),
            },
            "CANCELLED" => Error::Cancelled { alias: alias.to_string(), partial: Box::new(partial) },
            "INVALID_ARGUMENT" => {
                let m = self.message.strip_prefix("invalid argument: ").unwrap_or(&self.message);
                Error::InvalidArgument(m.to_string())
            }
            _ => Error::Relayed { code: self.code, message: self.message },
        }
    }
}

/// A decoded frame.
#[derive(Debug)]
pub enum Frame {
    /// A JSON message.
    Json(Vec<u8>),
    /// Output of step `.0` on stream `.1`.
    Output(u32, Stream, Vec<u8>),
    /// Bytes for the command's stdin.
    Stdin(Vec<u8>),
    /// The end of the command's stdin.
    Eof,
    /// The terminal's new size (columns, rows).
    Resize(u32, u32),
}

fn header(kind: u8, len: usize) -> [u8; 5] {
    let n = (len as u32).to_be_bytes();
    [n[0], n[1], n[2], n[3], kind]
}

/// Encodes a JSON message frame.
pub fn json_frame(msg: &impl Serialize) -> Vec<u8> {
    let body = serde_json::to_vec(msg).expect("wire messages serialize");
    let mut v = Vec::with_capacity(body.len() + 5);
    v.extend_from_slice(&header(KIND_JSON, body.len()));
    v.extend_from_slice(&body);
    v
}

/// Encodes an output frame.
pub fn output_frame(step: usize, stream: Stream, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + 10);
    v.extend_from_slice(&header(KIND_OUTPUT, data.len() + 5));
    v.extend_from_slice(&(step as u32).to_be_bytes());
    v.push(matches!(stream, Stream::Stderr) as u8);
    v.extend_from_slice(data);
    v
}

/// Encodes a stdin frame.
pub fn stdin_frame(data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + 5);
    v.extend_from_slice(&header(KIND_STDIN, data.len()));
    v.extend_from_slice(data);
    v
}

/// Encodes a terminal size change.
pub fn resize_frame(cols: u32, rows: u32) -> Vec<u8> {
    let mut v = header(KIND_RESIZE, 8).to_vec();
    v.extend_from_slice(&cols.to_be_bytes());
    v.extend_from_slice(&rows.to_be_bytes());
    v
}

/// Encodes the end of stdin.
pub fn eof_frame() -> Vec<u8> {
    header(KIND_EOF, 0).to_vec()
}

fn decode(kind: u8, mut payload: Vec<u8>) -> std::io::Result<Frame> {
    match kind {
        KIND_JSON => Ok(Frame::Json(payload)),
        KIND_OUTPUT if payload.len() >= 5 => {
            let step = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
            let stream = if payload[4] == 1 { Stream::Stderr } else { Stream::Stdout };
            payload.drain(..5);
            Ok(Frame::Output(step, stream, payload))
        }
        KIND_STDIN => Ok(Frame::Stdin(payload)),
        KIND_EOF => Ok(Frame::Eof),
        KIND_RESIZE if payload.len() == 8 => Ok(Frame::Resize(
            u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]),
            u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]),
        )),
        _ => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad runner frame")),
    }
}

/// The payload length a frame header announces, refused past [`MAX_FRAME`].
fn payload_len(h: &[u8; 5]) -> std::io::Result<usize> {
    let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "runner frame too large"));
    }
    Ok(len)
}

/// Reads one frame; `None` at a clean end of stream.
pub async fn read_frame(r: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Option<Frame>> {
    let mut h = [0u8; 5];
    match r.read_exact(&mut h).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut payload = vec![0u8; payload_len(&h)?];
    r.read_exact(&mut payload).await?;
    decode(h[4], payload).map(Some)
}

/// [`read_frame`] on a blocking stream.
pub fn read_frame_blocking(r: &mut impl Read) -> std::io::Result<Option<Frame>> {
    let mut h = [0u8; 5];
    match r.read_exact(&mut h) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut payload = vec![0u8; payload_len(&h)?];
    r.read_exact(&mut payload)?;
    decode(h[4], payload).map(Some)
}

/// Writes a JSON message.
pub async fn send(w: &mut (impl AsyncWrite + Unpin), msg: &impl Serialize) -> std::io::Result<()> {
    w.write_all(&json_frame(msg)).await
}

/// [`send`] on a blocking stream.
pub fn send_blocking(w: &mut impl Write, msg: &impl Serialize) -> std::io::Result<()> {
    w.write_all(&json_frame(msg))
}

/// Parses a JSON frame's message.
pub fn parse<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> std::io::Result<T> {
    serde_json::from_slice(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = output_frame(3, Stream::Stderr, b"\x00bin\xff");
        buf.extend(json_frame(&Reply::Ended { job: None }));
        buf.extend(stdin_frame(b"in"));
        buf.extend(eof_frame());
        buf.extend(resize_frame(120, 40));
        let mut r = &buf[..];
        match read_frame_blocking(&mut r).unwrap() {
            Some(Frame::Output(3, Stream::Stderr, d)) => assert_eq!(d, b"\x00bin\xff"),
            other => panic!("{other:?}"),
        }
        let Some(Frame::Json(j)) = read_frame_blocking(&mut r).unwrap() else { panic!() };
        assert!(matches!(parse::<Reply>(&j).unwrap(), Reply::Ended { job: None }));
        assert!(matches!(read_frame_blocking(&mut r).unwrap(), Some(Frame::Stdin(d)) if d == b"in"));
        assert!(matches!(read_frame_blocking(&mut r).unwrap(), Some(Frame::Eof)));
        assert!(matches!(read_frame_blocking(&mut r).unwrap(), Some(Frame::Resize(120, 40))));
        assert!(read_frame_blocking(&mut r).unwrap().is_none());
    }

    #[test]
    fn errors_keep_their_code() {
        let e = Error::QueueFull { max: 3 };
        let back = WireError::from(&e).into_error("a", crate::capture::ExecOutput::new(10));
        assert_eq!(back.code(), "QUEUE_FULL");
        assert_eq!(back.to_string(), e.to_string());
        let t = Error::CommandTimeout {
            alias: "a".into(),
            timeout: Duration::from_millis(1500),
            partial: Box::new(crate::capture::ExecOutput::new(10)),
        };
        let back = WireError::from(&t).into_error("a", crate::capture::ExecOutput::new(10));
        assert!(matches!(back, Error::CommandTimeout { timeout, .. } if timeout == Duration::from_millis(1500)));
    }
}
