//! Where one command's output ends in a shell session's byte stream. After each command the session
//! prints a marker: a newline, `\x1e`, `SDK`, a random nonce, then `:STATUS:CWD` and a NUL. A command
//! cannot print the marker by chance or on purpose (it does not know the nonce), the newline printed
//! before it is not the command's, so output without a trailing newline stays as it was, and bytes
//! that may begin a marker are held back until the next bytes tell.

/// The shell text that prints the marker for `nonce` with the last command's status and the working
/// directory. Its own text never contains the marker (the parts are joined only when printed).
pub(crate) fn marker_command(nonce: &str) -> String {
    format!("printf '\\n\\036%s%s:%s:%s\\0' SDK {nonce} \"$?\" \"$PWD\"")
}

/// How a command ended, read from its marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct End {
    /// `$?` after the command.
    pub status: i32,
    /// `$PWD` after the command.
    pub cwd: String,
    /// Bytes that came after the marker (output of something still running in the background).
    pub rest: Vec<u8>,
}

/// Finds one marker in a stream fed in pieces.
pub(crate) struct Framer {
    pattern: Vec<u8>,
    held: Vec<u8>,
    trailer: Option<Vec<u8>>,
}

/// Longest trailer (status and working directory) taken as such.
const MAX_TRAILER: usize = 64 * 1024;

impl Framer {
    pub(crate) fn new(nonce: &str) -> Framer {
        let mut pattern = b"\n\x1eSDK".to_vec();
        pattern.extend_from_slice(nonce.as_bytes());
        pattern.push(b':');
        Framer { pattern, held: Vec::new(), trailer: None }
    }

    /// Feeds bytes: returns those that surely belong to the command, and the end once the whole
    /// marker has arrived (further bytes are in [`End::rest`]).
    pub(crate) fn feed(&mut self, data: &[u8]) -> (Vec<u8>, Option<End>) {
        if let Some(t) = self.trailer.as_mut() {
            t.extend_from_slice(data);
            return (Vec::new(), self.end());
        }
        self.held.extend_from_slice(data);
        if let Some(i) = find(&self.held, &self.pattern) {
            let trailer = self.held.split_off(i + self.pattern.len());
            self.held.truncate(i);
            let out = std::mem::take(&mut self.held);
            self.trailer = Some(trailer);
            return (out, self.end());
        }
        let keep = longest_prefix_suffix(&self.held, &self.pattern);
        let out = self.held.drain(..self.held.len() - keep).collect();
        (out, None)
    }

    /// Bytes held back as a possible marker start (the stream ended without a marker).
    pub(crate) fn flush(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.held)
    }

    fn end(&mut self) -> Option<End> {
        let t = self.trailer.as_ref()?;
        let nul = match t.iter().position(|&b| b == 0) {
            Some(n) => n,
            None if t.len() > MAX_TRAILER => t.len(),
            None => return None,
        };
        let text = String::from_utf8_lossy(&t[..nul]).into_owned();
        let (status, cwd) = text.split_once(':').unwrap_or((text.as_str(), ""));
        let end = End {
            status: status.trim().parse().unwrap_or(-1),
            cwd: cwd.to_string(),
            rest: t[(nul + 1).min(t.len())..].to_vec(),
        };
        self.trailer = None;
        Some(end)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest end of `data` that begins `pattern` (shorter than the pattern).
fn longest_prefix_suffix(data: &[u8], pattern: &[u8]) -> usize {
    let max = data.len().min(pattern.len() - 1);
    (1..=max).rev().find(|&n| data[data.len() - n..] == pattern[..n]).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(nonce: &str, status: i32, cwd: &str) -> Vec<u8> {
        format!("\n\x1eSDK{nonce}:{status}:{cwd}\0").into_bytes()
    }

    #[test]
    fn output_then_marker_in_one_piece() {
        let mut f = Framer::new("abc");
        let mut data = b"hello\n".to_vec();
        data.extend(marker("abc", 3, "/tmp"));
        let (out, end) = f.feed(&data);
        assert_eq!(out, b"hello\n");
        assert_eq!(end, Some(End { status: 3, cwd: "/tmp".into(), rest: vec![] }));
    }

    #[test]
    fn output_without_trailing_newline_is_kept_as_is() {
        let mut f = Framer::new("n1");
        let mut data = b"no newline".to_vec();
        data.extend(marker("n1", 0, "/"));
        let (out, end) = f.feed(&data);
        assert_eq!(out, b"no newline");
        assert_eq!(end.unwrap().status, 0);
    }

    #[test]
    fn marker_split_byte_by_byte() {
        let mut f = Framer::new("xyz");
        let mut data = b"a\nb".to_vec();
        data.extend(marker("xyz", 130, "/home/a:b"));
        data.extend(b"late");
        let mut out = Vec::new();
        let mut end = None;
        for b in data {
            let (o, e) = f.feed(&[b]);
            out.extend(o);
            if e.is_some() {
                end = e;
                break;
            }
        }
        assert_eq!(out, b"a\nb");
        let end = end.unwrap();
        assert_eq!((end.status, end.cwd.as_str()), (130, "/home/a:b"));
    }

    #[test]
    fn another_nonce_or_a_printed_marker_text_is_output() {
        let mut f = Framer::new("secret");
        let mut data = marker("guess", 0, "/");
        data.extend(b"\n\x1eSDK");
        let (out, end) = f.feed(&data);
        assert!(end.is_none());
        // The last bytes may begin the real marker: held back.
        assert_eq!(out, marker("guess", 0, "/"));
        let (out, end) = f.feed(b"more");
        assert!(end.is_none());
        assert_eq!(out, b"\n\x1eSDKmore");
    }

    #[test]
    fn binary_output_passes() {
        let mut f = Framer::new("b");
        let bin: Vec<u8> = (0u8..=255).collect();
        let mut data = bin.clone();
        data.extend(marker("b", 0, "/"));
        let (out, end) = f.feed(&data);
        assert_eq!(out, bin);
        assert!(end.is_some());
    }

    #[test]
    fn the_marker_command_does_not_contain_the_marker() {
        let cmd = marker_command("n0nce");
        assert!(!cmd.contains("SDKn0nce"));
        assert!(cmd.contains("n0nce"));
    }
}
