//! A job's detail: its record, and its output followed live, or for a fan-out one live row per host.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row};
use sshdeck_core::jobs::{Job, JobStatus, OutputFollower};

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
    /// The selected host row of a fan-out.
    pub host: usize,
    /// The fan-out this host's job was opened from (`Esc` goes back to it).
    pub back: Option<Job>,
}

impl Detail {
    /// Opens `job`: its output followed from the start.
    pub fn open(deck: &Deck, job: Job) -> Detail {
        let follower = deck.follow_output(&job.id, 0);
        // What the job printed before it was opened comes in the first read, with no arrival time.
        let output = Lines { backlog_until: Some(u64::MAX), ..Lines::default() };
        Detail { job, output, follower, hosts: Vec::new(), host: 0, back: None }
    }

    /// A fan-out's keys: move among its hosts; `Enter` gives the host job to open. `None`: not used.
    pub fn fleet_key(&mut self, key: ratatui::crossterm::event::KeyEvent) -> Option<Option<Job>> {
        use ratatui::crossterm::event::KeyCode;
        if self.hosts.is_empty() {
            return None;
        }
        let last = self.hosts.len() - 1;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.host = self.host.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.host = (self.host + 1).min(last),
            KeyCode::Home | KeyCode::Char('g') => self.host = 0,
            KeyCode::End | KeyCode::Char('G') => self.host = last,
            KeyCode::Enter => return Some(self.hosts.get(self.host).cloned()),
            _ => return None,
        }
        Some(None)
    }

    /// The job's record, its new output, and for a fan-out its hosts.
    pub fn refresh(&mut self, deck: &Deck) {
        if let Ok(j) = deck.job(&self.job.id) {
            self.job = j;
        }
        if self.job.targets.len() > 1 {
            self.hosts = deck.fleet_children(&self.job);
            self.host = self.host.min(self.hosts.len().saturating_sub(1));
        }
        let bytes = self.follower.poll();
        self.output.push_bytes(&bytes);
        self.output.backlog_until = None;
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
            Line::from(match (j.submitter, super::outlived(j)) {
                (Some(p), true) => format!(
                    "target  {}  from {} (pid {p}, gone: the runner carries it on)",
                    j.targets.join(", "),
                    j.origin
                ),
                (Some(p), false) => format!("target  {}  from {} (pid {p})", j.targets.join(", "), j.origin),
                (None, _) => format!("target  {}  from {}", j.targets.join(", "), j.origin),
            }),
            Line::from(format!("command {}", j.spec.summary())),
            Line::from(format!("created {}  duration {}", crate::console::clock::date_time(j.created_at), duration(j))),
        ];
        if let Some(r) = &j.result {
            let mut s = String::new();
            if let Some(c) = r.end.exit_code {
                s.push_str(&format!("exit {c}  "));
            }
            if let Some(sig) = &r.end.exit_signal {
                s.push_str(&format!("signal {sig}  "));
            }
            if let (Some(c), Some(m)) = (&r.end.error_code, &r.end.error_message) {
                s.push_str(&format!("{c}: {m}"));
            }
            lines.push(Line::from(s).fg(status_color(j.status)));
        }
        f.render_widget(Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Job ")), info);
        if d.hosts.is_empty() {
            draw_lines(f, &d.output, " Output ", None, out);
        } else {
            let groups = j.result.as_ref().and_then(|r| r.fleet.as_ref()).map(|s| s.groups.as_slice()).unwrap_or(&[]);
            if groups.is_empty() {
                draw_fleet(f, &d.hosts, d.host, out);
            } else {
                let table_h = (d.hosts.len() as u16 + 3).min(out.height / 2).max(4);
                let [table, grouped] = Layout::vertical([Constraint::Length(table_h), Constraint::Min(1)]).areas(out);
                draw_fleet(f, &d.hosts, d.host, table);
                draw_groups(f, groups, grouped);
            }
        }
    }
}

/// A finished fan-out's outputs, hosts with identical output together (as the MCP result groups them).
fn draw_groups(f: &mut Frame, groups: &[sshdeck_core::fleet::OutputGroup], area: Rect) {
    let mut lines = Vec::new();
    for g in groups {
        let mut head = format!(
            "── {} ({} host{}) · {}",
            g.aliases.join(", "),
            g.aliases.len(),
            if g.aliases.len() == 1 { "" } else { "s" },
            g.status
        );
        if let Some(c) = g.exit_code {
            head.push_str(&format!(" · exit {c}"));
        }
        if let Some(c) = &g.error_code {
            head.push_str(&format!(" · {c}"));
        }
        lines.push(Line::from(head).bold());
        lines.extend(g.output.lines().map(|l| Line::from(l.to_string())));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" Output, grouped: {} group(s) · Enter opens a host ", groups.len()));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

/// The fleet view of a fan-out: one row per host, live; the selected one opens with `Enter`.
fn draw_fleet(f: &mut Frame, hosts: &[Job], selected: usize, area: Rect) {
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
        let error = r.and_then(|r| r.end.error_code.clone()).unwrap_or_default();
        Row::new(vec![
            Cell::from(h.targets.first().cloned().unwrap_or_default()),
            Cell::from(h.status.as_str()).style(Style::new().fg(status_color(h.status))),
            Cell::from(r.and_then(|r| r.end.exit_code).map_or("-".to_string(), |c| c.to_string())),
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
    let mut state = ratatui::widgets::TableState::default().with_selected(Some(selected));
    f.render_stateful_widget(table, area, &mut state);
}

/// Key hints of a fan-out's detail.
pub fn fleet_hints(readonly: bool) -> String {
    let w = if readonly { "" } else { " · c cancel all · r retry" };
    format!("j/k host · Enter open the host's job{w} · Esc back")
}

/// Key hints.
pub fn hints(readonly: bool) -> String {
    let w = if readonly { "" } else { " · c cancel · r retry" };
    format!("↑/↓ scroll · G follow · / search · n/N next · w wrap{w} · Esc back")
}
