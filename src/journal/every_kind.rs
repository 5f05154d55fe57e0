//! One event of every kind, with the values a journal holds: what the journal's tests write
//! and read back.

use crate::engine::event::{Decision, KeptLock, Stream, Timer};
use crate::engine::watch::{HealthReading, MetricsReading};
use crate::engine::{Actor, EventKind, ReleasePlan};

use super::run;

/// One of each event type, with values that are easy to get wrong (escapes, unicode, None).
pub(in crate::journal) fn every_kind() -> Vec<EventKind> {
    [
        started_links_locks(),
        runs(),
        timers_probes_people(),
        logs_followers(),
        asides_and_records(),
    ]
    .concat()
}

/// The start, links and locks.
fn started_links_locks() -> Vec<EventKind> {
    let t = || "web-1".to_string();
    vec![
        EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(ReleasePlan {
                release: "shop".into(),
                environment: "production".into(),
                production: true,
                version: Some("v1.2.1".into()),
                ..ReleasePlan::default()
            }),
        },
        EventKind::HostKeyTrusted {
            target: t(),
            fingerprint: "SHA256:abc".into(),
        },
        EventKind::Connected { target: t() },
        EventKind::Resumed {
            by: "ana@laptop".into(),
            unattended: None,
            stopped_at: Some(1_790_000_000_000),
            stopped_t: Some(12_345_678),
        },
        EventKind::ConnectFailed {
            target: t(),
            error: "refused".into(),
        },
        EventKind::ConnectionLost {
            target: t(),
            error: "reset".into(),
        },
        EventKind::Reconnected { target: t() },
        EventKind::LockTaken { target: t() },
        EventKind::LockFailed {
            target: t(),
            error: "no sh".into(),
        },
        EventKind::LockRefused {
            target: t(),
            holder: "bo@laptop".into(),
        },
        EventKind::LockBroken {
            target: t(),
            holder: "bo".into(),
            reason: "bo is away".into(),
            leftovers: vec!["step-1".into()],
        },
    ]
}

/// Runs on the hosts and the locks' end.
fn runs() -> Vec<EventKind> {
    let t = || "web-1".to_string();
    vec![
        EventKind::Output {
            run: run(),
            stream: Stream::Stderr,
            lines: vec!["a \\e[31m \"quoted\" ünïcode".into(), String::new()],
        },
        EventKind::Exited {
            run: run(),
            status: -1,
        },
        EventKind::RunFailed {
            run: run(),
            error: "no status".into(),
        },
        EventKind::RunLost {
            run: run(),
            error: "link down".into(),
        },
        EventKind::RunStopped {
            run: run(),
            how: "stopped with TERM".into(),
        },
        EventKind::StopFailed {
            run: run(),
            error: "alive 12".into(),
        },
        EventKind::LockLost {
            run: run(),
            holder: "bo".into(),
        },
        EventKind::LocksReleased {
            released: vec![t()],
            kept: vec![KeptLock {
                target: "db".into(),
                why: "busy".into(),
                remove: "rm -r x".into(),
            }],
        },
    ]
}

/// Timers, health and metrics, shells and decisions.
fn timers_probes_people() -> Vec<EventKind> {
    let t = || "web-1".to_string();
    vec![
        EventKind::TimerFired {
            timer: Timer::Retry { run: run() },
        },
        EventKind::HealthSampled {
            check: "app".into(),
            via: Some(t()),
            reading: HealthReading {
                ok: false,
                status: Some(503),
                latency_ms: 12,
                error: Some("answered 503".into()),
                cert_days: Some(-2),
            },
        },
        EventKind::MetricsSampled {
            source: "app".into(),
            via: None,
            reading: MetricsReading {
                error_ratio: Some(0.25),
                latency_p95_ms: Some(812.5),
                ..MetricsReading::default()
            },
        },
        EventKind::ShellOpened {
            by: "ana".into(),
            target: t(),
        },
        EventKind::ShellClosed {
            target: t(),
            how: "exit 0".into(),
        },
        EventKind::Decided {
            by: "ana".into(),
            decision: Decision::Skip {
                reason: "known flaky\nsecond line".into(),
            },
            note: Some("n".into()),
            actor: Actor::Person,
        },
    ]
}

/// Log tails and followers.
fn logs_followers() -> Vec<EventKind> {
    let t = || "web-1".to_string();
    vec![
        EventKind::LogLines {
            target: t(),
            tail: "app".into(),
            lines: vec!["ERROR x".into()],
        },
        EventKind::LogsDropped {
            target: t(),
            tail: "app".into(),
            count: 7,
        },
        EventKind::TailDown {
            target: t(),
            tail: "app".into(),
            error: "eof".into(),
        },
        EventKind::TailUp {
            target: t(),
            tail: "app".into(),
            gap_ms: Some(4000),
        },
        EventKind::Joined {
            name: "bob".into(),
            via: "ssh from 10.0.0.7".into(),
            approver: true,
        },
        EventKind::Left {
            name: "bob".into(),
            why: Some("a follower sent a line over 64 KB: dropped".into()),
        },
        EventKind::Voted {
            name: "bob".into(),
            via: "ssh from 10.0.0.7".into(),
            approver: true,
            step: 3,
            digest: Some("9f1c2a7e5b3d4c60".into()),
            note: Some("dashboards green".into()),
            counted: None,
        },
    ]
}

/// What changes nothing (notifications, the journal), what the engine states, what ships.
fn asides_and_records() -> Vec<EventKind> {
    let t = || "web-1".to_string();
    vec![
        EventKind::NotifyFailed {
            message: "gate: go at \"Deploy?\"".into(),
            error: "webhook answered 500 Internal Server Error".into(),
            attempts: 3,
        },
        EventKind::JournalFailed {
            path: "/var/lib/gonogo/s1.jsonl".into(),
            error: "No space left on device (os error 28)".into(),
        },
        EventKind::BatchStarted {
            phase: "Deploy".into(),
            batch: 1,
            of: 3,
            hosts: vec![t()],
        },
        EventKind::BatchJudged {
            phase: "Deploy".into(),
            batch: 1,
            of: 3,
            verdict: crate::engine::BatchVerdict::Breached,
            figures: vec![crate::engine::BatchFigure {
                rule: 0,
                hosts: vec![(t(), 7.5)],
                control: Some(0.4),
                stand: "breached: rollback proposed".into(),
            }],
        },
        EventKind::BatchPromoted {
            phase: "Deploy".into(),
            batch: 2,
            of: 3,
            by: "gonogo".into(),
        },
        EventKind::VersionFound {
            target: t(),
            version: Some("v1.4.2".into()),
            error: None,
        },
        EventKind::ChangesFound {
            found: crate::engine::ships::Found {
                lines: vec!["a1b2c3d Fix the \"cart\" total \u{1b}[31m".into()],
                total: 12,
                error: None,
            },
        },
        EventKind::PendingFound {
            target: t(),
            found: crate::engine::ships::Found {
                lines: Vec::new(),
                total: 0,
                error: Some("`pending` exited 1: no such revision".into()),
            },
        },
        EventKind::Refused {
            why: vec!["every host already runs v1.5.0: nothing to ship".into()],
        },
    ]
}
