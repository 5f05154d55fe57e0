//! `gonogo stats`: the deployment metrics of seed 003 over a directory of journals, per
//! environment: deployments per week, change failure rate, mean time to recovery, median
//! duration. Each journal is folded like a report; a file that is not a journal is skipped
//! with a warning.

use std::path::Path;

use serde::Serialize;

use super::history::{History, fold};
use crate::engine::{Millis, Outcome};
use crate::journal::Journal;

/// What one release contributes to the stats.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseFacts {
    pub environment: String,
    pub started: Option<Millis>,
    pub ended: Option<Millis>,
    pub outcome: Option<Outcome>,
    /// A `run` step started on a host: the release changed something.
    pub ran_change: bool,
    /// When things went wrong: the first step that failed for good or the first rollback
    /// proposal, else the decision to roll back.
    pub failure_at: Option<Millis>,
    /// gonogo died mid-release and was resumed (once or more).
    pub interrupted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub journals: usize,
    pub environments: Vec<EnvironmentStats>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentStats {
    pub environment: String,
    /// Journals of this environment.
    pub releases: usize,
    /// Releases that changed something on a host.
    pub deployments: usize,
    /// Calendar weeks (Monday to Sunday, UTC) from the first release to the last.
    pub weeks: u64,
    pub deployments_per_week: Option<f64>,
    pub released: usize,
    pub rolled_back: usize,
    pub aborted: usize,
    pub refused: usize,
    /// Journals that end before their release did.
    pub unknown: usize,
    /// Sessions where gonogo died mid-release and a resume went on with it.
    pub interrupted: usize,
    /// Deployments whose journal says how they ended.
    pub deployments_ended: usize,
    /// Rolled back or aborted after a change ran.
    pub failed_changes: usize,
    /// `failed_changes` over the deployments whose outcome is known.
    pub change_failure_rate: Option<f64>,
    /// From the failure to the end of the rollback, over the releases rolled back.
    pub mean_time_to_recovery_ms: Option<u64>,
    pub recoveries: usize,
    /// Start to end, over the releases that ran and ended (refusals left out).
    pub median_duration_ms: Option<u64>,
    pub first_release: Option<String>,
    pub last_release: Option<String>,
}

/// The facts of one journal.
pub fn facts(journal: &Journal) -> ReleaseFacts {
    let h: History = fold(journal.events());
    let release = &h.release;
    let environment = match (&journal.header, release.plan.environment.as_str()) {
        (_, env) if !env.is_empty() => env.to_string(),
        (Some(header), _) => header.environment.clone(),
        (None, _) => String::new(),
    };
    let started = release.started_at.or_else(|| {
        journal
            .header
            .as_ref()
            .and_then(|hd| crate::journal::parse_timestamp(&hd.started))
    });
    let failure_at = match (h.first_failure_at, h.first_proposal_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b).or(h.first_rollback_at),
    };
    ReleaseFacts {
        environment,
        started,
        ended: h.finished_at.or(h.outcome_at),
        outcome: release.outcome,
        ran_change: !release.changes().is_empty(),
        failure_at,
        interrupted: !release.interruptions.is_empty(),
    }
}

/// The directory of journals could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read the directory {}: {source}",
    crate::text::printable(&.dir.display().to_string())
)]
pub struct NoDirectory {
    dir: std::path::PathBuf,
    source: std::io::Error,
}

/// Reads every file of `dir` (not its subdirectories) as a journal; what is not one is named
/// in the warnings.
pub fn gather(dir: &Path) -> Result<(Stats, Vec<String>), NoDirectory> {
    let entries = std::fs::read_dir(dir).map_err(|source| NoDirectory {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && !crate::journal::is_index(p))
        .collect();
    paths.sort();
    let mut warnings = Vec::new();
    let mut all = Vec::new();
    for path in paths {
        match crate::journal::read(&path) {
            Ok(journal) => all.push(facts(&journal)),
            Err(e) => warnings.push(format!(
                "skipped {}: not a gonogo journal ({})",
                crate::text::printable(&path.display().to_string()),
                crate::text::printable(&reason(&e))
            )),
        }
    }
    Ok((stats(&all), warnings))
}

/// What the reader said, without the path it also puts in front.
fn reason(e: &crate::journal::ReadError) -> String {
    match e {
        crate::journal::ReadError::Io { error, .. } => error.to_string(),
        crate::journal::ReadError::NotAJournal { why, .. } => why.to_string(),
    }
}

/// The stats of a set of releases, per environment (in name order).
pub fn stats(all: &[ReleaseFacts]) -> Stats {
    let mut names: Vec<&str> = all.iter().map(|f| f.environment.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let environments = names
        .into_iter()
        .map(|env| environment(env, all.iter().filter(|f| f.environment == env)))
        .collect();
    Stats {
        journals: all.len(),
        environments,
    }
}

fn environment<'a>(name: &str, of: impl Iterator<Item = &'a ReleaseFacts>) -> EnvironmentStats {
    let of: Vec<&ReleaseFacts> = of.collect();
    let count = |o: Outcome| of.iter().filter(|f| f.outcome == Some(o)).count();
    let deployments: Vec<&&ReleaseFacts> = of.iter().filter(|f| f.ran_change).collect();
    let known: Vec<&&&ReleaseFacts> = deployments.iter().filter(|f| f.outcome.is_some()).collect();
    let failed_changes = known
        .iter()
        .filter(|f| matches!(f.outcome, Some(Outcome::RolledBack | Outcome::Aborted)))
        .count();
    let starts: Vec<Millis> = of.iter().filter_map(|f| f.started).collect();
    let (first, last) = (starts.iter().min().copied(), starts.iter().max().copied());
    let weeks = match (first, last) {
        (Some(a), Some(b)) => week(b) - week(a) + 1,
        _ => 0,
    };
    let recoveries: Vec<u64> = of
        .iter()
        .filter(|f| f.outcome == Some(Outcome::RolledBack))
        .filter_map(|f| Some(f.ended?.saturating_sub(f.failure_at?)))
        .collect();
    let mut durations: Vec<u64> = of
        .iter()
        .filter(|f| !matches!(f.outcome, None | Some(Outcome::Refused)))
        .filter_map(|f| Some(f.ended?.saturating_sub(f.started?)))
        .collect();
    durations.sort_unstable();
    let median = match durations.len() {
        0 => None,
        n if n % 2 == 1 => Some(durations[n / 2]),
        n => Some((durations[n / 2 - 1] + durations[n / 2]) / 2),
    };
    EnvironmentStats {
        environment: name.to_string(),
        releases: of.len(),
        deployments: deployments.len(),
        weeks,
        deployments_per_week: (weeks > 0).then(|| deployments.len() as f64 / weeks as f64),
        released: count(Outcome::Released),
        rolled_back: count(Outcome::RolledBack),
        aborted: count(Outcome::Aborted),
        refused: count(Outcome::Refused),
        unknown: of.iter().filter(|f| f.outcome.is_none()).count(),
        interrupted: of.iter().filter(|f| f.interrupted).count(),
        deployments_ended: known.len(),
        failed_changes,
        change_failure_rate: (!known.is_empty())
            .then(|| failed_changes as f64 / known.len() as f64),
        mean_time_to_recovery_ms: (!recoveries.is_empty())
            .then(|| recoveries.iter().sum::<u64>() / recoveries.len() as u64),
        recoveries: recoveries.len(),
        median_duration_ms: median,
        first_release: first.map(crate::journal::timestamp),
        last_release: last.map(crate::journal::timestamp),
    }
}

/// The Monday-to-Sunday week a moment falls in, counted from the epoch (a Thursday).
fn week(at: Millis) -> u64 {
    let day = at / 86_400_000;
    (day + 3) / 7
}

/// The stats as a plain text table, one row per environment, and a line of totals.
pub fn to_text(stats: &Stats) -> String {
    let header = [
        "environment",
        "releases",
        "deployments",
        "per week",
        "change failure rate",
        "MTTR",
        "median duration",
        "interrupted",
    ];
    let rows: Vec<[String; 8]> = stats
        .environments
        .iter()
        .map(|e| {
            let known = e.deployments_ended;
            [
                crate::text::printable(if e.environment.is_empty() {
                    "(none)"
                } else {
                    &e.environment
                })
                .into_owned(),
                e.releases.to_string(),
                e.deployments.to_string(),
                e.deployments_per_week
                    .map_or("–".into(), |w| format!("{w:.1}")),
                e.change_failure_rate.map_or("–".into(), |r| {
                    format!("{:.0}% ({} of {known})", r * 100.0, e.failed_changes)
                }),
                e.mean_time_to_recovery_ms.map_or("–".into(), |ms| {
                    format!("{} ({}x)", length(ms), e.recoveries)
                }),
                e.median_duration_ms.map_or("–".into(), length),
                e.interrupted.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
    }
    out.push_str(&format!(
        "{} journal{}; per week: calendar weeks from the first release to the last; \
         change failure rate: rolled back or aborted after a change ran; \
         MTTR: from the failure to the end of the rollback; \
         interrupted: gonogo died mid-release and was resumed\n",
        stats.journals,
        if stats.journals == 1 { "" } else { "s" }
    ));
    out
}

/// The stats as JSON, pretty-printed, with a final newline.
pub fn to_json(stats: &Stats) -> String {
    let mut text = crate::text::json_escape_controls(
        serde_json::to_string_pretty(stats).expect("stats are plain data"),
    );
    text.push('\n');
    text
}

/// A length of time: tenths of a second under a minute (rehearsals are quick), else seconds.
fn length(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        super::words::took(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ts: &str) -> Millis {
        crate::journal::parse_timestamp(ts).expect("a time")
    }

    fn fact(env: &str, start: &str, outcome: Option<Outcome>, change: bool) -> ReleaseFacts {
        let started = at(start);
        ReleaseFacts {
            environment: env.into(),
            started: Some(started),
            ended: Some(started + 600_000),
            outcome,
            ran_change: change,
            failure_at: (outcome == Some(Outcome::RolledBack)).then_some(started + 300_000),
            interrupted: false,
        }
    }

    #[test]
    fn weeks_run_monday_to_sunday() {
        // Sunday 2026-11-22 and Monday 2026-11-23 are in two weeks; Monday to Sunday in one.
        assert_eq!(
            week(at("2026-11-23T00:00:00Z")),
            week(at("2026-11-22T23:59:59Z")) + 1
        );
        assert_eq!(
            week(at("2026-11-23T00:00:00Z")),
            week(at("2026-11-29T23:59:59Z"))
        );
    }

    #[test]
    fn failures_count_only_releases_that_changed_something() {
        let all = [
            fact(
                "production",
                "2026-11-16T10:00:00Z",
                Some(Outcome::Released),
                true,
            ),
            fact(
                "production",
                "2026-11-24T10:00:00Z",
                Some(Outcome::RolledBack),
                true,
            ),
            // Aborted before any change: not a failed change, not a deployment.
            fact(
                "production",
                "2026-11-25T10:00:00Z",
                Some(Outcome::Aborted),
                false,
            ),
            // Cut off: a deployment whose outcome nobody knows stays out of the rate.
            fact("production", "2026-11-26T10:00:00Z", None, true),
        ];
        let s = stats(&all);
        let p = &s.environments[0];
        assert_eq!(
            (p.deployments, p.deployments_ended, p.failed_changes),
            (3, 2, 1)
        );
        assert_eq!(p.change_failure_rate, Some(0.5));
        assert_eq!(p.weeks, 2);
        assert_eq!(p.deployments_per_week, Some(1.5));
        assert_eq!(p.mean_time_to_recovery_ms, Some(300_000));
        assert_eq!(p.median_duration_ms, Some(600_000));
    }
}
