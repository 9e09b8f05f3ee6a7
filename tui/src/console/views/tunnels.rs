//! The Tunnels view: every tunnel of every live sshdeck process (the runner's, mostly), with its
//! state, connections and bytes, from the heartbeats; `d` closes the selected one.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, TableState, Wrap};

use sshdeck_core::Deck;
use sshdeck_core::tunnels::TunnelInfo;

use super::Outcome;
use crate::console::model::{Effect, Mode};

/// The Tunnels view's state: the tunnels with the process holding each, and the selection.
#[derive(Debug, Default)]
pub struct TunnelsView {
    pub list: Vec<(String, TunnelInfo)>,
    pub selected: usize,
}

/// `1.5 MiB`, `12 KiB`, `300 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

impl TunnelsView {
    /// Reads the heartbeats again.
    pub fn refresh(&mut self, deck: &Deck) {
        let mut list: Vec<(String, TunnelInfo)> = deck
            .processes()
            .into_iter()
            .flat_map(|p| {
                let who = format!("{} {}", p.owner.program, p.owner.pid);
                p.tunnels.into_iter().map(move |t| (who.clone(), t))
            })
            .collect();
        list.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        self.list = list;
        self.selected = self.selected.min(self.list.len().saturating_sub(1));
    }

    /// The selected tunnel.
    pub fn selected(&self) -> Option<&TunnelInfo> {
        self.list.get(self.selected).map(|(_, t)| t)
    }

    /// Draws one row per tunnel.
    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let block = Block::default().borders(Borders::ALL).title(format!(" Tunnels ({}) ", self.list.len()));
        if self.list.is_empty() {
            let msg = "No open tunnel. Open one with `sshdeck tunnel add ALIAS -L PORT:HOST:PORT` \
                       or the MCP tool tunnel_create.";
            f.render_widget(Paragraph::new(msg).block(block).wrap(Wrap { trim: true }), area);
            return;
        }
        let rows = self.list.iter().map(|(_, t)| {
            let color = if t.state == "up" { Color::Green } else { Color::Red };
            let state = match &t.error {
                Some(e) if t.state != "up" => format!("{} ({e})", t.state),
                _ if t.reconnects > 0 => format!("{} ({} reconnects)", t.state, t.reconnects),
                _ => t.state.clone(),
            };
            Row::new(vec![
                Cell::from(t.name.clone()),
                Cell::from(t.kind.as_str()),
                Cell::from(t.listen.clone()),
                Cell::from(t.target.clone().unwrap_or_else(|| "SOCKS5".into())),
                Cell::from(t.via.clone()),
                Cell::from(format!("{}/{}", t.connections, t.total_connections)),
                Cell::from(bytes(t.bytes_sent)),
                Cell::from(bytes(t.bytes_received)),
                Cell::from(state).style(Style::new().fg(color)),
            ])
        });
        let widths = [
            Constraint::Length(16),
            Constraint::Length(6),
            Constraint::Length(22),
            Constraint::Length(22),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Min(6),
        ];
        let header = Row::new(["NAME", "TYPE", "LISTEN", "TARGET", "VIA", "OPEN/ALL", "SENT", "RECEIVED", "STATE"]);
        let table = super::list_table(rows, widths, header, block);
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(table, area, &mut state);
    }

    /// The view's own key: `d` closes the selected tunnel (asks first).
    pub fn key(&self, key: KeyEvent, readonly: bool) -> Outcome {
        match (key.code, self.list.get(self.selected)) {
            (KeyCode::Char('d'), Some((who, t))) if !readonly => Outcome::mode(Some(Mode::Confirm {
                title: "Close this tunnel? Its connections are dropped.".into(),
                lines: vec![
                    format!("tunnel   {} ({})", t.name, t.kind.as_str()),
                    format!("listen   {}", t.listen),
                    format!("via      {}  ({} open connections)", t.via, t.connections),
                    format!("held by  {who}"),
                ],
                effect: Effect::CloseTunnel(t.name.clone()),
                yes: false,
            })),
            _ => Outcome::default(),
        }
    }
}

/// Key hints.
pub fn hints(readonly: bool) -> String {
    if readonly {
        "j/k move · live tunnels of every sshdeck process · ? help".into()
    } else {
        "j/k move · d close the tunnel · open with `sshdeck tunnel add` · ? help".into()
    }
}
