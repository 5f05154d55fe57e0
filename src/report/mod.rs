//! `gonogo report`: the post-incident report, a fold over a session's journal. What happened,
//! who decided what and when, how health stood at each gate and across the watch, the errors
//! the release brought, the release record (seed 000, step 16) and the status message for the
//! team (seed 003), as GitHub-flavoured Markdown or as JSON.
//!
//! Nothing is invented: what a journal cut off mid-release does not say is reported as unknown.

mod changes;
mod checklist;
pub mod command;
mod health;
pub mod history;
mod markdown;
pub mod plan;
mod record;
pub mod ships;
pub mod stats;
mod summary;
pub(crate) use summary::step_label;
pub mod words;

use serde::Serialize;

pub use checklist::{ChecklistItem, StepDecision, TargetResult};
pub use health::{CheckOverWatch, HealthReport, MetricsOverWatch, Span};
pub use history::{CheckNow, GateHealth, History, Moment, MomentKind};
pub use markdown::to_markdown;
pub use record::ReleaseRecord;
pub use summary::{InterruptionReport, ReportOutcome, Summary};

use crate::journal::Journal;

/// Everything the report says, as data: the Markdown is made from it, the JSON is it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The report's own format version.
    pub report_version: u32,
    pub summary: Summary,
    pub checklist: Vec<ChecklistItem>,
    /// The rollback steps, when the rollback ran.
    pub rollback: Vec<ChecklistItem>,
    pub timeline: Vec<Moment>,
    pub health: HealthReport,
    pub new_errors: Vec<NewError>,
    /// Error lines whose signature was not kept (the table was full).
    pub errors_not_kept: u64,
    pub record: ReleaseRecord,
    /// What shipped: each host's version before, the changes, the migrations to run (when the
    /// profile asked to find them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ships: Option<ships::ShipsReport>,
    /// The message for the team's channel, ready to paste.
    pub status_message: String,
    /// What the journal reader said: a cut-off end, damaged lines, records of a newer gonogo.
    pub journal_warnings: Vec<String>,
}

/// An error signature first seen in the hosts' logs after the deploy began. The report lists
/// them the most frequent first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewError {
    pub signature: String,
    /// Error lines with it (a stack trace counts once).
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// The targets whose logs had it, the first one first.
    pub hosts: Vec<String>,
    /// Its first line, or a stack trace's exception line.
    pub example: String,
}

/// The report of a journal.
pub fn build(journal: &Journal) -> Report {
    let history = history::fold(journal.events());
    let header = journal.header.as_ref();
    let summary = summary::summary(header, &history);
    let mut journal_warnings = journal.warnings.clone();
    if journal.unknown > 0 {
        journal_warnings.push(format!(
            "{} record(s) of a type this gonogo does not know were skipped (a newer gonogo wrote them)",
            journal.unknown
        ));
    }
    let release = &history.release;
    let new_errors = release
        .signatures
        .new_by_count()
        .into_iter()
        .map(|s| NewError {
            signature: s.signature.clone(),
            count: s.count,
            first_seen: crate::journal::timestamp(s.first_at),
            last_seen: crate::journal::timestamp(s.last_at),
            hosts: s.hosts.clone(),
            example: s.example.clone(),
        })
        .collect();
    let record = record::record(header, &history, &summary);
    let health = health::health(&history);
    let status_message = record::status_message(&summary, &history, &health);
    Report {
        report_version: 1,
        checklist: checklist::items(release, crate::engine::StepList::Main),
        rollback: if release.rollback.iter().any(|s| s.started_at.is_some()) {
            checklist::items(release, crate::engine::StepList::Rollback)
        } else {
            Vec::new()
        },
        timeline: history.moments.clone(),
        health,
        new_errors,
        errors_not_kept: release.signatures.dropped(),
        record,
        ships: ships::ships(release),
        status_message,
        journal_warnings,
        summary,
    }
}

/// The status message for the team's channel (seed 003) of a release as its history stands:
/// `[notify]` posts it when the release ends, with the history its run loop kept.
pub fn status_message(history: &History) -> String {
    let summary = summary::summary(None, history);
    let health = health::health(history);
    record::status_message(&summary, history, &health)
}

pub(crate) use record::change_lines;

/// The report as JSON, pretty-printed, with a final newline.
pub fn to_json(report: &Report) -> String {
    let mut text = crate::text::json_escape_controls(
        serde_json::to_string_pretty(report).expect("a report is plain data"),
    );
    text.push('\n');
    text
}
