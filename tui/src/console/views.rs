//! One module per view: each draws itself, handles its own keys into effects, and lists its hints.

pub mod apis;
pub mod audit;
pub mod detail;
pub mod jobs;
pub mod logs;
pub mod pools;
pub mod servers;
pub mod tunnels;

use ratatui::layout::Constraint;
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Row, Table};
use sshdeck_core::jobs::{Job, JobStatus, now_ms};

use super::model::{Effect, Mode};

/// What a view's key asks for: an effect for the loop, a new mode (a dialog, a prompt), or nothing.
#[derive(Debug, Default)]
pub struct Outcome {
    pub effect: Option<Effect>,
    pub mode: Option<Mode>,
}

impl Outcome {
    pub fn effect(effect: Option<Effect>) -> Outcome {
        Outcome { effect, mode: None }
    }

    pub fn mode(mode: Option<Mode>) -> Outcome {
        Outcome { effect: None, mode }
    }
}

/// A data file's version (length and modification time), so a view reads it again only when it
/// changed; `None` when it does not exist.
pub fn file_stamp(path: &std::path::Path) -> Option<(u64, std::time::SystemTime)> {
    std::fs::metadata(path).ok().and_then(|m| Some((m.len(), m.modified().ok()?)))
}

/// A job still running whose front end (the process that asked for it) is gone: the runner carries
/// it on.
pub fn outlived(j: &Job) -> bool {
    !j.status.is_terminal() && j.submitter.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
}

/// A job's status as the tables show it: `running ↗` when it outlived its front end.
pub fn status_text(j: &Job) -> String {
    if outlived(j) { format!("{} ↗", j.status.as_str()) } else { j.status.as_str().to_string() }
}

/// A status's colour, everywhere.
pub fn status_color(s: JobStatus) -> Color {
    match s {
        JobStatus::Pending => Color::Gray,
        JobStatus::Running => Color::Cyan,
        JobStatus::Completed => Color::Green,
        JobStatus::Failed | JobStatus::Crashed => Color::Red,
        JobStatus::TimedOut => Color::Magenta,
        JobStatus::Cancelled => Color::Yellow,
    }
}

pub fn duration(j: &Job) -> String {
    match (&j.result, j.started_at) {
        (Some(r), _) if j.status != JobStatus::Crashed => format!("{:.2}s", r.end.duration_ms as f64 / 1000.0),
        (None, Some(start)) => format!("{}s", now_ms().saturating_sub(start) / 1000),
        _ => "-".into(),
    }
}

/// Every list view's table: a bold header, the selected row (if any) reversed.
pub fn list_table<'a, R>(
    rows: R,
    widths: impl IntoIterator<Item = Constraint>,
    header: Row<'a>,
    block: Block<'a>,
) -> Table<'a>
where
    R: IntoIterator,
    R::Item: Into<Row<'a>>,
{
    Table::new(rows, widths)
        .header(header.style(Style::new().bold()))
        .row_highlight_style(Style::new().reversed())
        .block(block)
}
