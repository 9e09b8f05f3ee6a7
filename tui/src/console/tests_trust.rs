//! Key flows an operator must be able to trust: the selection stays on its job, dialogs keep their
//! buttons, messages go away, filters clear, long input stays visible.

use ratatui::crossterm::event::KeyCode;
use sshdeck_core::jobs::{JobSpec, JobStatus};

use super::app::{Effect, Mode, STATUS_FOR};
use super::tests::{app, key, render, type_text};

fn selected_command(app: &super::app::App) -> String {
    app.jobs.selected_job().map(|j| j.spec.summary()).unwrap_or_default()
}

#[tokio::test]
async fn the_selection_stays_on_its_job_across_new_jobs_sorts_and_filters() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    // Rows, newest first: deploy (running), restart (failed), uptime (completed). Select the failed job.
    app.on_key(key(KeyCode::Char('j')));
    assert_eq!(selected_command(&app), "systemctl restart nginx");
    let id = app.jobs.selected_job().unwrap().id.clone();
    // A new job arrives at the top: the selection stays on the same job, one row lower.
    let jobs = app.deck.jobs().clone();
    jobs.accept(
        JobSpec::Exec { command: "new one".into(), timeout_ms: None, read: false },
        vec!["db".into()],
        "t",
        None,
    )
    .unwrap();
    app.refresh();
    assert_eq!((app.jobs.selected_job().unwrap().id.clone(), app.jobs.selected), (id.clone(), 2));
    // Sorted by status, then by alias, then back: still the same job; the header says the order.
    for k in ['S', 'A', 'T'] {
        app.on_key(key(KeyCode::Char(k)));
        assert_eq!(app.jobs.selected_job().unwrap().id, id, "after {k}");
    }
    app.on_key(key(KeyCode::Char('S')));
    assert!(render(&app, 100, 10).contains("by status"), "{}", render(&app, 100, 10));
    // A filter that keeps it, then Esc clears the filter: still on it.
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "nginx");
    app.on_key(key(KeyCode::Enter));
    assert_eq!((app.jobs.list.len(), app.jobs.selected_job().unwrap().id.clone()), (1, id.clone()));
    app.on_key(key(KeyCode::Esc));
    assert!(app.jobs.filter.is_empty());
    assert_eq!(app.jobs.selected_job().unwrap().id, id);
    // The action names the job it acts on.
    app.on_key(key(KeyCode::Char('r')));
    let Mode::Confirm { lines, effect, .. } = &app.mode else { panic!("{:?}", app.mode) };
    assert!(lines[0].contains(id.as_str()) && *effect == Effect::Retry(id.clone()), "{lines:?}");
    // The position shows in the title.
    app.mode = Mode::Normal;
    let pos = app.jobs.selected + 1;
    assert!(render(&app, 100, 10).contains(&format!("Jobs ({pos}/4")), "{}", render(&app, 100, 10));
    assert_eq!(jobs.get(&id).unwrap().status, JobStatus::Failed);
}

#[tokio::test]
async fn a_confirm_dialog_keeps_both_buttons_when_its_command_wraps() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    app.on_key(key(KeyCode::Char('x')));
    let long = "for i in $(seq 1 100); do echo step $i; sleep 1; done; echo all steps are done now; exit 7";
    type_text(&mut app, long);
    // The field shows the end of the text being typed.
    let screen = render(&app, 80, 24);
    assert!(screen.contains("done now; exit 7"), "{screen}");
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.mode, Mode::Confirm { .. }));
    for (w, h) in [(80, 24), (40, 12), (30, 9)] {
        let screen = render(&app, w, h);
        assert!(screen.contains("Cancel") && screen.contains("Confirm"), "{w}x{h}:\n{screen}");
    }
}

#[tokio::test]
async fn status_messages_clear_on_the_next_key_or_after_a_few_seconds_and_hints_stay_visible() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    app.status = "testing demo: job 4n4p7 started on a server whose name is rather long indeed".into();
    let screen = render(&app, 80, 10);
    let footer = screen.lines().last().unwrap().to_string();
    assert!(footer.contains("? help · q quit") && footer.contains("testing demo"), "{footer}");
    let t0 = std::time::Instant::now();
    assert!(!app.expire_status(t0), "first seen");
    assert!(!app.expire_status(t0 + STATUS_FOR / 2));
    assert!(app.expire_status(t0 + STATUS_FOR + std::time::Duration::from_millis(1)));
    assert!(app.status.is_empty());
    app.status = "cancel requested".into();
    app.on_key(key(KeyCode::Char('j')));
    assert!(app.status.is_empty(), "the next key clears it");
}

#[tokio::test]
async fn a_wrapped_log_keeps_its_newest_line_in_view_and_a_failed_stream_is_not_followed() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    app.on_key(key(KeyCode::Char('4')));
    let mut output = super::app::Lines { wrap: true, ..Default::default() };
    for i in 1..=25 {
        output.push_line(format!("line {i:02} {}", "x".repeat(90)));
    }
    app.logs.tails.push(super::app::Tail {
        id: 1,
        alias: "web1".into(),
        path: "/var/log/app.log".into(),
        output,
        ended: None,
    });
    let screen = render(&app, 60, 14);
    assert!(screen.contains("line 25") && screen.contains("● follow"), "{screen}");
    assert!(!screen.contains("line 20"), "only what fits: {screen}");
    // More arrives: still the newest.
    app.logs.tails[0].output.push_line("line 26 the newest".into());
    let screen = render(&app, 60, 14);
    assert!(screen.contains("line 26 the newest"), "{screen}");
    // A stream that failed says so, and never "follow".
    app.logs.tails[0].ended = Some("stream ended: server not found: nosuch".into());
    let screen = render(&app, 60, 14);
    assert!(screen.contains("ended") && !screen.contains("● follow"), "{screen}");
}

#[tokio::test]
async fn a_fan_out_opens_one_host_with_its_output_and_shows_grouped_outputs() {
    use sshdeck_core::fleet::{FleetSummary, OutputGroup};
    use sshdeck_core::jobs::{Ending, JobResult};
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    let jobs = app.deck.jobs().clone();
    let spec = JobSpec::Exec { command: "cat /etc/motd".into(), timeout_ms: None, read: false };
    let (parent, children) = jobs.accept_fleet(spec, vec!["web1".into(), "db".into()], "test").unwrap();
    jobs.start(&parent.id, 1).unwrap();
    for (c, text) in children.iter().zip(["hello from web1\n", "hello from db\n"]) {
        jobs.start(&c.id, 1).unwrap();
        std::fs::write(jobs.output_path(&c.id), text).unwrap();
        jobs.finish(&c.id, JobStatus::Completed, JobResult::ended(Ending { exit_code: Some(0), ..Default::default() }))
            .unwrap();
    }
    let group = |a: &str, out: &str| OutputGroup {
        aliases: vec![a.into()],
        status: "completed".into(),
        exit_code: Some(0),
        output: out.into(),
        output_bytes: out.len() as u64,
        ..Default::default()
    };
    let summary = FleetSummary {
        total: 2,
        ok: 2,
        groups: vec![group("web1", "hello from web1\n"), group("db", "hello from db\n")],
        ..Default::default()
    };
    jobs.finish(&parent.id, JobStatus::Completed, JobResult { fleet: Some(summary), ..Default::default() }).unwrap();
    app.refresh();
    app.on_key(key(KeyCode::Char('g')));
    app.on_key(key(KeyCode::Enter));
    let screen = render(&app, 100, 30);
    assert!(
        screen.contains("grouped") && screen.contains("hello from db") && screen.contains("web1 (1 host)"),
        "{screen}"
    );
    // The second host, opened: its own job and output; Esc comes back to the fan-out on that host.
    app.on_key(key(KeyCode::Char('j')));
    app.on_key(key(KeyCode::Enter));
    let d = app.detail.as_ref().unwrap();
    assert_eq!(d.job.id, children[1].id);
    let screen = render(&app, 100, 30);
    assert!(screen.contains("hello from db") && !screen.contains("hello from web1"), "{screen}");
    app.on_key(key(KeyCode::Esc));
    let d = app.detail.as_ref().unwrap();
    assert_eq!((d.job.id.clone(), d.host), (parent.id.clone(), 1));
}

#[tokio::test]
async fn a_job_that_outlived_its_front_end_says_so() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    let jobs = app.deck.jobs().clone();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let spec = |c: &str| JobSpec::Exec { command: c.into(), timeout_ms: None, read: false };
    let orphan = jobs.accept_for(spec("sleep 600"), vec!["web1".into()], "cli", None, Some(dead)).unwrap();
    jobs.start(&orphan.id, 1).unwrap();
    let mine = jobs.accept_for(spec("sleep 601"), vec!["web1".into()], "cli", None, Some(std::process::id())).unwrap();
    jobs.start(&mine.id, 1).unwrap();
    app.refresh();
    let screen = render(&app, 120, 20);
    let line = |cmd: &str| screen.lines().find(|l| l.contains(cmd)).unwrap_or_default().to_string();
    assert!(line("sleep 600").contains("running ↗"), "{screen}");
    assert!(line("sleep 601").contains("running") && !line("sleep 601").contains('↗'), "{screen}");
    app.on_key(key(KeyCode::Char('g')));
    while super::app::App::selected_job(&app).map(|j| j.id.clone()) != Some(orphan.id.clone()) {
        app.on_key(key(KeyCode::Char('j')));
    }
    app.on_key(key(KeyCode::Enter));
    let screen = render(&app, 120, 20);
    assert!(screen.contains(&format!("from cli (pid {dead}, gone: the runner carries it on)")), "{screen}");
}

#[test]
fn times_are_those_of_arrival_and_none_for_lines_already_there() {
    let mut l = super::app::Lines { backlog_until: Some(u64::MAX), show_times: true, ..Default::default() };
    l.push_bytes(b"old 1\nold 2\n");
    l.backlog_until = None;
    l.push_line("new".into());
    assert_eq!((l.times[0], l.times[1]), (0, 0));
    assert!(l.times[2] > 0);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(40, 6)).unwrap();
    terminal.draw(|f| super::lines::draw_lines(f, &l, "Output", None, f.area())).unwrap();
    let screen = format!("{:?}", terminal.backend().buffer());
    assert!(screen.contains("········ old 1"), "{screen}");
    let now = crate::console::clock::time(l.times[2]);
    assert!(screen.contains(&format!("{now} new")), "{screen}");
}

#[tokio::test]
async fn cancelling_in_a_running_fan_out_asks_which_host_or_all() {
    use super::model::{Effect, Mode};
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    let jobs = app.deck.jobs().clone();
    let spec = JobSpec::Exec { command: "sleep 60".into(), timeout_ms: None, read: false };
    let (parent, children) = jobs.accept_fleet(spec, vec!["web1".into(), "db".into()], "test").unwrap();
    jobs.start(&parent.id, 1).unwrap();
    for c in &children {
        jobs.start(&c.id, 1).unwrap();
    }
    app.refresh();
    app.on_key(key(KeyCode::Char('g')));
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Char('j'))); // the second host, db
    app.on_key(key(KeyCode::Char('c')));
    assert!(matches!(app.mode, Mode::Choose { .. }), "{:?}", app.mode);
    for (w, h) in [(80, 24), (40, 12)] {
        let screen = render(&app, w, h);
        assert!(
            screen.contains("Cancel") && screen.contains("Host db") && screen.contains("Whole fan-out"),
            "every answer is on screen at {w}x{h}: {screen}"
        );
    }
    // Enter on the focused Cancel does nothing; → then Enter cancels the host; 2 the whole fan-out.
    assert_eq!(app.on_key(key(KeyCode::Enter)), None);
    app.on_key(key(KeyCode::Char('c')));
    app.on_key(key(KeyCode::Right));
    assert_eq!(app.on_key(key(KeyCode::Enter)), Some(Effect::Cancel(children[1].id.clone())));
    app.on_key(key(KeyCode::Char('c')));
    assert_eq!(app.on_key(key(KeyCode::Char('2'))), Some(Effect::Cancel(parent.id.clone())));
    // A host already finished: the ordinary question about the whole fan-out.
    jobs.finish(&children[1].id, JobStatus::Cancelled, Default::default()).unwrap();
    app.refresh();
    app.on_key(key(KeyCode::Char('c')));
    assert!(
        matches!(&app.mode, Mode::Confirm { effect: Effect::Cancel(id), .. } if *id == parent.id),
        "{:?}",
        app.mode
    );
}

#[tokio::test]
async fn a_click_selects_a_row_a_second_click_opens_it_and_the_wheel_scrolls() {
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mouse = |kind, row| MouseEvent { kind, column: 20, row, modifiers: KeyModifiers::NONE };
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    render(&app, 100, 12);
    // Screen rows: 0 tabs, 1 border, 2 column names, 3 first job, 4 second.
    app.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 4));
    assert_eq!(selected_command(&app), "systemctl restart nginx");
    app.on_mouse(mouse(MouseEventKind::ScrollDown, 4));
    assert_eq!(selected_command(&app), "uptime");
    app.on_mouse(mouse(MouseEventKind::ScrollUp, 4));
    render(&app, 100, 12);
    app.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 4));
    assert!(app.view == super::app::View::Detail, "a click on the selected row opens it");
    // Clicks below the rows select nothing.
    let data2 = tempfile::tempdir().unwrap();
    let mut other = super::tests::app(data2.path());
    render(&other, 100, 12);
    other.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 9));
    assert_eq!(other.jobs.selected, 0);
}

#[tokio::test]
async fn every_view_and_dialog_at_80x24_and_200x50() {
    use super::app::View;
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    app.logs.tails.push(super::app::Tail {
        id: 1,
        alias: "web1".into(),
        path: "/var/log/syslog".into(),
        output: super::app::Lines::default(),
        ended: None,
    });
    app.logs.tails[0].output.push_line("Dec  1 10:00:00 web1 nginx[42]: started".into());
    let mut shots: Vec<(String, String)> = Vec::new();
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        for (name, view) in [
            ("jobs", View::Jobs),
            ("servers", View::Servers),
            ("pools", View::Pools),
            ("logs", View::Logs),
            ("apis", View::Apis),
        ] {
            app.mode = Mode::Normal;
            app.view = view;
            shots.push((format!("{name}_{w}x{h}"), render(&app, w, h)));
        }
        app.view = View::Jobs;
        app.on_key(key(KeyCode::Enter));
        shots.push((format!("detail_{w}x{h}"), render(&app, w, h)));
        app.on_key(key(KeyCode::Char('c')));
        shots.push((format!("confirm_{w}x{h}"), render(&app, w, h)));
        app.mode = Mode::Normal;
        app.on_key(key(KeyCode::Char('?')));
        shots.push((format!("help_{w}x{h}"), render(&app, w, h)));
        app.mode = Mode::Normal;
        app.view = View::Jobs;
        app.on_key(key(KeyCode::Char('x')));
        shots.push((format!("run_{w}x{h}"), render(&app, w, h)));
        app.mode = Mode::Normal;
        app.view = View::Servers;
        app.on_key(key(KeyCode::Char('a')));
        shots.push((format!("server_form_{w}x{h}"), render(&app, w, h)));
        app.mode = Mode::Normal;
    }
    // Empty states.
    let empty = tempfile::tempdir().unwrap();
    let env = std::collections::HashMap::from([("MCP_DATA_DIR".to_string(), empty.path().display().to_string())]);
    let settings = sshdeck_core::config::Settings::load_from(&env, std::path::Path::new("/nonexistent")).unwrap();
    let mut bare = super::app::App::new(sshdeck_core::Deck::open(settings, "test").unwrap(), false);
    bare.refresh();
    for (name, view) in [("jobs", View::Jobs), ("servers", View::Servers), ("logs", View::Logs), ("apis", View::Apis)] {
        bare.view = view;
        shots.push((format!("empty_{name}_80x24"), render(&bare, 80, 24)));
    }
    for (name, screen) in shots {
        super::tests::snapshot(&format!("sizes_{name}"), screen);
    }
}
