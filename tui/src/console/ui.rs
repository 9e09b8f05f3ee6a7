//! Drawing: a pure function of [`App`]'s state. Works at any size, zero included.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::{App, Mode, View};

pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < 10 || area.height < 3 {
        return;
    }
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    draw_header(f, app, header);
    match app.view {
        View::Jobs => app.jobs.draw(f, body),
        View::Detail => {
            if let Some(d) = &app.detail {
                d.draw(f, body);
            }
        }
        View::Servers => app.servers.draw(f, body),
        View::Pools => app.pools.draw(f, body),
        View::Logs => app.logs.draw(f, body),
        View::Apis => app.apis.draw(f, body),
    }
    let footer_text = match &app.mode {
        Mode::Filter => format!("/{}", app.jobs.filter),
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
