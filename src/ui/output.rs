//! The output pane: the steps' output (and, later, the log streams), each line prefixed with
//! its target in a stable colour, errors highlighted, following the end until scrolled.

use std::sync::LazyLock;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use regex::Regex;

use super::state::{Pane, Source, UiState};
use super::theme::Theme;
use crate::engine::release::OutputLine;
use crate::engine::{Release, Stream};

static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(error|fatal|critical|panic|traceback|exception|failed)\b")
        .expect("valid pattern")
});

fn shown(line: &OutputLine, ui: &UiState) -> bool {
    ui.target.as_ref().is_none_or(|t| *t == line.run.target)
        && ui.filter.as_ref().is_none_or(|f| f.is_match(&line.line))
}

/// How many screen rows a line takes.
fn rows(line: &OutputLine, width: usize, wrap: bool) -> usize {
    if !wrap || width == 0 {
        return 1;
    }
    let len = line.run.target.len() + 3 + line.line.chars().count();
    len.div_ceil(width).max(1)
}

pub fn render(frame: &mut Frame, area: Rect, release: &Release, ui: &UiState, theme: &Theme) {
    let focused = ui.focus == Pane::Output;
    let mut title = vec![Span::styled(
        match ui.source {
            Source::Steps => " Output ",
            Source::Logs => " Logs ",
        },
        if focused { theme.bold() } else { theme.dim() },
    )];
    if ui.follow {
        title.push(Span::styled("· follow ", theme.dim()));
    } else {
        let new = UiState::lines_seen(release).saturating_sub(ui.paused_at);
        title.push(Span::styled(
            format!("· paused +{new} (End) "),
            theme.bold(),
        ));
    }
    if let Some(t) = &ui.target {
        title.push(Span::styled(format!("· {t} "), theme.target(t)));
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

    if ui.source == Source::Logs {
        let text = "Log streams are not built yet: [logs.*] followers come with a later release.";
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.dim())
                .wrap(Wrap { trim: true })
                .block(block),
            area,
        );
        return;
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
    // Walk back from the end, skipping `scroll` rows, until the pane is full: the cost is the
    // screen, not the scrollback.
    let skip = if ui.follow { 0 } else { ui.scroll };
    let mut picked: Vec<&OutputLine> = Vec::with_capacity(height);
    let (mut skipped, mut filled) = (0, 0);
    for line in release.output.iter().rev().filter(|l| shown(l, ui)) {
        let r = rows(line, width, ui.wrap);
        if skipped < skip {
            skipped += r;
            continue;
        }
        if filled + r > height && filled > 0 {
            break;
        }
        filled += r;
        picked.push(line);
    }
    picked.reverse();
    let lines: Vec<Line> = picked
        .into_iter()
        .map(|l| {
            let error = ERROR_LINE.is_match(&l.line);
            let mark = if l.stream == Stream::Stderr { "!" } else { " " };
            let text_style = if error {
                theme.error_line()
            } else {
                ratatui::style::Style::new()
            };
            // Spans borrow the release's lines: a frame copies no log text.
            let target = theme.target(&l.run.target);
            Line::from(vec![
                Span::styled("[", target),
                Span::styled(l.run.target.as_str(), target),
                Span::styled("]", target),
                Span::styled(mark, theme.error_line()),
                Span::styled(l.line.as_str(), text_style),
            ])
        })
        .collect();
    let mut paragraph = Paragraph::new(lines).block(block);
    if ui.wrap {
        paragraph = paragraph.wrap(Wrap { trim: false });
    }
    frame.render_widget(paragraph, area);
}
