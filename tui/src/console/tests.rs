//! Snapshot tests of every view (TestBackend + insta) and key-driven flows.

use std::collections::HashMap;
use std::path::Path;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::jobs::{Ending, JobResult, JobSpec, JobStatus};
use sshdeck_core::notes::NotePatch;
use sshdeck_core::servers::ServerConfig;

use super::app::{App, Effect, Mode, View};
use super::ui;

pub(super) fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// A deck on a fresh data dir with two servers and jobs in several states (recorded directly, no SSH).
pub(super) fn app(data: &Path) -> App {
    super::clock::use_utc();
    let env = HashMap::from([("MCP_DATA_DIR".to_string(), data.display().to_string())]);
    let deck = Deck::open(Settings::load_from(&env, Path::new("/nonexistent")).unwrap(), "test").unwrap();
    deck.add_server(
        "web1",
        ServerConfig { tags: vec!["web".into()], ..ServerConfig::new("10.0.0.11", "deploy") },
        false,
    )
    .unwrap();
    deck.add_server("db", ServerConfig { port: 2222, ..ServerConfig::new("10.0.0.12", "ops") }, false).unwrap();
    let note = NotePatch { note: Some("php-fpm behind nginx; deploy with ./deploy.sh".into()), ..NotePatch::default() };
    deck.notes().set("web1", note).unwrap();
    let jobs = deck.jobs();
    for (cmd, status, code) in [
        ("uptime", JobStatus::Completed, Some(0)),
        ("systemctl restart nginx", JobStatus::Failed, Some(3)),
        ("./deploy.sh --prod", JobStatus::Running, None),
    ] {
        let j = jobs
            .accept(
                JobSpec::Exec { command: cmd.into(), timeout_ms: None, read: false },
                vec!["web1".into()],
                "test",
                None,
            )
            .unwrap();
        jobs.start(&j.id, 1).unwrap();
        if status.is_terminal() {
            jobs.finish(
                &j.id,
                status,
                JobResult::ended(Ending { exit_code: code, duration_ms: 1234, ..Default::default() }),
            )
            .unwrap();
        }
        std::fs::write(jobs.output_path(&j.id), format!("output of {cmd}\nline two\n")).unwrap();
    }
    let mut app = App::new(deck, false);
    app.refresh();
    app
}

pub(super) fn render(app: &App, w: u16, h: u16) -> String {
    super::clock::use_utc();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::draw(f, app)).unwrap();
    format!("{}", t.backend())
}

pub(super) fn snapshot(name: &str, screen: String) {
    insta::with_settings!({filters => vec![
        (r"\b[0-9a-hjkmnp-tv-z]{13}\b", "[JOBID]"),
        (r"\d\d:\d\d:\d\d", "[TIME]"),
        (r"\d{4}-\d\d-\d\d", "[DATE]"),
        // A pid's length moves the padding after it: swallow both.
        (r"pid \d+\) *", "pid [PID]) "),
        (r"(test|sshdeck\S*) \d+ +", "$1 [PID] "),
        (r"\b\d+s\b", "[SECS]"),
    ]}, {
        insta::assert_snapshot!(name, screen);
    });
}

#[tokio::test]
async fn views_render() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    snapshot("jobs", render(&app, 100, 12));
    app.view = View::Servers;
    snapshot("servers", render(&app, 100, 8));
    // The selected server's note shows on the frame's bottom edge.
    app.servers.selected = app.servers.list.iter().position(|s| s.alias == "web1").unwrap();
    let screen = render(&app, 100, 8);
    assert!(screen.contains("note: php-fpm behind nginx; deploy with ./deploy.sh"), "{screen}");
    snapshot("servers_note", screen);
    app.servers.selected = 0;
    app.view = View::Pools;
    snapshot("pools", render(&app, 100, 8));
    app.view = View::Logs;
    snapshot("logs_empty", render(&app, 100, 6));
    app.view = View::Jobs;
    app.on_key(key(KeyCode::Enter));
    snapshot("detail", render(&app, 100, 16));
    app.on_key(key(KeyCode::Char('?')));
    snapshot("help", render(&app, 60, 20));
}

#[tokio::test]
async fn empty_narrow_and_zero_size_do_not_panic() {
    let data = tempfile::tempdir().unwrap();
    let env = HashMap::from([("MCP_DATA_DIR".to_string(), data.path().display().to_string())]);
    let deck = Deck::open(Settings::load_from(&env, Path::new("/nonexistent")).unwrap(), "test").unwrap();
    let mut app = App::new(deck, true);
    app.refresh();
    snapshot("empty_readonly", render(&app, 80, 6));
    let full = self::app(data.path());
    snapshot("narrow", render(&full, 40, 12));
    // Drawing must not panic at any size (TestBackend's own Display cannot print width 0).
    for (w, h) in [(0, 0), (0, 5), (1, 1), (9, 2), (40, 3)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| ui::draw(f, &full)).unwrap();
    }
}

#[tokio::test]
async fn filter_open_and_cancel_with_confirmation() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    assert_eq!(app.jobs.list.len(), 3);
    app.on_key(key(KeyCode::Char('/')));
    for c in "deploy".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.jobs.list.len(), 1, "filtered to the deploy job");
    let running = app.jobs.list[0].id.clone();

    // Cancel asks first, shows the exact command and target, and defaults to Cancel.
    assert_eq!(app.on_key(key(KeyCode::Char('c'))), None);
    let Mode::Confirm { lines, yes, .. } = &app.mode else { panic!("{:?}", app.mode) };
    assert!(!yes);
    assert!(lines.iter().any(|l| l.contains("./deploy.sh --prod")) && lines.iter().any(|l| l.contains("web1")));
    snapshot("confirm_cancel", render(&app, 72, 12));
    assert_eq!(app.on_key(key(KeyCode::Enter)), None, "Enter on the default does nothing");
    assert_eq!(app.mode, Mode::Normal);
    app.on_key(key(KeyCode::Char('c')));
    app.on_key(key(KeyCode::Right));
    assert_eq!(app.on_key(key(KeyCode::Enter)), Some(Effect::Cancel(running)));

    // Open the job: its output follows; scrolling up pauses, G resumes.
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.view, View::Detail);
    let out = &app.detail.as_ref().unwrap().output;
    assert_eq!(out.lines.iter().cloned().collect::<Vec<_>>(), ["output of ./deploy.sh --prod", "line two"]);
    app.on_key(key(KeyCode::Up));
    assert!(!app.detail.as_ref().unwrap().output.following());
    app.on_key(key(KeyCode::Char('G')));
    assert!(app.detail.as_ref().unwrap().output.following());
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.view, View::Jobs);

    // Read-only: no actions at all.
    app.readonly = true;
    assert_eq!(app.on_key(key(KeyCode::Char('c'))), None);
    assert_eq!(app.mode, Mode::Normal);
    app.on_key(key(KeyCode::Char('x')));
    assert_eq!(app.mode, Mode::Normal);
}

#[tokio::test]
async fn log_tail_buffer_search_and_commands() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    assert_eq!(
        app.on_key(key(KeyCode::Char(':'))).or_else(|| {
            for c in "logs web1 /var/log/syslog".chars() {
                app.on_key(key(KeyCode::Char(c)));
            }
            app.on_key(key(KeyCode::Enter))
        }),
        Some(Effect::Tail { alias: "web1".into(), path: "/var/log/syslog".into() })
    );
    app.logs.tails.push(super::app::Tail {
        id: 1,
        alias: "web1".into(),
        path: "/var/log/syslog".into(),
        output: Default::default(),
        ended: None,
    });
    let t = &mut app.logs.tails[0];
    for i in 0..(super::app::MAX_LINES + 10) {
        t.output.push_bytes(format!("line {i} {}\n", if i % 1000 == 0 { "ERROR" } else { "ok" }).as_bytes());
    }
    assert_eq!((t.output.lines.len(), t.output.dropped), (super::app::MAX_LINES, 10), "bounded, drops counted");
    t.ended = Some("stream ended (exit 0)".into());
    app.view = View::Logs;
    app.on_key(key(KeyCode::Char('/')));
    for c in "ERROR".chars() {
        if let Mode::Command(s) = &mut app.mode {
            s.push(c);
        }
    }
    app.on_key(key(KeyCode::Enter));
    let out = &app.logs.tails[0].output;
    assert!(!out.following(), "a search jumps to the match and pauses");
    let screen = render(&app, 80, 10);
    assert!(screen.contains("ERROR") && screen.contains("stream ended") && screen.contains("paused"), "{screen}");
    assert!(super::tail_command("journal:nginx").starts_with("journalctl -f"));
    assert_eq!(super::tail_command("/var/log/a b.log"), "tail -n 200 -F -- '/var/log/a b.log'");
    assert_eq!(super::tail_command("docker:web; rm -rf /"), "docker logs -f --tail 200 -- 'web; rm -rf /'");
    app.on_key(key(KeyCode::Char(':')));
    if let Mode::Command(s) = &mut app.mode {
        s.push_str("bogus");
    }
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.mode, Mode::Error(_)));
}

pub(super) fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
}

/// Opens the add-server form and types `values` into its fields in order (Tab between them).
fn fill_server_form(app: &mut App, values: &[&str]) {
    app.on_key(key(KeyCode::Char('a')));
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            app.on_key(key(KeyCode::Tab));
        }
        type_text(app, v);
    }
}

#[tokio::test]
async fn server_form_add_edit_remove_and_test() {
    use sshdeck_core::secret::Secret;
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let mut stops = super::Stops::new();
    app.view = View::Servers;

    fill_server_form(&mut app, &["web2", "10.0.0.13", "deploy"]);
    snapshot("server_form", render(&app, 80, 12));
    let effect = app.on_key(key(KeyCode::Enter)).expect("save");
    super::perform(&mut app, effect, &tx, &mut stops);
    let saved = app.deck.server("web2").unwrap().config;
    assert_eq!((saved.host.as_str(), saved.user.as_str(), saved.port), ("10.0.0.13", "deploy", 22));

    // Edit keeps the stored secret.
    let mut with_pw = saved.clone();
    with_pw.password = Some(Secret::new("Console-Pw-9"));
    app.deck.add_server("web2", with_pw, true).unwrap();
    app.refresh();
    app.servers.selected = app.servers.list.iter().position(|s| s.alias == "web2").unwrap();
    app.on_key(key(KeyCode::Char('e')));
    for _ in 0.."10.0.0.13".len() {
        app.on_key(key(KeyCode::Backspace));
    }
    type_text(&mut app, "10.0.0.99");
    let effect = app.on_key(key(KeyCode::Enter)).unwrap();
    super::perform(&mut app, effect, &tx, &mut stops);
    let edited = app.deck.server("web2").unwrap().config;
    assert_eq!(edited.host, "10.0.0.99");
    assert_eq!(edited.password.unwrap().expose(), "Console-Pw-9", "editing keeps the password");

    // A bad port keeps the form open with what was typed, says why and marks the port field.
    app.on_key(key(KeyCode::Char('a')));
    type_text(&mut app, "x");
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Tab));
    type_text(&mut app, "abc");
    let effect = app.on_key(key(KeyCode::Enter)).unwrap();
    super::perform(&mut app, effect, &tx, &mut stops);
    let Mode::Server(form) = &app.mode else { panic!("{:?}", app.mode) };
    assert_eq!((form.fields[0].as_str(), form.fields[3].as_str(), form.focus), ("x", "22abc", 3), "{form:?}");
    assert!(form.error.as_ref().is_some_and(|(f, m)| *f == Some(3) && m.contains("port")), "{form:?}");
    let screen = render(&app, 80, 16);
    assert!(screen.contains("22abc") && screen.contains("is not a number"), "{screen}");
    app.on_key(key(KeyCode::Esc));

    assert_eq!(app.on_key(key(KeyCode::Char('t'))), Some(Effect::TestServer("web2".into())));
    app.on_key(key(KeyCode::Char('d')));
    let Mode::Confirm { lines, .. } = &app.mode else { panic!("{:?}", app.mode) };
    assert!(lines[0].contains("web2"));
    app.on_key(key(KeyCode::Right));
    let effect = app.on_key(key(KeyCode::Enter)).unwrap();
    super::perform(&mut app, effect, &tx, &mut stops);
    assert_eq!(app.deck.server("web2").unwrap_err().code(), "NOT_FOUND");
}

#[tokio::test]
async fn several_tails_and_timestamps() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    app.view = View::Logs;
    for (id, path) in [(1, "/var/log/a.log"), (2, "/var/log/b.log")] {
        app.logs.tails.push(super::app::Tail {
            id,
            alias: "web1".into(),
            path: path.into(),
            output: Default::default(),
            ended: None,
        });
    }
    app.logs.tails[0].output.push_bytes(b"from a\n");
    app.logs.tails[1].output.push_bytes(b"from b\n");
    app.logs.index = 0;
    assert!(render(&app, 80, 6).contains("[1/2] web1:/var/log/a.log"));
    app.on_key(key(KeyCode::Char(']')));
    let screen = render(&app, 80, 6);
    assert!(screen.contains("[2/2]") && screen.contains("from b"), "{screen}");
    app.on_key(key(KeyCode::Char('t')));
    let screen = render(&app, 80, 6);
    assert!(regex_like_time(&screen), "timestamps shown: {screen}");
}

fn regex_like_time(s: &str) -> bool {
    s.as_bytes().windows(8).any(|w| {
        w[2] == b':' && w[5] == b':' && w.iter().enumerate().all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apis_view_shows_the_catalog_and_checks_on_c() {
    use sshdeck_core::apis::{Api, Catalog};
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    app.view = View::Apis;
    snapshot("apis_empty", render(&app, 100, 6));

    let http = sshdeck_testkit::http::HttpServer::start(&[]).unwrap();
    let catalog = Catalog::new(app.deck.data_dir());
    catalog.add("billing", Api::new(format!("{}/status/503", http.url()))).unwrap();
    catalog.add("main", Api::new(format!("{}/ok", http.url()))).unwrap();
    app.refresh();
    assert_eq!(app.apis.list.len(), 2);
    app.on_key(key(KeyCode::Down));
    let effect = app.on_key(key(KeyCode::Char('c'))).expect("c checks the selected API");
    assert_eq!(effect, Effect::CheckApi("main".into()));
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    let mut stops = super::Stops::new();
    super::perform(&mut app, effect, &tx, &mut stops);
    super::perform(&mut app, Effect::CheckApi("billing".into()), &tx, &mut stops);
    // The checks run in the background and land in apis.json; the next refresh shows them.
    for _ in 0..100 {
        app.refresh();
        if app.apis.list.iter().all(|(_, a)| a.last_check.is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status: Vec<_> =
        app.apis.list.iter().map(|(n, a)| (n.as_str(), a.last_check.as_ref().map(|c| c.status.clone()))).collect();
    assert_eq!(status, [("billing", Some("DOWN".to_string())), ("main", Some("UP".to_string()))]);
    let screen = render(&app, 120, 8);
    assert!(screen.contains("UP") && screen.contains("DOWN") && screen.contains("503"), "{screen}");
}

#[tokio::test]
async fn fleet_view_shows_one_row_per_host_live() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    let before = app.jobs.total;
    let jobs = app.deck.jobs().clone();
    let spec = JobSpec::Exec { command: "uptime".into(), timeout_ms: None, read: false };
    let (parent, children) = jobs.accept_fleet(spec, vec!["web1".into(), "db".into(), "web3".into()], "test").unwrap();
    jobs.start(&parent.id, 1).unwrap();
    jobs.start(&children[0].id, 1).unwrap();
    jobs.finish(
        &children[0].id,
        JobStatus::Completed,
        JobResult::ended(Ending { exit_code: Some(0), duration_ms: 800, ..Default::default() }),
    )
    .unwrap();
    jobs.start(&children[1].id, 1).unwrap();
    let failed = JobResult::ended(Ending::error("CONNECTION_FAILED", "refused"));
    jobs.finish(&children[1].id, JobStatus::Failed, failed).unwrap();
    app.refresh();
    assert_eq!(app.jobs.total, before + 1, "children are not rows of the jobs table");
    assert_eq!(app.jobs.list[0].id, parent.id);
    // The selection stays on the job it was on when new ones arrive: go to the top first.
    app.on_key(key(KeyCode::Char('g')));
    app.on_key(key(KeyCode::Enter));
    snapshot("fleet", render(&app, 90, 16));
    // Live: a host finishing shows on the next refresh.
    jobs.start(&children[2].id, 1).unwrap();
    jobs.finish(
        &children[2].id,
        JobStatus::Completed,
        JobResult::ended(Ending { exit_code: Some(0), duration_ms: 500, ..Default::default() }),
    )
    .unwrap();
    app.refresh();
    let screen = render(&app, 90, 16);
    assert!(screen.contains("Hosts: 3/3 done · 2 ok · 1 failed"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_dialog_on_a_tag_starts_a_fan_out() {
    let sshd = sshdeck_testkit::Sshd::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let env = HashMap::from([("MCP_DATA_DIR".to_string(), data.path().display().to_string())]);
    let deck = Deck::open(Settings::load_from(&env, Path::new("/nonexistent")).unwrap(), "test").unwrap();
    for alias in ["a1", "a2"] {
        let config = ServerConfig {
            port: sshd.port(),
            key_path: Some(sshd.keys().ed25519.clone()),
            tags: vec!["lab".into()],
            ..ServerConfig::new(sshd.host(), sshd.user())
        };
        deck.add_server(alias, config, false).unwrap();
    }
    let mut app = App::new(deck.clone(), false);
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    let mut stops = super::Stops::new();
    super::perform(&mut app, Effect::Run { alias: "tag:lab".into(), command: "echo hi".into() }, &tx, &mut stops);
    assert!(app.status.contains("started on 2 hosts"), "{}", app.status);
    app.refresh();
    let parent = app.jobs.list[0].clone();
    assert_eq!(parent.targets, ["a1", "a2"]);
    let done = deck.wait(&parent.id, Some(std::time::Duration::from_secs(20))).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.result.unwrap().fleet.unwrap().groups[0].aliases, ["a1", "a2"]);
}

#[tokio::test]
async fn server_form_takes_a_password_without_ever_showing_it() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let mut stops = super::Stops::new();
    app.view = View::Servers;
    fill_server_form(&mut app, &["pw1", "10.0.0.21", "ops", "", "", "Hunter-Pw-77"]);
    let screen = render(&app, 80, 14);
    assert!(!screen.contains("Hunter-Pw-77") && screen.contains("••••••••••••"), "{screen}");
    assert!(!format!("{:?}", app.mode).contains("Hunter"), "the form's Debug hides the password");
    let effect = app.on_key(key(KeyCode::Enter)).unwrap();
    assert!(!format!("{effect:?}").contains("Hunter"));
    super::perform(&mut app, effect, &tx, &mut stops);
    let saved = app.deck.server("pw1").unwrap().config;
    assert_eq!(saved.password.as_ref().unwrap().expose(), "Hunter-Pw-77");
    assert_eq!(saved.auth_kind(), "password");

    // An edit with the field left empty keeps it; typing replaces it.
    app.refresh();
    app.servers.selected = app.servers.list.iter().position(|s| s.alias == "pw1").unwrap();
    app.on_key(key(KeyCode::Char('e')));
    assert!(render(&app, 80, 14).contains("(unchanged)"));
    let effect = app.on_key(key(KeyCode::Enter)).unwrap();
    super::perform(&mut app, effect, &tx, &mut stops);
    assert_eq!(app.deck.server("pw1").unwrap().config.password.unwrap().expose(), "Hunter-Pw-77");
    app.on_key(key(KeyCode::Char('e')));
    for _ in 0..4 {
        app.on_key(key(KeyCode::Tab));
    }
    type_text(&mut app, "New-Pw-88");
    let effect = app.on_key(key(KeyCode::Enter)).unwrap();
    super::perform(&mut app, effect, &tx, &mut stops);
    assert_eq!(app.deck.server("pw1").unwrap().config.password.unwrap().expose(), "New-Pw-88");
}
