//! What ships, as it was found: the version each host runs now, the changes about to ship, the
//! migrations to run.

use super::{Severity, Told, Topic};
use crate::engine::ships::Found;
use crate::engine::{EventKind, Release};
use crate::text::printable;

/// Lines of a list told under its sentence; the rest are counted.
const SHOWN: usize = 10;

/// What an event of what ships says: a host's version, a list found, or why the release was
/// refused over them (in the words the engine recorded).
pub(super) fn said(kind: &EventKind, after: &Release) -> Vec<Told> {
    if let EventKind::Refused { why } = kind {
        return (why.iter())
            .map(|why| {
                let text = format!("refused to start: {}", printable(why));
                Told::new(Severity::Bad, Topic::Ships, text)
            })
            .collect();
    }
    found_said(kind, after).into_iter().collect()
}

fn found_said(kind: &EventKind, after: &Release) -> Option<Told> {
    let p = |s: &str| printable(s).into_owned();
    Some(match kind {
        EventKind::VersionFound {
            target,
            version: Some(version),
            error: None,
        } => {
            let mut told = Told::new(
                Severity::Info,
                Topic::Ships,
                format!("{} runs {} now", p(target), p(version)),
            );
            // The last host answered: the whole in one line.
            if after.ships.found.len() == after.targets.len()
                && let Some(ships) = after.ships_said()
            {
                told = told.with(vec![format!("what ships: {}", p(&ships))]);
            }
            told
        }
        EventKind::VersionFound { target, error, .. } => Told::new(
            Severity::Bad,
            Topic::Ships,
            format!(
                "{}: the version running now is unknown: {}",
                p(target),
                p(error.as_deref().unwrap_or("no answer"))
            ),
        ),
        EventKind::ChangesFound { found } => {
            let told = listed(found, "change", "to ship", None);
            // A mixed fleet's list starts from one host's version: which, first.
            match after.changes_from_said() {
                Some(since) if found.error.is_none() => Told {
                    text: format!("{} ({})", told.text, printable(&since)),
                    ..told
                },
                _ => told,
            }
        }
        EventKind::PendingFound { target, found } => {
            listed(found, "migration", "to run", Some(target))
        }
        _ => return None,
    })
}

/// "12 changes to ship", with the first lines; a list that could not be made is a warning that
/// says why (it fails nothing).
fn listed(found: &Found, what: &str, to: &str, on: Option<&str>) -> Told {
    let on = on.map_or(String::new(), |t| format!(" on {}", printable(t)));
    if let Some(error) = &found.error {
        return Told::new(
            Severity::Warn,
            Topic::Ships,
            format!(
                "no {what} list{on}: {}; the gate shows none",
                printable(error)
            ),
        );
    }
    let s = if found.total == 1 { "" } else { "s" };
    let mut detail: Vec<String> = found
        .lines
        .iter()
        .take(SHOWN)
        .map(|l| printable(l).into_owned())
        .collect();
    if found.total > detail.len() {
        detail.push(format!("… {} more", found.total - detail.len()));
    }
    Told::new(
        Severity::Info,
        Topic::Ships,
        format!("{} {what}{s} {to}{on}", found.total),
    )
    .with(detail)
}
