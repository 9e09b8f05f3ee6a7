//! The Audit view: the trail newest first, read again when it grows, `Enter` opening the job an
//! action ran.

use ratatui::crossterm::event::KeyCode;
use serde_json::json;
use sshdeck_core::audit::Entry;

use super::app::View;
use super::tests::{app, key, render};

#[tokio::test]
async fn audit_view_lists_the_trail_and_opens_an_actions_job() {
    let data = tempfile::tempdir().unwrap();
    let mut app = app(data.path());
    app.on_key(key(KeyCode::Char('7')));
    assert_eq!(app.view, View::Audit);
    let screen = render(&app, 110, 6);
    assert!(screen.contains("Audit (0)") && screen.contains("No audited action yet"), "{screen}");

    let job = app.jobs.list[0].clone();
    let trail = app.deck.audit();
    let mut ran = Entry::now("mcp", "agent-ci", "task_exec", vec!["web1".into()], json!({"cmd": "uptime"}));
    ran.job = Some(job.id.to_string());
    trail.record(&ran).unwrap();
    let mut refused = Entry::now("cli", "marie", "servers remove", vec!["db".into()], json!({}));
    refused.result = "NOT_FOUND".into();
    trail.record(&refused).unwrap();
    app.refresh();
    let screen = render(&app, 120, 7);
    for want in ["Audit (2)", "agent-ci", "task_exec", "web1", "servers remove", "NOT_FOUND", &job.id.to_string()] {
        assert!(screen.contains(want), "{want:?} not in\n{screen}");
    }
    let (first, second) = (screen.find("servers remove").unwrap(), screen.find("task_exec").unwrap());
    assert!(first < second, "newest first:\n{screen}");

    // The newest ran no job; the one below opens its job's detail.
    app.on_key(key(KeyCode::Enter));
    assert_eq!((app.view, app.status.as_str()), (View::Audit, "this action ran no job"));
    app.on_key(key(KeyCode::Char('j')));
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.view, View::Detail);
    assert_eq!(app.detail.as_ref().unwrap().job.id, job.id);
}
