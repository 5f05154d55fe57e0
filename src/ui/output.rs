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

use super::pane::{self, PaneLine};
use super::state::{Pane, Source, UiState};
use super::theme::Theme;
use crate::engine::release::{Mark, OutputLine};
use crate::engine::{Release, RunStatus, Stream};

const SUMMARY_TITLE: &str = " Summary (i: output) ";

static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(error|fatal|critical|panic|traceback|exception|failed)\b")
        .expect("valid pattern")
});

impl PaneLine for OutputLine {
    fn target(&self) -> &str {
        &self.run.target
    }

    fn text(&self) -> &str {
        &self.line
    }

    /// `[web-1] ` for a target's lines (`!` for stderr), nothing for a heading.
    fn prefix(&self, release: &Release, theme: &Theme) -> Vec<Span<'_>> {
        if self.run.target.is_empty() {
            return Vec::new();
        }
        let target = theme.target(release, &self.run.target);
        let mark = match (self.mark, self.stream) {
            (Mark::Printed, Stream::Stderr) => "!",
            _ => " ",
        };
        vec![
            Span::styled("[", target),
            Span::styled(self.run.target.as_str(), target),
            Span::styled("]", target),
            Span::styled(mark, theme.error_line()),
        ]
    }

    fn prefix_width(&self) -> usize {
        if self.run.target.is_empty() {
            0
        } else {
            self.run.target.chars().count() + 3
        }
    }

    fn body(&self) -> std::borrow::Cow<'_, str> {
        match self.mark {
            Mark::Printed => self.line.as_str().into(),
            Mark::Step => format!("── {} ", self.line).into(),
            Mark::Command => format!("   $ {}", self.line).into(),
            Mark::Attempt => format!("↻ {}", self.line).into(),
            Mark::Link => format!("◌ {}", self.line).into(),
            Mark::Shell => format!("$ {}", self.line).into(),
            // A follower's name came over the socket: made printable here.
            Mark::Vote { counted } => {
                let symbol = if counted { "✓" } else { "✗" };
                format!("{symbol} {}", crate::text::printable(&self.line)).into()
            }
            Mark::Ended(status) => {
                let symbol = match status {
                    RunStatus::Passed => "✓",
                    RunStatus::Cancelled => "⊘",
                    RunStatus::Unknown => "???",
                    _ => "✗",
                };
                format!("{symbol} {}", self.line).into()
            }
        }
    }

    fn style(&self, theme: &Theme) -> Style {
        match self.mark {
            Mark::Printed if ERROR_LINE.is_match(&self.line) => theme.error_line(),
            Mark::Printed => Style::new(),
            Mark::Step => theme.bold().add_modifier(Modifier::UNDERLINED),
            Mark::Command => theme.dim(),
            Mark::Attempt | Mark::Link => theme.fg(Color::Yellow),
            Mark::Shell => theme.fg(Color::Cyan),
            Mark::Vote { counted: true } => theme.fg(Color::Green),
            Mark::Vote { counted: false } => theme.fg(Color::Red),
            Mark::Ended(status) => theme.run(status).1,
        }
    }

    fn heading(&self) -> bool {
        self.mark == Mark::Step
    }
}

/// The pane's title: what it shows, following or paused, and the target, filter and wrap on.
fn title(release: &Release, ui: &UiState, theme: &Theme) -> Line<'static> {
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
    Line::from(title)
}

/// The summary so far (`i`), with where the session is recorded.
fn summary(frame: &mut Frame, area: Rect, release: &Release, ui: &UiState, theme: &Theme) {
    let mut lines: Vec<Line> = crate::summary::lines(release, ui.log.as_deref())
        .into_iter()
        .chain(ui.journal.as_deref().map(crate::summary::journal_line))
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
}

pub fn render(frame: &mut Frame, area: Rect, release: &Release, ui: &UiState, theme: &Theme) {
    let block = Block::bordered().title(title(release, ui, theme));
    if ui.source == Source::Summary {
        return summary(frame, area, release, ui, theme);
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
    if pane::render(frame, (area, &block), &release.output, release, ui, theme).is_none() {
        let why = match &ui.filter {
            Some(f) => format!("No line matches /{}/ yet (Esc in / clears the filter).", f),
            None => "No line from this target yet.".to_string(),
        };
        let lines = vec![Line::from(Span::styled(why, theme.dim()))];
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}
