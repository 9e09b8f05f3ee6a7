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
        View::Tunnels => app.tunnels.draw(f, body),
        View::Audit => app.audit.draw(f, body),
    }
    draw_footer(f, app, footer);
    draw_popup(f, app, area);
}

/// The footer: the filter or command being typed; else the key hints, with a status message on the
/// left and the hints on the right; `? help · q quit` kept whole at any width (the status is cut first).
fn draw_footer(f: &mut Frame, app: &App, area: Rect) {
    let line = match &app.mode {
        Mode::Filter => Line::from(format!("/{}", app.jobs.filter)),
        Mode::Command(t) => Line::from(format!(":{t}")),
        _ => {
            let width = area.width as usize;
            let mut hints = app.hints();
            if hints.chars().count() > width {
                // Keep the end (help and quit), drop from the start.
                let keep: String = hints.chars().rev().take(width.saturating_sub(1)).collect();
                hints = format!("…{}", keep.chars().rev().collect::<String>());
            }
            if !app.status.is_empty() && app.status.chars().count() + hints.chars().count() + 3 > width {
                // Both do not fit: the message and the two keys that always matter.
                hints = "? help · q quit".to_string();
            }
            let room = width.saturating_sub(hints.chars().count() + 3);
            let status: String = if app.status.chars().count() > room {
                let cut: String = app.status.chars().take(room.saturating_sub(1)).collect();
                if cut.is_empty() { String::new() } else { format!("{cut}…") }
            } else {
                app.status.clone()
            };
            if status.is_empty() {
                Line::from(hints)
            } else {
                let pad = width.saturating_sub(status.chars().count() + hints.chars().count());
                Line::from(vec![
                    Span::styled(status, Style::new().fg(Color::Yellow).bold()),
                    Span::raw(" ".repeat(pad)),
                    Span::raw(hints),
                ])
            }
        }
    };
    f.render_widget(Paragraph::new(line), area);
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
    // Which zone the times are in, at the right.
    let zone = format!("times {} ", super::clock::zone_name());
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let pad = (area.width as usize).saturating_sub(used + zone.chars().count());
    if pad > 0 {
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(zone, Style::new().fg(Color::Gray)));
    }
    f.render_widget(Line::from(spans), area);
}

/// A confirm dialog: its lines wrapped to the width, and the two buttons always on its last line (the
/// lines are cut if the screen is too short for all of them, never the buttons).
fn draw_confirm(f: &mut Frame, area: Rect, title: &str, lines: &[String], yes: bool) {
    draw_dialog(f, area, title, lines, &["Cancel", "Confirm"], usize::from(yes));
}

/// A dialog whose buttons stay on its last line at any size; `selected` is the focused button.
fn draw_dialog(f: &mut Frame, area: Rect, title: &str, lines: &[String], buttons_text: &[&str], selected: usize) {
    let w = 72.min(area.width);
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let wrapped: usize = lines.iter().map(|l| l.chars().count().max(1).div_ceil(inner_w)).sum();
    let h = (wrapped as u16 + 4).min(area.height);
    let rect = centered(area, w, h);
    f.render_widget(Clear, rect);
    let block = Block::default().borders(Borders::ALL).title(format!(" {title} "));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    if inner.height == 0 {
        return;
    }
    let [text, buttons] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    let body: Vec<Line> = lines.iter().map(|l| Line::from(l.clone())).collect();
    f.render_widget(Paragraph::new(body).wrap(Wrap { trim: false }), text);
    let mut spans = Vec::new();
    for (i, b) in buttons_text.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("   "));
        }
        let style = if i == selected { Style::new().reversed().bold() } else { Style::new() };
        spans.push(Span::styled(format!(" {b} "), style));
    }
    f.render_widget(Line::from(spans), buttons);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

fn draw_popup(f: &mut Frame, app: &App, area: Rect) {
    let (title, lines, w, h): (String, Vec<Line>, u16, u16) = match &app.mode {
        Mode::Help => {
            let text = super::help::lines(app.view);
            let inner = 76.min(area.width).saturating_sub(2).max(1) as usize;
            let h = text.iter().map(|l| l.chars().count().max(1).div_ceil(inner)).sum::<usize>() as u16 + 2;
            let lines: Vec<Line> = text.into_iter().map(Line::from).collect();
            (" Help (any key closes) ".into(), lines, 76, h)
        }
        Mode::Error(msg) => (" Error ".into(), vec![Line::from(msg.clone()).fg(Color::Red)], 70, 5),
        Mode::Confirm { title, lines, yes, .. } => return draw_confirm(f, area, title, lines, *yes),
        Mode::Choose { title, lines, options, selected } => {
            let mut buttons = vec!["Cancel"];
            buttons.extend(options.iter().map(|o| o.0.as_str()));
            return draw_dialog(f, area, title, lines, &buttons, *selected);
        }
        Mode::Run { alias, command, on_command } => {
            let mark = |on: bool| if on { Style::new().reversed() } else { Style::new() };
            // The field shows the end of what is typed (where the cursor is) when it is too long.
            let room = (72.min(area.width) as usize).saturating_sub(2 + 8 + 2);
            let tail = |t: &str| {
                let n = t.chars().count();
                if n <= room {
                    t.to_string()
                } else {
                    format!("…{}", t.chars().skip(n + 1 - room).collect::<String>())
                }
            };
            let (alias, command) = (&tail(alias), &tail(command));
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
                let bad = form.error.as_ref().is_some_and(|(f, _)| *f == Some(i));
                let style = match (i == form.focus, bad) {
                    (_, true) => Style::new().fg(Color::Red).reversed(),
                    (true, false) => Style::new().reversed(),
                    (false, false) => Style::new(),
                };
                let value = match (i == super::app::ServerForm::PASSWORD, form.fields[i].chars().count()) {
                    (true, 0) if form.editing => "(unchanged)".to_string(),
                    (true, 0) => "(none)".to_string(),
                    (true, n) => "•".repeat(n),
                    (false, _) => form.fields[i].clone(),
                };
                v.push(Line::from(vec![Span::raw(format!("{label:<9}")), Span::styled(format!("{value} "), style)]));
            }
            let extra = match &form.error {
                Some((_, msg)) => {
                    v.push(Line::from(msg.clone()).fg(Color::Red));
                    2
                }
                None => 0,
            };
            v.push(Line::from("Key passphrases: sshdeck servers add --passphrase-env"));
            let title = if form.editing { " Edit server " } else { " Add server " };
            (title.into(), v, 72, 9 + extra)
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
