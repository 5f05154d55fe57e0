//! The status bar: what the release is, where it stands, how long the watch has left, and
//! the links, as many of its parts as the terminal's width takes (`keyline.rs` is the bottom
//! row).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::Paragraph;

use super::checklist::duration;
use super::fit::{self, Part};
use super::state::UiState;
use super::theme::Theme;
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
    if release.ships.gate_held == Some(step) {
        return Some(format!("listing what ships · {}", since(state.started_at)));
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

/// What the status bar says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPart {
    Release,
    Environment,
    /// Once found, the version the hosts run now, before the version to deploy (`v1.4.2 →`).
    Previous,
    Version,
    /// Where the release is: connecting, `step 4/9`, `watch`, `rollback 1/2`, the outcome.
    Stage,
    /// While watching: the watch window's time left; during a batch's analysis, its time
    /// left and the batch (`analysis 1m12s left · batch 1/3`).
    TimeLeft,
    /// The baseline being gathered, or who the release waits on and for how long.
    Waiting,
    Followers,
    Elapsed,
    Lock,
    /// The links connected (`connected 3/3`).
    Links,
}

/// The status bar's parts in the order they are shown, each with its rank (0 matters most): a
/// narrow terminal drops the highest rank first, and never cuts a part. At 80 columns the
/// stage, the time left and the links always stay; the version running before goes before the
/// release's name.
pub const STATUS_PARTS: [(StatusPart, u8); 11] = [
    (StatusPart::Release, 6),
    (StatusPart::Environment, 3),
    (StatusPart::Previous, 6),
    (StatusPart::Version, 5),
    (StatusPart::Stage, 0),
    (StatusPart::TimeLeft, 0),
    (StatusPart::Waiting, 2),
    (StatusPart::Followers, 2),
    (StatusPart::Elapsed, 8),
    (StatusPart::Lock, 4),
    (StatusPart::Links, 1),
];

/// Release, environment (production stands out), version, stage, time left, who it waits on,
/// followers, elapsed, lock, links: as many as fit, the least important dropped first.
pub fn status_bar(
    frame: &mut Frame,
    area: Rect,
    release: &Release,
    ui: &UiState,
    theme: &Theme,
    now: u64,
) {
    let parts = status_parts(release, ui, theme, now)
        .into_iter()
        .map(|(_, part)| part)
        .collect();
    frame.render_widget(
        Paragraph::new(fit::line(parts, area.width as usize, 0)),
        area,
    );
}

/// The parts the status bar keeps at `width` columns, in order.
pub fn status_kept(release: &Release, ui: &UiState, now: u64, width: usize) -> Vec<StatusPart> {
    let (what, parts): (Vec<StatusPart>, Vec<Part>) =
        status_parts(release, ui, &Theme { color: false }, now)
            .into_iter()
            .unzip();
    fit::kept(&parts, width, 0)
        .into_iter()
        .map(|i| what[i])
        .collect()
}

/// Every part the status bar has to say now, in [`STATUS_PARTS`] order, each with its rank.
fn status_parts(
    release: &Release,
    ui: &UiState,
    theme: &Theme,
    now: u64,
) -> Vec<(StatusPart, Part)> {
    let plan = &release.plan;
    let who = ui.following.as_deref().unwrap_or("you");
    let urgent = theme
        .fg(Color::Yellow)
        .add_modifier(ratatui::style::Modifier::BOLD);
    STATUS_PARTS
        .iter()
        .filter_map(|&(what, rank)| {
            let (text, style) = match what {
                StatusPart::Release => (format!(" {} ", plan.release), theme.bold()),
                StatusPart::Environment => (
                    format!(" {} ", plan.environment.to_uppercase()),
                    theme.environment(plan.production),
                ),
                StatusPart::Previous => (previous(release)?, Style::new()),
                StatusPart::Version => (format!(" {}", plan.version.as_ref()?), Style::new()),
                StatusPart::Stage => stage(release, theme)?,
                StatusPart::TimeLeft => match release.stage {
                    Stage::Watching { until } => (
                        format!(" {} left", duration(until.saturating_sub(now))),
                        urgent,
                    ),
                    // A batch's analysis: its time left, and which batch it judges.
                    _ => (super::rollout::analysis_left(release, now)?, urgent),
                },
                StatusPart::Waiting => waiting(release, theme, now, who)?,
                StatusPart::Followers => followers(release, theme)?,
                StatusPart::Elapsed => {
                    let start = release.started_at?;
                    (
                        format!("  ⏱ {}", duration(now.saturating_sub(start))),
                        theme.dim(),
                    )
                }
                StatusPart::Lock => (format!("  {}", lock_text(release)), Style::new()),
                StatusPart::Links => (format!("  {}", links_text(release)), Style::new()),
            };
            let part = Part::new(text, style, rank);
            // Who watches is said even on a narrow terminal, if only the first names.
            let part = if what == StatusPart::Followers {
                part.shortening()
            } else {
                part
            };
            Some((what, part))
        })
        .collect()
}

/// The versions the hosts run before the release (` v1.4.2 →`), once found and while a version
/// to deploy is said beside them.
fn previous(release: &Release) -> Option<String> {
    release.plan.version.as_ref()?;
    Some(format!(" {} →", super::ships::before_said(release)?))
}

/// Where the release is: connecting, the step it is at, the watch, the rollback, the outcome.
fn stage(release: &Release, theme: &Theme) -> Option<(String, Style)> {
    if let Some(outcome) = release.outcome {
        let (text, color) = match outcome {
            Outcome::Released => ("RELEASED", Color::Green),
            Outcome::RolledBack => ("ROLLED BACK", Color::Cyan),
            Outcome::Aborted => ("ABORTED", Color::Red),
            Outcome::Refused => ("REFUSED", Color::Red),
        };
        let style = theme.fg(color).add_modifier(ratatui::style::Modifier::BOLD);
        return Some((format!("  {text}"), style));
    }
    let text = match release.stage {
        Stage::Idle => return None,
        Stage::Connecting => "connecting".to_string(),
        Stage::Locking => "locking".to_string(),
        Stage::Finding if release.question.is_some() => "already deployed?".to_string(),
        Stage::Finding => "finding what runs now".to_string(),
        Stage::Running { list, step } => {
            let word = match list {
                crate::engine::StepList::Main => "step",
                crate::engine::StepList::Rollback => "rollback",
            };
            format!("{word} {}/{}", step + 1, release.list(list).len())
        }
        Stage::Watching { .. } => {
            let style = theme
                .fg(Color::Yellow)
                .add_modifier(ratatui::style::Modifier::BOLD);
            return Some(("  watch".into(), style));
        }
        Stage::Closing | Stage::Finished => "ended".to_string(),
    };
    Some((format!("  {text}"), theme.bold()))
}

/// What the release waits for: the baseline being gathered, or `who` at a question, or hosts.
fn waiting(release: &Release, theme: &Theme, now: u64, who: &str) -> Option<(String, Style)> {
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
    let style = theme
        .fg(Color::Magenta)
        .add_modifier(ratatui::style::Modifier::BOLD);
    Some((text, style))
}

/// Who follows live (`gonogo follow`): the operator knows who sees the screen.
fn followers(release: &Release, theme: &Theme) -> Option<(String, Style)> {
    if release.followers.is_empty() {
        return None;
    }
    let names: Vec<String> = release
        .followers
        .iter()
        .map(|w| match w.approval_said() {
            Some(approves) => format!("{} ({approves})", w.name),
            None => w.name.clone(),
        })
        .collect();
    Some((
        format!("  watching: {}", crate::text::printable(&names.join(", "))),
        theme.fg(Color::Cyan),
    ))
}

/// The targets' locks held (or kept, once over); said only once the hosts confirmed it: a
/// kept lock stays on screen.
fn lock_text(release: &Release) -> String {
    let total = release.targets.len();
    let locked = release
        .targets
        .iter()
        .filter(|t| t.lock == crate::engine::LockState::Held)
        .count();
    match (release.stage, release.kept_locks.len()) {
        (Stage::Closing, _) => "unlocking…".to_string(),
        (Stage::Finished, 0) => "unlocked".to_string(),
        (Stage::Finished, n) => format!("lock kept {n}/{total}"),
        _ => format!("lock {locked}/{total}"),
    }
}

/// The links up. Links, not health: "up" would read as "healthy".
fn links_text(release: &Release) -> String {
    let total = release.targets.len();
    let up = release
        .targets
        .iter()
        .filter(|t| t.link == LinkState::Up)
        .count();
    format!("connected {up}/{total}")
}
