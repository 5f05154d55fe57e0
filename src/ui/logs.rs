//! The logs pane (`l`): the log tails' lines as the output pane shows the steps', each prefixed
//! with `[target:tail]` in the target's colour, error lines (the tail's `errors`)
//! highlighted, drops and gaps in between; follow, pause, the regex and the target filters work
//! the same.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::pane::{self, PaneLine};
use super::state::UiState;
use super::theme::Theme;
use crate::engine::Release;
use crate::engine::logs::{LogLine, LogMark};

impl PaneLine for LogLine {
    fn target(&self) -> &str {
        &self.target
    }

    fn text(&self) -> &str {
        &self.line
    }

    /// `[web-1:gunicorn] `
    fn prefix(&self, release: &Release, theme: &Theme) -> Vec<Span<'_>> {
        let target = theme.target(release, &self.target);
        vec![
            Span::styled("[", target),
            Span::styled(&*self.target, target),
            Span::styled(":", target),
            Span::styled(&*self.tail, target),
            Span::styled("] ", target),
        ]
    }

    fn prefix_width(&self) -> usize {
        self.target.chars().count() + self.tail.chars().count() + 4
    }

    fn body(&self) -> std::borrow::Cow<'_, str> {
        match self.mark {
            LogMark::Read => self.line.as_str().into(),
            LogMark::Dropped => format!("⋯ {}", self.line).into(),
            LogMark::Down => format!("◌ {}", self.line).into(),
            LogMark::Up => format!("● {}", self.line).into(),
        }
    }

    fn style(&self, theme: &Theme) -> Style {
        match self.mark {
            LogMark::Read if self.error => theme.error_line(),
            LogMark::Read => Style::new(),
            LogMark::Dropped | LogMark::Down => theme.fg(Color::Yellow),
            LogMark::Up => theme.dim(),
        }
    }
}

/// What the pane says when it has no line to show.
fn empty(release: &Release, ui: &UiState) -> String {
    let tails = &release.logs.tails;
    if tails.is_empty() {
        return "No log tails ([logs.*]) in this profile: add one to see its lines here.".into();
    }
    if let Some(f) = &ui.filter {
        return format!("No log line matches /{f}/ yet (Esc in / clears the filter).");
    }
    if ui.target.is_some() && !release.logs.lines.is_empty() {
        return "No log line from this target yet.".into();
    }
    let targets: std::collections::BTreeSet<&str> =
        tails.iter().map(|f| f.target.as_str()).collect();
    let when = if release.logs.following || release.outcome.is_some() {
        ""
    } else {
        " (they start once the deploy locks are taken)"
    };
    format!(
        "No log line yet from {} log tails on {} targets{when}.",
        tails.len(),
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
    if pane::render(
        frame,
        (area, &block),
        &release.logs.lines,
        release,
        ui,
        theme,
    )
    .is_none()
    {
        frame.render_widget(
            Paragraph::new(empty(release, ui))
                .style(theme.dim())
                .wrap(Wrap { trim: true })
                .block(block),
            area,
        );
    }
}
