//! The health pane: the watch rules first (they decide), then what fails (a link down, a
//! check failing, new errors), then the metrics against their baseline, then what passes
//! (checks, and the links up in one row). Rows come in the profile's order; the pane scrolls
//! (its own focus, Tab) and zooms (`z`) like the others, through the shared `pane.rs`.

mod metric;
mod rows;
mod versus;

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::pane::{self, Position, View};
use super::state::{Pane, UiState};
use super::theme::Theme;
use crate::engine::Release;
use crate::engine::release::LinkState;
use crate::engine::watch::{HealthSeries, MetricSeries};
use crate::engine::watch_rule::Signal;
use rows::HealthRow;

/// During a batch's analysis, `rule` as it compares the batch's hosts with the control, in one
/// line (`web-1 7.50% | control web-2 0.40%, web-3 0.30% · limit 2.35%`).
pub(crate) fn versus_said(
    release: &Release,
    rule: &crate::engine::watch_rule::WatchRule,
) -> Option<String> {
    versus::said(release, rule, usize::MAX).map(|(text, _)| text)
}

/// New error signatures listed in the pane, newest first.
pub const NEW_ERRORS_SHOWN: usize = 3;

/// The health in one line, for a gate's question: what a person approves against.
pub fn health_summary(release: &Release) -> String {
    if release.plan.probes.is_empty() && release.plan.logs.is_empty() {
        return "no health checks in this profile".into();
    }
    let health = &release.watch.health;
    let mut parts = Vec::new();
    if !health.is_empty() {
        let ok = health.iter().filter(|h| h.last.ok).count();
        parts.push(format!("health {ok}/{} passing", health.len()));
    }
    if let Some(ratio) = release.signal_now(Signal::ErrorRatio) {
        parts.push(format!("errors {}", percent(ratio)));
    }
    if let Some(p95) = release.signal_now(Signal::Latency { percentile: 95 }) {
        parts.push(format!("p95 {}", millis(p95)));
    }
    let new = release.signatures.new_count();
    if new > 0 {
        parts.push(format!("{new} new error signatures since the deploy"));
    }
    // A rule that cannot judge is said wherever health is summed up (gates, the final gate).
    if let Some(watch) = &release.plan.watch {
        for (i, rule) in watch.rollback_on.iter().enumerate() {
            if let crate::engine::judge::RuleStand::CannotJudge { why, .. } = release.rule_stand(i)
            {
                parts.push(format!("{}: cannot judge ({})", rule.text, why.words()));
            }
        }
    }
    if parts.is_empty() {
        "health: no answer yet".into()
    } else {
        parts.join(", ")
    }
}

fn percent(fraction: f64) -> String {
    crate::measure::percent(fraction, 2)
}

fn millis(ms: f64) -> String {
    crate::measure::millis(ms, 2)
}

/// Where a probe's row goes: its place in the profile (`[health.*]` then `[metrics.*]`), then
/// its target's (reached from the laptop first).
fn profile_order(release: &Release, probe: usize, via: Option<&str>) -> (usize, usize) {
    let target = via.map_or(0, |v| {
        release
            .plan
            .targets
            .iter()
            .position(|t| t.name == v)
            .map_or(usize::MAX, |i| i + 1)
    });
    (probe, target)
}

/// The health checks in the profile's order, whatever order they first answered in.
fn checks_in_order(release: &Release) -> Vec<&HealthSeries> {
    let probes = &release.plan.probes;
    let place = |h: &HealthSeries| {
        let probe = probes
            .iter()
            .position(|p| *p == h.check)
            .unwrap_or(usize::MAX);
        profile_order(release, probe, h.via.as_deref())
    };
    let mut checks: Vec<&HealthSeries> = release.watch.health.iter().collect();
    checks.sort_by_key(|h| place(h));
    checks
}

/// The metrics sources in the profile's order (`[metrics.*]` come after `[health.*]` in
/// `probes`, so a name both use is found from the end).
fn metrics_in_order(release: &Release) -> Vec<&MetricSeries> {
    let probes = &release.plan.probes;
    let place = |m: &MetricSeries| {
        let probe = probes
            .iter()
            .rposition(|p| *p == m.source)
            .unwrap_or(usize::MAX);
        profile_order(release, probe, m.via.as_deref())
    };
    let mut metrics: Vec<&MetricSeries> = release.watch.metrics.iter().collect();
    metrics.sort_by_key(|m| place(m));
    metrics
}

/// Every row of the pane, in its order, metrics said as fully as `width` columns allow.
fn health_rows(release: &Release, theme: &Theme, now: u64, width: usize) -> VecDeque<HealthRow> {
    let mut out: VecDeque<HealthRow> = rows::rules(release, theme, width).into();
    // What fails: links not up, checks failing, errors new since the deploy, the notifier.
    out.extend(
        release
            .targets
            .iter()
            .filter(|t| t.link != LinkState::Up)
            .map(|t| rows::link_down(release, t, theme, now)),
    );
    // Each host's version before the release: with what fails when the fleet disagrees.
    let versions = rows::versions(release, theme);
    let mixed =
        release.version_groups().len() > 1 || release.ships.found.iter().any(|f| !f.1.is_known());
    let (versions_first, versions_last) = if mixed {
        (versions, None)
    } else {
        (None, versions)
    };
    out.extend(versions_first);
    let checks = checks_in_order(release);
    let (passing, failing): (Vec<&HealthSeries>, Vec<&HealthSeries>) = checks
        .iter()
        .partition(|h| h.last.ok && !rows::cert_warning(h));
    out.extend(failing.iter().map(|h| rows::check(h, theme, now)));
    out.extend(rows::new_errors(release, theme));
    out.extend(rows::notify(release, theme));
    let base = metric::Baselines {
        error_ratio: release.baseline(Signal::ErrorRatio),
        p95_ms: release.baseline(Signal::Latency { percentile: 95 }),
    };
    out.extend(metric::rows(&metrics_in_order(release), base, theme, width));
    out.extend(passing_rows(&checks, &passing, theme, now));
    out.extend(versions_last);
    out.extend(rows::links_up(release, theme));
    out
}

/// The checks that pass: one row per check, its places counted when it answers from several.
fn passing_rows(
    all: &[&HealthSeries],
    passing: &[&HealthSeries],
    theme: &Theme,
    now: u64,
) -> Vec<HealthRow> {
    let mut names: Vec<&str> = passing.iter().map(|h| h.check.as_str()).collect();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let of = all.iter().filter(|h| h.check == name).count();
            let these: Vec<&HealthSeries> = passing
                .iter()
                .copied()
                .filter(|h| h.check == name)
                .collect();
            match these.as_slice() {
                [one] => rows::check(one, theme, now),
                many => rows::checks_passing(many, of, theme),
            }
        })
        .collect()
}

/// How many rows the pane has (before any wraps): how far it scrolls.
pub fn row_count(release: &Release) -> usize {
    health_rows(
        release,
        &Theme { color: false },
        release.now,
        usize::MAX / 2,
    )
    .len()
}

/// How tall the pane wants to be at `width` columns, its borders included: every row, wrapped.
pub fn height_wanted(release: &Release, width: u16, now: u64) -> usize {
    let inner = width.saturating_sub(2) as usize;
    let rows = health_rows(release, &Theme { color: false }, now, inner);
    rows.iter()
        .map(|r| pane::rows(r, inner, true))
        .sum::<usize>()
        + 2
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    release: &Release,
    ui: &UiState,
    theme: &Theme,
    now: u64,
) {
    let width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    let rows = health_rows(release, theme, now, width);
    let total: usize = rows.iter().map(|r| pane::rows(r, width, true)).sum();
    let down = ui.health_down.min(total.saturating_sub(height));
    let focused = ui.focus == Pane::Health;
    let mut title = vec![Span::styled(
        " Health ",
        if focused { theme.bold() } else { theme.dim() },
    )];
    if total > height {
        let last = (down + height).min(total);
        let more = if last < total { " ↓" } else { "" };
        title.push(Span::styled(
            format!("· {}–{last} of {total}{more} ", down + 1),
            if focused { theme.bold() } else { theme.dim() },
        ));
    }
    if ui.zoomed && focused {
        title.push(Span::styled("· z: back ", theme.dim()));
    }
    let block = Block::bordered().title(Line::from(title));
    let view = View {
        at: Position::Down(down),
        wrap: true,
    };
    if pane::render_at(frame, (area, &block), &rows, |_| true, release, view, theme).is_none() {
        frame.render_widget(Paragraph::new("").block(block), area);
    }
}
