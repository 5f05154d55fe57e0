//! `gonogo resume [JOURNAL]`: which session to resume, and whether it can be: the journal
//! rebuilds the release as it stood; the profile must be the one it ran (same bytes) and give
//! the same plan with the values given now, or resuming would run commands nobody approved.

use std::path::{Path, PathBuf};

use crate::engine::{Event, Fold, Release};
use crate::journal::{self, Journal};

/// A session to resume: its release as the journal left it, and where to go on writing.
#[derive(Debug, Clone)]
pub struct ResumeFrom {
    pub release: Release,
    pub path: PathBuf,
    /// The journal's last record number and time.
    pub last: (u64, u64),
    /// When the gonogo that died wrote its last event: wall time and `t` (what the resume
    /// records it lost).
    pub stopped: (crate::engine::Millis, u64),
    /// The profile the session ran, as its header names it, and its SHA-256.
    pub profile: PathBuf,
    pub profile_sha256: String,
    /// When the session started (RFC 3339), for its lock's record.
    pub started: String,
    /// Where the journal ends, for its index to go on with the records appended.
    pub end: Option<journal::Snapshot>,
}

/// The release the events make.
pub fn rebuild<'a>(events: impl Iterator<Item = &'a Event>) -> Release {
    Fold::from_events(events).into_release()
}

/// Reads `path`, or the one unfinished session this person started on this machine (see
/// [`own_unfinished`]).
pub fn find(path: Option<&Path>) -> Result<ResumeFrom, ResumeError> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => own_unfinished(&journal::sessions_dir())?,
    };
    // From the nearest snapshot of the index: only the records after it are parsed.
    let opened = journal::open(&path)?;
    for warning in &opened.journal.warnings {
        eprintln!("gonogo: {}: {warning}", path.display());
    }
    let release = opened.release();
    if release.started_at.is_none() {
        return Err(ResumeError::NeverStarted { path });
    }
    if let Some(outcome) = release.outcome {
        return Err(ResumeError::Ended { path, outcome });
    }
    let header = opened.journal.header().clone();
    Ok(ResumeFrom {
        stopped: opened
            .last_event()
            .map_or((release.now, opened.last().1), |(t, at)| (at, t)),
        release,
        last: opened.last(),
        end: opened.end(),
        path,
        profile: PathBuf::from(&header.profile),
        profile_sha256: header.profile_sha256,
        started: header.started,
    })
}

/// Why a session cannot be resumed.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error(transparent)]
    Find(#[from] FindError),
    #[error(transparent)]
    Read(#[from] journal::ReadError),
    #[error("{}: the session never started: nothing to resume", .path.display())]
    NeverStarted { path: PathBuf },
    #[error(
        "{}: the session already ended ({}): nothing to resume",
        .path.display(),
        format!("{:?}", .outcome).to_lowercase()
    )]
    Ended {
        path: PathBuf,
        outcome: crate::engine::Outcome,
    },
}

/// The profile or the values given now are not the ones the session ran.
#[derive(Debug, thiserror::Error)]
pub enum Mismatch {
    #[error(
        "{} changed since the session started (its SHA-256 was {sha256}): resuming would run \
         commands other than the ones approved; put back the profile the session ran",
        .profile.display()
    )]
    ProfileChanged { profile: PathBuf, sha256: String },
    #[error(
        "with the values given, {} plans another release than the session's (version {then} \
         then, {now} now): pass the same --set values as when it started",
        .profile.display()
    )]
    OtherPlan {
        profile: PathBuf,
        then: String,
        now: String,
    },
}

/// Why no journal was taken without one named.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("no sessions in {dir}: {error}")]
    NoSessions { dir: String, error: std::io::Error },
    #[error("no unfinished session in {dir}: name the journal to resume")]
    NoneUnfinished { dir: String },
    #[error(
        "no unfinished session of yours ({me}) on this machine in {dir}; other people's:\n{list}\n  \
         to resume one of theirs, name its journal: gonogo resume JOURNAL"
    )]
    OnlyOthers {
        me: String,
        dir: String,
        list: String,
    },
    #[error(
        "{count} unfinished sessions of yours ({me}) on this machine; name one: \
         gonogo resume JOURNAL\n{list}"
    )]
    Several {
        count: usize,
        me: String,
        list: String,
    },
}

/// The unfinished session in `dir` that this login started on this machine: on an account
/// several people share, another person's is never taken without its journal named. A journal
/// written before logins were recorded is the user's of its `operator`.
pub fn own_unfinished(dir: &Path) -> Result<PathBuf, FindError> {
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|error| FindError::NoSessions {
        dir: shown.clone(),
        error,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    let (me, here) = (crate::login::login(), crate::login::host());
    let (mut mine, mut others) = (Vec::new(), Vec::new());
    for path in paths.iter().rev() {
        let Some(header) = crate::login::header_of(path) else {
            continue;
        };
        if !journal::read(path).is_ok_and(|read| unfinished(&read)) {
            continue;
        }
        let (login, host) = crate::login::of_header(&header);
        let line = format!(
            "  {}  {} to {}, by {}@{}, started {}",
            crate::text::printable(&path.display().to_string()),
            crate::text::printable(&header.release),
            crate::text::printable(&header.environment),
            crate::text::printable(&login),
            crate::text::printable(&host),
            crate::login::local_time(&header.started),
        );
        if login == me && host == here {
            mine.push((path.clone(), line));
        } else {
            others.push(line);
        }
    }
    let me = crate::text::printable(&me).into_owned();
    match (mine.len(), others.is_empty()) {
        (1, _) => Ok(mine.remove(0).0),
        (0, true) => Err(FindError::NoneUnfinished { dir: shown }),
        (0, false) => Err(FindError::OnlyOthers {
            me,
            dir: shown,
            list: others.join("\n"),
        }),
        (count, _) => Err(FindError::Several {
            count,
            me,
            list: mine
                .into_iter()
                .map(|(_, l)| l)
                .collect::<Vec<_>>()
                .join("\n"),
        }),
    }
}

fn unfinished(read: &Journal) -> bool {
    let release = rebuild(read.events());
    release.started_at.is_some() && release.outcome.is_none()
}

/// Whether the profile and values given now are the ones the session ran.
pub fn check(
    from: &ResumeFrom,
    profile: &crate::profile::Profile,
    vars: &crate::profile::VarValues,
    sha256: &str,
) -> Result<(), Mismatch> {
    if !from.profile_sha256.is_empty() && from.profile_sha256 != sha256 {
        return Err(Mismatch::ProfileChanged {
            profile: from.profile.clone(),
            sha256: from.profile_sha256.clone(),
        });
    }
    // The session's words had `{{previous}}` filled in once each host's version was found.
    let mut plan = crate::profile::release_plan(profile, vars);
    from.release.previous_in(&mut plan);
    let mut then = crate::engine::ReleasePlan {
        window_override: None,
        ..from.release.plan.clone()
    };
    // Reasons given on the command line, or typed at the redeploy question: the journal
    // carries them on.
    then.ships.allow_mixed = None;
    then.ships.redeploy = None;
    if plan != then {
        return Err(Mismatch::OtherPlan {
            profile: from.profile.clone(),
            then: then.version.as_deref().unwrap_or("none").to_string(),
            now: plan.version.as_deref().unwrap_or("none").to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Actor, Decision, Event, EventKind, Question};
    use crate::profile::{self, Purpose, Source};

    const PROFILE: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"
version = "v2"
current = "cat VERSION"

[targets.web-1]
transport = "local"

[[step]]
manual = "Tell support we leave {{previous}}"

[[step]]
name = "Deploy over {{previous}}"
run = "deploy"
on = "web-1"
"#;

    /// A session that found v2 running, was told to deploy it again, then died at the
    /// manual item: the profile still plans it, and the answer is carried on.
    #[test]
    fn a_session_deployed_again_resumes_with_its_answer_and_previous_filled_in() {
        let (p, diags) = profile::load(&Source::new("t.toml", PROFILE));
        let p = p.unwrap_or_else(|| panic!("{diags:?}"));
        let mut diags = profile::Diagnostics::default();
        let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut diags);
        let kinds = [
            EventKind::Started {
                session: "s1".into(),
                operator: "ana".into(),
                plan: Box::new(profile::release_plan(&p, &vars)),
            },
            EventKind::Connected {
                target: "web-1".into(),
            },
            EventKind::LockTaken {
                target: "web-1".into(),
            },
            EventKind::VersionFound {
                target: "web-1".into(),
                version: Some("v2".into()),
                error: None,
            },
            EventKind::Decided {
                by: "ana".into(),
                decision: Decision::Redeploy {
                    reason: "config only".into(),
                },
                note: None,
                actor: Actor::Person,
            },
        ];
        let events: Vec<Event> = (kinds.into_iter().enumerate())
            .map(|(i, kind)| Event::new(1_790_000_000_000 + i as u64 * 1000, kind))
            .collect();
        let release = rebuild(events.iter());
        assert_eq!(
            release.question,
            Some(Question::Manual {
                list: crate::engine::StepList::Main,
                step: 0
            })
        );
        assert_eq!(release.plan.steps[0].text, "Tell support we leave v2");
        assert_eq!(release.plan.ships.redeploy.as_deref(), Some("config only"));
        let from = ResumeFrom {
            release,
            path: PathBuf::from("s1.jsonl"),
            last: (5, 5),
            stopped: (1_790_000_004_000, 5),
            profile: PathBuf::from("t.toml"),
            profile_sha256: String::new(),
            started: String::new(),
            end: None,
        };
        assert!(check(&from, &p, &vars, "").is_ok(), "the same release");
    }
}
