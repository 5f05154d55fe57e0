//! The status update posted every `[notify] every` while a release runs, in the form of the
//! deployments channel's message (seed 003): where it stands, then Changes, Validation and
//! Monitoring (health, error ratio and latency against the baseline before the first change).

use crate::engine::release::StepStatus;
use crate::engine::watch_rule::Signal;
use crate::engine::{Millis, Release, StepList};
use crate::report::words::{millis, percent, took};

use super::place::{what_where, where_now};

/// The update's text.
pub fn text(release: &Release, now: Millis) -> String {
    let since = release.started_at.map_or(String::new(), |s| {
        format!(" for {}", took(now.saturating_sub(s)))
    });
    let mut out = vec![
        format!("⏳ {}: in progress{since}", what_where(release)),
        format!("Now: {}", where_now(release, now)),
        String::new(),
        "Changes:".to_string(),
    ];
    out.extend(crate::report::change_lines(release));
    out.push(String::new());
    out.push("Validation:".into());
    out.extend(validation(release));
    out.push(String::new());
    out.push("Monitoring:".into());
    out.extend(monitoring(release));
    out.push(String::new());
    out.push(format!("Operator: {}", release.operator));
    out.push(format!("Session: {}", release.session));
    out.join("\n")
}

/// The checklist so far: steps passed, skipped, failed.
fn validation(release: &Release) -> Vec<String> {
    let states = release.states(StepList::Main);
    let count = |status: StepStatus| states.iter().filter(|s| s.status == status).count();
    let mut out = vec![format!(
        "- Checklist: {} of {} steps passed",
        count(StepStatus::Passed),
        states.len()
    )];
    for (step, state) in release.list(StepList::Main).iter().zip(states) {
        match state.status {
            StepStatus::Skipped => out.push(format!(
                "- Skipped: {} ({})",
                step.name,
                state.skip_reason.as_deref().unwrap_or("no reason recorded")
            )),
            StepStatus::Failed => out.push(format!("- Failed: {}", step.name)),
            _ => {}
        }
    }
    out
}

/// Health now, error ratio and p95 latency against their baseline, new error signatures.
fn monitoring(release: &Release) -> Vec<String> {
    let mut out = Vec::new();
    let health = &release.watch.health;
    if !health.is_empty() {
        let failing: Vec<String> = health
            .iter()
            .filter(|h| !h.last.ok)
            .map(|h| {
                let via = h
                    .via
                    .as_deref()
                    .map_or(String::new(), |v| format!(" via {v}"));
                let why = h.last.error.as_deref().unwrap_or("failing");
                format!("{}{via} ({why})", h.check)
            })
            .collect();
        let ok = health.len() - failing.len();
        out.push(if failing.is_empty() {
            format!("- Health checks: ✅ {ok}/{} passing", health.len())
        } else {
            format!(
                "- Health checks: ❌ {ok}/{} passing; failing: {}",
                health.len(),
                failing.join(", ")
            )
        });
    }
    let against = |now: Option<f64>, base: Option<f64>, show: fn(f64) -> String| {
        now.map(|v| {
            let base = base.map_or(String::new(), |b| format!(" (baseline {})", show(b)));
            format!("{}{base}", show(v))
        })
    };
    let p95 = Signal::Latency { percentile: 95 };
    if let Some(ratio) = against(
        release.signal_now(Signal::ErrorRatio),
        release.baseline(Signal::ErrorRatio),
        percent,
    ) {
        out.push(format!("- Error rate: {ratio}"));
    }
    if let Some(latency) = against(release.signal_now(p95), release.baseline(p95), millis) {
        out.push(format!("- Response time p95: {latency}"));
    }
    if !release.plan.logs.is_empty() {
        out.push(match release.signatures.new_count() {
            0 => "- No new errors in logs".into(),
            n => format!("- {n} new error signature(s) in logs since the deploy"),
        });
    }
    if out.is_empty() {
        out.push("- no health checks, metrics or logs in this profile".into());
    }
    out
}
