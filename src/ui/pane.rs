//! One scrolling pane for every kind of line: a step's output and a log stream's lines are both
//! a target's prefix in the target's colour, then a text in its style; both follow the end until
//! scrolled, wrap under their prefix, and pass the same target and regex filters.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::state::UiState;
use super::theme::Theme;
use crate::engine::Release;

/// What a pane needs of one of its lines.
pub(super) trait PaneLine {
    /// The target it came from; empty for a heading about a whole step.
    fn target(&self) -> &str;
    /// The text as read, which the regex filter matches.
    fn text(&self) -> &str;
    /// The prefix drawn before the text, in the target's colour.
    fn prefix(&self, release: &Release, theme: &Theme) -> Vec<Span<'_>>;
    /// How many columns the prefix takes (continuation rows are indented by as many).
    fn prefix_width(&self) -> usize;
    /// The text as shown, with its mark's symbol.
    fn body(&self) -> std::borrow::Cow<'_, str>;
    fn style(&self, theme: &Theme) -> Style;
    /// A heading: a rule drawn across the rest of its last row.
    fn heading(&self) -> bool {
        false
    }
}

/// Whether a line passes the target and regex filters; a heading about a whole step stays under
/// a target filter (it says where the lines below come from).
pub(super) fn shown<L: PaneLine>(line: &L, ui: &UiState) -> bool {
    let target = line.target();
    ui.target
        .as_deref()
        .is_none_or(|t| target.is_empty() || t == target)
        && ui.filter.as_ref().is_none_or(|f| f.is_match(line.text()))
}

/// How many screen rows a line takes.
pub(super) fn rows<L: PaneLine>(line: &L, width: usize, wrap: bool) -> usize {
    if !wrap || width == 0 {
        return 1;
    }
    let room = width.saturating_sub(line.prefix_width()).max(1);
    chunks(&line.body(), room).count().max(1)
}

/// One line as screen rows: its prefix, its text and (wrapping) continuation rows indented
/// under the prefix; a heading's rule to the pane's edge.
pub(super) fn screen_rows<'a, L: PaneLine>(
    line: &'a L,
    release: &Release,
    (width, wrap): (usize, bool),
    theme: &Theme,
) -> Vec<Line<'a>> {
    let style = line.style(theme);
    let text = line.body();
    let head = line.prefix(release, theme);
    let mut out = if !wrap || width == 0 {
        let mut spans = head;
        spans.push(Span::styled(text, style));
        vec![Line::from(spans)]
    } else {
        let indent = line.prefix_width();
        let room = width.saturating_sub(indent).max(1);
        let mut first = Some(head);
        chunks(&text, room)
            .map(|piece| {
                let mut spans = first
                    .take()
                    .unwrap_or_else(|| vec![Span::raw(" ".repeat(indent))]);
                spans.push(Span::styled(piece.to_string(), style));
                Line::from(spans)
            })
            .collect()
    };
    if line.heading()
        && let Some(last) = out.last_mut()
    {
        let used = last.width();
        last.push_span(Span::styled(
            "─".repeat(width.saturating_sub(used)),
            theme.dim(),
        ));
    }
    out
}

/// The page of `lines` the pane shows (following the end, or where it was scrolled to), drawn
/// in `block`; `None` when no line passes the filters, for the pane to say why.
pub(super) fn render<'a, L: PaneLine + 'a>(
    frame: &mut Frame,
    (area, block): (Rect, &Block),
    lines: impl Scrollback<'a, L>,
    release: &Release,
    ui: &UiState,
    theme: &Theme,
) -> Option<()> {
    let view = View {
        at: ui.position(),
        wrap: ui.wrap,
    };
    render_at(
        frame,
        (area, block),
        lines,
        |l| shown(l, ui),
        release,
        view,
        theme,
    )
}

/// Where a pane stands and whether it wraps its long lines.
#[derive(Debug, Clone, Copy)]
pub(super) struct View {
    pub at: Position,
    pub wrap: bool,
}

/// The page of the `lines` that pass `shown`, at `view`'s position, drawn in `block`; `None`
/// when no line passes.
pub(super) fn render_at<'a, L: PaneLine + 'a>(
    frame: &mut Frame,
    (area, block): (Rect, &Block),
    lines: impl Scrollback<'a, L>,
    shown: impl Fn(&L) -> bool,
    release: &Release,
    view: View,
    theme: &Theme,
) -> Option<()> {
    let inner = block.inner(area);
    let (height, width) = (inner.height as usize, inner.width as usize);
    let picked = page(lines, shown, |l| rows(l, width, view.wrap), view.at, height);
    if picked.is_empty() {
        return None;
    }
    let rows: Vec<Line> = picked
        .into_iter()
        .flat_map(|l| screen_rows(l, release, (width, view.wrap), theme))
        .collect();
    // Rows were cut to the pane's width above: no second wrap, and a heading's rule stops at
    // the edge.
    frame.render_widget(Paragraph::new(rows).block(block.clone()), area);
    Some(())
}

/// A pane's lines, oldest first, walked from either end: a `VecDeque`'s or the release's
/// [`crate::engine::scrollback::Scrollback`].
pub trait Scrollback<'a, T: 'a>:
    IntoIterator<Item = &'a T, IntoIter: DoubleEndedIterator> + Copy
{
}

impl<'a, T: 'a, S> Scrollback<'a, T> for S where
    S: IntoIterator<Item = &'a T, IntoIter: DoubleEndedIterator> + Copy
{
}

/// Which page of its lines a pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Rows back from the end (0: the end, following): the output and the logs.
    Back(usize),
    /// Rows down from the top: the health pane, whose rules come first.
    Down(usize),
}

/// The page of a scrollback that is on screen: walking back from the end, `back` rows
/// skipped, or forward from the top, `down` rows skipped (clamped so a short, filtered list
/// shows its oldest page rather than nothing), until `height` rows are full. From the end the
/// cost is the screen, not the scrollback.
pub fn page<'a, T: 'a>(
    lines: impl Scrollback<'a, T>,
    shown: impl Fn(&T) -> bool,
    rows: impl Fn(&T) -> usize,
    at: Position,
    height: usize,
) -> Vec<&'a T> {
    let total = || -> usize { lines.into_iter().filter(|l| shown(l)).map(&rows).sum() };
    let (skip, from_end) = match at {
        Position::Back(0) => (0, true),
        Position::Back(back) => (back.min(total().saturating_sub(height)), true),
        Position::Down(down) => (down.min(total().saturating_sub(height)), false),
    };
    let walk: Box<dyn Iterator<Item = &'a T>> = if from_end {
        Box::new(lines.into_iter().rev())
    } else {
        Box::new(lines.into_iter())
    };
    let mut picked: Vec<&'a T> = Vec::with_capacity(height);
    let (mut skipped, mut filled) = (0, 0);
    for line in walk.filter(|l| shown(l)) {
        let r = rows(line);
        if skipped < skip {
            skipped += r;
            continue;
        }
        if filled + r > height && filled > 0 {
            // Read from the top, a line's first rows fill what is left (its last are cut).
            if !from_end && filled < height {
                picked.push(line);
            }
            break;
        }
        filled += r;
        picked.push(line);
    }
    if from_end {
        picked.reverse();
    }
    picked
}

/// The text cut into rows of `room` characters, at a space when there is one in the row's
/// second half (words stay whole), else mid-word. Lazy: counting rows allocates nothing.
pub(super) fn chunks(text: &str, room: usize) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        if room == 0 {
            rest = None;
            return Some(current);
        }
        let Some((hard, _)) = current.char_indices().nth(room) else {
            rest = None;
            return Some(current);
        };
        let cut = current[..hard]
            .rfind(' ')
            .map(|space| space + 1)
            .filter(|&at| current[..at].chars().count() > room / 2)
            .unwrap_or(hard);
        rest = Some(&current[cut..]).filter(|r| !r.is_empty());
        Some(&current[..cut])
    })
}
