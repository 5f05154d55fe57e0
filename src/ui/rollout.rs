//! A phase rolled out in batches, as the cockpit tells it: each batch's heading in the
//! checklist, its analysis's row, the time the analysis has left (the status bar), and what the
//! promote gate promotes. Pure: words from `&Release` and the time the loop passed in.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::checklist::duration;
use super::theme::Theme;
use crate::engine::plan::{Batch, PlannedStep, StepKind};
use crate::engine::{BatchFigure, BatchVerdict, Release, StepStatus};

/// One of the batch's steps began.
fn batch_started(release: &Release, batch: &Batch) -> bool {
    release
        .plan
        .steps
        .iter()
        .zip(&release.steps)
        .filter(|(p, _)| same_batch(p.batch.as_ref(), batch))
        .any(|(_, s)| s.started_at.is_some() || s.status != StepStatus::Pending)
}

fn same_batch(a: Option<&Batch>, b: &Batch) -> bool {
    a.is_some_and(|a| a.phase == b.phase && a.number == b.number)
}

/// `hosts` in at most `room` columns: every name, or the first ones and how many more
/// (`web-3, web-4 +2`), or only how many.
pub fn hosts_in(hosts: &[String], room: usize) -> String {
    let all = hosts.join(", ");
    if all.chars().count() <= room {
        return all;
    }
    for shown in (1..hosts.len()).rev() {
        let text = format!("{} +{}", hosts[..shown].join(", "), hosts.len() - shown);
        if text.chars().count() <= room {
            return text;
        }
    }
    format!("{} hosts", hosts.len())
}

/// A batch's heading in the checklist, `Deploy · batch 1/3 · web-1`, in `width` columns: bold
/// once the batch began, dim while it waits its turn (with `pending`, or `not deployed` once
/// the release ended without it, where there is room).
pub fn batch_heading(
    release: &Release,
    batch: &Batch,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let started = batch_started(release, batch);
    let head = format!("{} · {}", batch.phase, batch.label());
    let word = match (started, release.outcome.is_some()) {
        (true, _) => "",
        (false, true) => "not deployed",
        (false, false) => "pending",
    };
    let room = width.saturating_sub(head.chars().count() + 3);
    let hosts = hosts_in(&batch.hosts, room);
    let left = format!("{head} · {hosts}");
    let used = left.chars().count();
    let style = if started { theme.bold() } else { theme.dim() };
    let mut spans = vec![Span::styled(left, style)];
    if !word.is_empty() && used + 1 + word.len() <= width {
        spans.push(Span::raw(" ".repeat(width - used - word.len())));
        spans.push(Span::styled(word, theme.dim()));
    }
    Line::from(spans)
}

/// The analysis of a batch, in the checklist: its symbol, its name and what its time column
/// says (its length, the time left, its verdict). `None`: not an analysis.
pub fn analysis_row(
    release: &Release,
    i: usize,
    theme: &Theme,
    now: u64,
) -> Option<(&'static str, Style, String)> {
    let planned = release.plan.steps.get(i)?;
    let batch = planned
        .batch
        .as_ref()
        .filter(|_| planned.kind == StepKind::Analysis)?;
    let state = release.steps.get(i)?;
    let verdict = release.batch_verdict(i);
    let (mut symbol, mut style) = theme.step(state.status);
    let words = match (state.status, verdict) {
        (StepStatus::Running, Some(BatchVerdict::Breached)) if release.question.is_some() => {
            symbol = "✗";
            "breached".to_string()
        }
        (StepStatus::Running, _) => {
            (symbol, style) = ("◔", theme.fg(Color::Yellow).add_modifier(Modifier::BOLD));
            let until = release.rollout.analysis_until.unwrap_or(now);
            format!("{} left", duration(until.saturating_sub(now)))
        }
        (_, Some(verdict)) => verdict.word().to_string(),
        (StepStatus::Pending, None) => format!("for {}", duration(batch.analysis_ms)),
        _ => String::new(),
    };
    if verdict == Some(BatchVerdict::Breached) {
        style = theme.fg(Color::Red).add_modifier(Modifier::BOLD);
    }
    Some((symbol, style, words))
}

/// An analysis step's name in the checklist: its batch's heading says which.
pub fn analysis_name(step: &PlannedStep) -> Option<&'static str> {
    (step.kind == StepKind::Analysis && step.batch.is_some()).then_some("analysis")
}

/// The status bar during a batch's analysis: `analysis 1m12s left · batch 1/3`.
pub fn analysis_left(release: &Release, now: u64) -> Option<String> {
    let batch = release.analysing()?;
    let until = release.rollout.analysis_until?;
    Some(format!(
        "  analysis {} left · {}",
        duration(until.saturating_sub(now)),
        batch.label()
    ))
}

/// The batch that comes after `batch` in its phase, if any.
fn next_batch<'a>(release: &'a Release, batch: &Batch) -> Option<&'a Batch> {
    release
        .plan
        .steps
        .iter()
        .filter_map(|s| s.batch.as_ref())
        .find(|b| b.phase == batch.phase && b.number == batch.number + 1)
}

/// The promote gate after analysis `step`: what GO promotes, the analysis's verdict and the
/// figures it compared, and what each answer does to the hosts.
pub fn promote_lines(release: &Release, step: usize, theme: &Theme) -> Vec<Line<'static>> {
    let Some(batch) = release.plan.steps.get(step).and_then(|s| s.batch.as_ref()) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let question = match next_batch(release, batch) {
        Some(next) => format!(
            "Promote {} to {} ({})?",
            batch.phase,
            next.label(),
            next.hosts.join(", ")
        ),
        None => format!("Promote {} past {}?", batch.phase, batch.label()),
    };
    lines.push(Line::from(Span::styled(question, theme.bold())));
    let figures = release.rollout.verdicts.iter().find(|(s, _, _)| *s == step);
    if let Some((_, verdict, _)) = figures {
        let color = match verdict {
            BatchVerdict::Healthy => Color::Green,
            BatchVerdict::InDoubt => Color::Yellow,
            BatchVerdict::Breached => Color::Red,
        };
        lines.push(Line::from(vec![
            Span::raw(format!("Analysis of {}: ", batch.label())),
            Span::styled(verdict.word(), theme.fg(color).add_modifier(Modifier::BOLD)),
            Span::raw(format!(
                " · {} against {} for {}",
                batch.changed.join(", "),
                control_said(batch),
                duration(batch.analysis_ms)
            )),
        ]));
    }
    for figure in figures.map_or(&[][..], |(_, _, f)| f.as_slice()) {
        if let Some(line) = figure_line(release, figure) {
            lines.push(line);
        }
    }
    lines.push(Line::from(Span::styled(
        answers_said(release, batch),
        theme.dim(),
    )));
    lines
}

/// The control as named: its hosts, or that there was none.
fn control_said(batch: &Batch) -> String {
    if batch.control.is_empty() {
        "no control".into()
    } else {
        format!("{} (control)", batch.control.join(", "))
    }
}

/// One rule as the analysis compared it: `error_ratio > control + 2% for 20s: web-1 0.20% |
/// control 0.10% · ok`.
fn figure_line(release: &Release, figure: &BatchFigure) -> Option<Line<'static>> {
    let rule = release.plan.watch.as_ref()?.rollback_on.get(figure.rule)?;
    let value = |v: f64| crate::measure::rule_value(rule, v);
    let all: Vec<&str> = figure.hosts.iter().map(|(h, _)| h.as_str()).collect();
    let hosts: Vec<String> = figure
        .hosts
        .iter()
        .map(|(host, v)| format!("{} {}", reading_name(host, &all), value(*v)))
        .collect();
    let hosts = if hosts.is_empty() {
        "no data".to_string()
    } else {
        hosts.join(", ")
    };
    let control = figure.control.map_or("no control data".to_string(), |v| {
        format!("control {}", value(v))
    });
    Some(Line::from(format!(
        "  {}: {hosts} | {control} · {}",
        rule.text, figure.stand
    )))
}

/// What GO, NO-GO and ROLLBACK do to the hosts at a promote gate.
fn answers_said(release: &Release, batch: &Batch) -> String {
    let changed = batch.changed.join(", ");
    let go = match next_batch(release, batch) {
        Some(next) => format!("GO deploys {} to {}", next.label(), next.hosts.join(", ")),
        None => "GO goes on".to_string(),
    };
    format!("{go}; NO-GO ends the release here, undoing nothing; ROLLBACK undoes {changed}.")
}

/// The host a reading was measured through: `web-1` of `app via web-1`.
pub fn host_of(from: &str) -> &str {
    from.rsplit_once(" via ").map_or(from, |(_, host)| host)
}

/// Where a reading came from, said short: its host alone (`web-1`, not `app via web-1`) when
/// `all` the readings shown beside it have one from that host.
pub fn reading_name(from: &str, all: &[&str]) -> String {
    let host = host_of(from);
    let once = all.iter().filter(|f| host_of(f) == host).count() == 1;
    crate::text::printable(if once { host } else { from }).into_owned()
}
