//! The logs pane (`l`): the followers' lines as the output pane shows the steps', each prefixed
//! with `[target:follower]` in the target's colour, error lines (the follower's `errors`)
//! highlighted, drops and gaps in between; follow, pause, the regex and the target filters work
//! the same.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::output::chunks;
use super::state::UiState;
use super::theme::Theme;
use crate::engine::Release;
use crate::engine::logs::{LogLine, LogMark};

fn shown(line: &LogLine, ui: &UiState) -> bool {
    ui.target.as_deref().is_none_or(|t| t == &*line.target)
        && ui.filter.as_ref().is_none_or(|f| f.is_match(&line.line))
}

/// `[web-1:gunicorn] ` is this wide.
fn prefix_width(line: &LogLine) -> usize {
    line.target.chars().count() + line.follower.chars().count() + 4
}

fn body(line: &LogLine) -> std::borrow::Cow<'_, str> {
    match line.mark {
        LogMark::Read => line.line.as_str().into(),
        LogMark::Dropped => format!("⋯ {}", line.line).into(),
        LogMark::Down => format!("◌ {}", line.line).into(),
        LogMark::Up => format!("● {}", line.line).into(),
    }
}

fn text_style(line: &LogLine, theme: &Theme) -> Style {
    match line.mark {
        LogMark::Read if line.error => theme.error_line(),
        LogMark::Read => Style::new(),
        LogMark::Dropped | LogMark::Down => theme.fg(Color::Yellow),
        LogMark::Up => theme.dim(),
    }
}

fn rows(line: &LogLine, width: usize, wrap: bool) -> usize {
    if !wrap || width == 0 {
        return 1;
    }
    let room = width.saturating_sub(prefix_width(line)).max(1);
    chunks(&body(line), room).count().max(1)
}

fn screen_rows<'a>(
    line: &'a LogLine,
    release: &Release,
    width: usize,
    wrap: bool,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let target = theme.target(release, &line.target);
    let head = vec![
        Span::styled("[", target),
        Span::styled(&*line.target, target),
        Span::styled(":", target),
        Span::styled(&*line.follower, target),
        Span::styled("] ", target),
    ];
    let style = text_style(line, theme);
    let text = body(line);
    if !wrap || width == 0 {
        let mut spans = head;
        spans.push(Span::styled(text, style));
        return vec![Line::from(spans)];
    }
    let indent = prefix_width(line);
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
}

/// What the pane says when it has no line to show.
fn empty(release: &Release, ui: &UiState) -> String {
    let followers = &release.logs.followers;
    if followers.is_empty() {
        return "No [logs.*] followers in this profile: add one to see its lines here.".into();
    }
    if let Some(f) = &ui.filter {
        return format!("No log line matches /{f}/ yet (Esc in / clears the filter).");
    }
    if ui.target.is_some() && !release.logs.lines.is_empty() {
        return "No log line from this target yet.".into();
    }
    let targets: std::collections::BTreeSet<&str> =
        followers.iter().map(|f| f.target.as_str()).collect();
    let when = if release.logs.following || release.outcome.is_some() {
        ""
    } else {
        " (they start once the deploy locks are taken)"
    };
    format!(
        "No log line yet from {} followers on {} targets{when}.",
        followers.len(),
        targets.len()
    )
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    block: Block,
    release: &Release,
    ui: &UiState,
    theme: &Theme,
) {
    let inner = block.inner(area);
    let (height, width) = (inner.height as usize, inner.width as usize);
    let logs = &release.logs.lines;
    let picked = super::state::page(
        logs,
        |l| shown(l, ui),
        |l| rows(l, width, ui.wrap),
        ui,
        height,
    );
    if picked.is_empty() {
        frame.render_widget(
            Paragraph::new(empty(release, ui))
                .style(theme.dim())
                .wrap(Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    let lines: Vec<Line> = picked
        .into_iter()
        .flat_map(|l| screen_rows(l, release, width, ui.wrap, theme))
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
