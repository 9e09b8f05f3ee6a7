//! Console state and key handling. Keys change only view state and return an [`Effect`] for the loop
//! to perform; data is pulled from the deck by [`App::refresh`], never while drawing.

mod input;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sshdeck_core::Deck;
use sshdeck_core::jobs::{Job, JobStatus};

pub use super::lines::{Lines, MAX_LINES};
pub use super::model::{Effect, Mode, ServerForm, View};
use super::views;
use super::views::apis::ApisView;
use super::views::audit::AuditView;
pub use super::views::detail::Detail;
use super::views::jobs::{JobsView, SortBy};
use super::views::logs::LogsView;
pub use super::views::logs::Tail;
use super::views::pools::PoolsView;
use super::views::servers::ServersView;
use super::views::tunnels::TunnelsView;

pub struct App {
    pub deck: Deck,
    pub readonly: bool,
    pub view: View,
    pub mode: Mode,
    pub jobs: JobsView,
    pub detail: Option<Detail>,
    pub servers: ServersView,
    pub pools: PoolsView,
    pub logs: LogsView,
    pub apis: ApisView,
    pub tunnels: TunnelsView,
    pub audit: AuditView,
    /// A one-line message; it clears on the next key and after [`STATUS_FOR`].
    pub status: String,
    /// The status as last seen and since when.
    status_seen: Option<(String, std::time::Instant)>,
    /// What background actions (a tunnel's close…) report when they end; shown as the status.
    pub notices: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

/// How long a status message stays.
pub const STATUS_FOR: std::time::Duration = std::time::Duration::from_secs(5);

impl App {
    pub fn new(deck: Deck, readonly: bool) -> App {
        App {
            deck,
            readonly,
            view: View::Jobs,
            mode: Mode::Normal,
            jobs: JobsView::default(),
            detail: None,
            servers: ServersView::default(),
            pools: PoolsView::default(),
            logs: LogsView::default(),
            apis: ApisView::default(),
            tunnels: TunnelsView::default(),
            audit: AuditView::default(),
            status: String::new(),
            notices: std::sync::Arc::default(),
            status_seen: None,
        }
    }

    /// Pulls fresh data from the deck (journal, registry, heartbeats, output files) into every view.
    pub fn refresh(&mut self) {
        if let Some(n) = self.notices.lock().expect("lock").take() {
            self.status = n;
        }
        if let Err(e) = self.jobs.refresh(&self.deck) {
            self.status = format!("cannot read jobs: {e}");
        }
        self.servers.refresh(&self.deck);
        self.jobs.empty_hint = match (self.readonly, self.servers.list.is_empty()) {
            (true, _) => "No jobs yet (read-only: jobs started elsewhere show here).",
            (false, true) => "No jobs yet. Add a server first: 2, then a; then x runs a command.",
            (false, false) => "No jobs yet. Press x to run a command.",
        };
        self.pools.refresh(&self.deck);
        self.apis.refresh(&self.deck);
        self.tunnels.refresh(&self.deck);
        if self.view == View::Audit {
            self.audit.refresh(&self.deck);
        }
        if let Some(d) = self.detail.as_mut() {
            d.refresh(&self.deck);
        }
    }

    pub fn selected_job(&self) -> Option<&Job> {
        match self.view {
            View::Detail => self.detail.as_ref().map(|d| &d.job),
            _ => self.jobs.selected_job(),
        }
    }

    fn open_detail(&mut self) {
        let Some(job) = self.jobs.selected_job().cloned() else { return };
        self.detail = Some(Detail::open(&self.deck, job));
        self.view = View::Detail;
        self.refresh();
    }

    /// In a running fan-out's detail, the selected host's job when it still runs.
    fn running_host(&self) -> Option<Job> {
        let d = self.detail.as_ref().filter(|_| self.view == View::Detail)?;
        d.hosts.get(d.host).filter(|h| !h.status.is_terminal()).cloned()
    }

    fn confirm(&mut self, title: &str, job: &Job, effect: Effect) {
        let lines = vec![
            format!("job      {}", job.id),
            format!("target   {}", job.targets.join(", ")),
            format!("command  {}", job.spec.summary()),
        ];
        self.mode = Mode::Confirm { title: title.to_string(), lines, effect, yes: false };
    }

    /// Clears a status message shown for [`STATUS_FOR`] by `now`; returns whether it did.
    pub fn expire_status(&mut self, now: std::time::Instant) -> bool {
        if self.status.is_empty() {
            self.status_seen = None;
            return false;
        }
        match &self.status_seen {
            Some((seen, since)) if *seen == self.status => {
                if now.duration_since(*since) >= STATUS_FOR {
                    self.status.clear();
                    self.status_seen = None;
                    return true;
                }
            }
            _ => self.status_seen = Some((self.status.clone(), now)),
        }
        false
    }

    /// Handles one key; returns what the loop must do, if anything.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Effect::Quit);
        }
        // A message answers the last action; the next one clears it.
        self.status.clear();
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.normal_key(key),
            Mode::Help | Mode::Error(_) => None,
            Mode::Filter => {
                match key.code {
                    KeyCode::Esc => {
                        self.jobs.filter.clear();
                        self.refresh();
                    }
                    KeyCode::Enter => {}
                    KeyCode::Backspace => {
                        self.jobs.filter.pop();
                        self.mode = Mode::Filter;
                        self.refresh();
                    }
                    KeyCode::Char(c) => {
                        self.jobs.filter.push(c);
                        self.mode = Mode::Filter;
                        self.refresh();
                    }
                    _ => self.mode = Mode::Filter,
                }
                None
            }
            Mode::Command(mut text) => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter => self.command(&text),
                KeyCode::Backspace => {
                    text.pop();
                    self.mode = Mode::Command(text);
                    None
                }
                KeyCode::Char(c) => {
                    text.push(c);
                    self.mode = Mode::Command(text);
                    None
                }
                _ => {
                    self.mode = Mode::Command(text);
                    None
                }
            },
            choose @ Mode::Choose { .. } => {
                let (mode, effect) = choose.choose_key(key.code);
                self.mode = mode;
                effect
            }
            Mode::Confirm { title, lines, effect, yes } => match key.code {
                KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::Char('h') | KeyCode::Char('l') => {
                    self.mode = Mode::Confirm { title, lines, effect, yes: !yes };
                    None
                }
                KeyCode::Char('y') => Some(effect),
                KeyCode::Enter if yes => Some(effect),
                KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n') => None,
                _ => {
                    self.mode = Mode::Confirm { title, lines, effect, yes };
                    None
                }
            },
            Mode::Server(mut form) => {
                match key.code {
                    KeyCode::Esc => return None,
                    KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % form.fields.len(),
                    KeyCode::BackTab | KeyCode::Up => {
                        form.focus = (form.focus + form.fields.len() - 1) % form.fields.len()
                    }
                    KeyCode::Enter => return Some(Effect::SaveServer(form)),
                    KeyCode::Backspace => {
                        form.fields[form.focus].pop();
                    }
                    KeyCode::Char(c) if !(form.editing && form.focus == 0) => form.fields[form.focus].push(c),
                    _ => {}
                }
                self.mode = Mode::Server(form);
                None
            }
            Mode::Run { mut alias, mut command, on_command } => {
                match key.code {
                    KeyCode::Esc => return None,
                    KeyCode::Tab => self.mode = Mode::Run { alias, command, on_command: !on_command },
                    KeyCode::Enter if on_command && !command.trim().is_empty() => {
                        let lines = vec![format!("target   {alias}"), format!("command  {command}")];
                        let effect = Effect::Run { alias, command };
                        self.mode = Mode::Confirm { title: "Run this command?".into(), lines, effect, yes: false };
                    }
                    KeyCode::Enter => self.mode = Mode::Run { alias, command, on_command: true },
                    KeyCode::Backspace => {
                        if on_command {
                            command.pop()
                        } else {
                            alias.pop()
                        };
                        self.mode = Mode::Run { alias, command, on_command };
                    }
                    KeyCode::Char(c) => {
                        if on_command {
                            command.push(c)
                        } else {
                            alias.push(c)
                        };
                        self.mode = Mode::Run { alias, command, on_command };
                    }
                    _ => self.mode = Mode::Run { alias, command, on_command },
                }
                None
            }
        }
    }

    fn normal_key(&mut self, key: KeyEvent) -> Option<Effect> {
        // A fan-out's detail: its host rows first.
        if self.view == View::Detail
            && let Some(d) = self.detail.as_mut()
            && let Some(open) = d.fleet_key(key)
        {
            if let Some(host) = open {
                let parent = d.job.clone();
                let mut child = Detail::open(&self.deck, host);
                child.back = Some(parent);
                self.detail = Some(child);
                self.refresh();
            }
            return None;
        }
        // Esc from a host's job goes back to its fan-out.
        if self.view == View::Detail
            && matches!(key.code, KeyCode::Esc | KeyCode::Backspace)
            && let Some(parent) = self.detail.as_mut().and_then(|d| d.back.take())
        {
            let host = self.detail.as_ref().map(|d| d.job.id.clone());
            let mut back = Detail::open(&self.deck, parent);
            self.detail = None;
            back.refresh(&self.deck);
            back.host = back.hosts.iter().position(|h| Some(&h.id) == host.as_ref()).unwrap_or(0);
            self.detail = Some(back);
            return None;
        }
        // Views that scroll lines take their keys first.
        let lines = match self.view {
            View::Detail => self.detail.as_mut().map(|d| &mut d.output),
            View::Logs => self.logs.current_mut().map(|t| &mut t.output),
            _ => None,
        };
        if let Some(lines) = lines
            && lines.key(key)
        {
            return None;
        }
        // Then the view's own keys.
        let own = match (self.view, key.code) {
            (View::Servers, KeyCode::Char('l' | 't' | 'a' | 'e' | 'd')) => Some(self.servers.key(key, self.readonly)),
            (View::Logs, KeyCode::Char('s' | '[' | ']')) => Some(self.logs.key(key)),
            (View::Apis, KeyCode::Char('c')) => Some(self.apis.key(key)),
            (View::Tunnels, KeyCode::Char('d')) => Some(self.tunnels.key(key, self.readonly)),
            _ => None,
        };
        if let Some(outcome) = own {
            if let Some(mode) = outcome.mode {
                self.mode = mode;
            }
            return outcome.effect;
        }
        match key.code {
            KeyCode::Char('q') => return Some(Effect::Quit),
            KeyCode::Char('?') => self.mode = Mode::Help,
            KeyCode::Char(':') => self.mode = Mode::Command(String::new()),
            KeyCode::Char('/') => match self.view {
                View::Jobs => self.mode = Mode::Filter,
                View::Detail | View::Logs => self.mode = Mode::Command("search ".into()),
                _ => {}
            },
            KeyCode::Char('1') => self.view = View::Jobs,
            KeyCode::Char('2') => self.view = View::Servers,
            KeyCode::Char('3') => self.view = View::Pools,
            KeyCode::Char('4') => self.view = View::Logs,
            KeyCode::Char('5') => self.view = View::Apis,
            KeyCode::Char('6') => self.view = View::Tunnels,
            KeyCode::Char('7') => {
                self.view = View::Audit;
                self.audit.refresh(&self.deck);
            }
            KeyCode::Tab => {
                let i = View::TABS.iter().position(|(v, _)| *v == self.view).map_or(0, |i| (i + 1) % View::TABS.len());
                self.view = View::TABS[i].0;
            }
            KeyCode::Esc | KeyCode::Backspace if self.view == View::Detail => self.view = View::Jobs,
            KeyCode::Esc if self.view == View::Jobs && !self.jobs.filter.is_empty() => {
                self.jobs.filter.clear();
                self.refresh();
            }
            KeyCode::Char(c @ ('T' | 'S' | 'A' | 'D')) if self.view == View::Jobs => {
                self.jobs.sort_by(match c {
                    'S' => SortBy::Status,
                    'A' => SortBy::Alias,
                    'D' => SortBy::Duration,
                    _ => SortBy::Time,
                });
            }
            KeyCode::Up | KeyCode::Char('k') => self.move_selection(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
            KeyCode::Home | KeyCode::Char('g') => self.move_selection(-1_000_000),
            KeyCode::End | KeyCode::Char('G') => self.move_selection(1_000_000),
            KeyCode::Enter if self.view == View::Jobs => self.open_detail(),
            KeyCode::Enter if self.view == View::Audit => match self.audit.selected_job().map(str::to_string) {
                Some(id) => match self.deck.job_by_text(&id) {
                    Ok(job) => {
                        self.detail = Some(Detail::open(&self.deck, job));
                        self.view = View::Detail;
                        self.refresh();
                    }
                    Err(e) => self.status = format!("job {id}: {e}"),
                },
                None => self.status = "this action ran no job".into(),
            },
            KeyCode::Char('c') if matches!(self.view, View::Jobs | View::Detail) && !self.readonly => {
                if let Some(job) = self.selected_job().cloned() {
                    if job.status.is_terminal() {
                        self.status = format!("job {} already {}", job.id, job.status.as_str());
                    } else if let Some(host) = self.running_host() {
                        self.mode = Mode::cancel_which(&job, &host);
                    } else {
                        self.confirm(
                            "Cancel this job? Its remote command is killed.",
                            &job,
                            Effect::Cancel(job.id.clone()),
                        );
                    }
                }
            }
            KeyCode::Char('r') if matches!(self.view, View::Jobs | View::Detail) && !self.readonly => {
                if let Some(job) = self.selected_job().cloned() {
                    if job.status.is_terminal() && job.status != JobStatus::Completed && job.retried_by.is_none() {
                        self.confirm("Run this job again?", &job, Effect::Retry(job.id.clone()));
                    } else {
                        self.status = format!("job {} cannot be retried ({})", job.id, job.status.as_str());
                    }
                }
            }
            KeyCode::Char('x') if !self.readonly => {
                let alias = match self.view {
                    View::Servers => self.servers.selected().map(|s| s.alias.clone()),
                    _ => self.selected_job().and_then(|j| j.targets.first().cloned()),
                }
                .or_else(|| self.servers.list.first().map(|s| s.alias.clone()))
                .unwrap_or_default();
                if self.servers.list.is_empty() {
                    self.status = "no server yet: press 2, then a to add one".into();
                } else {
                    self.mode = Mode::Run { alias, command: String::new(), on_command: true };
                }
            }
            _ => {}
        }
        None
    }

    fn move_selection(&mut self, delta: i64) {
        let (sel, len) = match self.view {
            View::Servers => (&mut self.servers.selected, self.servers.list.len()),
            View::Apis => (&mut self.apis.selected, self.apis.list.len()),
            View::Tunnels => (&mut self.tunnels.selected, self.tunnels.list.len()),
            View::Audit => (&mut self.audit.selected, self.audit.entries.len()),
            _ => return self.jobs.move_by(delta),
        };
        if len == 0 {
            return;
        }
        *sel = (*sel as i64 + delta).clamp(0, len as i64 - 1) as usize;
    }

    /// Key hints for the footer, for the current view and mode.
    pub fn hints(&self) -> String {
        match (&self.mode, self.view) {
            (Mode::Filter, _) => "type to filter · Enter keep · Esc clear".into(),
            (Mode::Command(_), _) => {
                ":jobs :servers :pools :apis :tunnels :audit :logs ALIAS PATH :search TEXT :q · Enter · Esc".into()
            }
            (Mode::Confirm { .. }, _) => "←/→ choose · Enter confirm · y yes · n/Esc no".into(),
            (Mode::Choose { .. }, _) => "←/→ choose · Enter confirm · 1/2 answer · n/Esc no".into(),
            (Mode::Run { .. }, _) => "Tab switch field · Enter run · Esc cancel".into(),
            (Mode::Server(_), _) => "Tab/↑/↓ field · Enter save · Esc cancel".into(),
            (Mode::Help | Mode::Error(_), _) => "any key closes".into(),
            (_, View::Jobs) => views::jobs::hints(self.readonly),
            (_, View::Detail) if self.detail.as_ref().is_some_and(|d| !d.hosts.is_empty()) => {
                views::detail::fleet_hints(self.readonly)
            }
            (_, View::Detail) => views::detail::hints(self.readonly),
            (_, View::Servers) => views::servers::hints(self.readonly),
            (_, View::Pools) => views::pools::hints(),
            (_, View::Apis) => views::apis::hints(),
            (_, View::Tunnels) => views::tunnels::hints(self.readonly),
            (_, View::Audit) => views::audit::hints(),
            (_, View::Logs) => views::logs::hints(),
        }
    }
}
