//! Log setup shared by both binaries: `tracing` to a daily-rotated file in the data dir's `logs/`
//! (never to stdout, which belongs to the MCP protocol in `sshdeck-mcp`).

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::error::{Error, Result};

/// Log files kept (days).
const KEEP_FILES: usize = 7;

/// Starts logging to `logs/<program>.<date>.log`. Keep the guard alive until exit so the last lines are
/// flushed. Dependencies log at `warn` at most, whatever the level, so no protocol-level trace (which
/// could carry authentication data) is ever written.
pub fn init(settings: &Settings, data_dir: &DataDir, program: &str) -> Result<WorkerGuard> {
    let dir = data_dir.logs_dir()?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(program)
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(&dir)
        .map_err(|e| Error::io("cannot open log file in", &dir, std::io::Error::other(e.to_string())))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let level = settings.log_level.as_str();
    let filter = EnvFilter::new(format!("warn,sshdeck_core={level},sshdeck={level},sshdeck_mcp={level}"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(false).try_init();
    Ok(guard)
}
