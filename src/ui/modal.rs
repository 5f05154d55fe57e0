//! Modals: the open question (gate, manual item, failure, rollback confirmation), the cockpit's
//! own yes / no confirmations, and the help overlay. They draw last, over a cleared area.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::keymap::Choice;
use super::present::Presenter;
use super::rollback_plan::rollback_lines;
use super::state::{OpenAnswer, Seat};
use super::theme::Theme;
use crate::engine::plan::StepKind;
use crate::engine::release::LinkState;
use crate::engine::{Question, Release, StepList};

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn choice_label(choice: Choice) -> (&'static str, &'static str) {
    match choice {
        Choice::Go => ("g", "GO"),
        Choice::NoGo => ("n", "NO-GO"),
        Choice::Done => ("d", "DONE"),
        Choice::Skip => ("s", "SKIP"),
        Choice::Retry => ("t", "RETRY"),
        Choice::Rollback => ("r", "ROLLBACK"),
        Choice::Abort => ("x", "ABORT"),
        Choice::RollbackAnyway => ("y", "ROLL BACK ANYWAY"),
        Choice::Cancel => ("c", "CANCEL"),
        Choice::Keep => ("k", "KEEP WATCHING"),
        Choice::Redeploy => ("e", "DEPLOY AGAIN"),
    }
}

/// An answer's key and label at `question`: abort, where nothing ran yet, stops.
fn label_at(question: &Question, choice: Choice) -> (&'static str, &'static str) {
    match (question, choice) {
        (Question::Redeploy { .. }, Choice::Abort) => ("x", "STOP"),
        _ => choice_label(choice),
    }
}

/// Rows a line takes once word-wrapped at `width`, as the modal's paragraph wraps it (words
/// moved whole take more rows than the line's length divided by the width).
pub(super) fn rows_of(line: &Line, width: usize) -> usize {
    Paragraph::new(line.clone())
        .wrap(Wrap { trim: false })
        .line_count(width as u16)
        .max(1)
}

/// The open question's modal, its parts laid out: the question's lines, the first gate's What
/// ships (its header, and its lists in the rows left), the controls, the note.
struct Laid {
    rect: Rect,
    title: &'static str,
    lines: Vec<Line<'static>>,
    /// The What ships lists, scrolled to their top row, and the rows they are given.
    list: Vec<Line<'static>>,
    list_rows: u16,
    /// Rows of the lists in all.
    total: usize,
    controls: Vec<Line<'static>>,
    control_rows: u16,
}

/// Rows of the note's box under the controls.
const NOTE_ROWS: u16 = 3;

fn laid_out(
    area: Rect,
    release: &Release,
    (a, seat, present): (&OpenAnswer, Seat, Option<&Presenter>),
    theme: &Theme,
) -> Laid {
    let (mut lines, title) = question_lines(release, &a.question, theme);
    // The controls stay on screen whatever the evidence above them: it is clipped, not they.
    let mut controls = match seat {
        Seat::Operator => controls(release, a, theme),
        seat => seat_controls(release, a, seat, theme),
    };
    let width = 76.min(area.width);
    let inner_width = width.saturating_sub(2).max(1) as usize;
    let wrapped = |ls: &[Line]| -> u16 { ls.iter().map(|l| rows_of(l, inner_width) as u16).sum() };
    let control_rows = wrapped(&controls);
    let mut list = Vec::new();
    let mut list_rows = 0;
    let mut total = 0;
    if super::ships::at_first_gate(release, &a.question) {
        list = super::ships::list_lines(release, inner_width, present, theme);
        total = list.len();
        lines.push(super::ships::header(release, theme));
        lines.extend(super::ships::mixed_line(release, theme));
        // What is left of the screen under the status bar and over the key line.
        let fixed = wrapped(&lines) + control_rows + NOTE_ROWS + 2;
        list_rows = (total as u16).min(area.height.saturating_sub(2 + fixed));
        let top = a.scroll.min(total - list_rows as usize);
        // The controls' first row is blank: it says where the lists are scrolled to.
        if total > list_rows as usize
            && let Some(first) = controls.first_mut()
        {
            *first = super::ships::scroll_line((top, list_rows as usize, total), theme);
        }
        list.drain(..top);
    }
    let height = wrapped(&lines) + list_rows + control_rows + NOTE_ROWS + 2;
    Laid {
        rect: centered(area, width, height),
        title,
        lines,
        list,
        list_rows,
        total,
        controls,
        control_rows,
    }
}

/// How far the first gate's What ships list scrolls in `area`: its rows beyond those shown.
pub fn ships_scroll_room(area: Rect, release: &Release, ui: &super::state::UiState) -> usize {
    let Some(a) = &ui.answer else { return 0 };
    let laid = laid_out(area, release, (a, ui.seat, None), &Theme { color: false });
    laid.total.saturating_sub(laid.list_rows as usize)
}

pub fn answer(
    frame: &mut Frame,
    area: Rect,
    release: &Release,
    (a, seat, present): (&OpenAnswer, Seat, Option<&Presenter>),
    theme: &Theme,
) {
    let laid = laid_out(area, release, (a, seat, present), theme);
    let rect = laid.rect;
    frame.render_widget(Clear, rect);
    let border = if release.plan.production {
        theme.fg(Color::Red)
    } else {
        theme.fg(Color::Magenta)
    };
    let block = Block::bordered()
        .title(Line::from(laid.title).style(border.add_modifier(Modifier::BOLD)))
        .border_style(border);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [text_area, list_area, controls_area, note_area] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(laid.list_rows),
        Constraint::Length(laid.control_rows),
        Constraint::Length(NOTE_ROWS),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(laid.lines).wrap(Wrap { trim: false }),
        text_area,
    );
    frame.render_widget(Paragraph::new(laid.list), list_area);
    frame.render_widget(
        Paragraph::new(laid.controls).wrap(Wrap { trim: false }),
        controls_area,
    );
    note_box(frame, note_area, a, theme);
}

/// The note (or a skip's reason) under the controls.
fn note_box(frame: &mut Frame, area: Rect, a: &OpenAnswer, theme: &Theme) {
    let label = if a.armed.is_some_and(Choice::needs_reason) {
        " reason (required) "
    } else {
        " note (optional, recorded) "
    };
    let mut note = a.note.clone();
    note.set_block(Block::bordered().title(label).border_style(if a.editing {
        theme.bold()
    } else {
        theme.dim()
    }));
    if !a.editing {
        note.set_cursor_style(ratatui::style::Style::new());
    }
    frame.render_widget(&note, area);
}

/// The open question in words (its evidence), and the modal's title.
fn question_lines(
    release: &Release,
    question: &Question,
    theme: &Theme,
) -> (Vec<Line<'static>>, &'static str) {
    let production = release.plan.production;
    match question {
        Question::Gate { step } => {
            let promote = release.plan.steps[*step].kind == StepKind::Analysis;
            let title = match (production, promote) {
                (true, true) => " PRODUCTION PROMOTE GATE ",
                (true, false) => " PRODUCTION GATE ",
                (false, true) => " PROMOTE GATE ",
                (false, false) => " GATE ",
            };
            (gate_lines(release, *step, theme), title)
        }
        Question::Manual { list, step } => {
            let item = Line::from(Span::styled(
                release.list(*list)[*step].text.clone(),
                theme.bold(),
            ));
            (vec![item], " MANUAL ITEM ")
        }
        Question::Failure { list, step } => {
            let title = if *list == StepList::Main {
                " STEP FAILED "
            } else {
                " ROLLBACK STEP FAILED "
            };
            (
                super::failure::failure_lines(release, *list, *step, theme),
                title,
            )
        }
        Question::FinalGate => {
            let title = if production {
                " PRODUCTION FINAL GATE "
            } else {
                " FINAL GATE "
            };
            (final_gate_lines(release, theme), title)
        }
        Question::RollbackProposal { rule } => {
            (proposal_lines(release, *rule, theme), " ROLLBACK PROPOSED ")
        }
        Question::ConfirmRollback { .. } => (rollback_lines(release, theme), " CONFIRM ROLLBACK "),
        Question::Redeploy { version } => (
            super::ships::redeploy_lines(release, version, theme),
            " ALREADY DEPLOYED ",
        ),
    }
}

/// The final gate's question: what GO means, against the health now.
fn final_gate_lines(release: &Release, theme: &Theme) -> Vec<Line<'static>> {
    let mut asked = crate::summary::final_gate_words(release);
    asked[..1].make_ascii_uppercase();
    vec![
        Line::from(Span::styled(asked, theme.bold())),
        Line::from(format!("Now: {}", super::health::health_summary(release))),
        Line::from("GO ends the release as released and lets go of the locks."),
    ]
}

/// A proposed rollback: the rule breached and its evidence, and when it rolls back by itself.
fn proposal_lines(release: &Release, rule: usize, theme: &Theme) -> Vec<Line<'static>> {
    // During a batch's analysis its hosts beside the control say more than every sample.
    let versus = (release.plan.watch.as_ref())
        .and_then(|w| w.rollback_on.get(rule))
        .and_then(|r| super::health::versus_said(release, r));
    let mut lines: Vec<Line> = crate::summary::proposal_lines(release, rule)
        .into_iter()
        .map(|text| match &versus {
            Some(now) if text.trim_start().starts_with("values:") => format!("   now: {now}"),
            _ => text,
        })
        .enumerate()
        .map(|(i, text)| {
            let text = text.trim_start_matches("?? ").to_string();
            let style = if i == 0 { theme.bold() } else { Style::new() };
            Line::from(Span::styled(text, style))
        })
        .collect();
    // Caught during a batch's analysis: only the hosts changed so far are rolled back.
    if let Some(batch) = release.analysing() {
        lines.push(Line::from(format!(
            "Rollback undoes {}, the hosts changed through {}.",
            batch.changed.join(", "),
            batch.label()
        )));
        lines.extend(super::rollback_plan::untouched_line(release, theme));
    }
    if let Some(at) = release.watch.auto_rollback_at {
        lines.push(Line::from(Span::styled(
            format!(
                "Rolls back by itself in {} unless answered (auto_rollback).",
                super::checklist::duration(at.saturating_sub(release.now))
            ),
            theme.fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    lines
}

/// A gate's evidence: its question, what runs next and where, the links and health now, the
/// approvals so far.
fn gate_lines(release: &Release, step: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let s = &release.plan.steps[step];
    if s.kind == StepKind::Analysis {
        // The promote gate after a batch's analysis: what it promotes, on the analysis's word.
        lines.extend(super::rollout::promote_lines(release, step, theme));
    } else {
        lines.push(Line::from(Span::styled(s.text.clone(), theme.bold())));
    }
    if let Some(next) = release
        .plan
        .steps
        .get(step + 1)
        .filter(|n| n.kind.runs_command() && s.kind != StepKind::Analysis)
    {
        lines.push(Line::from(format!(
            "Next: {} on {}",
            next.name,
            next.targets.join(", ")
        )));
    }
    let up = release
        .targets
        .iter()
        .filter(|t| t.link == LinkState::Up)
        .count();
    lines.push(Line::from(format!(
        "Links now: {up}/{} connected; {}",
        release.targets.len(),
        super::health::health_summary(release)
    )));
    if s.approvals > 1 {
        let by = &release.steps[step].approved_by;
        lines.push(Line::from(format!(
            "Approvals: {} of {} ({})",
            by.len(),
            s.approvals,
            by.join(", ")
        )));
        lines.extend(approval_lines(release, step, theme));
    }
    lines
}

/// A gate of two approvals or more: once the operator's GO is in, who else may approve and
/// how; the followers on this machine named as unable to.
fn approval_lines(release: &Release, step: usize, theme: &Theme) -> Vec<Line<'static>> {
    let state = &release.steps[step];
    let missing =
        (release.plan.steps[step].approvals as usize).saturating_sub(state.approved_by.len());
    let mut lines = Vec::new();
    if state.operator_go && missing > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "Your GO is in. Waiting for {missing} more approval{}: a colleague runs \
                 gonogo follow --approver NAME over SSH (docs/follow.md).",
                crate::text::plural(missing)
            ),
            theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )));
    }
    let followers: Vec<String> = release
        .followers
        .iter()
        .filter_map(|w| match w.via {
            crate::engine::Via::Local => Some(format!("{} ({})", w.name, w.approval_said()?)),
            _ => Some(format!("{} ({}, {})", w.name, w.via, w.approval_said()?)),
        })
        .collect();
    if !followers.is_empty() {
        lines.push(Line::from(format!(
            "Approvers following: {}",
            crate::text::printable(&followers.join(", "))
        )));
    }
    lines
}

/// What a follower's or a replay's modal offers: an approver GO at a gate that takes a second
/// person, and what it approves; otherwise no answer key, only who answers.
fn seat_controls(
    release: &Release,
    a: &OpenAnswer,
    seat: Seat,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut controls: Vec<Line> = vec![Line::from("")];
    let approves = match a.question {
        Question::Gate { step } => release.plan.steps[step].approvals > 1,
        _ => false,
    };
    if seat == Seat::Approver && approves {
        let (mark, style) = if a.armed == Some(Choice::Go) {
            ("▶", theme.selected().add_modifier(Modifier::BOLD))
        } else {
            ("", theme.bold())
        };
        controls.push(Line::from(Span::styled(format!("{mark}[g] GO"), style)));
        controls.push(Line::from(Span::styled(
            if a.armed == Some(Choice::Go) {
                "Enter confirms GO: your approval as a second person, bound to what you see \
                 now; the session judges it."
            } else {
                "g arms GO: your approval as a second person (Enter confirms). Only the \
                 operator answers NO-GO or rollback."
            },
            theme.fg(Color::Yellow),
        )));
    } else {
        controls.push(Line::from(Span::styled(
            "read-only: the operator answers",
            theme.fg(Color::Yellow),
        )));
    }
    if let Some(why) = &a.refusal {
        controls.push(Line::from(Span::styled(
            why.clone(),
            theme.fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    controls
}

/// The answers the question takes, the armed one marked, and what to do next.
fn controls(release: &Release, a: &OpenAnswer, theme: &Theme) -> Vec<Line<'static>> {
    let production = release.plan.production;
    let mut controls: Vec<Line> = vec![Line::from("")];
    let mut options = Vec::new();
    // The operator's GO at a gate of more approvals is in: it is not offered again.
    let go_in = matches!(a.question, Question::Gate { step } if release.steps[step].operator_go);
    for choice in release.answers() {
        if go_in && choice == Choice::Go {
            continue;
        }
        let (key, label) = label_at(&a.question, choice);
        // Armed: reversed, and a mark that reads without colour or attributes too.
        let (mark, style) = if a.armed == Some(choice) {
            ("▶", theme.selected().add_modifier(Modifier::BOLD))
        } else {
            ("", theme.bold())
        };
        options.push(Span::styled(format!("{mark}[{key}] {label}"), style));
        options.push(Span::raw("  "));
    }
    controls.push(Line::from(options));
    let hint = match a.armed {
        _ if go_in && a.armed.is_none_or(|c| c == Choice::Go) => {
            "Waiting for the other approvals; a letter arms another answer.".to_string()
        }
        None => "Press a letter to arm an answer, then Enter to confirm.".to_string(),
        Some(Choice::Go) if production => format!(
            "Type go and press Enter to confirm GO in production: > {}_",
            a.typed
        ),
        Some(Choice::Skip) => {
            "Type the reason below (Tab), then Enter: a skip is recorded with its reason."
                .to_string()
        }
        Some(Choice::Redeploy) => {
            "Type the reason below (Tab), then Enter: deploying again is recorded with it."
                .to_string()
        }
        Some(choice) => format!(
            "Enter confirms {}. Another letter changes it; Esc hides it, unarmed.",
            label_at(&a.question, choice).1
        ),
    };
    controls.push(Line::from(Span::styled(hint, theme.fg(Color::Yellow))));
    if let Some(why) = &a.refusal {
        controls.push(Line::from(Span::styled(
            why.clone(),
            theme.fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    controls
}
