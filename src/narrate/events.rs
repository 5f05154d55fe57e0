//! What an event says by itself: the start, links, locks, decisions, people beside the
//! release, health turning, log tails, notifications.

use super::words::{decision_said, interruption_said};
use super::{Seen, Severity, Subject, Told, Topic};
use crate::engine::release::DecisionRecord;
use crate::engine::watch::HealthReading;
use crate::engine::{Decision, Event, EventKind, Release, ReleasePlan, Timer};
use crate::text::printable;

/// The sentences `event` makes by itself.
pub(super) fn said(event: &Event, before: &Seen, after: &Release) -> Vec<Told> {
    match &event.kind {
        EventKind::Started { operator, plan, .. } => vec![started(operator, plan)],
        EventKind::Resumed { by, .. } => resumed(by, after),
        kind @ (EventKind::Connected { .. }
        | EventKind::ConnectFailed { .. }
        | EventKind::ConnectionLost { .. }
        | EventKind::Reconnected { .. }
        | EventKind::LockTaken { .. }
        | EventKind::LockFailed { .. }
        | EventKind::LockRefused { .. }
        | EventKind::LockBroken { .. }
        | EventKind::LockLost { .. }
        | EventKind::LocksReleased { .. }) => super::links::said(kind, before, after),
        EventKind::Decided { .. } => decided(event, before, after),
        EventKind::TimerFired {
            timer: Timer::AutoRollback,
        } => vec![Told::new(
            Severity::Ask,
            Topic::AutoRollback,
            "nobody answered the rollback proposal in time: auto_rollback rolls back".into(),
        )],
        EventKind::HealthSampled {
            check,
            via,
            reading,
        } => health(after, check, via.as_deref(), reading)
            .into_iter()
            .collect(),
        kind @ (EventKind::ShellOpened { .. }
        | EventKind::ShellClosed { .. }
        | EventKind::Joined { .. }
        | EventKind::Left { .. }
        | EventKind::Voted { .. }) => super::people::said(kind, after).into_iter().collect(),
        kind @ (EventKind::LogsDropped { .. }
        | EventKind::TailDown { .. }
        | EventKind::TailUp { .. }) => super::people::logs(kind).into_iter().collect(),
        EventKind::NotifyFailed {
            message,
            error,
            attempts,
        } => vec![notify_failed(message, error, *attempts)],
        kind @ (EventKind::VersionFound { .. }
        | EventKind::ChangesFound { .. }
        | EventKind::PendingFound { .. }
        | EventKind::Refused { .. }) => super::ships::said(kind, after),
        kind @ (EventKind::BatchStarted { .. }
        | EventKind::BatchJudged { .. }
        | EventKind::BatchPromoted { .. }) => {
            super::batches::said(kind, after).into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// The start: who started which release to where, any release window overridden, and the
/// rehearsal's lines.
fn started(operator: &str, plan: &ReleasePlan) -> Told {
    let p = |s: &str| printable(s).into_owned();
    let version = plan
        .version
        .as_deref()
        .map_or(String::new(), |v| format!(" {}", p(v)));
    let mut text = format!(
        "{} started {}{version} to {}",
        p(operator),
        p(&plan.release),
        p(&plan.environment)
    );
    if let Some(why) = &plan.window_override {
        text.push_str(&format!(", outside the release windows: {}", p(why)));
    }
    let detail = plan.rehearsal.iter().map(|r| p(r)).collect();
    Told::new(Severity::Info, Topic::Started, text).with(detail)
}

/// A resume: the interruption it follows, then who resumed the session.
fn resumed(by: &str, after: &Release) -> Vec<Told> {
    let mut told: Vec<Told> = after
        .interruptions
        .last()
        .map(|lost| Told::new(Severity::Warn, Topic::Interrupted, interruption_said(lost)))
        .into_iter()
        .collect();
    told.push(Told::new(
        Severity::Info,
        Topic::Resumed,
        format!(
            "{} resumed the session: confirming the locks, attaching to the steps still running",
            printable(by)
        ),
    ));
    told
}

/// A notification the webhook did not take, with how many attempts were made.
fn notify_failed(message: &str, error: &str, attempts: u32) -> Told {
    let tries = match attempts {
        0 => String::new(),
        1 => " (1 attempt)".to_string(),
        n => format!(" ({n} attempts)"),
    };
    Told::new(
        Severity::Warn,
        Topic::Notify,
        format!(
            "{} not delivered: {}{tries}",
            printable(message),
            printable(error)
        ),
    )
}

/// A decision, with the question it answered (as the engine recorded it, else the one open).
fn decided(event: &Event, before: &Seen, after: &Release) -> Vec<Told> {
    let EventKind::Decided {
        by,
        decision,
        note,
        actor,
    } = &event.kind
    else {
        return Vec::new();
    };
    let recorded = after
        .decisions
        .last()
        .filter(|d| d.at == event.at && &d.decision == decision && &d.by == by);
    let record = recorded.cloned().unwrap_or_else(|| DecisionRecord {
        at: event.at,
        by: by.clone(),
        actor: *actor,
        decision: decision.clone(),
        note: note.clone(),
        question: before.question.clone(),
    });
    let rolls_back = matches!(
        decision,
        Decision::Rollback | Decision::ConfirmRollback { .. }
    );
    let mut told = Told::new(
        Severity::Ask,
        super::Topic::Decision { rolls_back },
        decision_said(after, &record),
    );
    if let Some(q) = record.question {
        told = told.about(Subject::Question(q));
    }
    vec![told]
}

/// A health check's first answer, and each time it starts failing or passes again.
fn health(
    release: &Release,
    check: &str,
    via: Option<&str>,
    reading: &HealthReading,
) -> Option<Told> {
    let series = release
        .watch
        .health
        .iter()
        .find(|s| s.check == check && s.via.as_deref() == via)?;
    let before = series
        .history
        .len()
        .checked_sub(2)
        .and_then(|i| series.history.get(i))
        .map(|(_, ok, _)| *ok);
    if before == Some(reading.ok) {
        return None;
    }
    let place = via.map_or(String::new(), |v| format!(" via {}", printable(v)));
    let check = printable(check);
    Some(if reading.ok {
        let status = reading.status.map_or("answered".into(), |s| s.to_string());
        Told::new(
            Severity::Good,
            Topic::Health,
            format!(
                "health {check}{place}: {status} in {}ms",
                reading.latency_ms
            ),
        )
    } else {
        let why = printable(reading.error.as_deref().unwrap_or("failing"));
        Told::new(
            Severity::Bad,
            Topic::Health,
            format!("health {check}{place} failing: {why}"),
        )
    })
}
