//! The Jobs view: every top-level job, newest first, filtered, with the selected one acted on.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, TableState};

use super::{duration, status_color, status_text};
use sshdeck_core::Deck;
use sshdeck_core::jobs::{Filter, Job, JobId};

/// How the Jobs view is sorted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// Newest first.
    #[default]
    Time,
    /// By status.
    Status,
    /// By alias.
    Alias,
    /// Longest first.
    Duration,
}

impl SortBy {
    fn name(self) -> &'static str {
        match self {
            SortBy::Time => "time",
            SortBy::Status => "status",
            SortBy::Alias => "alias",
            SortBy::Duration => "duration",
        }
    }
}

/// The Jobs view's state: the listed jobs (filtered, sorted), the total on record, the selection
/// (by job id, so it stays on the same job whatever arrives, leaves or moves), the filter.
#[derive(Debug, Default)]
pub struct JobsView {
    pub list: Vec<Job>,
    pub total: usize,
    pub selected: usize,
    /// The selected job's id: the selection follows it across refreshes, filters and sorts.
    pub selected_id: Option<JobId>,
    pub filter: String,
    pub sort: SortBy,
    /// Sort order reversed.
    pub reverse: bool,
    /// What the empty table says to do first (set by the app: it knows the servers and read-only).
    pub empty_hint: &'static str,
    /// Where the table was drawn last and its first row shown (to map a click to a job).
    pub drawn: std::cell::Cell<(Rect, usize)>,
}

impl JobsView {
    /// Moves the selection by `delta` rows (clamped) and remembers the job it lands on.
    pub fn move_by(&mut self, delta: i64) {
        if self.list.is_empty() {
            return;
        }
        self.selected = (self.selected as i64 + delta).clamp(0, self.list.len() as i64 - 1) as usize;
        self.selected_id = self.list.get(self.selected).map(|j| j.id.clone());
    }

    /// The job row at screen position `row` (a click), if any: below the border and the header.
    pub fn row_at(&self, row: u16) -> Option<usize> {
        let (area, offset) = self.drawn.get();
        let first = area.y + 2;
        let last = area.y + area.height.saturating_sub(1);
        (row >= first && row < last).then(|| offset + (row - first) as usize).filter(|i| *i < self.list.len())
    }

    /// Selects row `i` and remembers its job.
    pub fn select(&mut self, i: usize) {
        if i < self.list.len() {
            self.selected = i;
            self.selected_id = Some(self.list[i].id.clone());
        }
    }

    /// Sorts by `by`; the same key again reverses the order.
    pub fn sort_by(&mut self, by: SortBy) {
        if self.sort == by {
            self.reverse = !self.reverse;
        } else {
            (self.sort, self.reverse) = (by, false);
        }
        self.apply_sort();
        self.follow_selection();
    }

    fn apply_sort(&mut self) {
        let took = |j: &Job| j.finished_at.unwrap_or(u64::MAX).saturating_sub(j.started_at.unwrap_or(j.created_at));
        match self.sort {
            // The store lists newest first, in the order jobs were accepted.
            SortBy::Time => {}
            SortBy::Status => self.list.sort_by(|a, b| a.status.as_str().cmp(b.status.as_str())),
            SortBy::Alias => self.list.sort_by(|a, b| a.targets.cmp(&b.targets)),
            SortBy::Duration => self.list.sort_by_key(|j| std::cmp::Reverse(took(j))),
        }
        if self.reverse {
            self.list.reverse();
        }
    }

    /// Puts the selection back on the remembered job; if it is gone, on the row where it was.
    fn follow_selection(&mut self) {
        if let Some(i) = self.selected_id.as_ref().and_then(|id| self.list.iter().position(|j| &j.id == id)) {
            self.selected = i;
        } else {
            self.selected = self.selected.min(self.list.len().saturating_sub(1));
            self.selected_id = self.list.get(self.selected).map(|j| j.id.clone());
        }
    }

    /// Reads the top-level jobs again (per-host children of fan-outs show in their parent's detail).
    pub fn refresh(&mut self, deck: &Deck) -> sshdeck_core::Result<()> {
        let page = deck.jobs_page(&Filter { limit: 100_000, top_level: true, ..Default::default() })?;
        let f = self.filter.to_lowercase();
        self.list = page
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
        self.total = page.total;
        self.apply_sort();
        self.follow_selection();
        Ok(())
    }

    /// The selected job.
    pub fn selected_job(&self) -> Option<&Job> {
        self.list.get(self.selected)
    }

    /// Draws the table (only the rows on screen).
    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let position = if self.list.is_empty() { 0 } else { self.selected + 1 };
        let sorted = match (self.sort, self.reverse) {
            (SortBy::Time, false) => String::new(),
            (by, rev) => format!(", by {}{}", by.name(), if rev { " ↑" } else { "" }),
        };
        let title = if self.list.is_empty() && self.filter.is_empty() {
            format!(" Jobs ({}{sorted}) ", self.total)
        } else if self.filter.is_empty() {
            format!(" Jobs ({position}/{}{sorted}) ", self.total)
        } else {
            format!(" Jobs ({position}/{} of {}, filter \"{}\"{sorted}) ", self.list.len(), self.total, self.filter)
        };
        let block = Block::default().borders(Borders::ALL).title(title);
        if self.list.is_empty() {
            let msg = match self.total {
                0 => self.empty_hint,
                _ => "No job matches the filter (Esc clears it).",
            };
            f.render_widget(Paragraph::new(msg).block(block), area);
            return;
        }
        // Narrow terminals drop the id and times: a cut id is no use, the command matters most.
        let wide = area.width >= 70;
        // Only the rows on screen are built, so a journal of 10,000 jobs draws as fast as one of ten.
        let visible = area.height.saturating_sub(3) as usize;
        let offset = self.selected.saturating_sub(visible.saturating_sub(1));
        self.drawn.set((area, offset));
        let rows: Vec<Row> = self
            .list
            .iter()
            .skip(offset)
            .take(visible.max(1))
            .map(|j| {
                let mut cells = vec![
                    Cell::from(status_text(j)).style(Style::new().fg(status_color(j.status))),
                    Cell::from(j.targets.join(",")),
                    Cell::from(j.spec.summary().replace('\n', " ")),
                ];
                if wide {
                    cells.insert(0, Cell::from(j.id.to_string()));
                    cells.push(Cell::from(crate::console::clock::time(j.created_at)));
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
            (
                vec![Constraint::Length(9), Constraint::Length(8), Constraint::Min(10)],
                vec!["STATUS", "ALIAS", "COMMAND"],
            )
        };
        let table = super::list_table(rows, widths, Row::new(header), block);
        let mut state = TableState::default().with_selected(Some(self.selected - offset));
        f.render_stateful_widget(table, area, &mut state);
    }
}

/// Key hints.
pub fn hints(readonly: bool) -> String {
    let w = |ro: &'static str| if readonly { "" } else { ro };
    format!("j/k move · Enter open · / filter{}{} · ? help · q quit", w(" · c cancel · r retry"), w(" · x run"))
}
