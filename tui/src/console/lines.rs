//! A stream of lines (a job's output, a remote tail): bounded, with follow, scroll, search, wrap and
//! arrival times, and its drawing.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// Lines kept by a log tail or a job's output view.
pub const MAX_LINES: usize = 5000;

/// A stream of lines (a job's output or a remote tail) with follow/scroll state.
#[derive(Debug, Default)]
pub struct Lines {
    pub lines: VecDeque<String>,
    /// When each line arrived (ms), for the timestamp toggle; 0 for lines that were already there
    /// when the view opened (their arrival is not known, so none is shown).
    pub times: VecDeque<u64>,
    /// Lines pushed before this time (ms) were already there when the view opened.
    pub backlog_until: Option<u64>,
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
        let now = sshdeck_core::jobs::now_ms();
        self.times.push_back(if self.backlog_until.is_some_and(|until| now < until) { 0 } else { now });
        if self.scroll > 0 {
            // Paused: keep the same lines on screen.
            self.scroll = (self.scroll + 1).min(self.lines.len());
        }
    }

    pub fn following(&self) -> bool {
        self.scroll == 0
    }

    pub fn key(&mut self, key: KeyEvent) -> bool {
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
    pub fn jump_to_match(&mut self, older: bool) {
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

/// Draws `l` in `area` with `title` (and an end-of-stream `footer`).
pub fn draw_lines(f: &mut Frame, l: &Lines, title: &str, footer: Option<&str>, area: Rect) {
    let follow = if let Some(why) = footer.filter(|_| l.following()) {
        // A stream that ended (or never started) is not followed, whatever the scroll position.
        let failed = why.contains("error") || why.contains("not found") || why.contains("ended:");
        Span::styled(" ■ ended ", Style::new().fg(if failed { Color::Red } else { Color::Yellow }))
    } else if l.following() {
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
    // Every line takes at least one row, so the last `inner_h` lines fill the view; with wrap on they
    // may take more, and the view is scrolled so the newest line stays on screen.
    let start = end.saturating_sub(inner_h);
    let stamp = |i: usize| match l.times.get(i).copied().unwrap_or(0) {
        0 => "········ ".to_string(), // there before the view opened: arrival unknown
        t => format!("{} ", crate::console::clock::time(t)),
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
        let rows = p.line_count(area.width);
        let over = rows.saturating_sub(area.height as usize);
        p = p.scroll((over.min(u16::MAX as usize) as u16, 0));
    }
    f.render_widget(p, area);
}
