//! Remote log tails (a file, journald, docker, pm2), several at once, one shown.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Paragraph};

use super::Outcome;
use crate::console::lines::{Lines, draw_lines};
use crate::console::model::Effect;

/// One running tail.
pub struct Tail {
    pub id: u64,
    pub alias: String,
    pub path: String,
    pub output: Lines,
    pub ended: Option<String>,
}

/// The Logs view's state: the running tails and the one shown.
#[derive(Default)]
pub struct LogsView {
    pub tails: Vec<Tail>,
    pub index: usize,
}

impl LogsView {
    /// The tail shown.
    pub fn current(&self) -> Option<&Tail> {
        self.tails.get(self.index)
    }

    /// The tail shown, to feed or scroll.
    pub fn current_mut(&mut self) -> Option<&mut Tail> {
        self.tails.get_mut(self.index)
    }

    /// Draws the tail shown.
    pub fn draw(&self, f: &mut Frame, area: Rect) {
        match self.current() {
            None => f.render_widget(
                Paragraph::new("No tail running. Type :logs ALIAS PATH (e.g. :logs web1 /var/log/nginx/error.log).")
                    .block(Block::default().borders(Borders::ALL).title(" Logs ")),
                area,
            ),
            Some(t) => {
                let title = if self.tails.len() > 1 {
                    format!(" [{}/{}] {}:{} ", self.index + 1, self.tails.len(), t.alias, t.path)
                } else {
                    format!(" {}:{} ", t.alias, t.path)
                };
                draw_lines(f, &t.output, &title, t.ended.as_deref(), area);
            }
        }
    }

    /// The view's own keys: `[` `]` switch tails, `s` stops the one shown.
    pub fn key(&mut self, key: KeyEvent) -> Outcome {
        if self.tails.is_empty() {
            return Outcome::default();
        }
        match key.code {
            KeyCode::Char('s') => return Outcome::effect(Some(Effect::StopTail)),
            KeyCode::Char(']') => self.index = (self.index + 1) % self.tails.len(),
            KeyCode::Char('[') => self.index = (self.index + self.tails.len() - 1) % self.tails.len(),
            _ => {}
        }
        Outcome::default()
    }
}

/// Key hints.
pub fn hints() -> String {
    ":logs ALIAS PATH · [/] tail · ↑ pause · G follow · / search · n/N · w wrap · t time · s stop".into()
}
