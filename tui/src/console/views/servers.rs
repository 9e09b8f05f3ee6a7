//! The Servers view: the registry with each server's note in one line (`server_note_set`), with
//! add, edit, remove, test and tail.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, Borders, Paragraph, Row, TableState};
use sshdeck_core::servers::ServerSummary;

use sshdeck_core::Deck;

use super::Outcome;
use crate::console::model::{Effect, Mode, ServerForm};

/// The Servers view's state: the registry (no secrets), the notes' lines and the selection.
#[derive(Debug, Default)]
pub struct ServersView {
    pub list: Vec<ServerSummary>,
    /// Alias → its note in one line.
    pub notes: BTreeMap<String, String>,
    /// The note file's version when last read (read again only when it changes).
    notes_read: Option<(u64, std::time::SystemTime)>,
    pub selected: usize,
}

impl ServersView {
    /// Reads the registry again.
    pub fn refresh(&mut self, deck: &Deck) {
        if let Ok(list) = deck.servers() {
            self.list = list.iter().map(ServerSummary::from).collect();
            self.selected = self.selected.min(self.list.len().saturating_sub(1));
        }
        // Read again only when the file changed; one that cannot be read leaves the lines as they were.
        let path = deck.data_root().join(sshdeck_core::notes::NOTES_FILE);
        let stamp = super::file_stamp(&path);
        // No file (None) at the start means no notes: nothing to read.
        if stamp == self.notes_read {
            return;
        }
        self.notes_read = stamp;
        match deck.notes().list() {
            Ok(notes) => {
                self.notes = notes
                    .iter()
                    .filter_map(|(alias, n)| sshdeck_core::notes::one_line(n).map(|l| (alias.clone(), l)))
                    .collect()
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the server notes"),
        }
    }

    /// The selected server.
    pub fn selected(&self) -> Option<&ServerSummary> {
        self.list.get(self.selected)
    }

    /// Draws the registry.
    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let block = Block::default().borders(Borders::ALL).title(format!(" Servers ({}) ", self.list.len()));
        if self.list.is_empty() {
            f.render_widget(
                Paragraph::new("No servers yet. Press a to add one (or run `sshdeck servers add`).").block(block),
                area,
            );
            return;
        }
        let rows: Vec<Row> = self.list.iter().map(|s| Row::new(s.columns())).collect();
        let widths = [
            Constraint::Length(14),
            Constraint::Min(16),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(10),
            Constraint::Length(14),
        ];
        // The selected server's note, on the frame's bottom edge (what an agent learned about it).
        let block = match self.selected().and_then(|s| self.notes.get(&s.alias)) {
            Some(note) => block.title_bottom(format!(" note: {note} ")),
            None => block,
        };
        let table = super::list_table(rows, widths, Row::new(ServerSummary::HEADER), block);
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(table, area, &mut state);
    }

    /// The view's own keys: `l` tail a log, `t` test, `a` add, `e` edit, `d` remove.
    pub fn key(&self, key: KeyEvent, readonly: bool) -> Outcome {
        let selected = self.selected().cloned();
        match key.code {
            KeyCode::Char('l') => {
                Outcome::mode(selected.map(|s| Mode::Command(format!("logs {} /var/log/syslog", s.alias))))
            }
            KeyCode::Char('t') => Outcome::effect(selected.map(|s| Effect::TestServer(s.alias))),
            KeyCode::Char('a') if !readonly => {
                let mut form = ServerForm::default();
                form.fields[3] = "22".into();
                Outcome::mode(Some(Mode::Server(form)))
            }
            KeyCode::Char('e') if !readonly => Outcome::mode(selected.map(|s| {
                let key = s.key_path.as_ref().map(|k| k.display().to_string()).unwrap_or_default();
                let fields = [s.alias.clone(), s.host.clone(), s.user.clone(), s.port.to_string(), key, String::new()];
                Mode::Server(ServerForm { fields, focus: 1, editing: true, error: None })
            })),
            KeyCode::Char('d') if !readonly => Outcome::mode(selected.map(|s| {
                let lines = vec![
                    format!("alias   {}", s.alias),
                    format!("target  {}@{}:{}", s.user, s.host, s.port),
                    "its pooled connections are closed; jobs on record stay".to_string(),
                ];
                let effect = Effect::RemoveServer(s.alias.clone());
                Mode::Confirm { title: "Remove this server?".into(), lines, effect, yes: false }
            })),
            _ => Outcome::default(),
        }
    }
}

/// Key hints.
pub fn hints(readonly: bool) -> String {
    let w = if readonly { "" } else { " · a add · e edit · d remove · x run" };
    format!("j/k move · t test · l tail a log{w} · ? help")
}
