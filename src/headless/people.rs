//! What people did beside the release: shells opened on targets, followers joining, leaving and
//! voting, as headless lines.

use crate::engine::{EventKind, Release, VoteRecord};
use crate::text::printable;

pub(super) fn said(kind: &EventKind, release: &Release) -> Option<String> {
    Some(match kind {
        EventKind::ShellOpened { by, target } => format!(
            "$$  {}: {} opened a shell",
            printable(target),
            printable(by)
        ),
        EventKind::ShellClosed { target, how } => format!(
            "$$  {}: shell closed ({})",
            printable(target),
            printable(how)
        ),
        EventKind::Joined {
            name,
            via,
            approver,
        } => format!(
            "gonogo: {} follows the session ({}{})",
            printable(name),
            printable(&via.to_string()),
            if *approver { ", may approve" } else { "" }
        ),
        EventKind::Left { name, why } => format!(
            "gonogo: {}",
            crate::engine::left_said(&printable(name), why.as_deref())
        ),
        // The engine's judgement of the vote, made as it applied it.
        EventKind::Voted { .. } => match release.votes.last()? {
            VoteRecord {
                name,
                via,
                refused: None,
                ..
            } => format!(
                "ok   go from {} ({}) counted",
                printable(name),
                printable(&via.to_string())
            ),
            VoteRecord {
                name,
                via,
                refused: Some(why),
                ..
            } => format!(
                "!!   go from {} ({}) refused: {}",
                printable(name),
                printable(&via.to_string()),
                printable(&why.to_string())
            ),
        },
        _ => return None,
    })
}
