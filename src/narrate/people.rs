//! What people did beside the release (shells opened on targets, followers joining, leaving
//! and voting) and what happened to the log tails, in words.

use super::{Severity, Subject, Told, Topic};
use crate::engine::{EventKind, Release};
use crate::text::printable;

/// Shells opened on targets, people following the session, leaving and voting.
pub(super) fn said(kind: &EventKind, after: &Release) -> Option<Told> {
    let p = |s: &str| printable(s).into_owned();
    Some(match kind {
        EventKind::ShellOpened { by, target } => Told::new(
            Severity::Warn,
            Topic::Shell,
            format!("{} opened a shell on {}", p(by), p(target)),
        )
        .about(Subject::Target(target.clone())),
        EventKind::ShellClosed { target, how } => Told::new(
            Severity::Info,
            Topic::Shell,
            format!("shell on {} closed ({})", p(target), p(how)),
        )
        .about(Subject::Target(target.clone())),
        EventKind::Joined {
            name,
            via,
            approver,
        } => {
            let approves = match (approver, via) {
                (true, crate::engine::Via::Local) => ", cannot approve from this machine",
                (true, _) => ", may approve",
                (false, _) => "",
            };
            Told::new(
                Severity::Info,
                Topic::Follower,
                format!(
                    "{} follows the session ({}{approves})",
                    p(name),
                    p(&via.to_string())
                ),
            )
        }
        EventKind::Left { name, why } => Told::new(
            Severity::Info,
            Topic::Follower,
            crate::engine::left_said(&p(name), why.as_deref().map(printable).as_deref()),
        ),
        // The engine's judgement of the vote, made as it applied it (never what was recorded).
        EventKind::Voted { .. } => {
            let vote = after.votes.last()?;
            let why = vote.refused.as_ref().map(ToString::to_string);
            self::vote(&vote.name, &vote.via.to_string(), why.as_deref())
        }
        _ => return None,
    })
}

/// A follower's GO at a gate, counted (no `why`) or refused, as the engine judged it.
fn vote(name: &str, via: &str, why: Option<&str>) -> Told {
    let why = why.map(printable);
    let said = crate::engine::vote_said(&printable(name), &printable(via), why.as_deref());
    let severity = if why.is_none() {
        Severity::Good
    } else {
        Severity::Bad
    };
    Told::new(severity, Topic::Vote, said)
}

/// What happened to a log tail: dropped lines, down, following (again).
pub(super) fn logs(kind: &EventKind) -> Option<Told> {
    let at = |t: &str, f: &str| format!("logs {}:{}", printable(t), printable(f));
    Some(match kind {
        EventKind::LogsDropped {
            target,
            tail,
            count,
        } => Told::new(
            Severity::Warn,
            Topic::Logs,
            format!(
                "{}: {count} lines dropped (they came faster than gonogo could take them; the release was not slowed)",
                at(target, tail)
            ),
        ),
        EventKind::TailDown {
            target,
            tail,
            error,
        } => Told::new(
            Severity::Warn,
            Topic::Logs,
            format!(
                "{} down: {}; following again once it can",
                at(target, tail),
                printable(error)
            ),
        ),
        EventKind::TailUp {
            target,
            tail,
            gap_ms,
        } => {
            let again = gap_ms.map_or(String::new(), |gap| {
                let gap = std::time::Duration::from_secs(gap.div_ceil(1000));
                format!(" again after a gap of {}", humantime::format_duration(gap))
            });
            Told::new(
                Severity::Info,
                Topic::Logs,
                format!("{}: following{again}", at(target, tail)),
            )
        }
        _ => return None,
    })
}
