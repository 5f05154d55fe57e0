//! What shipped, as the report tells it: the version each host ran before the release (what a
//! rollback returns it to), the changes that shipped and the migrations to run, from the
//! journal's `version_found`, `changes_found` and `pending_found`. Nothing when the profile
//! did not ask (`[release] current`, `changes`, `pending`).
//!
//! The lists are as the drivers journaled them: cleaned and with every secret masked.

use std::fmt::Write as _;

use serde::Serialize;

use super::markdown::text;
use super::plan::code;
use crate::engine::Release;
use crate::engine::ships::Found;
use crate::text::printable;

/// Lines of the change list the status message and the start notification show.
pub const SHOWN: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShipsReport {
    /// "v1.4.2 → v1.5.0 · 3 changes · 2 migrations", once a host said its version.
    pub said: Option<String>,
    /// Each host's version before the release, or why it is unknown, in the order answered.
    pub previous: Vec<HostVersion>,
    /// The previous version in words: "v1.4.2", or each version with its hosts, and whether a
    /// mixed fleet was allowed (and why) or an already-deployed version redeployed.
    pub previous_said: String,
    /// What a rollback returns the hosts to (`{{previous}}` on each), in words.
    pub rollback_target: String,
    /// `--allow-mixed`: why the release went on although the hosts ran different versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_mixed: Option<String>,
    /// `--redeploy`: why the release went on although every host ran its version already.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redeploy: Option<String>,
    /// The commands that found it, as shown (secrets masked).
    pub commands: ShipsCommands,
    /// The change list (`changes`), when it was made or failed.
    pub changes: Option<Found>,
    /// Where the change list starts when the hosts disagreed: "changes since v1.4.1 (web-1);
    /// web-2 runs v1.4.2".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_since: Option<String>,
    /// The target the migrations to run were listed on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_on: Option<String>,
    /// The migrations to run (`pending`), when they were looked for.
    pub pending: Option<Found>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShipsCommands {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostVersion {
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What shipped, when the plan asked to find it.
pub fn ships(release: &Release) -> Option<ShipsReport> {
    let planned = &release.plan.ships;
    if planned.current.is_none() && planned.changes.is_none() && planned.pending.is_none() {
        return None;
    }
    let previous = (release.ships.found.iter())
        .map(|(target, found)| HostVersion {
            target: target.clone(),
            version: found.version().cloned(),
            error: found.why().cloned(),
        })
        .collect();
    Some(ShipsReport {
        said: release.ships_said(),
        previous,
        previous_said: previous_said(release),
        rollback_target: rollback_target(release),
        allow_mixed: planned.allow_mixed.clone(),
        redeploy: planned.redeploy.clone(),
        commands: ShipsCommands {
            current: planned.current.clone(),
            changes: planned.changes.clone(),
            pending: planned.pending.clone(),
            pending_on: planned.pending_on.clone(),
        },
        changes: release.ships.changes.clone(),
        changes_since: release.changes_from_said(),
        pending_on: release.ships.pending_on.clone(),
        pending: release.ships.pending.clone(),
    })
}

/// "v1.4.2"; "v1.4.1 on web-1; v1.4.2 on web-2 (mixed: allowed: REASON)"; "web-1: unknown
/// (why)"; "not found (no `[release] current`)".
pub fn previous_said(release: &Release) -> String {
    let planned = &release.plan.ships;
    if planned.current.is_none() {
        return "not found (no [release] current)".into();
    }
    let groups = release.version_groups();
    let mut parts: Vec<String> = match groups.as_slice() {
        [(version, _)] => vec![version.clone()],
        _ => groups
            .iter()
            .map(|(v, hosts)| format!("{v} on {}", hosts.join(", ")))
            .collect(),
    };
    for (target, found) in &release.ships.found {
        if let Some(why) = found.why() {
            parts.push(format!("{target}: unknown ({why})"));
        }
    }
    let unanswered = release
        .targets
        .len()
        .saturating_sub(release.ships.found.len());
    if parts.is_empty() {
        return "unknown: no host said (the release did not get as far)".into();
    }
    let mut said = parts.join("; ");
    if unanswered > 0 {
        said.push_str(&format!("; {unanswered} host(s) did not say"));
    }
    if groups.len() > 1 {
        said.push_str(&match &planned.allow_mixed {
            Some(why) => format!(" (mixed: allowed: {why})"),
            None => " (mixed: refused)".into(),
        });
    }
    if let (Some(why), [(v, _)]) = (&planned.redeploy, groups.as_slice())
        && release.plan.version.as_deref() == Some(v.as_str())
    {
        said.push_str(&format!(" (already running: redeployed: {why})"));
    }
    said
}

/// What a rollback returns the hosts to: "v1.4.2", or each host to its own version.
pub fn rollback_target(release: &Release) -> String {
    if release.plan.ships.current.is_none() {
        return "not known to gonogo (no [release] current): see the rollback commands".into();
    }
    let groups = release.version_groups();
    let complete = release.ships.found.len() == release.targets.len()
        && release.ships.found.iter().all(|(_, v)| v.is_known());
    match groups.as_slice() {
        [] => "unknown: the version running before was not found".into(),
        [(version, _)] if complete => version.clone(),
        _ if complete => {
            let each: Vec<String> = (release.ships.found.iter())
                .filter_map(|(t, v)| Some(format!("{t} to {}", v.version()?)))
                .collect();
            format!("each host to its own: {}", each.join(", "))
        }
        _ => "unknown on some hosts: the version running before was not found on every host".into(),
    }
}

/// `## Changes`: what shipped in a line, the change list and the migrations to run; a list
/// that could not be made says why.
pub(super) fn to_markdown(md: &mut String, s: &ShipsReport) {
    let _ = writeln!(md, "## Changes\n");
    if let Some(said) = &s.said {
        let _ = writeln!(md, "**{}**\n", text(said));
    }
    let found = s.changes.as_ref();
    match (&s.commands.changes, found) {
        (None, _) => {
            let _ = writeln!(
                md,
                "No change list: the profile has no [release] changes.\n"
            );
        }
        (Some(_), None) => {
            let _ = writeln!(
                md,
                "No change list: the release did not get as far as making it.\n"
            );
        }
        (Some(command), Some(found)) => {
            if let Some(since) = &s.changes_since {
                let _ = writeln!(md, "{}.\n", text(&upper_first(since)));
            }
            list(md, found, "change", command)
        }
    }
    if let Some(command) = &s.commands.pending {
        let on = (s.pending_on.as_deref())
            .or(s.commands.pending_on.as_deref())
            .unwrap_or("its target");
        let _ = writeln!(md, "### Migrations to run (on {})\n", text(on));
        match &s.pending {
            Some(found) => list(md, found, "migration", command),
            None => {
                let _ = writeln!(md, "Not looked for: the release did not get as far.\n");
            }
        }
    }
}

/// "Changes since …" from "changes since …".
fn upper_first(said: &str) -> String {
    let mut chars = said.chars();
    chars.next().map_or(String::new(), |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

/// A list with its count and the command that made it, or why there is none.
fn list(md: &mut String, found: &Found, what: &str, command: &str) {
    if let Some(error) = &found.error {
        let _ = writeln!(
            md,
            "No {what} list: {} (from {}).\n",
            text(error),
            code(command)
        );
        return;
    }
    let s = if found.total == 1 { "" } else { "s" };
    let _ = writeln!(md, "{} {what}{s}, from {}:\n", found.total, code(command));
    for line in &found.lines {
        let _ = writeln!(md, "- {}", text(line));
    }
    if found.total > found.lines.len() {
        let _ = writeln!(
            md,
            "- … {} more (the journal keeps the first {})",
            found.total - found.lines.len(),
            found.lines.len()
        );
    }
    md.push('\n');
}

/// The change list's first [`SHOWN`] lines as `- LINE`, then "… N more"; or why there is
/// none. Empty when the profile has no `changes`.
pub fn change_list_lines(release: &Release) -> Vec<String> {
    let Some(found) = &release.ships.changes else {
        return Vec::new();
    };
    if let Some(error) = &found.error {
        return vec![format!("- no change list: {}", printable(error))];
    }
    if found.total == 0 {
        return vec!["- no changes listed".into()];
    }
    let mut out: Vec<String> = (found.lines.iter().take(SHOWN))
        .map(|l| format!("- {}", printable(l)))
        .collect();
    let shown = out.len();
    if found.total > shown {
        out.push(format!("… {} more", found.total - shown));
    }
    // A mixed fleet's list starts from one host's version: which, first.
    if let Some(since) = release.changes_from_said() {
        out.insert(0, format!("{}:", printable(&since)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Event, EventKind};
    use crate::profile::{self, Purpose, Source};

    const PROFILE: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"
version = "v2"
current = "cat VERSION"

[targets.web-1]
transport = "local"

[targets.web-2]
transport = "local"

[[step]]
name = "Deploy"
run = "deploy"
undo = "deploy {{previous}}"
on = "web-1"
"#;

    /// Connected and locked, `allow_mixed` given or not, then each host's answer.
    fn answered(allow_mixed: Option<&str>, answers: &[(&str, Result<&str, &str>)]) -> Release {
        let (p, diags) = profile::load(&Source::new("t.toml", PROFILE));
        let p = p.unwrap_or_else(|| panic!("{diags:?}"));
        let mut diags = profile::Diagnostics::default();
        let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut diags);
        let mut plan = profile::release_plan(&p, &vars);
        plan.ships.allow_mixed = allow_mixed.map(str::to_string);
        let mut kinds = vec![EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(plan),
        }];
        for t in ["web-1", "web-2"] {
            kinds.push(EventKind::Connected { target: t.into() });
        }
        for t in ["web-1", "web-2"] {
            kinds.push(EventKind::LockTaken { target: t.into() });
        }
        for (target, said) in answers {
            kinds.push(EventKind::VersionFound {
                target: target.to_string(),
                version: said.ok().map(str::to_string),
                error: said.err().map(str::to_string),
            });
        }
        let mut release = Release::default();
        for (i, kind) in kinds.into_iter().enumerate() {
            release.apply(&Event::new(1_790_000_000_000 + i as u64, kind));
        }
        release
    }

    #[test]
    fn a_mixed_fleet_allowed_names_each_version_and_rolls_each_host_back_to_its_own() {
        let r = answered(
            Some("web-2 was hotfixed"),
            &[("web-1", Ok("v1.1")), ("web-2", Ok("v1.2"))],
        );
        assert_eq!(
            previous_said(&r),
            "v1.1 on web-1; v1.2 on web-2 (mixed: allowed: web-2 was hotfixed)"
        );
        assert_eq!(
            rollback_target(&r),
            "each host to its own: web-1 to v1.1, web-2 to v1.2"
        );
        let refused = answered(None, &[("web-1", Ok("v1.1")), ("web-2", Ok("v1.2"))]);
        assert!(previous_said(&refused).ends_with("(mixed: refused)"));
    }

    #[test]
    fn a_host_that_could_not_say_leaves_the_target_unknown() {
        let r = answered(
            None,
            &[("web-1", Ok("v1.1")), ("web-2", Err("`current` exited 1"))],
        );
        assert_eq!(
            previous_said(&r),
            "v1.1; web-2: unknown (`current` exited 1)"
        );
        assert!(rollback_target(&r).starts_with("unknown on some hosts"));
        let none = answered(None, &[]);
        assert!(previous_said(&none).starts_with("unknown: no host said"));
        assert!(rollback_target(&none).starts_with("unknown"));
        let report = ships(&none).expect("planned");
        let mut md = String::new();
        to_markdown(&mut md, &report);
        assert_eq!(
            md,
            "## Changes\n\nNo change list: the profile has no [release] changes.\n\n"
        );
    }

    #[test]
    fn a_mixed_fleets_change_list_says_where_it_starts_and_migrations_where_they_were_listed() {
        let mut r = answered(
            Some("web-2 was hotfixed"),
            &[("web-1", Ok("v1.1")), ("web-2", Ok("v1.2"))],
        );
        let found = Found {
            lines: vec!["abc fix".into()],
            total: 1,
            error: None,
        };
        for (i, kind) in [
            EventKind::ChangesFound {
                found: found.clone(),
            },
            EventKind::PendingFound {
                target: "web-2".into(),
                found,
            },
        ]
        .into_iter()
        .enumerate()
        {
            r.apply(&Event::new(1_790_000_100_000 + i as u64, kind));
        }
        let mut report = ships(&r).expect("planned");
        report.commands.changes = Some("git log".into());
        report.commands.pending = Some("alembic history".into());
        let mut md = String::new();
        to_markdown(&mut md, &report);
        assert!(
            md.contains("Changes since v1.1 (web-1); web-2 runs v1.2.\n"),
            "{md}"
        );
        assert!(md.contains("### Migrations to run (on web-2)"), "{md}");
        assert_eq!(
            change_list_lines(&r),
            ["changes since v1.1 (web-1); web-2 runs v1.2:", "- abc fix"]
        );
    }
}
