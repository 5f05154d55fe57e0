//! The bottom row: what waits for the operator (banners), then the keys of what is on screen,
//! as many as the terminal's width takes, the least important dropped first, none cut.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::widgets::Paragraph;

use super::fit::{self, Part};
use super::keymap::Mode;
use super::state::{Modal, Pane, UiState};
use super::theme::Theme;
use crate::engine::{AfterStop, Question, Release, Stage};

/// A key and what it does, as the key line says it, with its rank (0 matters most: the highest
/// rank is dropped first on a narrow terminal).
pub type Hint = (&'static str, u8);

const FILTER: &[Hint] = &[
    ("type a regex", 1),
    ("Enter apply", 0),
    ("Esc clear the filter", 0),
];
const PICK_SHELL: &[Hint] = &[
    ("type to narrow", 2),
    ("↑↓ choose", 1),
    ("Enter open a shell there", 0),
    ("Esc back", 0),
];
const PICK_LINES: &[Hint] = &[
    ("type to narrow", 2),
    ("↑↓ choose", 1),
    ("Enter show its lines", 0),
    ("Esc back", 0),
];
/// A follower's: what they were told (a refused key, a vote's judgement) goes before
/// `read-only` and `? help`.
const FOLLOWING: &[Hint] = &[
    ("read-only", 2),
    ("? help", 1),
    ("q leave", 0),
    ("m mirror the operator", 2),
    ("Tab focus", 3),
    ("z zoom", 4),
    ("/ filter", 5),
    ("t target", 5),
    ("l logs", 6),
];
const HELP: &[Hint] = &[("↑↓ scroll", 1), ("Esc/?/q close the help", 0)];
const END_WATCH: &[Hint] = &[
    ("type the reason", 1),
    ("Enter end the watch", 0),
    ("Esc keep watching", 0),
];
const CONFIRM: &[Hint] = &[("y yes", 0), ("n/Esc no", 0), ("? help", 1)];
const ANSWER: &[Hint] = &[
    ("? help", 0),
    ("q quit", 1),
    ("letter arms", 2),
    ("Enter confirms", 0),
    ("Tab note", 3),
    ("Esc hide", 2),
    ("R rollback", 1),
];
const ENDED: &[Hint] = &[
    ("? help", 0),
    ("q quit", 0),
    ("i summary/output", 1),
    ("Tab focus", 2),
    ("z zoom", 3),
    ("/ filter", 4),
    ("t target", 4),
];
const QUESTION_HIDDEN: &[Hint] = &[
    ("? help", 0),
    ("q quit", 0),
    ("a answer", 0),
    ("R rollback", 1),
    ("Tab focus", 2),
    ("z zoom", 4),
    ("/ filter", 5),
    ("t target", 5),
    ("i summary", 6),
];
const CHECKLIST: &[Hint] = &[
    ("? help", 0),
    ("q quit", 0),
    ("R rollback", 1),
    ("s shell", 5),
    ("↑↓ step", 3),
    ("Enter targets", 4),
    ("Tab output", 2),
    ("z zoom", 4),
    ("/ filter", 6),
    ("t target", 6),
    ("l logs", 5),
    ("i summary", 6),
];
const OUTPUT: &[Hint] = &[
    ("? help", 0),
    ("q quit", 0),
    ("R rollback", 1),
    ("↑↓ PgUp scroll", 3),
    ("End follow", 4),
    ("w wrap", 6),
    ("/ filter", 5),
    ("t target", 5),
    ("Tab health", 2),
    ("z zoom", 4),
];
const HEALTH: &[Hint] = &[
    ("? help", 0),
    ("q quit", 0),
    ("R rollback", 1),
    ("↑↓ PgUp scroll", 3),
    ("Tab checklist", 2),
    ("z zoom", 4),
];
/// A replay's: the player's keys, from the keymap's replay mode.
const REPLAY: &[Hint] = &[
    ("Space play/pause", 0),
    ("+ - speed", 2),
    ("← → 10s", 2),
    ("[ ] marks", 1),
    ("g G start/end", 3),
    ("z zoom", 4),
    ("? help", 0),
    ("q leave", 0),
];
/// While watching, after the `WATCHING` banner: the watch's own keys.
const WATCHING: &[Hint] = &[
    ("R rolls back", 1),
    ("E ends the watch", 2),
    ("+ extends 5m", 3),
];

/// The keys of what is on screen: the modal's, the focused pane's, the end screen's.
pub fn footer_keys(release: &Release, ui: &UiState) -> &'static [Hint] {
    let picker = match &ui.modal {
        Modal::Filter(_) => return FILTER,
        Modal::Picker(picker) => Some(picker),
        _ => None,
    };
    match picker {
        Some(picker) if picker.for_shell => return PICK_SHELL,
        Some(_) => return PICK_LINES,
        None if ui.following.is_some() => return FOLLOWING,
        None => {}
    }
    match ui.mode() {
        Mode::Help => HELP,
        Mode::Replay => REPLAY,
        Mode::Confirm if matches!(ui.modal, Modal::EndWatch(_)) => END_WATCH,
        Mode::Confirm => CONFIRM,
        Mode::Answer => ANSWER,
        Mode::Normal if release.is_finished() => ENDED,
        Mode::Normal if ui.answer.is_some() => QUESTION_HIDDEN,
        Mode::Normal => match ui.focus {
            Pane::Checklist => CHECKLIST,
            Pane::Output => OUTPUT,
            Pane::Health => HEALTH,
        },
    }
}

/// What waits for the operator, in one banner: a question, the hosts, a rollback under way.
fn waiting_banner(release: &Release, ui: &UiState) -> Option<&'static str> {
    let question = match (&release.question, ui.mode()) {
        (Some(_), _) if ui.following.is_some() || ui.replaying => Some(" QUESTION open "),
        (Some(q), Mode::Normal) => Some(match q {
            Question::Gate { step } if promote_gate(release, *step) => {
                " PROMOTE GATE waits: a answers "
            }
            Question::Gate { .. } => " GATE waits: a answers ",
            Question::Manual { .. } => " MANUAL item waits: a answers ",
            Question::Failure { .. } => " STEP FAILED: a decides ",
            Question::ConfirmRollback { .. } => " ROLLBACK to confirm: a ",
            Question::RollbackProposal { .. } => " ROLLBACK PROPOSED: a decides ",
            Question::FinalGate => " FINAL GATE waits: a answers ",
            Question::Redeploy { .. } => " ALREADY DEPLOYED: a answers ",
        }),
        _ => None,
    };
    // What the hosts have not confirmed yet, or what they left behind, stays on screen.
    let pending = match (release.after_stop, release.stage) {
        (Some(AfterStop::Rollback), _) => Some(" STOPPING the running steps, then rolling back "),
        (Some(AfterStop::Abort), _) => Some(" STOPPING the running steps, then aborting "),
        (None, Stage::Closing) => Some(" RELEASING the locks "),
        (None, Stage::Finished) if !release.kept_locks.is_empty() => {
            Some(" LOCK KEPT: after q, gonogo prints how to remove it ")
        }
        _ => None,
    };
    let rolling_back = matches!(
        release.stage,
        Stage::Running {
            list: crate::engine::StepList::Rollback,
            ..
        }
    );
    question
        .or(pending)
        .or(rolling_back.then_some(" ROLLING BACK "))
}

/// The gate after a batch's analysis: GO promotes the next batch.
fn promote_gate(release: &Release, step: usize) -> bool {
    release
        .plan
        .steps
        .get(step)
        .is_some_and(|s| s.kind == crate::engine::plan::StepKind::Analysis)
}

/// Every part of the key line, in order, each with its rank.
pub fn key_parts(release: &Release, ui: &UiState, theme: &Theme) -> Vec<Part> {
    let alarm = theme.fg(Color::Red).add_modifier(Modifier::REVERSED);
    let mut parts = Vec::new();
    // The session is no longer recorded: said first, and for as long as the cockpit is open.
    if let Some(failed) = &release.journal_failed {
        let said = crate::text::printable(&failed.said()).into_owned();
        parts.push(Part::new(format!(" {said} "), alarm, 0));
    }
    if let Some(why) = &release.halted {
        parts.push(Part::new(format!(" {why} "), alarm, 0));
    }
    let waiting = waiting_banner(release, ui);
    let watching = matches!(release.stage, Stage::Watching { .. }) && waiting.is_none();
    // The watch's own keys, where they are the keys that work.
    let watch_keys = watching && ui.mode() == Mode::Normal && ui.following.is_none();
    if watching {
        let banner = theme.fg(Color::Yellow).add_modifier(Modifier::REVERSED);
        parts.push(Part::new(" WATCHING ", banner, 0));
    }
    if watch_keys {
        let keys = theme.fg(Color::Yellow).add_modifier(Modifier::BOLD);
        parts.extend(WATCHING.iter().map(|&(h, r)| Part::new(h, keys, r)));
    }
    if let Some(w) = waiting {
        let banner = theme.fg(Color::Magenta).add_modifier(Modifier::REVERSED);
        parts.push(Part::new(w, banner, 0));
    }
    if let Some(notice) = &ui.notice {
        parts.push(Part::new(format!(" {notice} "), theme.bold(), 1).shortening());
    }
    let keys = footer_keys(release, ui)
        .iter()
        // The watch's own `R` is said with it.
        .filter(|(h, _)| !(watch_keys && h.starts_with("R ")))
        .map(|&(h, r)| {
            let h = if ui.zoomed && h == "z zoom" {
                "z back"
            } else {
                h
            };
            Part::new(h, theme.dim(), r)
        });
    parts.extend(keys);
    parts
}

/// The keys that matter now, and what waits for the operator.
pub fn render(frame: &mut Frame, area: Rect, release: &Release, ui: &UiState, theme: &Theme) {
    let parts = key_parts(release, ui, theme);
    frame.render_widget(
        Paragraph::new(fit::line(parts, area.width as usize, 2)),
        area,
    );
}
