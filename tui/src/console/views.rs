//! One module per view: each draws itself, handles its own keys into effects, and lists its hints.

pub mod apis;
pub mod detail;
pub mod jobs;
pub mod logs;
pub mod pools;
pub mod servers;

use ratatui::style::Color;
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
        (Some(r), _) if j.status != JobStatus::Crashed => format!("{:.2}s", r.duration_ms as f64 / 1000.0),
        (None, Some(start)) => format!("{}s", now_ms().saturating_sub(start) / 1000),
        _ => "-".into(),
    }
}
