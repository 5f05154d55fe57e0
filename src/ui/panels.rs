//! The status bar, the key hints and the health pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::checklist::duration;
use super::keymap::Mode;
use super::state::{Modal, Pane, UiState};
use super::theme::Theme;
use crate::engine::AfterStop;
use crate::engine::release::LinkState;
use crate::engine::{Outcome, Question, Release, Stage};

/// Who the release waits on, and for how long: the person at a question, or the hosts still
/// running the current step. A counter that moves tells a wait from a hang.
fn waiting_on(release: &Release, now: u64, who: &str) -> Option<String> {
    let (list, step) = release.current()?;
    let state = release.states(list).get(step)?;
    let since = |at: Option<u64>| duration(now.saturating_sub(at.unwrap_or(now)));
    if release.after_stop.is_some() {
        return None;
    }
    if let Some(question) = &release.question {
        let at = match question {
            Question::Failure { .. } => state.finished_at,
            _ => state.started_at,
        };
        return Some(format!("waiting on {who} · {}", since(at)));
    }
    let running: Vec<&str> = state
        .targets
        .iter()
        .filter(|t| t.status == crate::engine::RunStatus::Running)
        .map(|t| t.target.as_str())
        .collect();
    let first = running.first()?;
    let more = match running.len() {
        1 => String::new(),
        n => format!(" +{}", n - 1),
    };
    let started = state
        .targets
        .iter()
        .filter(|t| t.status == crate::engine::RunStatus::Running)
        .filter_map(|t| t.started_at)
        .min();
    Some(format!("waiting on {first}{more} · {}", since(started)))
}

/// Release, environment (production stands out), version, elapsed, lock, links, watch.
pub fn status_bar(
    frame: &mut Frame,
    area: Rect,
    release: &Release,
    ui: &UiState,
    theme: &Theme,
    now: u64,
) {
    let mut spans = release_spans(release, theme);
    // Most telling first: a narrow terminal cuts the end of the line.
    spans.extend(watch_left_span(release, theme, now));
    spans.extend(outcome_span(release, theme));
    let who = ui.following.as_deref().unwrap_or("you");
    spans.extend(waiting_span(release, theme, now, who));
    spans.extend(followers_span(release, theme));
    if let Some(start) = release.started_at {
        spans.push(Span::styled(
            format!("  ⏱ {}", duration(now.saturating_sub(start))),
            theme.dim(),
        ));
    }
    spans.push(locks_and_links_span(release));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The release, its environment (production stands out) and its version.
fn release_spans(release: &Release, theme: &Theme) -> Vec<Span<'static>> {
    let plan = &release.plan;
    let mut spans = vec![
        Span::styled(format!(" {} ", plan.release), theme.bold()),
        Span::styled(
            format!(" {} ", plan.environment.to_uppercase()),
            theme.environment(plan.production),
        ),
    ];
    if let Some(v) = &plan.version {
        spans.push(Span::raw(format!(" {v}")));
    }
    spans
}

/// While watching: how long the watch window has left.
fn watch_left_span(release: &Release, theme: &Theme, now: u64) -> Option<Span<'static>> {
    let Stage::Watching { until } = release.stage else {
        return None;
    };
    let left = until.saturating_sub(now);
    Some(Span::styled(
        format!("  watch {} left", duration(left)),
        theme
            .fg(Color::Yellow)
            .add_modifier(ratatui::style::Modifier::BOLD),
    ))
}

/// Once over: how the release ended.
fn outcome_span(release: &Release, theme: &Theme) -> Option<Span<'static>> {
    let (text, color) = match release.outcome? {
        Outcome::Released => ("RELEASED", Color::Green),
        Outcome::RolledBack => ("ROLLED BACK", Color::Cyan),
        Outcome::Aborted => ("ABORTED", Color::Red),
        Outcome::Refused => ("REFUSED", Color::Red),
    };
    Some(Span::styled(
        format!("  {text}"),
        theme.fg(color).add_modifier(ratatui::style::Modifier::BOLD),
    ))
}

/// What the release waits for: the baseline being gathered, or `who` at a question, or hosts.
fn waiting_span(release: &Release, theme: &Theme, now: u64, who: &str) -> Option<Span<'static>> {
    let text = if let (Some(wait), Some(progress)) =
        (&release.baseline_wait, release.baseline_progress())
    {
        format!(
            "  {} · {} (B skips)",
            progress.words(),
            duration(now.saturating_sub(wait.since))
        )
    } else {
        format!("  {}", waiting_on(release, now, who)?)
    };
    Some(Span::styled(
        text,
        theme
            .fg(Color::Magenta)
            .add_modifier(ratatui::style::Modifier::BOLD),
    ))
}

/// Who follows live (`gonogo follow`): the operator knows who sees the screen.
fn followers_span(release: &Release, theme: &Theme) -> Option<Span<'static>> {
    if release.followers.is_empty() {
        return None;
    }
    let names: Vec<String> = release
        .followers
        .iter()
        .map(|w| {
            // On the operator's machine a GO is the operator's own: it cannot approve.
            let approves = match (w.approver, &w.via) {
                (true, crate::engine::Via::Local) => " (same machine: cannot approve)",
                (true, _) => " (may approve)",
                (false, _) => "",
            };
            format!("{}{approves}", w.name)
        })
        .collect();
    Some(Span::styled(
        format!("  watching: {}", crate::text::printable(&names.join(", "))),
        theme.fg(Color::Cyan),
    ))
}

/// The targets' locks held (or kept, once over) and their links up.
fn locks_and_links_span(release: &Release) -> Span<'static> {
    let total = release.targets.len();
    let locked = release
        .targets
        .iter()
        .filter(|t| t.lock == crate::engine::LockState::Held)
        .count();
    let up = release
        .targets
        .iter()
        .filter(|t| t.link == LinkState::Up)
        .count();
    // Said only once the hosts confirmed it: a kept lock stays on screen.
    let lock_text = match (release.stage, release.kept_locks.len()) {
        (Stage::Closing, _) => "unlocking…".to_string(),
        (Stage::Finished, 0) => "unlocked".to_string(),
        (Stage::Finished, n) => format!("lock kept {n}/{total}"),
        _ => format!("lock {locked}/{total}"),
    };
    // Links, not health: "up" would read as "healthy".
    Span::raw(format!("  {lock_text}  connected {up}/{total}"))
}

/// The keys that matter now, and what waits for the operator.
pub fn hints(frame: &mut Frame, area: Rect, release: &Release, ui: &UiState, theme: &Theme) {
    let waiting = match (&release.question, ui.mode()) {
        (Some(_), _) if ui.following.is_some() || ui.replaying => Some(" QUESTION open "),
        (Some(q), Mode::Normal) => Some(match q {
            Question::Gate { .. } => " GATE waits: a answers ",
            Question::Manual { .. } => " MANUAL item waits: a answers ",
            Question::Failure { .. } => " STEP FAILED: a decides ",
            Question::ConfirmRollback { .. } => " ROLLBACK to confirm: a ",
            Question::RollbackProposal { .. } => " ROLLBACK PROPOSED: a decides ",
            Question::FinalGate => " FINAL GATE waits: a answers ",
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
    let waiting = waiting
        .or(pending)
        .or(rolling_back.then_some(" ROLLING BACK "));
    let mut spans = Vec::new();
    // The session is no longer recorded: said first, and for as long as the cockpit is open.
    if let Some(failed) = &release.journal_failed {
        spans.push(Span::styled(
            format!(" {} ", crate::text::printable(&failed.said())),
            theme
                .fg(Color::Red)
                .add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::raw(" "));
    }
    if let Some(why) = &release.halted {
        spans.push(Span::styled(
            format!(" {why} "),
            theme
                .fg(Color::Red)
                .add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::raw(" "));
    }
    if matches!(release.stage, Stage::Watching { .. }) && waiting.is_none() {
        // Only the operator's keys act on the watch.
        let read_only = ui.following.is_some() || ui.replaying;
        spans.push(Span::styled(
            if read_only {
                " WATCHING "
            } else {
                " WATCHING: R rolls back, + extends 5m, E ends the watch "
            },
            theme
                .fg(Color::Yellow)
                .add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::raw(" "));
    }
    if let Some(w) = waiting {
        spans.push(Span::styled(
            w,
            theme
                .fg(Color::Magenta)
                .add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::raw(" "));
    }
    if let Some(notice) = &ui.notice {
        spans.push(Span::styled(format!(" {notice} "), theme.bold()));
        spans.push(Span::raw(" "));
    }
    // `? help` and `q quit` first: they must survive a narrow terminal.
    spans.push(Span::styled(footer_keys(release, ui), theme.dim()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The keys of what is on screen: the modal's, the focused pane's, the end screen's.
pub fn footer_keys(release: &Release, ui: &UiState) -> &'static str {
    let picker = match &ui.modal {
        Modal::Filter(_) => return "type a regex  Enter apply  Esc clear the filter",
        Modal::Picker(picker) => Some(picker),
        _ => None,
    };
    if ui.following.is_some() && picker.is_none() {
        return "read-only  ? help  q leave  m mirror the operator  Tab focus  / filter  t target  l logs";
    }
    if let Some(picker) = picker {
        return if picker.for_shell {
            "type to narrow  ↑↓ choose  Enter open a shell there  Esc back"
        } else {
            "type to narrow  ↑↓ choose  Enter show its lines  Esc back"
        };
    }
    match ui.mode() {
        Mode::Help => "↑↓ scroll  Esc/?/q close the help",
        Mode::Replay => {
            "Space play/pause  + - speed  ← → 10s  [ ] marks  g G start/end  ? help  q leave"
        }
        Mode::Confirm if matches!(ui.modal, Modal::EndWatch(_)) => {
            "type the reason  Enter end the watch  Esc keep watching"
        }
        Mode::Confirm => "y yes  n/Esc no  ? help",
        Mode::Answer => {
            "? help  q quit  letter arms  Enter confirms  Tab note  Esc hide  R rollback"
        }
        Mode::Normal if release.is_finished() => {
            "? help  q quit  i summary/output  Tab focus  / filter  t target"
        }
        Mode::Normal if ui.answer.is_some() => {
            "? help  q quit  a answer  R rollback  Tab focus  / filter  t target  i summary"
        }
        Mode::Normal => match ui.focus {
            Pane::Checklist => {
                "? help  q quit  R rollback  s shell  ↑↓ step  Enter targets  Tab output  \
                 / filter  t target  l logs  i summary"
            }
            Pane::Output => {
                "? help  q quit  R rollback  ↑↓ PgUp scroll  End follow  w wrap  / filter  \
                 t target  Tab checklist"
            }
        },
    }
}
