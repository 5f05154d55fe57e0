//! The cockpit's own confirmations: a yes / no before rolling back or aborting (with what the
//! release changed and cannot undo), and the reason asked before the watch ends early.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::modal::{centered, rows_of};
use super::rollback_plan::rollback_lines;
use super::state::{Confirm, Modal, Reason};
use super::theme::Theme;
use crate::engine::release::RunStatus;
use crate::engine::{Release, Stage, StepList};

/// The confirmation the modal holds, if any (under help too); nothing otherwise.
pub fn render(frame: &mut Frame, area: Rect, release: &Release, modal: &Modal, theme: &Theme) {
    let (title, lines, keys, reason) = match modal {
        Modal::EndWatch(reason) => {
            let (title, lines, keys) = end_watch(release, reason, theme);
            (title, lines, keys, Some(reason))
        }
        _ => match modal.confirm() {
            Some(which) => {
                let (title, lines, keys) = yes_no(release, which, theme);
                (title, lines, keys, None)
            }
            None => return,
        },
    };
    // The keys stay on screen whatever the body's length: it is clipped above them.
    let width = 72.min(area.width);
    let inner = width.saturating_sub(2).max(1) as usize;
    let body: usize = lines.iter().map(|l| rows_of(l, inner)).sum();
    let note_rows = if reason.is_some() { 3 } else { 0 };
    let rect = centered(area, width, body as u16 + 4 + note_rows);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(title)
        .border_style(theme.fg(Color::Red));
    let inside = block.inner(rect);
    frame.render_widget(block, rect);
    let [text, note_area, _gap, key_row] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(note_rows),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inside);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
    if let Some(reason) = reason {
        let mut note = reason.note.clone();
        note.set_block(Block::bordered().title(" reason "));
        frame.render_widget(&note, note_area);
    }
    frame.render_widget(Paragraph::new(Span::styled(keys, theme.bold())), key_row);
}

type Boxed = (&'static str, Vec<Line<'static>>, &'static str);

/// Title, body and keys of a yes / no.
fn yes_no(release: &Release, which: Confirm, theme: &Theme) -> Boxed {
    match which {
        Confirm::RollbackNow => {
            let mut lines = vec![Line::from(Span::styled("Roll back now?", theme.bold()))];
            if release.is_running_commands() {
                lines.push(Line::from("Steps running now are stopped first."));
            }
            lines.extend(rollback_lines(release, theme));
            (" ROLLBACK ", lines, "[y] roll back   [n] no")
        }
        Confirm::Abort => {
            let can_roll_back = release.can_roll_back()
                && matches!(
                    release.stage,
                    Stage::Running {
                        list: StepList::Main,
                        ..
                    } | Stage::Watching { .. }
                );
            let mut lines = vec![Line::from(Span::styled("Abort the release?", theme.bold()))];
            lines.extend(change_lines(release, theme));
            lines.push(Line::from(
                "Aborting stops what runs and runs nothing more: the hosts stay as they are now.",
            ));
            let keys = if can_roll_back {
                "[y] abort   [r] roll back instead   [n] stay"
            } else {
                "[y] abort   [n] stay"
            };
            (" ABORT ", lines, keys)
        }
    }
}

/// Title, body and keys of ending the watch early; the reason's box goes under the body.
fn end_watch(release: &Release, reason: &Reason, theme: &Theme) -> Boxed {
    let mut lines = vec![Line::from(Span::styled(
        "End the watch window now and call the release released?",
        theme.bold(),
    ))];
    if let Stage::Watching { until } = release.stage {
        lines.push(Line::from(format!(
            "It had {} left; rollback is no longer offered once it ends.",
            super::checklist::duration(until.saturating_sub(release.now))
        )));
    }
    lines.push(Line::from("Why end it early? (recorded with the decision)"));
    if let Some(why) = reason.refusal {
        lines.push(Line::from(Span::styled(why, theme.error_line())));
    }
    (
        " END THE WATCH ",
        lines,
        "type the reason, [Enter] end the watch   [Esc] keep watching",
    )
}

/// What the release changed on which host, for a person about to leave it.
fn change_lines(release: &Release, theme: &Theme) -> Vec<Line<'static>> {
    let changes = release.changes();
    if changes.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::from("Changed on the hosts so far:")];
    let mut targets: Vec<&str> = changes.iter().map(|c| c.target.as_str()).collect();
    targets.sort_unstable();
    targets.dedup();
    for target in targets {
        let steps: Vec<String> = changes
            .iter()
            .filter(|c| c.target == target)
            .map(|c| {
                let (symbol, _) = theme.run(c.status);
                let mark = if c.irreversible {
                    " (irreversible)"
                } else {
                    ""
                };
                format!("{symbol} {}{mark}", c.step)
            })
            .collect();
        lines.push(Line::from(format!("  {target}: {}", steps.join(", "))));
    }
    for c in changes
        .iter()
        .filter(|c| c.irreversible && c.status == RunStatus::Running)
    {
        lines.push(Line::from(Span::styled(
            format!(
                "! {} is irreversible and runs now on {}: stopping it may leave it half done",
                c.step, c.target
            ),
            theme.fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    lines
}
