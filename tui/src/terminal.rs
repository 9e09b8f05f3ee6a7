//! The local terminal of `sshdeck ssh` and `exec -t`: raw mode while a remote terminal session runs
//! (restored on every way out, panics included), its type and size, and its size changes.

use ratatui::crossterm::terminal;
use tokio::sync::mpsc;

/// Raw mode until dropped.
pub struct RawMode {
    on: bool,
}

impl RawMode {
    /// Enters raw mode when stdin is a terminal.
    pub fn enter() -> RawMode {
        use std::io::IsTerminal;
        let on = std::io::stdin().is_terminal() && terminal::enable_raw_mode().is_ok();
        if on {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let _ = terminal::disable_raw_mode();
                previous(info);
            }));
        }
        RawMode { on }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.on {
            let _ = terminal::disable_raw_mode();
        }
    }
}

/// `TERM`, as ssh passes it.
pub fn term() -> String {
    std::env::var("TERM").ok().filter(|t| !t.is_empty()).unwrap_or_else(|| "xterm-256color".into())
}

/// The terminal's size (columns, rows); 80×24 when it is not one.
pub fn size() -> (u32, u32) {
    terminal::size().map(|(c, r)| (u32::from(c), u32::from(r))).unwrap_or((80, 24))
}

/// Sends the terminal's new size whenever it changes (SIGWINCH), until `tx` is closed.
pub fn follow_resizes(tx: mpsc::Sender<(u32, u32)>) {
    let Ok(mut winch) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()) else {
        return;
    };
    tokio::spawn(async move {
        while winch.recv().await.is_some() {
            if tx.send(size()).await.is_err() {
                return;
            }
        }
    });
}
