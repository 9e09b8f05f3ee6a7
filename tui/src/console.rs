//! The operator console: `sshdeck` with no subcommand. One loop over terminal events, job events,
//! remote tail output and a tick; drawing never waits on SSH or disk.

pub mod app;
pub mod ui;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use anyhow::Result;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use sshdeck_core::Deck;
use sshdeck_core::exec::ExecOptions;
use sshdeck_core::jobs::{JobEvent, JobSpec};
use sshdeck_core::ssh::quote::shell_quote;
use tokio::sync::{broadcast, mpsc, watch};

use app::{App, Effect, Lines, Mode, Tail};

/// Messages from a running remote tail.
enum TailMsg {
    Data(Vec<u8>),
    Ended(String),
}

/// The remote command that follows a log source: a file path, `journal:UNIT`, `docker:NAME` or
/// `pm2:APP`. Every value is quoted.
pub fn tail_command(source: &str) -> String {
    if let Some(unit) = source.strip_prefix("journal:") {
        format!("journalctl -f -n 200 --no-pager -u {}", shell_quote(unit))
    } else if let Some(name) = source.strip_prefix("docker:") {
        format!("docker logs -f --tail 200 -- {}", shell_quote(name))
    } else if let Some(app) = source.strip_prefix("pm2:") {
        format!("pm2 logs --raw --lines 200 -- {}", shell_quote(app))
    } else {
        format!("tail -n 200 -F -- {}", shell_quote(source))
    }
}

pub async fn run(deck: Deck, readonly: bool) -> Result<()> {
    let mut terminal = ratatui::init();
    let result = run_loop(&mut terminal, deck, readonly).await;
    ratatui::restore();
    result
}

async fn run_loop(terminal: &mut ratatui::DefaultTerminal, deck: Deck, readonly: bool) -> Result<()> {
    let (key_tx, mut key_rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        loop {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        if key_tx.send(ev).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) if key_tx.is_closed() => return,
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
    let mut events = deck.jobs().subscribe();
    let (tail_tx, mut tail_rx) = mpsc::channel::<TailMsg>(4096);
    let mut tail_stop: Option<watch::Sender<bool>> = None;
    let mut app = App::new(deck.clone(), readonly);
    app.refresh();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut stale = false;
    let mut last_refresh = Instant::now();
    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|f| ui::draw(f, &app))?;
            dirty = false;
        }
        tokio::select! {
            Some(ev) = key_rx.recv() => {
                match ev {
                    Event::Key(k) if k.kind == KeyEventKind::Press => {
                        if let Some(effect) = app.on_key(k) {
                            if effect == Effect::Quit {
                                break;
                            }
                            perform(&mut app, effect, &tail_tx, &mut tail_stop);
                        }
                    }
                    _ => {}
                }
                dirty = true;
            }
            ev = events.recv() => match ev {
                Ok(JobEvent::Output { .. }) => {}
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => stale = true,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(msg) = tail_rx.recv() => {
                if let Some(t) = app.tail.as_mut() {
                    match msg {
                        TailMsg::Data(d) => t.output.push_bytes(&d),
                        TailMsg::Ended(why) => t.ended = Some(why),
                    }
                }
                dirty = true;
            }
            _ = tick.tick() => {
                // Job changes refresh within a tick; otherwise once a second (other processes' heartbeats).
                if stale || last_refresh.elapsed() >= Duration::from_secs(1) {
                    app.refresh();
                    stale = false;
                    last_refresh = Instant::now();
                    dirty = true;
                }
            }
        }
    }
    if let Some(stop) = tail_stop {
        let _ = stop.send(true);
    }
    Ok(())
}

fn perform(
    app: &mut App,
    effect: Effect,
    tail_tx: &mpsc::Sender<TailMsg>,
    tail_stop: &mut Option<watch::Sender<bool>>,
) {
    let deck = app.deck.clone();
    let result = match effect {
        Effect::Quit => Ok(()),
        Effect::Cancel(id) => deck.cancel(&id).map(|_| app.status = format!("cancel requested for job {id}")),
        Effect::Retry(id) => {
            deck.retry(&id, "console", None).map(|j| app.status = format!("job {id} retried as {}", j.id))
        }
        Effect::Run { alias, command } => deck
            .submit(&alias, JobSpec::Exec { command, timeout_ms: None }, "console", None)
            .map(|j| app.status = format!("job {} started on {alias}", j.id)),
        Effect::StopTail => {
            if let Some(stop) = tail_stop.take() {
                let _ = stop.send(true);
            }
            Ok(())
        }
        Effect::Tail { alias, path } => {
            if let Some(stop) = tail_stop.take() {
                let _ = stop.send(true);
            }
            let (stop, stopped) = watch::channel(false);
            *tail_stop = Some(stop);
            app.tail = Some(Tail { alias: alias.clone(), path: path.clone(), output: Lines::default(), ended: None });
            let tx = tail_tx.clone();
            tokio::spawn(async move {
                let opts = ExecOptions { timeout: None, cancel: Some(stopped), ..deck.exec_options() };
                let data_tx = tx.clone();
                let mut sink = move |_s, d: &[u8]| {
                    // A full channel means the screen cannot keep up: drop rather than block SSH.
                    let _ = data_tx.try_send(TailMsg::Data(d.to_vec()));
                };
                let why = match deck.exec(&alias, &tail_command(&path), opts, &mut sink).await {
                    Ok(o) => format!("stream ended (exit {})", o.exit_code.map_or("-".into(), |c| c.to_string())),
                    Err(e) if e.code() == "CANCELLED" => "stopped".to_string(),
                    Err(e) => format!("stream ended: {e}"),
                };
                let _ = tx.send(TailMsg::Ended(why)).await;
            });
            Ok(())
        }
    };
    if let Err(e) = result {
        app.mode = Mode::Error(format!("error[{}]: {e}", e.code()));
    }
}
