//! The rollback as a confirmation shows it: what cannot be undone, then what runs, host by
//! host, and what a person does by hand.

use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};

use super::theme::Theme;
use crate::engine::Release;

/// What the rollback would run, for every confirmation that leads to it.
pub(super) fn rollback_lines(release: &Release, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for done in release.irreversible_done() {
        lines.push(Line::from(Span::styled(
            format!(
                "! {} is irreversible and ran on {}: rollback cannot undo it",
                done.step,
                done.targets.join(", ")
            ),
            theme.fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    // Only the release-wide steps (if any) may restore what has no undo of its own.
    let release_wide = release
        .rollback_plan
        .iter()
        .any(|s| matches!(s.origin, Some(crate::engine::Origin::Rollback { .. })));
    for done in release.not_undoable() {
        let then = if release_wide {
            "not undone; only the rollback steps may restore it"
        } else {
            "nothing undoes it"
        };
        lines.push(Line::from(Span::styled(
            format!(
                "! {} has no undo and ran on {}: {then}",
                done.step,
                done.targets.join(", ")
            ),
            theme.fg(Color::Yellow),
        )));
    }
    lines.push(Line::from("Rollback runs, host by host:"));
    for (host, steps) in release.rollback_by_hosts() {
        lines.push(Line::from(format!("  {host}: {}", steps.join(" → "))));
    }
    for step in release
        .rollback_plan
        .iter()
        .filter(|s| !s.kind.runs_command())
    {
        lines.push(Line::from(format!("  then by hand: {}", step.text)));
    }
    lines.extend(untouched_line(release, theme));
    lines
}

/// A rollout caught part way: the hosts no batch reached, which a rollback leaves alone.
pub(super) fn untouched_line(release: &Release, theme: &Theme) -> Option<Line<'static>> {
    let never = release.never_deployed();
    if never.is_empty() {
        return None;
    }
    let what = release.plan.version.as_deref().unwrap_or("the release");
    Some(Line::from(Span::styled(
        format!(
            "  left as they are: {} never received {what}",
            never.join(", ")
        ),
        theme.dim(),
    )))
}
