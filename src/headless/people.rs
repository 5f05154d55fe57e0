//! What people did beside the release: shells opened on targets, followers joining, leaving and
//! voting, as headless lines.

use crate::engine::EventKind;
use crate::text::printable;

pub(super) fn said(kind: &EventKind) -> Option<String> {
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
            printable(via),
            if *approver { ", may approve" } else { "" }
        ),
        EventKind::Left { name, why } => format!(
            "gonogo: {}",
            crate::engine::left_said(&printable(name), why.as_deref())
        ),
        EventKind::Voted {
            name,
            via,
            counted: true,
            ..
        } => format!(
            "ok   go from {} ({}) counted",
            printable(name),
            printable(via)
        ),
        EventKind::Voted { name, via, why, .. } => format!(
            "!!   go from {} ({}) refused: {}",
            printable(name),
            printable(via),
            printable(why.as_deref().unwrap_or("not counted"))
        ),
        _ => return None,
    })
}
