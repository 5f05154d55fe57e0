//! The help overlay (`?`): the keymap's keys for the cockpit's modes, or a replay's, and the
//! symbols the screen uses.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::keymap::{self, Mode};
use super::modal::{centered, rows_of};
use super::theme::Theme;
use crate::engine::release::RunStatus;

/// What every state symbol means, from the theme itself: steps, then each host's run.
fn symbol_legend(theme: &Theme) -> Vec<Line<'static>> {
    use crate::engine::StepStatus as S;
    let steps = [
        (S::Pending, "waiting its turn (– after the end: not run)"),
        (S::Running, "running"),
        (S::Waiting, "waits for you: a gate, a manual item"),
        (S::Passed, "passed"),
        (S::Failed, "failed"),
        (S::Skipped, "skipped, with a reason"),
        (S::RolledBack, "undone by the rollback"),
        (S::Cancelled, "stopped by an abort or a rollback"),
    ];
    let runs = [
        (
            RunStatus::RetryWaiting,
            "a host's check failed; it is tried again",
        ),
        (RunStatus::Stopping, "a host's step is being stopped"),
        (
            RunStatus::Unknown,
            "a host's outcome is unknown (link lost): retry re-attaches",
        ),
    ];
    let mut lines: Vec<Line<'static>> = steps
        .iter()
        .map(|(status, what)| {
            let (symbol, style) = theme.step(*status);
            Line::from(vec![
                Span::styled(format!("  {symbol:<8}"), style),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.extend(runs.iter().map(|(status, what)| {
        let (symbol, style) = theme.run(*status);
        Line::from(vec![
            Span::styled(format!("  {symbol:<8}"), style),
            Span::raw(*what),
        ])
    }));
    lines.push(Line::from(vec![
        Span::styled(format!("  {:<8}", "◔"), theme.bold()),
        Span::raw("a batch's analysis against the control, then its verdict"),
    ]));
    lines.push(Line::from(vec![
        Span::styled(format!("  {:<8}", "!"), theme.bold()),
        Span::raw("irreversible: no rollback undoes it (after one: done, not undone)"),
    ]));
    lines
}

/// The keymap's help: the cockpit's modes, or a replay's keys (`replaying`).
pub fn overlay(frame: &mut Frame, area: Rect, (scroll, replaying): (u16, bool), theme: &Theme) {
    let mut lines = Vec::new();
    let modes: &[(Mode, &str)] = if replaying {
        &[
            (
                Mode::Replay,
                "Replay (read-only: nothing here changes the release)",
            ),
            (Mode::Help, "This help"),
        ]
    } else {
        &[
            (Mode::Normal, "Cockpit"),
            (Mode::Answer, "Answering a question"),
            (Mode::Confirm, "Confirmations"),
            (Mode::Help, "This help"),
        ]
    };
    for &(mode, title) in modes {
        lines.push(Line::from(Span::styled(title, theme.bold())));
        for (keys, what) in keymap::help(mode) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<8}"), theme.bold()),
                Span::raw(what),
            ]));
        }
    }
    lines.push(Line::from(Span::styled(
        if replaying {
            "Timeline: ◆ gate  ✗ failure  ⚑ rollback proposed  ↺ rollback  ↯ gonogo died, resumed"
        } else {
            "Gates: a letter arms, Enter confirms; a production GO also needs `go` typed."
        },
        theme.dim(),
    )));
    if !replaying {
        lines.push(Line::from(Span::styled(
            "Batches: during a batch's analysis R rolls back only the hosts changed so far; \
             at the promote gate GO deploys the next batch.",
            theme.dim(),
        )));
    }
    lines.push(Line::from(Span::styled("Symbols", theme.bold())));
    lines.extend(symbol_legend(theme));
    // Counted as drawn: a line wrapped on a narrow terminal takes more than one row, and the
    // last rows must still scroll into view.
    let inner = 84.min(area.width).saturating_sub(2).max(1) as usize;
    let total: u16 = lines.iter().map(|l| rows_of(l, inner) as u16).sum();
    let rect = centered(area, 84, total + 2);
    let visible = rect.height.saturating_sub(2);
    let scroll = scroll.min(total.saturating_sub(visible));
    let title = if total > visible {
        format!(
            " Help (Esc closes, ↑↓ scroll: {}-{} of {total}) ",
            scroll + 1,
            (scroll + visible).min(total)
        )
    } else {
        " Help (Esc closes) ".to_string()
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(Block::bordered().title(title)),
        rect,
    );
}
