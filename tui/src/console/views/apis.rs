//! The APIs view: the health-check catalog with each entry's last check.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, TableState, Wrap};

use sshdeck_core::Deck;
use sshdeck_core::apis::Api;

use super::Outcome;
use crate::console::model::Effect;

fn api_color(status: &str) -> Color {
    match status {
        "UP" => Color::Green,
        "DOWN" => Color::Red,
        "ERROR" => Color::Magenta,
        _ => Color::Gray,
    }
}

/// The APIs view's state: the catalog with each entry's last check, and the selection.
#[derive(Debug, Default)]
pub struct ApisView {
    pub list: Vec<(String, Api)>,
    pub selected: usize,
}

impl ApisView {
    /// Reads the catalog again.
    pub fn refresh(&mut self, deck: &Deck) {
        if let Ok(map) = deck.api_catalog().list() {
            self.list = map.into_iter().collect();
            self.selected = self.selected.min(self.list.len().saturating_sub(1));
        }
    }

    /// Draws the catalog.
    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let block = Block::default().borders(Borders::ALL).title(format!(" APIs ({}) ", self.list.len()));
        if self.list.is_empty() {
            let msg = "No API in the catalog. Add one with the MCP tool api_add; c checks the selected one.";
            f.render_widget(Paragraph::new(msg).block(block).wrap(Wrap { trim: true }), area);
            return;
        }
        let rows = self.list.iter().map(|(alias, api)| {
            let c = api.last_check.as_ref();
            let status = c.map_or("never", |c| c.status.as_str());
            let tls = c.and_then(|c| c.tls_days_left).map_or("-".to_string(), |d| format!("{d} d"));
            Row::new(vec![
                Cell::from(alias.clone()),
                Cell::from(status.to_string()).style(Style::new().fg(api_color(status))),
                Cell::from(c.and_then(|c| c.http_code).map_or("-".to_string(), |h| h.to_string())),
                Cell::from(c.map_or("-".to_string(), |c| format!("{:.0} ms", c.response_time_ms))),
                Cell::from(tls),
                Cell::from(c.map_or("-".to_string(), |c| c.checked_at.replace('T', " ").replace('Z', ""))),
                Cell::from(c.map_or("-".to_string(), |c| c.from.clone())),
                Cell::from(api.check_url()),
            ])
        });
        let widths = [
            Constraint::Length(14),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(19),
            Constraint::Length(8),
            Constraint::Min(10),
        ];
        let header = Row::new(["ALIAS", "STATUS", "HTTP", "TIME", "TLS", "CHECKED", "FROM", "URL"]);
        let table = super::list_table(rows, widths, header, block);
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(table, area, &mut state);
    }

    /// The view's own key: `c` checks the selected API now, from this machine.
    pub fn key(&self, key: KeyEvent) -> Outcome {
        match key.code {
            KeyCode::Char('c') => {
                Outcome::effect(self.list.get(self.selected).map(|(a, _)| Effect::CheckApi(a.clone())))
            }
            _ => Outcome::default(),
        }
    }
}

/// Key hints.
pub fn hints() -> String {
    "j/k move · c check now (from here) · add APIs with the MCP tool api_add · ? help".into()
}
