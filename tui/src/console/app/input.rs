//! Input that is not a plain key: the mouse, and `:` commands.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use super::{App, Effect, Mode, View};

impl App {
    /// A mouse event: the wheel scrolls (the selection, or the output shown), a click selects a row
    /// (a click on the selected row opens it, as `Enter`).
    pub fn on_mouse(&mut self, ev: MouseEvent) -> Option<Effect> {
        let (code, row) = match ev.kind {
            MouseEventKind::ScrollDown => (KeyCode::Down, None),
            MouseEventKind::ScrollUp => (KeyCode::Up, None),
            MouseEventKind::Down(MouseButton::Left) => (KeyCode::Null, Some(ev.row)),
            _ => return None,
        };
        if self.mode != Mode::Normal {
            return None;
        }
        match row {
            None => self.on_key(KeyEvent::new(code, KeyModifiers::NONE)),
            Some(r) if self.view == View::Jobs => {
                let i = self.jobs.row_at(r)?;
                if i == self.jobs.selected {
                    return self.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
                }
                self.jobs.select(i);
                None
            }
            Some(r) if self.view == View::Servers => {
                // Servers: border and header above the first row, under the one-line header.
                let i = (r as usize).checked_sub(3)?;
                if i < self.servers.list.len() {
                    self.servers.selected = i;
                }
                None
            }
            Some(_) => None,
        }
    }

    /// `:` commands.
    pub(super) fn command(&mut self, text: &str) -> Option<Effect> {
        let mut words = text.split_whitespace();
        match words.next().unwrap_or("") {
            "q" | "quit" => return Some(Effect::Quit),
            "jobs" => self.view = View::Jobs,
            "servers" => self.view = View::Servers,
            "pools" => self.view = View::Pools,
            "apis" => self.view = View::Apis,
            "tunnels" => self.view = View::Tunnels,
            "audit" => self.view = View::Audit,
            "logs" | "tail" => {
                let (alias, path) = (words.next(), words.collect::<Vec<_>>().join(" "));
                match alias {
                    Some(a) if !path.is_empty() => {
                        self.view = View::Logs;
                        return Some(Effect::Tail { alias: a.to_string(), path });
                    }
                    _ => self.view = View::Logs,
                }
            }
            "search" => {
                let s = words.collect::<Vec<_>>().join(" ");
                let lines = match self.view {
                    View::Detail => self.detail.as_mut().map(|d| &mut d.output),
                    _ => self.logs.current_mut().map(|t| &mut t.output),
                };
                if let Some(l) = lines {
                    l.search = (!s.is_empty()).then_some(s);
                    l.jump_to_match(true);
                }
            }
            "" => {}
            other => {
                self.mode = Mode::Error(format!(
                    "unknown command :{other} (try :jobs :servers :pools :apis :tunnels :audit :logs ALIAS PATH :q)"
                ))
            }
        }
        None
    }
}
