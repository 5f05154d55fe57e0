//! What people type, masked before anyone sees it: decisions' notes and reasons, votes,
//! followers' names and why they left, a broken lock's reason, the plan as started.

use crate::engine::{Decision, EventKind};

/// What people type (notes, reasons, names) with the session's secrets masked, before the
/// journal, the screen or anyone else sees it.
pub(super) fn typed_masked(kind: EventKind, mask: impl Fn(String) -> String) -> EventKind {
    let opt = |o: Option<String>| o.map(&mask);
    match kind {
        EventKind::Decided {
            by,
            decision,
            note,
            actor,
        } => EventKind::Decided {
            by,
            decision: match decision {
                Decision::Skip { reason } => Decision::Skip {
                    reason: mask(reason),
                },
                Decision::KeepWatching { reason } => Decision::KeepWatching {
                    reason: mask(reason),
                },
                Decision::SkipBaseline { reason } => Decision::SkipBaseline {
                    reason: mask(reason),
                },
                other => other,
            },
            note: opt(note),
            actor,
        },
        EventKind::Voted {
            name,
            via,
            approver,
            step,
            digest,
            note,
            counted,
        } => EventKind::Voted {
            name: mask(name),
            via,
            approver,
            step,
            digest,
            note: opt(note),
            counted,
        },
        EventKind::Joined {
            name,
            via,
            approver,
        } => EventKind::Joined {
            name: mask(name),
            via,
            approver,
        },
        EventKind::Left { name, why } => EventKind::Left {
            name: mask(name),
            why: why.clone(),
        },
        EventKind::LockBroken {
            target,
            holder,
            reason,
            leftovers,
        } => EventKind::LockBroken {
            target,
            holder,
            reason: mask(reason),
            leftovers,
        },
        EventKind::Started {
            session,
            operator,
            mut plan,
        } => {
            plan.window_override = opt(plan.window_override.take());
            EventKind::Started {
                session,
                operator,
                plan,
            }
        }
        other => other,
    }
}
