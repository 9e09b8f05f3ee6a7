//! The operator console: `sshdeck` with no subcommand. One loop over terminal events, job events,
//! remote tail output and a tick; drawing never waits on SSH or disk.

pub mod app;
mod clock;
mod help;
mod lines;
pub mod model;
pub mod ui;
mod views;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_audit;
#[cfg(test)]
mod tests_trust;
#[cfg(test)]
mod tests_tunnels;

use std::time::{Duration, Instant};

use anyhow::Result;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use sshdeck_core::Deck;
use sshdeck_core::exec::ExecOptions;
use sshdeck_core::jobs::JobSpec;
use tokio::sync::{broadcast, mpsc, watch};

use app::{App, Effect, Lines, Mode, ServerForm, Tail};
use sshdeck_core::servers::ServerConfig;

/// Messages from a running remote tail, tagged with the tail's id.
pub(crate) enum TailMsg {
    Data(u64, Vec<u8>),
    Ended(u64, String),
}

/// Running tails' stop switches, by tail id.
pub(crate) type Stops = std::collections::HashMap<u64, watch::Sender<bool>>;

/// The remote command that follows a log source (see [`sshdeck_core::ops::logs::follow`]).
pub fn tail_command(source: &str) -> String {
    sshdeck_core::ops::logs::follow(source)
}

pub async fn run(deck: Deck, readonly: bool) -> Result<()> {
    use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
    let mut terminal = ratatui::init();
    let _ = ratatui::crossterm::execute!(std::io::stdout(), EnableMouseCapture);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        previous(info);
    }));
    let result = run_loop(&mut terminal, deck, readonly).await;
    let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableMouseCapture);
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
    let mut events = deck.job_events();
    let (tail_tx, mut tail_rx) = mpsc::channel::<TailMsg>(4096);
    let mut stops = Stops::new();
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
                            perform(&mut app, effect, &tail_tx, &mut stops);
                        }
                    }
                    Event::Mouse(m) => {
                        if let Some(effect) = app.on_mouse(m) {
                            if effect == Effect::Quit {
                                break;
                            }
                            perform(&mut app, effect, &tail_tx, &mut stops);
                        }
                    }
                    _ => {}
                }
                dirty = true;
            }
            ev = events.recv() => match ev {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => stale = true,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(msg) = tail_rx.recv() => {
                let (id, data, ended) = match msg {
                    TailMsg::Data(id, d) => (id, Some(d), None),
                    TailMsg::Ended(id, why) => (id, None, Some(why)),
                };
                if let Some(t) = app.logs.tails.iter_mut().find(|t| t.id == id) {
                    if let Some(d) = data {
                        t.output.push_bytes(&d);
                    }
                    if ended.is_some() {
                        t.ended = ended;
                    }
                }
                dirty = true;
            }
            _ = tick.tick() => {
                if app.expire_status(Instant::now()) {
                    dirty = true;
                }
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
    for stop in stops.values() {
        let _ = stop.send(true);
    }
    Ok(())
}

pub(crate) fn perform(app: &mut App, effect: Effect, tail_tx: &mpsc::Sender<TailMsg>, stops: &mut Stops) {
    let deck = app.deck.clone();
    let result = match effect {
        Effect::Quit => Ok(()),
        Effect::Cancel(id) => deck.cancel(&id).map(|_| app.status = format!("cancel requested for job {id}")),
        Effect::Retry(id) => {
            deck.retry(&id, "console", None).map(|j| app.status = format!("job {id} retried as {}", j.id))
        }
        Effect::Run { alias, command } if sshdeck_core::fleet::is_fleet(std::slice::from_ref(&alias)) => deck
            .resolve_targets(std::slice::from_ref(&alias))
            .and_then(|hosts| {
                deck.submit_fleet(hosts, JobSpec::Exec { command, timeout_ms: None, read: false }, "console")
            })
            .map(|(j, hosts)| app.status = format!("job {} started on {} hosts ({alias})", j.id, hosts.len())),
        Effect::Run { alias, command } => deck
            .submit(&alias, JobSpec::Exec { command, timeout_ms: None, read: false }, "console", None)
            .map(|j| app.status = format!("job {} started on {alias}", j.id)),
        Effect::TestServer(alias) => deck
            .submit(
                &alias,
                JobSpec::Exec { command: "true".into(), timeout_ms: Some(15_000), read: true },
                "console",
                None,
            )
            .map(|j| app.status = format!("testing {alias}: job {} (see Jobs)", j.id)),
        Effect::RemoveServer(alias) => deck.remove_server(&alias).map(|_| {
            app.status = format!("server {alias} removed");
            app.refresh();
        }),
        Effect::SaveServer(form) => {
            if let Err(e) = save_server(app, &form) {
                // Keep what was typed; say what is wrong and where.
                let field = match &e {
                    sshdeck_core::Error::InvalidArgument(m) if m.starts_with("port") => Some(3),
                    sshdeck_core::Error::InvalidArgument(m) if m.contains("alias") => Some(0),
                    sshdeck_core::Error::InvalidArgument(m) if m.contains("host") => Some(1),
                    sshdeck_core::Error::InvalidArgument(m) if m.contains("user") => Some(2),
                    _ => None,
                };
                let mut form = form;
                if let Some(i) = field {
                    form.focus = i;
                }
                let why = match &e {
                    sshdeck_core::Error::InvalidArgument(m) => m.clone(),
                    other => format!("error[{}]: {other}", other.code()),
                };
                form.error = Some((field, why));
                app.mode = Mode::Server(form);
            }
            Ok(())
        }
        Effect::CheckApi(alias) => {
            let catalog = deck.api_catalog();
            catalog.get(&alias).map(|api| {
                app.status = format!("checking {alias}…");
                tokio::spawn(async move {
                    let r = sshdeck_core::apis::check_local(&api).await;
                    if let Err(e) = catalog.record(&alias, &r) {
                        tracing::warn!("cannot record the check of {alias}: {e}");
                    }
                });
            })
        }
        Effect::CloseTunnel(name) => {
            app.status = format!("closing tunnel {name}…");
            let notices = app.notices.clone();
            tokio::spawn(async move {
                let said = match deck.tunnel(sshdeck_core::tunnels::TunnelOp::Close { name: name.clone() }).await {
                    Ok(_) => format!("tunnel {name} closed"),
                    Err(e) => {
                        tracing::warn!("cannot close tunnel {name}: {e}");
                        format!("cannot close tunnel {name}: error[{}]: {e}", e.code())
                    }
                };
                *notices.lock().expect("lock") = Some(said);
            });
            Ok(())
        }
        Effect::StopTail => {
            if let Some(t) = app.logs.tails.get(app.logs.index) {
                if let Some(stop) = stops.remove(&t.id) {
                    let _ = stop.send(true);
                }
                app.logs.tails.remove(app.logs.index);
                app.logs.index = app.logs.index.min(app.logs.tails.len().saturating_sub(1));
            }
            Ok(())
        }
        Effect::Tail { alias, path } => {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (stop, stopped) = watch::channel(false);
            stops.insert(id, stop);
            app.logs.tails.push(Tail {
                id,
                alias: alias.clone(),
                path: path.clone(),
                // `tail -n` sends the file's last lines at once: those are not stamped with an arrival.
                output: Lines {
                    backlog_until: Some(sshdeck_core::jobs::now_ms() + TAIL_BACKLOG_MS),
                    ..Lines::default()
                },
                ended: None,
            });
            app.logs.index = app.logs.tails.len() - 1;
            let tx = tail_tx.clone();
            tokio::spawn(async move {
                let opts = ExecOptions { timeout: None, cancel: Some(stopped), ..deck.exec_options() };
                let data_tx = tx.clone();
                let mut sink = move |_s, d: &[u8]| {
                    // A full channel means the screen cannot keep up: drop rather than block SSH.
                    let _ = data_tx.try_send(TailMsg::Data(id, d.to_vec()));
                };
                let why = match deck.exec(&alias, &tail_command(&path), opts, &mut sink).await {
                    Ok(o) => format!("stream ended (exit {})", o.exit_code.map_or("-".into(), |c| c.to_string())),
                    Err(sshdeck_core::Error::Cancelled { .. }) => "stopped".to_string(),
                    Err(e) => format!("stream ended: {e}"),
                };
                let _ = tx.send(TailMsg::Ended(id, why)).await;
            });
            Ok(())
        }
    };
    if let Err(e) = result {
        app.mode = Mode::Error(format!("error[{}]: {e}", e.code()));
    }
}

/// How long after a tail starts its output counts as the file's existing lines.
const TAIL_BACKLOG_MS: u64 = 500;

/// Adds or updates a server from the form; an edit keeps the stored secrets and other settings.
fn save_server(app: &mut App, form: &ServerForm) -> sshdeck_core::Result<()> {
    let [alias, host, user, port, key, password] = &form.fields;
    let port: u16 = port
        .trim()
        .parse()
        .map_err(|_| sshdeck_core::Error::InvalidArgument(format!("port {port:?} is not a number")))?;
    let mut config = if form.editing { app.deck.server(alias.trim())?.config } else { ServerConfig::new("", "") };
    config.host = host.trim().to_string();
    config.user = user.trim().to_string();
    config.port = port;
    config.key_path = (!key.trim().is_empty()).then(|| sshdeck_core::servers::expand_tilde(key.trim()));
    if !password.is_empty() {
        config.password = Some(sshdeck_core::secret::Secret::new(password.clone()));
    }
    app.deck.add_server(alias.trim(), config, form.editing)?;
    app.status = format!("server {} saved", alias.trim());
    app.refresh();
    Ok(())
}
