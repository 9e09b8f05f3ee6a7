//! Log setup shared by both binaries: `tracing` to a daily-rotated file in the data dir's `logs/`
//! (never to stdout, which belongs to the MCP protocol in `sshdeck-mcp`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::config::Settings;
use crate::error::Result;

/// Log files kept (days).
const KEEP_FILES: usize = 7;
/// Longest log line: a longer one (say, a 10 MB method name quoted in a message) is cut.
pub const MAX_LINE: usize = 8 * 1024;

/// Starts logging to `logs/<program>.<date>.log`. Keep the guard alive until exit so the last lines are
/// flushed. Dependencies log at `warn` at most, whatever the level, so no protocol-level trace (which
/// could carry authentication data) is ever written.
pub fn init(settings: &Settings, dir: PathBuf, program: &str) -> Result<WorkerGuard> {
    // Files of earlier versions (or made by hand) get the same mode as every file sshdeck writes.
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o600));
    }
    let (writer, guard) = tracing_appender::non_blocking(DailyFile::new(dir, program));
    let level = settings.log_level.as_str();
    let filter = EnvFilter::new(format!("warn,sshdeck_core={level},sshdeck={level},sshdeck_mcp={level}"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(false).try_init();
    Ok(guard)
}

/// `logs/<program>.<YYYY-MM-DD>.log` (UTC), mode 0600, a new file each day, the last [`KEEP_FILES`]
/// kept; each line bounded to [`MAX_LINE`] bytes.
struct DailyFile {
    dir: PathBuf,
    program: String,
    date: String,
    file: Option<File>,
}

impl DailyFile {
    fn new(dir: PathBuf, program: &str) -> Self {
        DailyFile { dir, program: program.to_string(), date: String::new(), file: None }
    }

    fn open(&mut self, date: &str) -> std::io::Result<()> {
        let path = self.dir.join(format!("{}.{date}.log", self.program));
        let file = OpenOptions::new().create(true).append(true).mode(0o600).open(&path)?;
        self.file = Some(file);
        self.date = date.to_string();
        let prefix = format!("{}.", self.program);
        let mut old: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".log"))
            })
            .collect();
        old.sort();
        for p in old.iter().rev().skip(KEEP_FILES) {
            let _ = std::fs::remove_file(p);
        }
        Ok(())
    }
}

/// `line`, cut to [`MAX_LINE`] bytes (at a character boundary) with a note of what was left out.
pub fn bound_line(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if line.len() <= MAX_LINE {
        return line.into();
    }
    let text = String::from_utf8_lossy(&line[..MAX_LINE]);
    let keep = text.trim_end_matches('\u{fffd}');
    let mut out = keep.as_bytes().to_vec();
    out.extend_from_slice(format!(" …[cut: {} bytes]\n", line.len() - keep.len()).as_bytes());
    out.into()
}

impl Write for DailyFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let today = crate::jobs::format_time(crate::jobs::now_ms())[..10].to_string();
        if self.file.is_none() || today != self.date {
            self.open(&today)?;
        }
        let file = self.file.as_mut().expect("opened");
        // One formatted event arrives in one write: each of its lines is bounded.
        for line in buf.split_inclusive(|b| *b == b'\n') {
            file.write_all(&bound_line(line))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), File::flush)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_files_are_private_and_lines_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = DailyFile::new(tmp.path().to_path_buf(), "sshdeck-mcp");
        let huge = format!("method {} end\n", "x".repeat(10 << 20));
        f.write_all(b"a short line\n").unwrap();
        f.write_all(huge.as_bytes()).unwrap();
        f.flush().unwrap();
        let files: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.path()).collect();
        assert_eq!(files.len(), 1);
        assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.len() < MAX_LINE + 200, "{} bytes", text.len());
        assert!(text.starts_with("a short line\n") && text.contains("[cut: "), "{}", &text[..100]);
        for i in 0..10 {
            std::fs::write(tmp.path().join(format!("sshdeck-mcp.2020-01-{:02}.log", i + 1)), "old").unwrap();
        }
        f.open("2099-01-01").unwrap();
        let left = std::fs::read_dir(tmp.path()).unwrap().count();
        assert_eq!(left, KEEP_FILES, "the last {KEEP_FILES} days are kept");
    }
}
