//! What the links to the targets and the deploy locks say: connected, lost, back; taken,
//! confirmed, refused, broken, lost, released or kept.

use super::{Seen, Severity, Subject, Told, Topic};
use crate::engine::{EventKind, KeptLock, Release};
use crate::text::{printable, printable_lines};
use Severity::*;

/// The sentences a link's or a lock's event makes.
pub(super) fn said(kind: &EventKind, before: &Seen, after: &Release) -> Vec<Told> {
    match kind {
        EventKind::Connected { .. }
        | EventKind::ConnectFailed { .. }
        | EventKind::ConnectionLost { .. }
        | EventKind::Reconnected { .. } => link_said(kind),
        EventKind::LocksReleased { released, kept } => locks_released(released, kept),
        _ => lock_said(kind, before, after),
    }
}

/// A text made printable.
fn p(s: &str) -> String {
    printable(s).into_owned()
}

/// The target a sentence is about.
fn target(t: &str) -> Subject {
    Subject::Target(t.to_string())
}

/// The sentences of a link to a target: connected, cannot reach, lost, back.
fn link_said(kind: &EventKind) -> Vec<Told> {
    let one = |severity, topic, text: String| vec![Told::new(severity, topic, text)];
    match kind {
        EventKind::Connected { target: t } => one(Info, Topic::Link, format!("connected {}", p(t))),
        EventKind::ConnectFailed { target: t, error } => vec![
            Told::new(
                Bad,
                Topic::Link,
                format!("cannot reach {}: {}", p(t), printable_lines(error)),
            )
            .about(target(t)),
        ],
        EventKind::ConnectionLost { target: t, error } => vec![
            Told::new(
                Warn,
                Topic::Link,
                format!(
                    "link to {} lost ({}): reconnecting; the step goes on on the host",
                    p(t),
                    p(error)
                ),
            )
            .about(target(t)),
        ],
        EventKind::Reconnected { target: t } => {
            vec![
                Told::new(
                    Good,
                    Topic::Link,
                    format!("link to {} back: re-attached", p(t)),
                )
                .about(target(t)),
            ]
        }
        _ => Vec::new(),
    }
}

/// The sentences of a deploy lock: taken or confirmed, cannot take, refused, broken, lost.
fn lock_said(kind: &EventKind, before: &Seen, after: &Release) -> Vec<Told> {
    match kind {
        EventKind::LockTaken { target: t } => {
            let confirmed = before.resuming;
            let verb = if confirmed { "confirmed" } else { "taken" };
            vec![
                Told::new(
                    Info,
                    Topic::LockTaken { confirmed },
                    format!("lock {verb} on {}", p(t)),
                )
                .about(target(t)),
            ]
        }
        EventKind::LockFailed { target: t, error } => vec![
            Told::new(
                Bad,
                Topic::Lock,
                format!(
                    "cannot take the lock on {}: {}",
                    p(t),
                    printable_lines(error)
                ),
            )
            .about(target(t)),
        ],
        // A resumed session whose lock went to someone else: the engine says why it stops.
        EventKind::LockRefused { target: t, .. } if after.halted.is_some() && !before.halted => {
            let why = after.halted.as_deref().unwrap_or_default();
            vec![Told::new(Bad, Topic::Halted, p(why)).about(target(t))]
        }
        EventKind::LockRefused { target: t, holder } => vec![
            Told::new(
                Bad,
                Topic::Lock,
                format!(
                    "{} is locked by {}: not starting (--break-lock \"REASON\" takes it over)",
                    p(t),
                    p(holder)
                ),
            )
            .about(target(t)),
        ],
        EventKind::LockBroken {
            target: t,
            holder,
            reason,
            leftovers,
        } => lock_broken(t, holder, reason, leftovers),
        EventKind::LockLost { run, holder } => {
            let mut told = vec![
                Told::new(
                    Bad,
                    Topic::Lock,
                    format!(
                        "the lock on {} was taken over by {}",
                        p(&run.target),
                        p(holder)
                    ),
                )
                .about(target(&run.target)),
            ];
            if let (Some(why), false) = (&after.halted, before.halted) {
                told.push(Told::new(Bad, Topic::Halted, p(why)));
            }
            told
        }
        _ => Vec::new(),
    }
}

/// A lock broken by this session, with what the session that held it left behind.
fn lock_broken(t: &str, holder: &str, reason: &str, leftovers: &[String]) -> Vec<Told> {
    let detail = leftovers
        .iter()
        .map(|left| format!("that session left on {}: {}", p(t), p(left)))
        .collect();
    vec![
        Told::new(
            Warn,
            Topic::Lock,
            format!("broke the lock of {} on {}: {}", p(holder), p(t), p(reason)),
        )
        .about(target(t))
        .with(detail),
    ]
}

/// The locks released at the end, and each one kept with how to remove it.
fn locks_released(released: &[String], kept: &[KeptLock]) -> Vec<Told> {
    let mut told = Vec::new();
    if !released.is_empty() {
        let names: Vec<String> = released.iter().map(|t| p(t)).collect();
        told.push(Told::new(
            Info,
            Topic::Lock,
            format!("locks released on {}", names.join(", ")),
        ));
    }
    for k in kept {
        told.push(
            Told::new(
                Warn,
                Topic::LockKept,
                format!("lock kept on {}: {}", p(&k.target), p(&k.why)),
            )
            .about(target(&k.target))
            .with(vec![format!(
                "once checked, remove it with: {}",
                p(&k.remove)
            )]),
        );
    }
    told
}
