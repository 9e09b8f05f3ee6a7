//! Console frame time: drawing the Jobs view over 10,000 jobs, and a log tail receiving 5,000
//! lines per second. `cargo bench -p sshdeck --bench console`.
#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sshdeck_console::console::app::{App, Tail, View};
use sshdeck_console::console::ui;
use sshdeck_core::Deck;
use sshdeck_core::config::Settings;
use sshdeck_core::jobs::{Ending, JobResult, JobSpec, JobStatus};

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let _guard = rt.enter();
    let data = tempfile::tempdir()?;
    let env = HashMap::from([
        ("MCP_DATA_DIR".to_string(), data.path().display().to_string()),
        ("MAX_QUEUE_SIZE".to_string(), "100000".to_string()),
    ]);
    let deck = Deck::open(Settings::load_from(&env, Path::new("/nonexistent"))?, "bench")?;
    let t = Instant::now();
    for i in 0..10_000u32 {
        let spec = JobSpec::Exec {
            command: format!("deploy --step {i} && systemctl restart app-{}", i % 7),
            timeout_ms: None,
            read: false,
        };
        let j = deck.jobs().accept(spec, vec![format!("web{}", i % 20)], "bench", None)?;
        let status = if i % 10 == 0 { JobStatus::Failed } else { JobStatus::Completed };
        deck.jobs().finish(
            &j.id,
            status,
            JobResult::ended(Ending {
                exit_code: Some(u32::from(i % 10 == 0)),
                duration_ms: 1200,
                ..Default::default()
            }),
        )?;
    }
    println!("10,000 jobs recorded in {:.1}s", t.elapsed().as_secs_f64());

    let mut app = App::new(deck.clone(), false);
    let t = Instant::now();
    app.refresh();
    let refresh = t.elapsed();
    let mut term = Terminal::new(TestBackend::new(200, 50))?;
    let mut frames = Vec::new();
    for i in 0..300 {
        if i % 50 == 25 {
            app.on_key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
            app.on_key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
        }
        let t = Instant::now();
        term.draw(|f| ui::draw(f, &app))?;
        frames.push(t.elapsed());
    }
    report("Jobs view, 10,000 jobs, 200x50", &mut frames);
    println!(
        "refresh (re-read journal, registry, heartbeats) with 10,000 jobs: {:.2} ms (runs on ticks, not per frame)",
        refresh.as_secs_f64() * 1000.0
    );

    // A tail receiving 5,000 lines/s at 60 frames/s: ~84 lines between frames.
    app.view = View::Logs;
    app.logs.tails.push(Tail {
        id: 1,
        alias: "web1".into(),
        path: "/var/log/app.log".into(),
        output: Default::default(),
        ended: None,
    });
    let mut frames = Vec::new();
    let mut n = 0u64;
    let started = Instant::now();
    for _ in 0..300 {
        let tail = &mut app.logs.tails[0];
        for _ in 0..84 {
            n += 1;
            tail.output.push_bytes(
                format!("2026-11-21T17:00:00Z INFO request {n} GET /api/items?page={} 200 12ms\n", n % 50).as_bytes(),
            );
        }
        let t = Instant::now();
        term.draw(|f| ui::draw(f, &app))?;
        frames.push(t.elapsed());
    }
    report("Logs view, 5,000 lines/s (84 per frame)", &mut frames);
    println!(
        "tail buffer: {} lines kept, {} dropped, {n} received in {:.2}s of CPU",
        app.logs.tails[0].output.lines.len(),
        app.logs.tails[0].output.dropped,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn report(name: &str, v: &mut [Duration]) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} frame p50 {:.3} ms  p95 {:.3} ms  max {:.3} ms (target p95 < 16 ms)",
        ms(v[v.len() / 2]),
        ms(v[v.len() * 95 / 100]),
        ms(v[v.len() - 1])
    );
}
