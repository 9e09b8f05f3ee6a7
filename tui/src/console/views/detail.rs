//! A job's detail: its record, and its output followed live, or for a fan-out one live row per host.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row};
use sshdeck_core::jobs::{Job, JobStatus, OutputFollower, format_time};

use super::{duration, status_color};
use crate::console::lines::{Lines, draw_lines};
use sshdeck_core::Deck;

/// The job opened from the Jobs view.
pub struct Detail {
    pub job: Job,
    pub output: Lines,
    pub follower: OutputFollower,
    /// For a fan-out job: its per-host children, live (the fleet view).
    pub hosts: Vec<Job>,
}

impl Detail {
    /// Opens `job`: its output followed from the start.
    pub fn open(deck: &Deck, job: Job) -> Detail {
        let follower = deck.follow_output(&job.id, 0);
        Detail { job, output: Lines::default(), follower, hosts: Vec::new() }
    }

    /// The job's record, its new output, and for a fan-out its hosts.
    pub fn refresh(&mut self, deck: &Deck) {
        if let Ok(j) = deck.job(&self.job.id) {
            self.job = j;
        }
        if self.job.targets.len() > 1 {
            self.hosts = deck.fleet_children(&self.job);
        }
        let bytes = self.follower.poll();
        self.output.push_bytes(&bytes);
    }

    /// Draws the opened job.
    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let d = self;
        let j = &d.job;
        let [info, out] = Layout::vertical([Constraint::Length(7), Constraint::Min(1)]).areas(area);
        let mut lines = vec![
            Line::from(vec![
                Span::raw("job "),
                Span::styled(j.id.to_string(), Style::new().bold()),
                Span::raw("  "),
                Span::styled(j.status.as_str(), Style::new().fg(status_color(j.status)).bold()),
                Span::raw(format!("  attempt {}  by {} (pid {})", j.attempt, j.owner.program, j.owner.pid)),
            ]),
            Line::from(format!("target  {}", j.targets.join(", "))),
            Line::from(format!("command {}", j.spec.summary())),
            Line::from(format!("created {}  duration {}", format_time(j.created_at), duration(j))),
        ];
        if let Some(r) = &j.result {
            let mut s = String::new();
            if let Some(c) = r.exit_code {
                s.push_str(&format!("exit {c}  "));
            }
            if let Some(sig) = &r.exit_signal {
                s.push_str(&format!("signal {sig}  "));
            }
            if let (Some(c), Some(m)) = (&r.error_code, &r.error_message) {
                s.push_str(&format!("{c}: {m}"));
            }
            lines.push(Line::from(s).fg(status_color(j.status)));
        }
        f.render_widget(Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Job ")), info);
        if d.hosts.is_empty() {
            draw_lines(f, &d.output, " Output ", None, out);
        } else {
            draw_fleet(f, &d.hosts, out);
        }
    }
}

/// The fleet view of a fan-out: one row per host, live.
fn draw_fleet(f: &mut Frame, hosts: &[Job], area: Rect) {
    let count = |s: JobStatus| hosts.iter().filter(|h| h.status == s).count();
    let done = hosts.iter().filter(|h| h.status.is_terminal()).count();
    let title = format!(
        " Hosts: {done}/{} done · {} ok · {} failed · {} timed out · {} running ",
        hosts.len(),
        count(JobStatus::Completed),
        count(JobStatus::Failed) + count(JobStatus::Crashed),
        count(JobStatus::TimedOut),
        count(JobStatus::Running),
    );
    let rows = hosts.iter().map(|h| {
        let r = h.result.as_ref();
        let error = r.and_then(|r| r.error_code.clone()).unwrap_or_default();
        Row::new(vec![
            Cell::from(h.targets.first().cloned().unwrap_or_default()),
            Cell::from(h.status.as_str()).style(Style::new().fg(status_color(h.status))),
            Cell::from(r.and_then(|r| r.exit_code).map_or("-".to_string(), |c| c.to_string())),
            Cell::from(duration(h)),
            Cell::from(error),
        ])
    });
    let widths = [
        Constraint::Length(16),
        Constraint::Length(10),
        Constraint::Length(5),
        Constraint::Length(9),
        Constraint::Min(10),
    ];
    let header = Row::new(["HOST", "STATUS", "EXIT", "DURATION", "ERROR"]);
    let table = super::list_table(rows, widths, header, Block::default().borders(Borders::ALL).title(title));
    f.render_widget(table, area);
}

/// Key hints.
pub fn hints(readonly: bool) -> String {
    let w = if readonly { "" } else { " · c cancel · r retry" };
    format!("↑/↓ scroll · G follow · / search · n/N next · w wrap{w} · Esc back")
}
