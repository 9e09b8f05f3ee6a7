//! Files for agents: read one with its sha256, write one atomically (a temporary name beside it, then
//! a rename; its mode and owner kept), guarded by the hash the writer last saw. A source is a path on
//! a server (through the pooled connection, so the runner's pool when there is one) or on this
//! machine. Remote work is one quoted shell script per call (POSIX sh, coreutils `stat`,
//! `sha256sum`, `head`, `mv`).

pub mod compare;
pub mod folders;
pub mod tree;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::remote::Remote;
use crate::ssh::quote::shell_quote;

/// Largest part of a file a read returns (the hash still covers all of it).
pub const READ_MAX_BYTES: u64 = 8 << 20;
/// Largest file an edit rewrites.
pub const EDIT_MAX_BYTES: u64 = 8 << 20;

/// Where a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// On this machine.
    Local(String),
    /// On a server.
    Remote {
        /// Its alias.
        alias: String,
        /// The path there.
        path: String,
    },
}

impl Source {
    /// The path.
    pub fn path(&self) -> &str {
        match self {
            Source::Local(p) | Source::Remote { path: p, .. } => p,
        }
    }
}

/// What a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRead {
    /// sha256 of the whole file, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// The first [`READ_MAX_BYTES`] at most.
    pub content: Vec<u8>,
    /// `content` is not the whole file.
    pub truncated: bool,
}

/// sha256 as lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes as standard base64.
pub fn to_base64(data: &[u8]) -> String {
    data_encoding::BASE64.encode(data)
}

/// Standard base64 to bytes (`INVALID_ARGUMENT` when it is not).
pub fn from_base64(text: &str) -> Result<Vec<u8>> {
    let clean: String = text.split_whitespace().collect();
    data_encoding::BASE64
        .decode(clean.as_bytes())
        .map_err(|e| Error::InvalidArgument(format!("content is not valid base64: {e}")))
}

/// Whether bytes look binary (a NUL in the first 8 KiB, as git decides).
pub fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8192)].contains(&0)
}

/// Exit codes of the remote scripts, mapped to errors.
const EXIT_NOT_FOUND: u32 = 44;
const EXIT_NOT_FILE: u32 = 45;
const EXIT_DENIED: u32 = 46;
const EXIT_HASH: u32 = 47;

/// Reads `src`: its hash and facts, and its first `max` bytes.
pub async fn read(remote: &dyn Remote, src: &Source, max: u64) -> Result<FileRead> {
    match src {
        Source::Local(p) => read_local(Path::new(p), max),
        Source::Remote { alias, path } => {
            let f = shell_quote(path);
            let script = format!(
                "f={f}; [ -e \"$f\" ] || exit {EXIT_NOT_FOUND}; [ -f \"$f\" ] || exit {EXIT_NOT_FILE}; \
                 [ -r \"$f\" ] || exit {EXIT_DENIED}; stat -c '%s %a %Y' -- \"$f\" && \
                 sha256sum < \"$f\" | cut -c1-64 && head -c {max} -- \"$f\""
            );
            let mut opts = remote.exec_options();
            opts.capture_limit = (max as usize + 4096).max(opts.capture_limit);
            let out = remote.exec(alias, &script, opts, &mut |_, _| {}).await?;
            check_exit(alias, path, out.exit_code, &out.stderr.text(), None)?;
            let bytes = out.stdout.kept_bytes();
            parse_read(alias, &bytes, max)
        }
    }
}

fn parse_read(alias: &str, bytes: &[u8], max: u64) -> Result<FileRead> {
    let bad = || Error::UnexpectedOutput {
        alias: alias.to_string(),
        what: "file read".into(),
        excerpt: String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned(),
    };
    let nl = bytes.iter().position(|b| *b == b'\n').ok_or_else(bad)?;
    let facts = std::str::from_utf8(&bytes[..nl]).map_err(|_| bad())?;
    let rest = &bytes[nl + 1..];
    let nl2 = rest.iter().position(|b| *b == b'\n').ok_or_else(bad)?;
    let sha256 = std::str::from_utf8(&rest[..nl2]).map_err(|_| bad())?.trim().to_string();
    let mut it = facts.split_whitespace();
    let size: u64 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let mode = it.next().and_then(|v| u32::from_str_radix(v, 8).ok()).ok_or_else(bad)?;
    let mtime: u64 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    if sha256.len() != 64 {
        return Err(bad());
    }
    let content = rest[nl2 + 1..].to_vec();
    Ok(FileRead { sha256, size, mode, mtime, truncated: size > max.min(content.len() as u64), content })
}

/// sha256 of a local file, read in chunks, and its first `max` bytes.
pub(crate) fn hash_keeping(p: &Path, max: u64) -> Result<(String, Vec<u8>)> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).map_err(|e| io_error(p, e))?;
    let mut hasher = Sha256::new();
    let mut content = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| io_error(p, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        let room = (max as usize).saturating_sub(content.len());
        content.extend_from_slice(&buf[..n.min(room)]);
    }
    Ok((hasher.finalize().iter().map(|b| format!("{b:02x}")).collect(), content))
}

fn read_local(p: &Path, max: u64) -> Result<FileRead> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(p).map_err(|e| io_error(p, e))?;
    if !meta.is_file() {
        return Err(Error::InvalidArgument(format!("{} is not a regular file", p.display())));
    }
    let (sha256, content) = hash_keeping(p, max)?;
    Ok(FileRead {
        sha256,
        size: meta.len(),
        mode: meta.permissions().mode() & 0o7777,
        mtime: meta.mtime().max(0) as u64,
        truncated: meta.len() > content.len() as u64,
        content,
    })
}

fn io_error(p: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound { what: "file", name: p.display().to_string() },
        std::io::ErrorKind::PermissionDenied => {
            Error::PermissionDenied { alias: "local".into(), reason: format!("{}: {e}", p.display()) }
        }
        _ => Error::io("cannot access", p, e),
    }
}

fn check_exit(alias: &str, path: &str, code: Option<u32>, stderr: &str, expected: Option<&str>) -> Result<()> {
    match code {
        Some(0) => Ok(()),
        Some(EXIT_NOT_FOUND) => Err(Error::NotFound { what: "file", name: format!("{alias}:{path}") }),
        Some(EXIT_NOT_FILE) => Err(Error::InvalidArgument(format!("{alias}:{path} is not a regular file"))),
        Some(EXIT_DENIED) => {
            Err(Error::PermissionDenied { alias: alias.to_string(), reason: format!("{path} is not readable") })
        }
        Some(EXIT_HASH) => Err(Error::HashMismatch {
            path: format!("{alias}:{path}"),
            expected: expected.unwrap_or_default().to_string(),
            actual: stderr.trim().trim_start_matches("HASH ").to_string(),
        }),
        _ if stderr.contains("ermission denied") => {
            Err(Error::PermissionDenied { alias: alias.to_string(), reason: stderr.trim().to_string() })
        }
        other => Err(Error::RemoteFailed {
            alias: alias.to_string(),
            what: format!("writing {path}"),
            exit: other.map_or(-1, i64::from),
            stderr: stderr.trim().chars().take(500).collect(),
        }),
    }
}

/// How a write goes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Create missing parent directories.
    pub create_dirs: bool,
    /// Refuse (`HASH_MISMATCH`) unless the file's current sha256 is this (`""`: the file must not
    /// exist). Checked just before the rename.
    pub expected_hash: Option<String>,
    /// Give the file these permission bits (default: the existing file's, else the umask's).
    pub mode: Option<u32>,
}

/// Writes `data` to `src` atomically: under a temporary name beside it, given the existing file's
/// mode (and owner, where allowed), then renamed over it. Returns the new sha256.
pub async fn write(remote: &dyn Remote, src: &Source, data: &[u8], opts: &WriteOptions) -> Result<String> {
    match src {
        Source::Local(p) => write_local(Path::new(p), data, opts),
        Source::Remote { alias, path } => {
            let (dir, name) =
                path.rsplit_once('/').map_or((".", path.as_str()), |(d, n)| (if d.is_empty() { "/" } else { d }, n));
            if name.is_empty() {
                return Err(Error::InvalidArgument(format!("{path} names a directory, not a file")));
            }
            let tmp = format!("{}/.{name}.sshdeck.tmp", dir.trim_end_matches('/'));
            let mkdir = if opts.create_dirs { format!("mkdir -p -- {} && ", shell_quote(dir)) } else { String::new() };
            let guard = match &opts.expected_hash {
                Some(h) if h.is_empty() => format!(
                    "if [ -e \"$f\" ]; then echo \"HASH $(sha256sum < \"$f\" | cut -c1-64)\" >&2; rm -f -- \"$t\"; exit {EXIT_HASH}; fi; "
                ),
                Some(h) => format!(
                    "c=$( [ -f \"$f\" ] && sha256sum < \"$f\" | cut -c1-64 ); if [ \"$c\" != {} ]; then echo \"HASH $c\" >&2; rm -f -- \"$t\"; exit {EXIT_HASH}; fi; ",
                    shell_quote(h)
                ),
                None => String::new(),
            };
            let chmod = opts.mode.map(|m| format!("chmod {:o} -- \"$t\" && ", m & 0o7777)).unwrap_or_default();
            let script = format!(
                "f={f}; t={t}; {mkdir}cat > \"$t\" && \
                 if [ -e \"$f\" ]; then chmod --reference=\"$f\" -- \"$t\"; chown --reference=\"$f\" -- \"$t\" 2>/dev/null; fi; \
                 {chmod}{guard}mv -f -- \"$t\" \"$f\"",
                f = shell_quote(path),
                t = shell_quote(&tmp),
            );
            let mut o = remote.exec_options();
            o.stdin = Some(data.to_vec());
            let out = remote.exec(alias, &script, o, &mut |_, _| {}).await?;
            check_exit(alias, path, out.exit_code, &out.stderr.text(), opts.expected_hash.as_deref())?;
            Ok(sha256_hex(data))
        }
    }
}

fn write_local(p: &Path, data: &[u8], opts: &WriteOptions) -> Result<String> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if opts.create_dirs {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    let name = p.file_name().ok_or_else(|| Error::InvalidArgument(format!("{} names no file", p.display())))?;
    let tmp = dir.join(format!(".{}.sshdeck.tmp", name.to_string_lossy()));
    let existing = std::fs::metadata(p).ok();
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    f.write_all(data).and_then(|_| f.sync_all()).map_err(|e| io_error(&tmp, e))?;
    if let Some(mode) = opts.mode.or(existing.as_ref().map(|m| m.permissions().mode())) {
        let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode & 0o7777));
    }
    if let Some(expected) = &opts.expected_hash {
        let current = match std::fs::read(p) {
            Ok(b) => sha256_hex(&b),
            Err(_) => String::new(),
        };
        if &current != expected {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::HashMismatch {
                path: p.display().to_string(),
                expected: expected.clone(),
                actual: current,
            });
        }
    }
    std::fs::rename(&tmp, p).map_err(|e| io_error(p, e))?;
    Ok(sha256_hex(data))
}

/// Replaces `old` by `new` in the text of `path`: once (it must occur exactly once) or everywhere.
/// Returns the new text and the number of replacements.
pub fn replace(path: &str, text: &str, old: &str, new: &str, all: bool) -> Result<(String, usize)> {
    if old.is_empty() {
        return Err(Error::InvalidArgument("oldString is empty".into()));
    }
    let n = text.matches(old).count();
    match (n, all) {
        (0, _) => Err(Error::OldStringNotFound { path: path.to_string() }),
        (1, _) | (_, true) => Ok((text.replace(old, new), n)),
        (count, false) => Err(Error::MultipleMatches { path: path.to_string(), count }),
    }
}

/// A unified diff of two texts (3 lines of context), headed `a/PATH` and `b/PATH`.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    diff_texts(&format!("a/{path}"), &format!("b/{path}"), old, new, usize::MAX).text
}

/// A bounded unified diff and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// The unified diff (cut at the bound, with a marker).
    pub text: String,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// Whether the text was cut.
    pub cut: bool,
}

/// A unified diff of `old` (named `name1`) and `new` (`name2`), at most `max` bytes of it.
pub fn diff_texts(name1: &str, name2: &str, old: &str, new: &str, max: usize) -> Diff {
    let mut text =
        similar::TextDiff::from_lines(old, new).unified_diff().context_radius(3).header(name1, name2).to_string();
    let added = text.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++")).count();
    let removed = text.lines().filter(|l| l.starts_with('-') && !l.starts_with("---")).count();
    let cut = text.len() > max;
    if cut {
        let end = (0..=max).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.truncate(end);
        text.push_str(&format!("\n[... diff cut at {max} bytes ...]\n"));
    }
    Diff { text, added, removed, cut }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_once_everywhere_or_refuse() {
        assert_eq!(replace("f", "a b a", "b", "c", false).unwrap(), ("a c a".to_string(), 1));
        assert_eq!(replace("f", "a b a", "a", "x", true).unwrap(), ("x b x".to_string(), 2));
        let e = replace("f", "a b a", "a", "x", false).unwrap_err();
        assert!(e.code() == "MULTIPLE_MATCHES" && e.to_string().contains("2 times"), "{e}");
        assert_eq!(replace("f", "a b a", "z", "x", false).unwrap_err().code(), "OLDSTRING_NOT_FOUND");
    }

    #[test]
    fn reads_parse_and_local_files_round_trip() {
        let r = parse_read(
            "w",
            b"5 640 1700000000\n2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\nhello",
            100,
        )
        .unwrap();
        assert_eq!((r.size, r.mode, r.content.as_slice(), r.truncated), (5, 0o640, &b"hello"[..], false));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/f.txt");
        let opts = WriteOptions { create_dirs: true, expected_hash: Some(String::new()), mode: None };
        let h = write_local(&p, b"one\n", &opts).unwrap();
        assert_eq!(read_local(&p, 100).unwrap().sha256, h);
        let stale = WriteOptions { create_dirs: false, expected_hash: Some(sha256_hex(b"other")), mode: None };
        assert_eq!(write_local(&p, b"two\n", &stale).unwrap_err().code(), "HASH_MISMATCH");
        assert_eq!(std::fs::read(&p).unwrap(), b"one\n");
        assert!(unified_diff("f.txt", "a\nb\n", "a\nc\n").contains("-b\n+c\n"));
    }
}
