//! The Pools view: the connection pools of every live sshdeck process.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, Borders, Row};

use sshdeck_core::Deck;
use sshdeck_core::jobs::ProcessInfo;

/// The Pools view's state: every live process with its pool.
#[derive(Debug, Default)]
pub struct PoolsView {
    pub processes: Vec<ProcessInfo>,
}

impl PoolsView {
    /// Reads the heartbeats again.
    pub fn refresh(&mut self, deck: &Deck) {
        self.processes = deck.processes();
    }

    /// Draws one row per process and server.
    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let block =
            Block::default().borders(Borders::ALL).title(format!(" Pools ({} processes) ", self.processes.len()));
        let mut rows = Vec::new();
        for p in &self.processes {
            for s in &p.pool.servers {
                rows.push(Row::new(vec![
                    format!("{} {}", p.owner.program, p.owner.pid),
                    s.alias.clone(),
                    s.connections.to_string(),
                    s.channels_in_use.to_string(),
                    s.opened.to_string(),
                    s.reused.to_string(),
                    s.failures.to_string(),
                    format!("{:.0} ms", s.connect_ms_avg),
                ]));
            }
            if p.pool.servers.is_empty() {
                rows.push(Row::new(vec![format!("{} {}", p.owner.program, p.owner.pid), "(no connections)".into()]));
            }
        }
        // The process column fits its longest name and pid, and at least the runner's with the
        // largest pid (`sshdeck-runner 4194304`): never cut, and the same width from run to run.
        let process_w = self
            .processes
            .iter()
            .map(|p| p.owner.program.chars().count() + 1 + p.owner.pid.to_string().len())
            .max()
            .unwrap_or(0)
            .max("sshdeck-runner 4194304".len()) as u16;
        let widths = [
            Constraint::Length(process_w),
            Constraint::Min(10),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(9),
        ];
        let header = Row::new(["PROCESS", "ALIAS", "CONN", "CHANNELS", "OPENED", "REUSED", "FAILURES", "CONNECT"]);
        let table = super::list_table(rows, widths, header, block);
        f.render_widget(table, area);
    }
}

/// Key hints.
pub fn hints() -> String {
    "live pool counters of every sshdeck process · ? help · q quit".into()
}
