//! Drawing: a pure function of [`App`]'s state. Works at any size, zero included.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};
use sshdeck_core::jobs::{Job, JobStatus, format_time, now_ms};
use sshdeck_core::servers::ServerSummary;

use super::app::{App, Lines, Mode, View};

pub fn status_color(s: JobStatus) -> Color {
    match s {
        JobStatus::Pending => Color::Gray,
        JobStatus::Running => Color::Cyan,
        JobStatus::Completed => Color::Green,
        JobStatus::Failed | JobStatus::Crashed => Color::Red,
        JobStatus::TimedOut => Color::Magenta,
        JobStatus::Cancelled => Color::Yellow,
    }
}

fn duration(j: &Job) -> String {
    match (&j.result, j.started_at) {
        (Some(r), _) if j.status != JobStatus::Crashed => format!("{:.2}s", r.duration_ms as f64 / 1000.0),
        (None, Some(start)) => format!("{}s", now_ms().saturating_sub(start) / 1000),
        _ => "-".into(),
    }
}

pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < 10 || area.height < 3 {
        return;
    }
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    draw_header(f, app, header);
    match app.view {
        View::Jobs => draw_jobs(f, app, body),
        View::Detail => draw_detail(f, app, body),
        View::Servers => draw_servers(f, app, body),
        View::Pools => draw_pools(f, app, body),
        View::Logs => draw_logs(f, app, body),
        View::Apis => draw_apis(f, app, body),
    }
    let footer_text = match &app.mode {
        Mode::Filter => format!("/{}", app.filter),
        Mode::Command(t) => format!(":{t}"),
        _ if !app.status.is_empty() => format!("{} · {}", app.status, app.hints()),
        _ => app.hints(),
    };
    f.render_widget(Paragraph::new(footer_text).style(Style::new().fg(Color::DarkGray)), footer);
    draw_popup(f, app, area);
}

fn draw_header(f: &mut Frame, app: &App, area: Rect) {
    let mut spans = vec![Span::styled(" sshdeck ", Style::new().bold().reversed())];
    for (v, name) in View::TABS {
        let active = app.view == v || (v == View::Jobs && app.view == View::Detail);
        let style = if active { Style::new().bold().fg(Color::Cyan) } else { Style::new().fg(Color::Gray) };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(name, style));
    }
    if app.readonly {
        spans.push(Span::styled("  read-only", Style::new().fg(Color::Yellow)));
    }
    f.render_widget(Line::from(spans), area);
}

fn draw_jobs(f: &mut Frame, app: &App, area: Rect) {
    let title = if app.filter.is_empty() {
        format!(" Jobs ({}) ", app.jobs_total)
    } else {
        format!(" Jobs ({} of {}, filter \"{}\") ", app.jobs.len(), app.jobs_total, app.filter)
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    if app.jobs.is_empty() {
        let msg =
            if app.jobs_total == 0 { "No jobs yet. Press x to run a command." } else { "No job matches the filter." };
        f.render_widget(Paragraph::new(msg).block(block), area);
        return;
    }
    // Narrow terminals drop the id and times: a cut id is no use, the command matters most.
    let wide = area.width >= 70;
    // Only the rows on screen are built, so a journal of 10,000 jobs draws as fast as one of ten.
    let visible = area.height.saturating_sub(3) as usize;
    let offset = app.selected.saturating_sub(visible.saturating_sub(1));
    let rows: Vec<Row> = app
        .jobs
        .iter()
        .skip(offset)
        .take(visible.max(1))
        .map(|j| {
            let mut cells = vec![
                Cell::from(j.status.as_str()).style(Style::new().fg(status_color(j.status))),
                Cell::from(j.targets.join(",")),
                Cell::from(j.spec.summary().replace('\n', " ")),
            ];
            if wide {
                cells.insert(0, Cell::from(j.id.to_string()));
                cells.push(Cell::from(format_time(j.created_at)[11..19].to_string()));
                cells.push(Cell::from(duration(j)));
            }
            Row::new(cells)
        })
        .collect();
    let (widths, header): (Vec<Constraint>, Vec<&str>) = if wide {
        (
            vec![
                Constraint::Length(13),
                Constraint::Length(9),
                Constraint::Length(12),
                Constraint::Min(10),
                Constraint::Length(8),
                Constraint::Length(8),
            ],
            vec!["ID", "STATUS", "ALIAS", "COMMAND", "CREATED", "TIME"],
        )
    } else {
        (vec![Constraint::Length(9), Constraint::Length(8), Constraint::Min(10)], vec!["STATUS", "ALIAS", "COMMAND"])
    };
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(Style::new().bold()))
        .block(block)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(app.selected - offset));
    f.render_stateful_widget(table, area, &mut state);
}

fn draw_detail(f: &mut Frame, app: &App, area: Rect) {
    let Some(d) = &app.detail else { return };
    let j = &d.job;
    let [info, out] = Layout::vertical([Constraint::Length(7), Constraint::Min(1)]).areas(area);
    let mut lines = vec![
        Line::from(vec![
            Span::raw("job "),
            Span::styled(j.id.to_string(), Style::new().bold()),
            Span::raw("  "),
            Span::styled(j.status.as_str(), Style::new().fg(status_color(j.status)).bold()),
            Span::raw(format!("  attempt {}  by {} (pid {})", j.attempt, j.owner.program, j.owner.pid)),
        ]),
        Line::from(format!("target  {}", j.targets.join(", "))),
        Line::from(format!("command {}", j.spec.summary())),
        Line::from(format!("created {}  duration {}", format_time(j.created_at), duration(j))),
    ];
    if let Some(r) = &j.result {
        let mut s = String::new();
        if let Some(c) = r.exit_code {
            s.push_str(&format!("exit {c}  "));
        }
        if let Some(sig) = &r.exit_signal {
            s.push_str(&format!("signal {sig}  "));
        }
        if let (Some(c), Some(m)) = (&r.error_code, &r.error_message) {
            s.push_str(&format!("{c}: {m}"));
        }
        lines.push(Line::from(s).fg(status_color(j.status)));
    }
    f.render_widget(Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Job ")), info);
    if d.hosts.is_empty() {
        draw_lines(f, &d.output, " Output ", None, out);
    } else {
        draw_fleet(f, &d.hosts, out);
    }
}

/// The fleet view of a fan-out: one row per host, live.
fn draw_fleet(f: &mut Frame, hosts: &[Job], area: Rect) {
    let count = |s: JobStatus| hosts.iter().filter(|h| h.status == s).count();
    let done = hosts.iter().filter(|h| h.status.is_terminal()).count();
    let title = format!(
        " Hosts: {done}/{} done · {} ok · {} failed · {} timed out · {} running ",
        hosts.len(),
        count(JobStatus::Completed),
        count(JobStatus::Failed) + count(JobStatus::Crashed),
        count(JobStatus::TimedOut),
        count(JobStatus::Running),
    );
    let rows = hosts.iter().map(|h| {
        let r = h.result.as_ref();
        let error = r.and_then(|r| r.error_code.clone()).unwrap_or_default();
        Row::new(vec![
            Cell::from(h.targets.first().cloned().unwrap_or_default()),
            Cell::from(h.status.as_str()).style(Style::new().fg(status_color(h.status))),
            Cell::from(r.and_then(|r| r.exit_code).map_or("-".to_string(), |c| c.to_string())),
            Cell::from(duration(h)),
            Cell::from(error),
        ])
    });
    let widths = [
        Constraint::Length(16),
        Constraint::Length(10),
        Constraint::Length(5),
        Constraint::Length(9),
        Constraint::Min(10),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(["HOST", "STATUS", "EXIT", "DURATION", "ERROR"]).style(Style::new().bold()))
        .block(Block::default().borders(Borders::ALL).title(title));
    f.render_widget(table, area);
}

fn draw_lines(f: &mut Frame, l: &Lines, title: &str, footer: Option<&str>, area: Rect) {
    let follow = if l.following() {
        Span::styled(" ● follow ", Style::new().fg(Color::Green))
    } else {
        Span::styled(" ‖ paused (G to follow) ", Style::new().fg(Color::Yellow))
    };
    let mut title_spans = vec![Span::raw(title.to_string()), follow];
    if l.dropped > 0 {
        title_spans
            .push(Span::styled(format!(" {} older lines dropped ", l.dropped), Style::new().fg(Color::DarkGray)));
    }
    if let Some(s) = &l.search {
        title_spans.push(Span::styled(format!(" /{s} "), Style::new().fg(Color::Cyan)));
    }
    let mut block = Block::default().borders(Borders::ALL).title(Line::from(title_spans));
    if let Some(text) = footer {
        block = block.title_bottom(Line::from(text.to_string()).fg(Color::Yellow));
    }
    let inner_h = area.height.saturating_sub(2) as usize;
    let end = l.lines.len().saturating_sub(l.scroll);
    let start = end.saturating_sub(inner_h);
    let stamp = |i: usize| {
        let t = l.times.get(i).copied().unwrap_or(0);
        format!("{} ", &format_time(t)[11..19])
    };
    let text: Vec<Line> = (start..end)
        .map(|i| (i, &l.lines[i]))
        .map(|(i, line)| {
            let mut out = match &l.search {
                Some(s) if !s.is_empty() && line.contains(s.as_str()) => {
                    let mut spans = Vec::new();
                    let mut rest = line.as_str();
                    while let Some(i) = rest.find(s.as_str()) {
                        spans.push(Span::raw(rest[..i].to_string()));
                        spans.push(Span::styled(s.clone(), Style::new().bg(Color::Yellow).fg(Color::Black)));
                        rest = &rest[i + s.len()..];
                    }
                    spans.push(Span::raw(rest.to_string()));
                    Line::from(spans)
                }
                _ => Line::from(line.clone()),
            };
            if l.show_times {
                out.spans.insert(0, Span::styled(stamp(i), Style::new().fg(Color::DarkGray)));
            }
            out
        })
        .collect();
    let mut p = Paragraph::new(text).block(block);
    if l.wrap {
        p = p.wrap(Wrap { trim: false });
    }
    f.render_widget(p, area);
}

fn draw_servers(f: &mut Frame, app: &App, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(format!(" Servers ({}) ", app.servers.len()));
    if app.servers.is_empty() {
        f.render_widget(Paragraph::new("No servers. Add one with `sshdeck servers add`.").block(block), area);
        return;
    }
    let rows: Vec<Row> = app.servers.iter().map(|s| Row::new(s.columns())).collect();
    let widths = [
        Constraint::Length(14),
        Constraint::Min(16),
        Constraint::Length(9),
        Constraint::Length(11),
        Constraint::Length(10),
        Constraint::Length(14),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(ServerSummary::HEADER).style(Style::new().bold()))
        .block(block)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(app.server_selected));
    f.render_stateful_widget(table, area, &mut state);
}

fn draw_pools(f: &mut Frame, app: &App, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(format!(" Pools ({} processes) ", app.processes.len()));
    let mut rows = Vec::new();
    for p in &app.processes {
        for s in &p.pool.servers {
            rows.push(Row::new(vec![
                format!("{} {}", p.owner.program, p.owner.pid),
                s.alias.clone(),
                s.connections.to_string(),
                s.channels_in_use.to_string(),
                s.opened.to_string(),
                s.reused.to_string(),
                s.failures.to_string(),
                format!("{:.0} ms", s.connect_ms_avg),
            ]));
        }
        if p.pool.servers.is_empty() {
            rows.push(Row::new(vec![format!("{} {}", p.owner.program, p.owner.pid), "(no connections)".into()]));
        }
    }
    let widths = [
        Constraint::Length(18),
        Constraint::Min(10),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(9),
    ];
    let table = Table::new(rows, widths)
        .header(
            Row::new(["PROCESS", "ALIAS", "CONN", "CHANNELS", "OPENED", "REUSED", "FAILURES", "CONNECT"])
                .style(Style::new().bold()),
        )
        .block(block);
    f.render_widget(table, area);
}

fn api_color(status: &str) -> Color {
    match status {
        "UP" => Color::Green,
        "DOWN" => Color::Red,
        "ERROR" => Color::Magenta,
        _ => Color::Gray,
    }
}

fn draw_apis(f: &mut Frame, app: &App, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(format!(" APIs ({}) ", app.apis.len()));
    if app.apis.is_empty() {
        let msg = "No API in the catalog. Add one with the MCP tool api_add; c checks the selected one.";
        f.render_widget(Paragraph::new(msg).block(block).wrap(Wrap { trim: true }), area);
        return;
    }
    let rows = app.apis.iter().map(|(alias, api)| {
        let c = api.last_check.as_ref();
        let status = c.map_or("never", |c| c.status.as_str());
        let tls = c.and_then(|c| c.tls_days_left).map_or("-".to_string(), |d| format!("{d} d"));
        Row::new(vec![
            Cell::from(alias.clone()),
            Cell::from(status.to_string()).style(Style::new().fg(api_color(status))),
            Cell::from(c.and_then(|c| c.http_code).map_or("-".to_string(), |h| h.to_string())),
            Cell::from(c.map_or("-".to_string(), |c| format!("{:.0} ms", c.response_time_ms))),
            Cell::from(tls),
            Cell::from(c.map_or("-".to_string(), |c| c.checked_at.replace('T', " ").replace('Z', ""))),
            Cell::from(c.map_or("-".to_string(), |c| c.from.clone())),
            Cell::from(api.check_url()),
        ])
    });
    let widths = [
        Constraint::Length(14),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(19),
        Constraint::Length(8),
        Constraint::Min(10),
    ];
    let table = Table::new(rows, widths)
        .header(
            Row::new(["ALIAS", "STATUS", "HTTP", "TIME", "TLS", "CHECKED", "FROM", "URL"]).style(Style::new().bold()),
        )
        .row_highlight_style(Style::new().reversed())
        .block(block);
    let mut state = TableState::default().with_selected(Some(app.api_selected));
    f.render_stateful_widget(table, area, &mut state);
}

fn draw_logs(f: &mut Frame, app: &App, area: Rect) {
    match app.tails.get(app.tail_index) {
        None => f.render_widget(
            Paragraph::new("No tail running. Type :logs ALIAS PATH (e.g. :logs web1 /var/log/nginx/error.log).")
                .block(Block::default().borders(Borders::ALL).title(" Logs ")),
            area,
        ),
        Some(t) => {
            let title = if app.tails.len() > 1 {
                format!(" [{}/{}] {}:{} ", app.tail_index + 1, app.tails.len(), t.alias, t.path)
            } else {
                format!(" {}:{} ", t.alias, t.path)
            };
            draw_lines(f, &t.output, &title, t.ended.as_deref(), area);
        }
    }
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

fn draw_popup(f: &mut Frame, app: &App, area: Rect) {
    let (title, lines, w, h): (String, Vec<Line>, u16, u16) = match &app.mode {
        Mode::Help => (
            " Help ".into(),
            [
                "1-5 / Tab   switch view (Jobs, Servers, Pools, Logs, APIs)",
                "j/k ↑/↓     move · g/G top/bottom",
                "Enter       open a job · Esc back",
                "/           filter jobs · search output",
                "n / N       next / previous match",
                "c           cancel the job (asks first)",
                "r           retry the job (asks first)",
                "x           run a command on a server",
                ":           :jobs :servers :pools :apis :logs ALIAS PATH :q",
                "G / End     follow output · ↑ pauses",
                "w           wrap long lines",
                "q           quit",
            ]
            .iter()
            .map(|s| Line::from(*s))
            .collect(),
            60,
            15,
        ),
        Mode::Error(msg) => (" Error ".into(), vec![Line::from(msg.clone()).fg(Color::Red)], 70, 5),
        Mode::Confirm { title, lines, yes, .. } => {
            let mut v: Vec<Line> = lines.iter().map(|l| Line::from(l.clone())).collect();
            v.push(Line::from(""));
            let (no_s, yes_s) = if *yes {
                (Style::new(), Style::new().reversed().bold())
            } else {
                (Style::new().reversed().bold(), Style::new())
            };
            v.push(Line::from(vec![
                Span::styled(" Cancel ", no_s),
                Span::raw("   "),
                Span::styled(" Confirm ", yes_s),
            ]));
            (format!(" {title} "), v, 72, lines.len() as u16 + 4)
        }
        Mode::Run { alias, command, on_command } => {
            let mark = |on: bool| if on { Style::new().reversed() } else { Style::new() };
            (
                " Run a command ".into(),
                vec![
                    Line::from(vec![Span::raw("server  "), Span::styled(format!("{alias} "), mark(!on_command))]),
                    Line::from(vec![Span::raw("command "), Span::styled(format!("{command} "), mark(*on_command))]),
                ],
                72,
                4,
            )
        }
        Mode::Server(form) => {
            let mut v = Vec::new();
            for (i, label) in super::app::ServerForm::LABELS.iter().enumerate() {
                let style = if i == form.focus { Style::new().reversed() } else { Style::new() };
                let value = match (i == super::app::ServerForm::PASSWORD, form.fields[i].chars().count()) {
                    (true, 0) if form.editing => "(unchanged)".to_string(),
                    (true, 0) => "(none)".to_string(),
                    (true, n) => "•".repeat(n),
                    (false, _) => form.fields[i].clone(),
                };
                v.push(Line::from(vec![Span::raw(format!("{label:<9}")), Span::styled(format!("{value} "), style)]));
            }
            v.push(Line::from("Key passphrases: sshdeck servers add --passphrase-env").fg(Color::DarkGray));
            let title = if form.editing { " Edit server " } else { " Add server " };
            (title.into(), v, 72, 9)
        }
        _ => return,
    };
    let rect = centered(area, w, h);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(Block::default().borders(Borders::ALL).title(title)),
        rect,
    );
}
