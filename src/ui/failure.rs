//! A failed step's modal: what failed, the command, each failed host's reason and the last
//! lines it wrote, where the other hosts stand.

use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};

use super::theme::Theme;
use crate::engine::release::{RunStatus, TargetRun};
use crate::engine::{Release, StepList};

/// A failed step's question: its name and what failed (or that the outcome is unknown), then
/// the evidence.
pub(super) fn failure_lines(
    release: &Release,
    list: StepList,
    step: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let s = &release.list(list)[step];
    let unknown = release.states(list)[step]
        .targets
        .iter()
        .any(|t| t.status == RunStatus::Unknown);
    let what = if unknown {
        "outcome unknown: retry re-attaches, never reruns"
    } else {
        "failed"
    };
    let mut lines = vec![Line::from(Span::styled(
        format!("{} {what}", s.name),
        theme.bold(),
    ))];
    lines.extend(failure_evidence(release, list, step, theme));
    lines
}

/// Lines of output kept per failed host in the failure modal.
const EVIDENCE_LINES: usize = 3;

/// How much of a failed step's command its modal shows.
const COMMAND_CHARS: usize = 140;

/// Why a step failed, with the evidence in view: the command, each failed host's reason and the
/// last lines it wrote (stderr first), and where the other hosts stand.
fn failure_evidence(
    release: &Release,
    list: StepList,
    step: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let planned = &release.list(list)[step];
    let state = &release.states(list)[step];
    let mut lines = vec![command_line(&planned.text, theme)];
    for t in state.targets.iter().filter(|t| failed(t)) {
        lines.extend(failed_target_lines(release, list, step, t, theme));
    }
    let others: Vec<String> = state
        .targets
        .iter()
        .filter(|t| !failed(t) && t.status != RunStatus::Pending)
        .map(|t| {
            let (symbol, _) = theme.run(t.status);
            format!("{symbol} {}", t.target)
        })
        .collect();
    if !others.is_empty() {
        lines.push(Line::from(format!("  others: {}", others.join(", "))));
    }
    let passed = state
        .targets
        .iter()
        .filter(|t| t.status == RunStatus::Passed)
        .count();
    if planned.kind == crate::engine::plan::StepKind::Run && passed > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "! {passed} of {} hosts ran it: the hosts now differ",
                state.targets.len()
            ),
            theme.fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    lines
}

/// A target the step failed on, or whose outcome is unknown.
fn failed(t: &TargetRun) -> bool {
    matches!(t.status, RunStatus::Failed | RunStatus::Unknown)
}

/// The failed step's command, in two rows at most: the evidence below it matters more, and
/// the output pane has it whole.
fn command_line(text: &str, theme: &Theme) -> Line<'static> {
    let mut command: String = text.lines().next().unwrap_or_default().to_string();
    if command.chars().count() > COMMAND_CHARS || text.lines().count() > 1 {
        command = command.chars().take(COMMAND_CHARS - 1).collect::<String>() + "…";
    }
    Line::from(Span::styled(format!("$ {command}"), theme.dim()))
}

/// A failed target's row, why, and the last lines it printed in that attempt.
fn failed_target_lines(
    release: &Release,
    list: StepList,
    step: usize,
    t: &TargetRun,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let (symbol, _) = theme.run(t.status);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("  {symbol} {}", t.target),
            theme.target(release, &t.target),
        ),
        Span::raw(format!("  {}", t.failure.as_deref().unwrap_or("failed"))),
    ])];
    if let Some(attempts) = crate::narrate::attempts_said(&release.list(list)[step], t) {
        lines.push(Line::from(Span::styled(
            format!("    {attempts}"),
            theme.fg(Color::Yellow),
        )));
    }
    let (err, out) = target_output(release, list, step, t);
    // Stderr explains a failure more often than stdout does: it comes first.
    let (shown, style) = if err.is_empty() {
        (out, theme.dim())
    } else {
        (err, theme.fg(Color::Red))
    };
    for line in shown.into_iter().rev() {
        lines.push(Line::from(Span::styled(format!("      {line}"), style)));
    }
    lines
}

/// The last lines (newest first) a target printed to stderr and to stdout in the step's
/// attempt: `EVIDENCE_LINES` of each at most.
fn target_output(
    release: &Release,
    list: StepList,
    step: usize,
    t: &TargetRun,
) -> (Vec<String>, Vec<String>) {
    let (mut err, mut out) = (Vec::new(), Vec::new());
    for o in release.output.iter().rev() {
        if err.len() >= EVIDENCE_LINES && out.len() >= EVIDENCE_LINES {
            break;
        }
        let r = &o.run;
        if o.mark != crate::engine::release::Mark::Printed
            || r.list != list
            || r.step != step
            || r.target != t.target
            || r.attempt != t.attempt
        {
            continue;
        }
        let kept = match o.stream {
            crate::engine::Stream::Stderr => &mut err,
            crate::engine::Stream::Stdout => &mut out,
        };
        if kept.len() < EVIDENCE_LINES {
            kept.push(o.line.clone());
        }
    }
    (err, out)
}
