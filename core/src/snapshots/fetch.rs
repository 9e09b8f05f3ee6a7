//! Moving whole files between a server and the store in few round trips: one script per batch prints
//! each file as `PATH\0BASE64\n` (`!` for one that vanished), which is parsed as it streams, so only
//! one file is ever held in memory; and one script per batch prints each path's current sha256 (`-`
//! when it is not a regular file), for restore plans. Every path is shell-quoted; a batch's script
//! stays well under the 128 KiB a single command line may have.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::exec::Stream;
use crate::files::from_base64;
use crate::remote::Remote;
use crate::ssh::quote::shell_quote;

/// Bytes of quoted paths in one script.
const BATCH_BYTES: usize = 64 * 1024;

/// Splits `paths` into batches whose quoted form fits a command line.
fn batches(paths: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut size = usize::MAX;
    for p in paths {
        let q = shell_quote(p).len() + 1;
        if size.saturating_add(q) > BATCH_BYTES {
            out.push(Vec::new());
            size = 0;
        }
        size += q;
        out.last_mut().expect("pushed").push(p.clone());
    }
    out
}

/// Takes each fetched file: its path, and its content (`None`: not a readable file any more).
pub type Each<'a> = dyn FnMut(&str, Option<Vec<u8>>) -> Result<()> + Send + 'a;

/// Parses `PATH\0BASE64\n` records as they arrive.
#[derive(Default)]
struct Unpacker {
    name: Option<String>,
    buf: Vec<u8>,
    failed: Option<Error>,
}

impl Unpacker {
    fn push(&mut self, mut data: &[u8], each: &mut Each<'_>) {
        while !data.is_empty() && self.failed.is_none() {
            let stop = if self.name.is_none() { 0 } else { b'\n' };
            match data.iter().position(|b| *b == stop) {
                None => {
                    self.buf.extend_from_slice(data);
                    return;
                }
                Some(i) => {
                    self.buf.extend_from_slice(&data[..i]);
                    data = &data[i + 1..];
                    let field = std::mem::take(&mut self.buf);
                    match self.name.take() {
                        None => self.name = Some(String::from_utf8_lossy(&field).into_owned()),
                        Some(name) => {
                            let content = if field == b"!" {
                                Ok(None)
                            } else {
                                from_base64(&String::from_utf8_lossy(&field)).map(Some)
                            };
                            if let Err(e) = content.and_then(|c| each(&name, c)) {
                                self.failed = Some(e);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Reads each of `paths` on `alias` and hands it to `each` (`None`: no longer a readable file).
pub async fn fetch(remote: &dyn Remote, alias: &str, paths: &[String], each: &mut Each<'_>) -> Result<()> {
    for batch in batches(paths) {
        let list: Vec<String> = batch.iter().map(|p| shell_quote(p)).collect();
        let script = format!(
            "for f in {}; do printf '%s\\0' \"$f\"; if [ -f \"$f\" ] && [ -r \"$f\" ]; then base64 -w0 -- \"$f\"; else printf '!'; fi; printf '\\n'; done",
            list.join(" ")
        );
        let mut unpack = Unpacker::default();
        let mut on_output = |s: Stream, d: &[u8]| {
            if s == Stream::Stdout {
                unpack.push(d, each);
            }
        };
        let mut o = remote.exec_options();
        o.capture_limit = 4096;
        let out = remote.exec(alias, &script, o, &mut on_output).await?;
        if let Some(e) = unpack.failed {
            return Err(e);
        }
        if out.exit_code != Some(0) {
            return Err(Error::RemoteFailed {
                alias: alias.into(),
                what: "reading files for a snapshot".into(),
                exit: out.exit_code.map_or(-1, i64::from),
                stderr: out.stderr.text().trim().chars().take(500).collect(),
            });
        }
    }
    Ok(())
}

/// The current sha256 and mode of each of `paths` on `alias` (`None`: not a readable regular file there).
pub async fn hashes(
    remote: &dyn Remote,
    alias: &str,
    paths: &[String],
) -> Result<HashMap<String, Option<(String, u32)>>> {
    let mut out = HashMap::new();
    for batch in batches(paths) {
        let list: Vec<String> = batch.iter().map(|p| shell_quote(p)).collect();
        let script = format!(
            "for f in {}; do if [ -f \"$f\" ] && [ -r \"$f\" ]; then echo \"$(sha256sum < \"$f\" | cut -c1-64) $(stat -c %a -- \"$f\")\"; else echo -; fi; done",
            list.join(" ")
        );
        let mut o = remote.exec_options();
        o.capture_limit = o.capture_limit.max(batch.len() * 80 + 4096);
        let r = remote.exec(alias, &script, o, &mut |_, _| {}).await?;
        let text = r.stdout.text();
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() != batch.len() {
            return Err(Error::UnexpectedOutput {
                alias: alias.into(),
                what: "file hashes".into(),
                excerpt: text.chars().take(80).collect(),
            });
        }
        for (p, line) in batch.into_iter().zip(lines) {
            let parsed = line.split_once(' ').and_then(|(h, m)| {
                let mode = u32::from_str_radix(m.trim(), 8).ok()?;
                (h.len() == 64).then(|| (h.to_string(), mode))
            });
            out.insert(p, parsed);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_any_chunking() {
        let stream = b"/a b\0aGVsbG8=\n/gone\0!\n/empty\0\n".to_vec();
        for cut in 1..stream.len() {
            let mut got = Vec::new();
            let mut u = Unpacker::default();
            let mut each = |n: &str, c: Option<Vec<u8>>| {
                got.push((n.to_string(), c));
                Ok(())
            };
            u.push(&stream[..cut], &mut each);
            u.push(&stream[cut..], &mut each);
            assert!(u.failed.is_none());
            assert_eq!(
                got,
                vec![
                    ("/a b".to_string(), Some(b"hello".to_vec())),
                    ("/gone".to_string(), None),
                    ("/empty".to_string(), Some(Vec::new()))
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn batches_fit_a_command_line() {
        let paths: Vec<String> = (0..5000).map(|i| format!("/srv/app/some/long/dir/file-{i:05}.txt")).collect();
        let b = batches(&paths);
        assert!(b.len() > 1);
        assert_eq!(b.iter().map(Vec::len).sum::<usize>(), 5000);
        assert!(b.iter().all(|x| x.iter().map(|p| shell_quote(p).len() + 1).sum::<usize>() <= BATCH_BYTES));
    }
}
