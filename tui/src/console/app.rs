//! Console state and key handling. Keys change only view state and return an [`Effect`] for the loop
//! to perform; data is pulled from the deck by [`App::refresh`], never while drawing.

use std::collections::VecDeque;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sshdeck_core::Deck;
use sshdeck_core::apis::Api;
use sshdeck_core::jobs::{Filter, Job, JobId, JobStatus};
use sshdeck_core::jobs::{OutputFollower, ProcessInfo};
use sshdeck_core::servers::ServerSummary;

/// Lines kept by a log tail or a job's output view.
pub const MAX_LINES: usize = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Jobs,
    Detail,
    Servers,
    Pools,
    Logs,
    Apis,
}

impl View {
    pub const TABS: [(View, &'static str); 5] = [
        (View::Jobs, "1 Jobs"),
        (View::Servers, "2 Servers"),
        (View::Pools, "3 Pools"),
        (View::Logs, "4 Logs"),
        (View::Apis, "5 APIs"),
    ];
}

/// What the loop must do for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    Cancel(JobId),
    Retry(JobId),
    Run { alias: String, command: String },
    Tail { alias: String, path: String },
    StopTail,
    SaveServer(ServerForm),
    RemoveServer(String),
    TestServer(String),
    CheckApi(String),
}

/// The add/edit server form. The password field is shown masked and never printed; left empty on an
/// edit, the stored password is kept.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ServerForm {
    pub fields: [String; 6],
    pub focus: usize,
    pub editing: bool,
}

impl ServerForm {
    pub const LABELS: [&'static str; 6] = ["alias", "host", "user", "port", "key file", "password"];
    /// Index of the password field.
    pub const PASSWORD: usize = 5;
}

impl std::fmt::Debug for ServerForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerForm")
            .field("fields", &&self.fields[..Self::PASSWORD])
            .field("password", &if self.fields[Self::PASSWORD].is_empty() { "" } else { "***" })
            .field("focus", &self.focus)
            .field("editing", &self.editing)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Filter,
    Command(String),
    Confirm { title: String, lines: Vec<String>, effect: Effect, yes: bool },
    Run { alias: String, command: String, on_command: bool },
    Server(ServerForm),
    Help,
    Error(String),
}

/// A stream of lines (a job's output or a remote tail) with follow/scroll state.
#[derive(Debug, Default)]
pub struct Lines {
    pub lines: VecDeque<String>,
    /// When each line arrived (ms), for the timestamp toggle.
    pub times: VecDeque<u64>,
    pub show_times: bool,
    pub partial: String,
    pub dropped: u64,
    /// Lines from the bottom the view is scrolled up by; 0 follows the end.
    pub scroll: usize,
    pub search: Option<String>,
    pub wrap: bool,
}

impl Lines {
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        self.partial.push_str(&String::from_utf8_lossy(bytes));
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            self.push_line(line.trim_end_matches(['\n', '\r']).to_string());
        }
    }

    pub fn push_line(&mut self, line: String) {
        if self.lines.len() == MAX_LINES {
            self.lines.pop_front();
            self.times.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
        self.times.push_back(sshdeck_core::jobs::now_ms());
        if self.scroll > 0 {
            // Paused: keep the same lines on screen.
            self.scroll = (self.scroll + 1).min(self.lines.len());
        }
    }

    pub fn following(&self) -> bool {
        self.scroll == 0
    }

    fn key(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.scroll = (self.scroll + 1).min(self.lines.len()),
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageUp => self.scroll = (self.scroll + 20).min(self.lines.len()),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(20),
            KeyCode::Char('G') | KeyCode::End => self.scroll = 0,
            KeyCode::Char('g') | KeyCode::Home => self.scroll = self.lines.len(),
            KeyCode::Char('w') => self.wrap = !self.wrap,
            KeyCode::Char('t') => self.show_times = !self.show_times,
            KeyCode::Char('n') => self.jump_to_match(true),
            KeyCode::Char('N') => self.jump_to_match(false),
            _ => return false,
        }
        true
    }

    /// Scrolls to the next (older) or previous (newer) line matching the search.
    fn jump_to_match(&mut self, older: bool) {
        let Some(s) = self.search.clone().filter(|s| !s.is_empty()) else { return };
        let n = self.lines.len();
        let current = n.saturating_sub(1 + self.scroll);
        let found = if older {
            (0..current).rev().find(|&i| self.lines[i].contains(&s))
        } else {
            (current + 1..n).find(|&i| self.lines[i].contains(&s))
        };
        if let Some(i) = found {
            self.scroll = n - 1 - i;
        }
    }
}

pub struct Detail {
    pub job: Job,
    pub output: Lines,
    pub follower: OutputFollower,
    /// For a fan-out job: its per-host children, live (the fleet view).
    pub hosts: Vec<Job>,
}

pub struct Tail {
    pub id: u64,
    pub alias: String,
    pub path: String,
    pub output: Lines,
    pub ended: Option<String>,
}

pub struct App {
    pub deck: Deck,
    pub readonly: bool,
    pub view: View,
    pub mode: Mode,
    pub jobs: Vec<Job>,
    pub jobs_total: usize,
    pub selected: usize,
    pub filter: String,
    pub detail: Option<Detail>,
    pub servers: Vec<ServerSummary>,
    pub server_selected: usize,
    pub processes: Vec<ProcessInfo>,
    /// Remote tails, one per tab of the Logs view.
    pub tails: Vec<Tail>,
    pub tail_index: usize,
    /// The API catalog with each entry's last check.
    pub apis: Vec<(String, Api)>,
    pub api_selected: usize,
    pub status: String,
}

impl App {
    pub fn new(deck: Deck, readonly: bool) -> App {
        App {
            deck,
            readonly,
            view: View::Jobs,
            mode: Mode::Normal,
            jobs: Vec::new(),
            jobs_total: 0,
            selected: 0,
            filter: String::new(),
            detail: None,
            servers: Vec::new(),
            server_selected: 0,
            processes: Vec::new(),
            tails: Vec::new(),
            tail_index: 0,
            apis: Vec::new(),
            api_selected: 0,
            status: String::new(),
        }
    }

    /// Pulls fresh data from the deck (journal, registry, heartbeats, output files).
    pub fn refresh(&mut self) {
        // Per-host children of fan-outs are shown in their parent's fleet view, not in the table.
        match self.deck.jobs_page(&Filter { limit: 100_000, top_level: true, ..Default::default() }) {
            Ok(page) => {
                let f = self.filter.to_lowercase();
                self.jobs = page
                    .jobs
                    .into_iter()
                    .filter(|j| {
                        f.is_empty()
                            || j.id.as_str().contains(&f)
                            || j.status.as_str().contains(&f)
                            || j.targets.iter().any(|t| t.to_lowercase().contains(&f))
                            || j.spec.summary().to_lowercase().contains(&f)
                    })
                    .collect();
                self.jobs_total = page.total;
            }
            Err(e) => self.status = format!("cannot read jobs: {e}"),
        }
        self.selected = self.selected.min(self.jobs.len().saturating_sub(1));
        if let Ok(list) = self.deck.servers() {
            self.servers = list.iter().map(ServerSummary::from).collect();
            self.server_selected = self.server_selected.min(self.servers.len().saturating_sub(1));
        }
        self.processes = self.deck.processes();
        if let Ok(map) = self.deck.api_catalog().list() {
            self.apis = map.into_iter().collect();
            self.api_selected = self.api_selected.min(self.apis.len().saturating_sub(1));
        }
        if let Some(d) = self.detail.as_mut() {
            if let Ok(j) = self.deck.job(&d.job.id) {
                d.job = j;
            }
            if d.job.targets.len() > 1 {
                d.hosts = self.deck.fleet_children(&d.job);
            }
            let bytes = d.follower.poll();
            d.output.push_bytes(&bytes);
        }
    }

    pub fn selected_job(&self) -> Option<&Job> {
        match self.view {
            View::Detail => self.detail.as_ref().map(|d| &d.job),
            _ => self.jobs.get(self.selected),
        }
    }

    fn open_detail(&mut self) {
        let Some(job) = self.jobs.get(self.selected).cloned() else { return };
        let follower = self.deck.follow_output(&job.id, 0);
        self.detail = Some(Detail { job, output: Lines::default(), follower, hosts: Vec::new() });
        self.view = View::Detail;
        self.refresh();
    }

    fn confirm(&mut self, title: &str, job: &Job, effect: Effect) {
        let lines = vec![
            format!("job      {}", job.id),
            format!("target   {}", job.targets.join(", ")),
            format!("command  {}", job.spec.summary()),
        ];
        self.mode = Mode::Confirm { title: title.to_string(), lines, effect, yes: false };
    }

    /// Handles one key; returns what the loop must do, if anything.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Effect::Quit);
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.normal_key(key),
            Mode::Help | Mode::Error(_) => None,
            Mode::Filter => {
                match key.code {
                    KeyCode::Esc => {
                        self.filter.clear();
                        self.refresh();
                    }
                    KeyCode::Enter => {}
                    KeyCode::Backspace => {
                        self.filter.pop();
                        self.mode = Mode::Filter;
                        self.refresh();
                    }
                    KeyCode::Char(c) => {
                        self.filter.push(c);
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
        // Views that scroll lines take their keys first.
        let lines = match self.view {
            View::Detail => self.detail.as_mut().map(|d| &mut d.output),
            View::Logs => self.tails.get_mut(self.tail_index).map(|t| &mut t.output),
            _ => None,
        };
        if let Some(lines) = lines
            && lines.key(key)
        {
            return None;
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
            KeyCode::Char('c') if self.view == View::Apis => {
                if let Some((alias, _)) = self.apis.get(self.api_selected) {
                    return Some(Effect::CheckApi(alias.clone()));
                }
            }
            KeyCode::Tab => {
                let i = View::TABS.iter().position(|(v, _)| *v == self.view).map_or(0, |i| (i + 1) % View::TABS.len());
                self.view = View::TABS[i].0;
            }
            KeyCode::Esc | KeyCode::Backspace if self.view == View::Detail => self.view = View::Jobs,
            KeyCode::Up | KeyCode::Char('k') => self.move_selection(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
            KeyCode::Home | KeyCode::Char('g') => self.move_selection(-1_000_000),
            KeyCode::End | KeyCode::Char('G') => self.move_selection(1_000_000),
            KeyCode::Enter if self.view == View::Jobs => self.open_detail(),
            KeyCode::Char('c') if matches!(self.view, View::Jobs | View::Detail) && !self.readonly => {
                if let Some(job) = self.selected_job().cloned() {
                    if job.status.is_terminal() {
                        self.status = format!("job {} already {}", job.id, job.status.as_str());
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
                    View::Servers => self.servers.get(self.server_selected).map(|s| s.alias.clone()),
                    _ => self.selected_job().and_then(|j| j.targets.first().cloned()),
                }
                .or_else(|| self.servers.first().map(|s| s.alias.clone()))
                .unwrap_or_default();
                self.mode = Mode::Run { alias, command: String::new(), on_command: true };
            }
            KeyCode::Char('l') if self.view == View::Servers => {
                if let Some(s) = self.servers.get(self.server_selected) {
                    self.mode = Mode::Command(format!("logs {} /var/log/syslog", s.alias));
                }
            }
            KeyCode::Char('t') if self.view == View::Servers => {
                if let Some(s) = self.servers.get(self.server_selected) {
                    return Some(Effect::TestServer(s.alias.clone()));
                }
            }
            KeyCode::Char('a') if self.view == View::Servers && !self.readonly => {
                let mut form = ServerForm::default();
                form.fields[3] = "22".into();
                self.mode = Mode::Server(form);
            }
            KeyCode::Char('e') if self.view == View::Servers && !self.readonly => {
                if let Some(s) = self.servers.get(self.server_selected) {
                    let key = s.key_path.as_ref().map(|k| k.display().to_string()).unwrap_or_default();
                    let fields =
                        [s.alias.clone(), s.host.clone(), s.user.clone(), s.port.to_string(), key, String::new()];
                    self.mode = Mode::Server(ServerForm { fields, focus: 1, editing: true });
                }
            }
            KeyCode::Char('d') if self.view == View::Servers && !self.readonly => {
                if let Some(s) = self.servers.get(self.server_selected).cloned() {
                    let lines = vec![
                        format!("alias   {}", s.alias),
                        format!("target  {}@{}:{}", s.user, s.host, s.port),
                        "its pooled connections are closed; jobs on record stay".to_string(),
                    ];
                    let effect = Effect::RemoveServer(s.alias.clone());
                    self.mode = Mode::Confirm { title: "Remove this server?".into(), lines, effect, yes: false };
                }
            }
            KeyCode::Char('s') if self.view == View::Logs && !self.tails.is_empty() => return Some(Effect::StopTail),
            KeyCode::Char(']') if self.view == View::Logs && !self.tails.is_empty() => {
                self.tail_index = (self.tail_index + 1) % self.tails.len();
            }
            KeyCode::Char('[') if self.view == View::Logs && !self.tails.is_empty() => {
                self.tail_index = (self.tail_index + self.tails.len() - 1) % self.tails.len();
            }
            _ => {}
        }
        None
    }

    fn move_selection(&mut self, delta: i64) {
        let (sel, len) = match self.view {
            View::Servers => (&mut self.server_selected, self.servers.len()),
            View::Apis => (&mut self.api_selected, self.apis.len()),
            _ => (&mut self.selected, self.jobs.len()),
        };
        if len == 0 {
            return;
        }
        *sel = (*sel as i64 + delta).clamp(0, len as i64 - 1) as usize;
    }

    /// `:` commands.
    fn command(&mut self, text: &str) -> Option<Effect> {
        let mut words = text.split_whitespace();
        match words.next().unwrap_or("") {
            "q" | "quit" => return Some(Effect::Quit),
            "jobs" => self.view = View::Jobs,
            "servers" => self.view = View::Servers,
            "pools" => self.view = View::Pools,
            "apis" => self.view = View::Apis,
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
                    _ => self.tails.get_mut(self.tail_index).map(|t| &mut t.output),
                };
                if let Some(l) = lines {
                    l.search = (!s.is_empty()).then_some(s);
                    l.jump_to_match(true);
                }
            }
            "" => {}
            other => {
                self.mode = Mode::Error(format!(
                    "unknown command :{other} (try :jobs :servers :pools :apis :logs ALIAS PATH :q)"
                ))
            }
        }
        None
    }

    /// Key hints for the footer, for the current view and mode.
    pub fn hints(&self) -> String {
        let w = |ro: &'static str| if self.readonly { "" } else { ro };
        match (&self.mode, self.view) {
            (Mode::Filter, _) => "type to filter · Enter keep · Esc clear".into(),
            (Mode::Command(_), _) => ":jobs :servers :pools :logs ALIAS PATH :search TEXT :q · Enter · Esc".into(),
            (Mode::Confirm { .. }, _) => "←/→ choose · Enter confirm · y yes · n/Esc no".into(),
            (Mode::Run { .. }, _) => "Tab switch field · Enter run · Esc cancel".into(),
            (Mode::Server(_), _) => "Tab/↑/↓ field · Enter save · Esc cancel".into(),
            (Mode::Help | Mode::Error(_), _) => "any key closes".into(),
            (_, View::Jobs) => format!(
                "j/k move · Enter open · / filter{}{} · ? help · q quit",
                w(" · c cancel · r retry"),
                w(" · x run")
            ),
            (_, View::Detail) => {
                format!("↑/↓ scroll · G follow · / search · n/N next · w wrap{} · Esc back", w(" · c cancel · r retry"))
            }
            (_, View::Servers) => {
                format!("j/k move · t test · l tail a log{} · ? help", w(" · a add · e edit · d remove · x run"))
            }
            (_, View::Pools) => "live pool counters of every sshdeck process · ? help · q quit".into(),
            (_, View::Apis) => {
                "j/k move · c check now (from here) · add APIs with the MCP tool api_add · ? help".into()
            }
            (_, View::Logs) => {
                ":logs ALIAS PATH · [/] tail · ↑ pause · G follow · / search · n/N · w wrap · t time · s stop".into()
            }
        }
    }
}
