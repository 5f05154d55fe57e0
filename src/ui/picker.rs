//! The target picker: with many targets, `t` opens a list to choose the one whose lines the
//! output shows, narrowed by typing, instead of cycling through twenty names one key at a time.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::theme::Theme;
use crate::engine::Release;

/// With more targets than this, `t` opens the picker; with fewer it cycles.
pub const PICK_FROM: usize = 5;

/// The label of the first row, which shows every target's lines.
const ALL: &str = "all targets";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Picker {
    /// Choosing where to open a shell: one target, never "all".
    pub for_shell: bool,
    pub query: String,
    /// Row under the cursor among the rows that match the query.
    pub cursor: usize,
}

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    Still,
    Cancelled,
    /// A target, or `None` for all of them.
    Chosen(Option<String>),
}

impl Picker {
    /// The rows shown: "all targets" first, then the targets whose name holds the query.
    pub fn rows<'r>(&self, release: &'r Release) -> Vec<Option<&'r str>> {
        let query = self.query.to_lowercase();
        let mut rows = Vec::new();
        if query.is_empty() && !self.for_shell {
            rows.push(None);
        }
        rows.extend(
            release
                .plan
                .targets
                .iter()
                .filter(|t| t.name.to_lowercase().contains(&query))
                .map(|t| Some(t.name.as_str())),
        );
        rows
    }

    pub fn key(&mut self, key: KeyEvent, release: &Release) -> Picked {
        match key.code {
            KeyCode::Esc => return Picked::Cancelled,
            KeyCode::Enter => {
                let rows = self.rows(release);
                return match rows.get(self.cursor) {
                    Some(row) => Picked::Chosen(row.map(str::to_string)),
                    None => Picked::Still,
                };
            }
            KeyCode::Up => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Down => {
                let last = self.rows(release).len().saturating_sub(1);
                self.cursor = (self.cursor + 1).min(last);
            }
            KeyCode::Backspace => {
                self.query.pop();
                self.cursor = 0;
            }
            KeyCode::Char(c) if !c.is_control() => {
                self.query.push(c);
                self.cursor = 0;
            }
            _ => {}
        }
        Picked::Still
    }
}

pub fn render(frame: &mut Frame, area: Rect, release: &Release, picker: &Picker, theme: &Theme) {
    let rows = picker.rows(release);
    // The footer names the keys.
    let height = (rows.len() as u16 + 3).min(area.height);
    let width = 40.min(area.width);
    let rect = Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y: area.y + area.height.saturating_sub(height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    let title = if picker.for_shell {
        " open a shell on "
    } else {
        " show the lines of "
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines = vec![Line::from(vec![
        Span::styled("/", theme.bold()),
        Span::raw(picker.query.clone()),
        Span::styled("▏", theme.bold()),
    ])];
    // Keep the cursor's row in view on a short terminal.
    let room = inner.height.saturating_sub(1) as usize;
    let first = picker.cursor.saturating_sub(room.saturating_sub(1));
    for (i, row) in rows.iter().enumerate().skip(first).take(room) {
        let (text, style) = match row {
            None => (ALL.to_string(), theme.bold()),
            Some(name) => (name.to_string(), theme.target(release, name)),
        };
        let mut line = Line::from(vec![
            Span::raw(if i == picker.cursor { "› " } else { "  " }),
            Span::styled(text, style),
        ]);
        if i == picker.cursor {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    if rows.is_empty() {
        lines.push(Line::from(Span::styled("no target matches", theme.dim())));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
