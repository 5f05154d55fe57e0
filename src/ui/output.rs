//! The output pane: the steps' output (the log streams' are drawn by `logs.rs`), each line
//! prefixed with its target in a stable colour, errors highlighted, following the end until
//! scrolled.

use std::sync::LazyLock;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use regex::Regex;

use super::state::{Pane, Source, UiState};
use super::theme::Theme;
use crate::engine::release::{Mark, OutputLine};
use crate::engine::{Release, RunStatus, Stream};

const SUMMARY_TITLE: &str = " Summary (i: output) ";

static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(error|fatal|critical|panic|traceback|exception|failed)\b")
        .expect("valid pattern")
});

/// Whether a line passes the target and regex filters. The release's headings about a whole
/// step stay under a target filter (they say where the lines below come from).
fn shown(line: &OutputLine, ui: &UiState) -> bool {
    let whole_step = line.run.target.is_empty();
    ui.target
        .as_ref()
        .is_none_or(|t| whole_step || *t == line.run.target)
        && ui.filter.as_ref().is_none_or(|f| f.is_match(&line.line))
}

/// The prefix before a line's text: `[web-1] ` for a target's lines, nothing for a heading.
fn prefix_width(line: &OutputLine) -> usize {
    if line.run.target.is_empty() {
        0
    } else {
        line.run.target.chars().count() + 3
    }
}

/// The text of a line as shown, with its mark's symbol.
fn body(line: &OutputLine) -> std::borrow::Cow<'_, str> {
    match line.mark {
        Mark::Printed => line.line.as_str().into(),
        Mark::Step => format!("── {} ", line.line).into(),
        Mark::Command => format!("   $ {}", line.line).into(),
        Mark::Attempt => format!("↻ {}", line.line).into(),
        Mark::Link => format!("◌ {}", line.line).into(),
        Mark::Shell => format!("$ {}", line.line).into(),
        Mark::Ended(status) => {
            let symbol = match status {
                RunStatus::Passed => "✓",
                RunStatus::Cancelled => "⊘",
                RunStatus::Unknown => "???",
                _ => "✗",
            };
            format!("{symbol} {}", line.line).into()
        }
    }
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

/// How many screen rows a line takes.
fn rows(line: &OutputLine, width: usize, wrap: bool) -> usize {
    if !wrap || width == 0 {
        return 1;
    }
    let room = width.saturating_sub(prefix_width(line)).max(1);
    chunks(&body(line), room).count().max(1)
}

fn text_style(line: &OutputLine, theme: &Theme) -> Style {
    match line.mark {
        Mark::Printed if ERROR_LINE.is_match(&line.line) => theme.error_line(),
        Mark::Printed => Style::new(),
        Mark::Step => theme.bold().add_modifier(Modifier::UNDERLINED),
        Mark::Command => theme.dim(),
        Mark::Attempt | Mark::Link => theme.fg(Color::Yellow),
        Mark::Shell => theme.fg(Color::Cyan),
        Mark::Ended(status) => theme.run(status).1,
    }
}

/// One output line as screen rows: the target's prefix in its colour, the stderr mark, the
/// text, and (wrapping) continuation rows indented under the prefix.
fn screen_rows<'a>(
    line: &'a OutputLine,
    release: &Release,
    width: usize,
    wrap: bool,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let style = text_style(line, theme);
    let text = body(line);
    let indent = prefix_width(line);
    let mut head = Vec::new();
    if indent > 0 {
        let target = theme.target(release, &line.run.target);
        let mark = match (line.mark, line.stream) {
            (Mark::Printed, Stream::Stderr) => "!",
            _ => " ",
        };
        head.push(Span::styled("[", target));
        head.push(Span::styled(line.run.target.as_str(), target));
        head.push(Span::styled("]", target));
        head.push(Span::styled(mark, theme.error_line()));
    }
    if !wrap || width == 0 {
        let rule = (line.mark == Mark::Step)
            .then(|| "─".repeat(width.saturating_sub(text.chars().count())));
        head.push(Span::styled(text, style));
        head.extend(rule.map(|r| Span::styled(r, theme.dim())));
        return vec![Line::from(head)];
    }
    let room = width.saturating_sub(indent).max(1);
    let mut out = Vec::new();
    let mut first = Some(head);
    for piece in chunks(&text, room) {
        let mut spans = first
            .take()
            .unwrap_or_else(|| vec![Span::raw(" ".repeat(indent))]);
        spans.push(Span::styled(piece.to_string(), style));
        out.push(Line::from(spans));
    }
    // A step's heading is a rule across the pane.
    if line.mark == Mark::Step
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

pub fn render(frame: &mut Frame, area: Rect, release: &Release, ui: &UiState, theme: &Theme) {
    let focused = ui.focus == Pane::Output;
    let mut title = vec![Span::styled(
        match ui.source {
            Source::Steps => " Output ",
            Source::Logs => " Logs ",
            Source::Summary => SUMMARY_TITLE,
        },
        if focused { theme.bold() } else { theme.dim() },
    )];
    if ui.follow {
        title.push(Span::styled("· follow ", theme.dim()));
    } else {
        let new = ui.seen(release).saturating_sub(ui.paused_at);
        title.push(Span::styled(
            format!("· paused +{new} (End) "),
            theme.bold(),
        ));
    }
    if let Some(t) = &ui.target {
        title.push(Span::styled(format!("· {t} "), theme.target(release, t)));
    }
    if let Some(f) = &ui.filter {
        title.push(Span::raw(format!("· /{}/ ", f.as_str())));
    }
    if ui.wrap {
        title.push(Span::styled("· wrap ", theme.dim()));
    }
    let block = Block::bordered().title(Line::from(title));
    let inner = block.inner(area);
    let height = inner.height as usize;
    let width = inner.width as usize;

    if ui.source == Source::Summary {
        let mut lines: Vec<Line> = crate::summary::lines(release, ui.log.as_deref())
            .into_iter()
            .map(Line::from)
            .collect();
        if let Some(first) = lines.first_mut() {
            first.style = theme.bold();
        }
        if !release.is_finished() {
            lines.push(Line::from(Span::styled(
                "(so far: the release is still under way)",
                theme.dim(),
            )));
        }
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::bordered().title(Span::styled(SUMMARY_TITLE, theme.bold()))),
            area,
        );
        return;
    }
    if ui.source == Source::Logs {
        return super::logs::render(frame, area, block, release, ui, theme);
    }
    if release.output.is_empty() && !release.refusals.is_empty() {
        // Nothing ran: say why the release was refused, here and in full.
        let mut lines = vec![Line::from(Span::styled(
            "Refused to start, nothing ran:",
            theme.error_line(),
        ))];
        lines.extend(release.refusals.iter().map(|r| Line::from(r.clone())));
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
        return;
    }
    if release.output.is_empty() {
        let mut lines = vec![Line::from("No output yet.")];
        lines.extend(ui.notes.iter().map(|n| Line::from(format!("note: {n}"))));
        frame.render_widget(
            Paragraph::new(lines)
                .style(theme.dim())
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
        return;
    }
    let picked = super::state::page(
        &release.output,
        |l| shown(l, ui),
        |l| rows(l, width, ui.wrap),
        ui,
        height,
    );
    let mut lines: Vec<Line> = picked
        .into_iter()
        .flat_map(|l| screen_rows(l, release, width, ui.wrap, theme))
        .collect();
    if lines.is_empty() {
        let why = match &ui.filter {
            Some(f) => format!("No line matches /{}/ yet (Esc in / clears the filter).", f),
            None => "No line from this target yet.".to_string(),
        };
        lines.push(Line::from(Span::styled(why, theme.dim())));
    }
    // Rows were cut to the pane's width above: no second wrap, and a heading's rule stops at
    // the edge.
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
