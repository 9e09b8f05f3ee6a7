//! What the console's pieces share: the views, the modes (dialogs, prompts), and the effects keys ask
//! the loop to perform.

use sshdeck_core::jobs::JobId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Jobs,
    Detail,
    Servers,
    Pools,
    Logs,
    Apis,
    Tunnels,
    Audit,
}

impl View {
    pub const TABS: [(View, &'static str); 7] = [
        (View::Jobs, "1 Jobs"),
        (View::Servers, "2 Servers"),
        (View::Pools, "3 Pools"),
        (View::Logs, "4 Logs"),
        (View::Apis, "5 APIs"),
        (View::Tunnels, "6 Tunnels"),
        (View::Audit, "7 Audit"),
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
    CloseTunnel(String),
}

/// The add/edit server form. The password field is shown masked and never printed; left empty on an
/// edit, the stored password is kept.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ServerForm {
    pub fields: [String; 6],
    pub focus: usize,
    pub editing: bool,
    /// Why the last save failed, and the field at fault (when known): the form stays open with what
    /// was typed.
    pub error: Option<(Option<usize>, String)>,
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
            .field("error", &self.error)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Filter,
    Command(String),
    Confirm {
        title: String,
        lines: Vec<String>,
        effect: Effect,
        yes: bool,
    },
    /// A question with several answers besides Cancel (button 0); `selected` is the focused button.
    Choose {
        title: String,
        lines: Vec<String>,
        options: Vec<(String, Effect)>,
        selected: usize,
    },
    Run {
        alias: String,
        command: String,
        on_command: bool,
    },
    Server(ServerForm),
    Help,
    Error(String),
}

impl Mode {
    /// A key in a [`Mode::Choose`] dialog: ←/→/Tab move, Enter takes the focused button, `1`…`9` an
    /// answer, Esc or `n` cancels. Returns the mode that follows and the chosen effect.
    pub fn choose_key(self, key: ratatui::crossterm::event::KeyCode) -> (Mode, Option<Effect>) {
        use ratatui::crossterm::event::KeyCode;
        let Mode::Choose { title, lines, options, selected } = self else { return (self, None) };
        let n = options.len() + 1;
        let stay =
            |selected| Mode::Choose { title: title.clone(), lines: lines.clone(), options: options.clone(), selected };
        match key {
            KeyCode::Right | KeyCode::Tab | KeyCode::Char('l') => (stay((selected + 1) % n), None),
            KeyCode::Left | KeyCode::BackTab | KeyCode::Char('h') => (stay((selected + n - 1) % n), None),
            KeyCode::Enter if selected > 0 => (Mode::Normal, options.get(selected - 1).map(|o| o.1.clone())),
            KeyCode::Char(c @ '1'..='9') => match options.get(c as usize - '1' as usize) {
                Some(o) => (Mode::Normal, Some(o.1.clone())),
                None => (stay(selected), None),
            },
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n') => (Mode::Normal, None),
            _ => (stay(selected), None),
        }
    }

    /// Cancelling in a running fan-out: this host's job, or the whole fan-out?
    pub fn cancel_which(fanout: &sshdeck_core::jobs::Job, host: &sshdeck_core::jobs::Job) -> Mode {
        let alias = host.targets.first().cloned().unwrap_or_default();
        let running = fanout.targets.len();
        Mode::Choose {
            title: "Cancel what?".into(),
            lines: vec![
                format!("fan-out  {} on {running} hosts", fanout.id),
                format!("host     {alias}: job {}", host.id),
                format!("command  {}", fanout.spec.summary()),
            ],
            options: vec![
                (format!("Host {alias}"), Effect::Cancel(host.id.clone())),
                ("Whole fan-out".into(), Effect::Cancel(fanout.id.clone())),
            ],
            selected: 0,
        }
    }
}
