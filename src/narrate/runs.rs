//! What changed in the release with an event: a change step began, a run passed, failed,
//! retried, stopped or was lost, a rollback proposal opened, the watch began or ended, the
//! rollback began, the outcome became known.

use super::words::{outcome_said, step_label, took};
use super::{RunKey, Seen, Severity, Subject, Told, Topic};
use crate::engine::plan::StepKind;
use crate::engine::release::{RunStatus, StepStatus, TargetRun};
use crate::engine::{Outcome, Question, Release, RunId, Stage, StepList};
use crate::text::{printable, printable_lines};

/// Appends what changed from `before` to `after`.
pub(super) fn changed(before: &Seen, after: &Release, told: &mut Vec<Told>) {
    let now = Seen::of(after);
    stages(before, &now, after, told);
    steps_started(before, &now, after, told);
    runs(before, &now, after, told);
    if now.question != before.question
        && let Some(Question::RollbackProposal { rule }) = &now.question
    {
        told.push(proposed(after, *rule));
    }
    if now.overtime != before.overtime
        && let Some(overtime) = &now.overtime
    {
        told.push(Told::new(
            Severity::Warn,
            Topic::Overtime,
            printable(overtime).into_owned(),
        ));
    }
    if now.baseline_waited
        && !before.baseline_waited
        && let Some(why) = &after.baseline_short
    {
        let text = format!("baseline incomplete: {}", printable(why));
        told.push(Told::new(Severity::Warn, Topic::Baseline, text));
    }
    if let (Some(step), None) = (now.gate_held, before.gate_held) {
        told.push(gate_held(after, step));
    }
    if let (Some(outcome), None) = (now.outcome, before.outcome) {
        told.push(ended(after, outcome));
    }
}

/// A gate waits to be asked until what ships is listed.
fn gate_held(after: &Release, step: usize) -> Told {
    let ships = &after.plan.ships;
    let lists: Vec<&str> = [
        (ships.changes.is_some() && after.ships.changes.is_none()).then_some("the change list"),
        (ships.pending.is_some() && after.ships.pending.is_none()).then_some("the pending list"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let text = format!(
        "{} waits for {} before it is asked",
        step_label(after, StepList::Main, step),
        lists.join(" and ")
    );
    Told::new(Severity::Info, Topic::Ships, text)
}

/// The watch began or ended; the rollback began.
fn stages(before: &Seen, now: &Seen, after: &Release, told: &mut Vec<Told>) {
    let watching = |s: &Stage| matches!(s, Stage::Watching { .. });
    if let (Stage::Watching { until }, false) = (now.stage, watching(&before.stage)) {
        let length = took(until.saturating_sub(after.now));
        told.push(Told::new(
            Severity::Info,
            Topic::WatchStarted,
            format!("watch window started ({length})"),
        ));
    }
    if watching(&before.stage) && !watching(&now.stage) {
        told.push(Told::new(
            Severity::Info,
            Topic::WatchEnded,
            "watch window ended".into(),
        ));
    }
    let rolling = |s: &Stage| {
        matches!(
            s,
            Stage::Running {
                list: StepList::Rollback,
                ..
            }
        )
    };
    if rolling(&now.stage) && !rolling(&before.stage) {
        told.push(
            Told::new(Severity::Warn, Topic::RollingBack, "rolling back".into())
                .with(rollback_plan(after)),
        );
    }
}

/// The rollback's plan in lines: host by host, then what it cannot undo.
pub fn rollback_plan(release: &Release) -> Vec<String> {
    let mut lines = Vec::new();
    for (host, steps) in release.rollback_by_hosts() {
        let steps: Vec<String> = steps.iter().map(|s| printable(s).into_owned()).collect();
        lines.push(format!("{}: {}", printable(&host), steps.join(" -> ")));
    }
    for (why, done) in [
        ("irreversible", release.irreversible_done()),
        ("no undo", release.not_undoable()),
    ] {
        for done in done {
            lines.push(format!(
                "not undone ({why}): {} on {}",
                printable(&done.step),
                printable(&done.targets.join(", "))
            ));
        }
    }
    lines
}

/// Steps that change things (and rollback steps) that began.
fn steps_started(before: &Seen, now: &Seen, after: &Release, told: &mut Vec<Told>) {
    for &(list, i, status) in &now.steps {
        let was = before
            .steps
            .iter()
            .find(|(l, j, _)| *l == list && *j == i)
            .map(|(_, _, s)| *s);
        let Some(step) = after.list(list).get(i) else {
            continue;
        };
        let started =
            status == StepStatus::Running && matches!(was, None | Some(StepStatus::Pending));
        if started && (list == StepList::Rollback || step.kind == StepKind::Run) {
            let text = format!(
                "{} started on {}",
                printable(&step_label(after, list, i)),
                printable(&step.targets.join(", "))
            );
            told.push(
                Told::new(Severity::Info, Topic::StepStarted, text).about(Subject::Step(list, i)),
            );
        }
    }
}

/// Each run whose state moved: one sentence per state it reaches.
fn runs(before: &Seen, now: &Seen, after: &Release, told: &mut Vec<Told>) {
    let mut keys: Vec<&RunKey> = now.runs.keys().collect();
    keys.sort_by_key(|(list, step, target)| (*list == StepList::Rollback, *step, target.clone()));
    for key in keys {
        let (status, attempt) = now.runs[key];
        if before.runs.get(key).copied() == Some((status, attempt)) {
            continue;
        }
        let (list, step, target) = key;
        let Some(run) = after
            .states(*list)
            .get(*step)
            .and_then(|s| s.targets.iter().find(|t| &t.target == target))
        else {
            continue;
        };
        let id = RunId {
            list: *list,
            step: *step,
            target: target.clone(),
            attempt,
        };
        if let Some(t) = run_said(after, &id, run) {
            told.push(t);
        }
    }
}

/// The state a run reached, in one sentence: "step 3. Migrate failed on web-1: exit 3 (1.2s)".
pub(super) fn run_said(release: &Release, id: &RunId, run: &TargetRun) -> Option<Told> {
    let name = printable(&step_label(release, id.list, id.step)).into_owned();
    let target = printable(&id.target);
    let why = printable_lines(run.failure.as_deref().unwrap_or("failed")).into_owned();
    let took = match (run.started_at, run.finished_at) {
        (Some(a), Some(b)) => format!(" ({:.1}s)", b.saturating_sub(a) as f64 / 1000.0),
        _ => String::new(),
    };
    let attempts = match run.attempt {
        n if n > 1 => format!(" after {n} attempts"),
        _ => String::new(),
    };
    let stopped = run
        .stopped
        .as_deref()
        .map_or(String::new(), |s| format!("; {}", printable(s)));
    let (severity, topic, text) = match run.status {
        RunStatus::Passed => (
            Severity::Good,
            Topic::RunPassed,
            format!("{name} passed on {target}{took}"),
        ),
        RunStatus::RetryWaiting => (
            Severity::Warn,
            Topic::RunRetrying,
            format!("{name} failed on {target}: {why}{took}; retrying"),
        ),
        RunStatus::Failed => (
            Severity::Bad,
            Topic::RunFailed,
            format!("{name} failed on {target}: {why}{took}{attempts}{stopped}"),
        ),
        RunStatus::Unknown => (
            Severity::Bad,
            Topic::RunUnknown,
            format!("{name} on {target}: outcome unknown: {why}"),
        ),
        RunStatus::Stopping => {
            let cause = match &run.failure {
                Some(f) => format!("{}: ", printable_lines(f)),
                None => String::new(),
            };
            let text = format!("{name} on {target}: {cause}stopping it on the host…");
            (Severity::Warn, Topic::RunStopping, text)
        }
        RunStatus::Cancelled => {
            let how = run
                .stopped
                .as_deref()
                .map_or(why, |s| printable(s).into_owned());
            (
                Severity::Info,
                Topic::RunStopped,
                format!("{name} on {target}: {how}"),
            )
        }
        RunStatus::Running if run.attempt > 1 => (
            Severity::Info,
            Topic::Attempt,
            format!("{name} on {target}: attempt {}", run.attempt),
        ),
        RunStatus::Pending | RunStatus::Running => return None,
    };
    Some(Told::new(severity, topic, text).about(Subject::Run(id.clone())))
}

/// A rollback proposal opened: its rule and the values it held at, each host's latest.
fn proposed(release: &Release, rule: usize) -> Told {
    let planned = release
        .plan
        .watch
        .as_ref()
        .and_then(|w| w.rollback_on.get(rule));
    let text = planned.map_or_else(
        || "a watch rule".to_string(),
        |r| printable(&r.text).into_owned(),
    );
    let value = planned
        .zip(release.watch.rules.get(rule))
        .map(|(planned, state)| crate::measure::latest_values(planned, state))
        .filter(|values| !values.is_empty())
        .map_or(String::new(), |values| format!(" ({values})"));
    Told::new(
        Severity::Bad,
        Topic::RollbackProposed,
        format!("rollback proposed: \"{text}\" held{value}"),
    )
    .about(Subject::Question(Question::RollbackProposal { rule }))
}

/// The outcome became known.
fn ended(release: &Release, outcome: Outcome) -> Told {
    let (severity, text) = match outcome {
        Outcome::Refused => (
            Severity::Bad,
            format!(
                "refused to start: {}",
                printable(&release.refusals.join("; "))
            ),
        ),
        Outcome::Released => (Severity::Good, outcome_said(release)),
        Outcome::RolledBack => (Severity::Warn, outcome_said(release)),
        Outcome::Aborted => (Severity::Bad, outcome_said(release)),
    };
    Told::new(severity, Topic::Outcome(outcome), text)
}

/// Which attempt a run's failure was, and what the attempts before it said: `attempt 2 of 3
/// failed: exit 1 · attempt 1: exit 1 at 02:47:31Z`. `None` for a first attempt. The "of"
/// only where the attempts are counted (a check's `retries`); an operator's retries are not.
pub fn attempts_said(step: &crate::engine::plan::PlannedStep, t: &TargetRun) -> Option<String> {
    if t.attempt <= 1 && t.earlier.is_empty() {
        return None;
    }
    let of = if step.kind == StepKind::Check && step.retries > 0 {
        format!(" of {}", step.retries + 1)
    } else {
        String::new()
    };
    let now = t.failure.as_deref().map_or_else(
        || format!("attempt {}{of}", t.attempt),
        |f| format!("attempt {}{of} failed: {}", t.attempt, printable_lines(f)),
    );
    let before = t.earlier.iter().rev().map(|e| {
        let at = e.at.map_or(String::new(), |at| {
            format!(" at {}", super::words::clock(at))
        });
        format!("attempt {}: {}{at}", e.attempt, printable_lines(&e.failure))
    });
    Some(
        std::iter::once(now)
            .chain(before)
            .collect::<Vec<_>>()
            .join(" · "),
    )
}
