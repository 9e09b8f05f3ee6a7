//! The Audit view: the data dir's audit trail (every mutating action of every front end), newest
//! first; `Enter` opens the job an action ran. The file is read again only when it changed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, TableState, Wrap};

use sshdeck_core::Deck;
use sshdeck_core::audit::Entry;

/// Entries the view holds (the most recent).
pub const SHOWN: usize = 1000;

/// The Audit view's state: the entries, newest first, the selection, and the file's version read.
#[derive(Debug, Default)]
pub struct AuditView {
    pub entries: Vec<Entry>,
    pub selected: usize,
    stamp: Option<(u64, std::time::SystemTime)>,
}

impl AuditView {
    /// Reads the trail again when the file changed since the last read.
    pub fn refresh(&mut self, deck: &Deck) {
        let path = deck.data_root().join("audit.jsonl");
        let stamp = super::file_stamp(&path);
        if stamp.is_some() && stamp == self.stamp {
            return;
        }
        if let Ok(mut entries) = deck.audit().read(0, SHOWN) {
            entries.reverse();
            self.entries = entries;
            self.stamp = stamp;
            self.selected = self.selected.min(self.entries.len().saturating_sub(1));
        }
    }

    /// The job of the selected entry, if it ran one.
    pub fn selected_job(&self) -> Option<&str> {
        self.entries.get(self.selected).and_then(|e| e.job.as_deref())
    }

    /// Draws the trail.
    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let title = format!(" Audit ({}) ", self.entries.len());
        let block = Block::default().borders(Borders::ALL).title(title);
        if self.entries.is_empty() {
            let msg = "No audited action yet: every change made through MCP tools or the CLI shows here.";
            f.render_widget(Paragraph::new(msg).block(block).wrap(Wrap { trim: true }), area);
            return;
        }
        let rows = self.entries.iter().map(|e| {
            let color = if e.result == "ok" { Color::Green } else { Color::Red };
            Row::new(vec![
                Cell::from(crate::console::clock::date_time(e.at_ms).chars().take(19).collect::<String>()),
                Cell::from(e.front_end.clone()),
                Cell::from(e.caller.clone()),
                Cell::from(e.action.clone()),
                Cell::from(if e.targets.is_empty() { "-".to_string() } else { e.targets.join(",") }),
                Cell::from(e.result.clone()).style(Style::new().fg(color)),
                Cell::from(e.job.clone().unwrap_or_else(|| "-".into())),
            ])
        });
        let widths = [
            Constraint::Length(19),
            Constraint::Length(4),
            Constraint::Length(12),
            Constraint::Length(24),
            Constraint::Length(16),
            Constraint::Length(16),
            Constraint::Min(13),
        ];
        let header = Row::new(["TIME", "FROM", "CALLER", "ACTION", "TARGETS", "RESULT", "JOB"]);
        let table = super::list_table(rows, widths, header, block);
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(table, area, &mut state);
    }
}

/// Key hints.
pub fn hints() -> String {
    "j/k move · Enter open the action's job · sshdeck audit --since 12h for more · ? help".into()
}
