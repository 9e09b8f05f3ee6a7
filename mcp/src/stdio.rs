//! The stdio transport, with JSON-RPC's answer to a line that is not JSON: a `-32700` parse error with
//! `id: null` (rmcp drops such lines silently). Lines from stdin go to rmcp through a pipe once they
//! parse as JSON; rmcp's output comes back through another pipe and is written to stdout whole line by
//! whole line, so a parse error is never written in the middle of a message.

use serde::de::IgnoredAny;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;

/// Pipe capacity between the filter and rmcp.
const PIPE: usize = 1 << 20;

/// The answer to a line that is not JSON.
const PARSE_ERROR: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: the line is not valid JSON"}}"#;

/// The (read, write) pair rmcp serves on, filtering the process's stdin and stdout.
pub fn transport() -> (DuplexStream, DuplexStream) {
    filter(tokio::io::stdin(), tokio::io::stdout())
}

fn filter<R, W>(input: R, output: W) -> (DuplexStream, DuplexStream)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (rmcp_in, mut feed) = tokio::io::duplex(PIPE);
    let (rmcp_out, drain) = tokio::io::duplex(PIPE);
    let (errors, mut injected) = mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        let mut lines = BufReader::new(input);
        let mut line = Vec::new();
        loop {
            line.clear();
            match lines.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let bom = b"\xef\xbb\xbf";
            let json = text.strip_prefix(bom.as_slice()).unwrap_or(text);
            match serde_json::from_slice::<IgnoredAny>(json) {
                Ok(_) => {
                    if feed.write_all(&line).await.is_err() {
                        break;
                    }
                    if !line.ends_with(b"\n") && feed.write_all(b"\n").await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::debug!(bytes = line.len(), error = %e, "a line that is not JSON: answered with a parse error");
                    let _ = errors.send(());
                }
            }
        }
        let _ = feed.shutdown().await;
    });
    tokio::spawn(async move {
        let mut out = output;
        let mut from_rmcp = BufReader::new(drain);
        let mut line = Vec::new();
        // Parse errors wait while a message of rmcp's is half read, then go out between two lines.
        let mut owed = 0usize;
        loop {
            tokio::select! {
                biased;
                r = from_rmcp.read_until(b'\n', &mut line) => {
                    match r {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            if out.write_all(&line).await.is_err() {
                                break;
                            }
                            line.clear();
                        }
                    }
                }
                Some(()) = injected.recv() => owed += 1,
            }
            if line.is_empty() {
                while owed > 0 {
                    owed -= 1;
                    if out.write_all(format!("{PARSE_ERROR}\n").as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
            if out.flush().await.is_err() {
                break;
            }
        }
    });
    (rmcp_in, rmcp_out)
}
