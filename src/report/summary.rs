//! The report's head: what was released where, by whom, from when to when, and how it ended,
//! or where the journal stops when it does not say.

use serde::Serialize;

use super::history::History;
use super::words::clock;
use crate::engine::{Decision, Millis, Outcome, Question, Release, Stage, StepList};
use crate::journal::Header;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportOutcome {
    Released,
    RolledBack,
    Aborted,
    Refused,
    /// The journal ends before the release did.
    Unknown,
}

impl ReportOutcome {
    pub fn words(self) -> &'static str {
        match self {
            ReportOutcome::Released => "released",
            ReportOutcome::RolledBack => "rolled back",
            ReportOutcome::Aborted => "aborted",
            ReportOutcome::Refused => "refused to start",
            ReportOutcome::Unknown => "unknown",
        }
    }
}

impl From<Outcome> for ReportOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Released => ReportOutcome::Released,
            Outcome::RolledBack => ReportOutcome::RolledBack,
            Outcome::Aborted => ReportOutcome::Aborted,
            Outcome::Refused => ReportOutcome::Refused,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub release: String,
    pub version: Option<String>,
    pub environment: String,
    pub production: bool,
    /// `user@host` of the machine gonogo ran on.
    pub operator: String,
    pub session: String,
    pub profile: String,
    pub profile_sha256: String,
    /// RFC 3339, UTC.
    pub started: Option<String>,
    /// When the release ended; `None` when the journal stops before it did.
    pub ended: Option<String>,
    pub duration_ms: Option<u64>,
    pub outcome: ReportOutcome,
    /// The outcome in a line, as the end of a run says it: "rolled back", "released",
    /// "aborted: left changed on web-1, web-2" ("outcome unknown" when the journal stops).
    pub headline: String,
    /// Why it ended so (the decision, the failure, the refusal), or why the outcome is unknown.
    pub reason: Option<String>,
    /// Each time gonogo died mid-release and a resume went on with it (empty: never).
    pub interruptions: Vec<InterruptionReport>,
    /// `gonogo demo`: the scenario it rehearsed, on simulated hosts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rehearsal: Option<String>,
    #[serde(skip)]
    pub started_ms: Option<Millis>,
    #[serde(skip)]
    pub ended_ms: Option<Millis>,
}

/// gonogo died and a resume went on: when the last record was written, when the resume came,
/// by whom, and the gap between, in data and in the sentence every narrator says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterruptionReport {
    /// RFC 3339, UTC.
    pub stopped_at: String,
    /// The last record's `t` (microseconds since the session started), when the journal has it.
    pub stopped_t: Option<u64>,
    pub resumed_at: String,
    pub by: String,
    pub gap_ms: u64,
    pub text: String,
}

impl From<&crate::engine::Interruption> for InterruptionReport {
    fn from(i: &crate::engine::Interruption) -> Self {
        InterruptionReport {
            stopped_at: crate::journal::timestamp(i.stopped_at),
            stopped_t: i.stopped_t,
            resumed_at: crate::journal::timestamp(i.resumed_at),
            by: i.by.clone(),
            gap_ms: i.gap_ms(),
            text: crate::summary::interruption_said(i),
        }
    }
}

/// The outcome in a line: "released", "released (interrupted and resumed once)", "aborted
/// (interrupted and resumed twice): left changed on web-1", "outcome unknown".
fn headline(release: &Release) -> String {
    let (word, detail) = match release.outcome {
        Some(_) => crate::summary::outcome_parts(release),
        None => ("outcome unknown", None),
    };
    let interrupted =
        crate::summary::interrupted_words(release).map_or(String::new(), |w| format!(" ({w})"));
    let detail = detail.map_or(String::new(), |d| format!(": {d}"));
    format!("{word}{interrupted}{detail}")
}

pub(super) fn summary(header: Option<&Header>, h: &History) -> Summary {
    let release = &h.release;
    let header_started = header.and_then(|hd| crate::journal::parse_timestamp(&hd.started));
    let started_ms = release.started_at.or(header_started);
    let ended_ms = h.finished_at.or(h.outcome_at);
    let outcome = release
        .outcome
        .map_or(ReportOutcome::Unknown, ReportOutcome::from);
    let reason = match release.outcome {
        None => Some(unknown(h)),
        Some(o) => ended_because(release, h, o),
    };
    let pick = |from_plan: &str, from_header: Option<&str>| {
        if from_plan.is_empty() {
            from_header.unwrap_or_default().to_string()
        } else {
            from_plan.to_string()
        }
    };
    Summary {
        release: pick(&release.plan.release, header.map(|hd| hd.release.as_str())),
        version: release.plan.version.clone(),
        environment: pick(
            &release.plan.environment,
            header.map(|hd| hd.environment.as_str()),
        ),
        production: release.plan.production,
        operator: header.map_or_else(|| release.operator.clone(), |hd| hd.operator.clone()),
        session: pick(&release.session, header.map(|hd| hd.session.as_str())),
        profile: header.map(|hd| hd.profile.clone()).unwrap_or_default(),
        profile_sha256: header
            .map(|hd| hd.profile_sha256.clone())
            .unwrap_or_default(),
        started: started_ms.map(crate::journal::timestamp),
        ended: ended_ms.map(crate::journal::timestamp),
        duration_ms: started_ms.zip(ended_ms).map(|(s, e)| e.saturating_sub(s)),
        outcome,
        headline: headline(release),
        reason,
        interruptions: release.interruptions.iter().map(Into::into).collect(),
        rehearsal: release.plan.rehearsal.clone(),
        started_ms,
        ended_ms,
    }
}

use crate::narrate::decision_said;

/// The decision, failure or refusal the release ended on.
fn ended_because(release: &Release, h: &History, outcome: Outcome) -> Option<String> {
    let said = |d: &crate::engine::release::DecisionRecord| {
        let failed = match d.question {
            Some(Question::Failure { list, step }) => failed_step(release, list, step),
            _ => None,
        }
        .map_or(String::new(), |f| format!("{f}; "));
        format!("{failed}{}", decision_said(release, d))
    };
    match outcome {
        Outcome::Refused => {
            let mut why = release.refusals.clone();
            why.extend(release.halted.clone());
            (!why.is_empty()).then(|| why.join("; "))
        }
        Outcome::Released => release.decisions.last().map(said),
        Outcome::Aborted => {
            if let Some(halted) = &release.halted {
                return Some(halted.clone());
            }
            release
                .decisions
                .iter()
                .rev()
                .find(|d| matches!(d.decision, Decision::Abort | Decision::NoGo))
                .map(said)
        }
        Outcome::RolledBack => {
            let decided = release
                .decisions
                .iter()
                .find(|d| {
                    matches!(
                        d.decision,
                        Decision::Rollback | Decision::ConfirmRollback { .. }
                    )
                })
                .map(said);
            let held = h
                .proposal_rule
                .as_ref()
                .map(|rule| format!("\"{rule}\" held during the watch"));
            match (held, decided) {
                (Some(held), Some(decided)) => Some(format!("{held}; {decided}")),
                (held, decided) => held.or(decided),
            }
        }
    }
}

pub(crate) use crate::narrate::step_label;

/// Where the journal stops, in words: "the journal ends at 13:41:19Z while step 4. Migrate was
/// running: outcome unknown".
fn unknown(h: &History) -> String {
    let release = &h.release;
    let at = h.last_at.map_or_else(|| "its header".to_string(), clock);
    let step_name = |list: StepList, step: usize| step_label(release, list, step);
    let while_ = match (&release.question, release.stage) {
        (_, Stage::Idle) => "before the release started".to_string(),
        (_, Stage::Connecting) => "while connecting to the targets".to_string(),
        (_, Stage::Locking) => "while taking the deploy locks".to_string(),
        (Some(Question::Redeploy { version }), _) => {
            format!("while asking whether to deploy {version} again, every host running it")
        }
        (_, Stage::Finding) => "while finding the version each host runs".to_string(),
        (Some(Question::Gate { step }), _) => {
            let text = release
                .plan
                .steps
                .get(*step)
                .map_or(String::new(), |s| s.text.clone());
            format!("while gate \"{text}\" waited for an answer")
        }
        (Some(Question::Manual { list, step }), _) => {
            format!("while {} waited to be done", step_name(*list, *step))
        }
        (Some(Question::Failure { list, step }), _) => {
            format!(
                "after {} failed, waiting for a decision",
                step_name(*list, *step)
            )
        }
        (Some(Question::RollbackProposal { .. }), _) => {
            "while a rollback proposal waited for an answer".to_string()
        }
        (Some(Question::FinalGate), _) => "while the final gate waited for an answer".to_string(),
        (Some(Question::ConfirmRollback { .. }), _) => {
            "while a rollback waited to be confirmed".to_string()
        }
        (None, Stage::Running { list, step }) => {
            format!("while {} was running", step_name(list, step))
        }
        (None, Stage::Watching { .. }) => "during the watch window".to_string(),
        (None, Stage::Closing | Stage::Finished) => "while the release was closing".to_string(),
    };
    format!("the journal ends at {at} {while_}: outcome unknown")
}

/// "step 5. Restart failed on web-1 (exit 3)".
fn failed_step(release: &Release, list: StepList, step: usize) -> Option<String> {
    let planned = release.list(list).get(step)?;
    let failed: Vec<String> = release
        .states(list)
        .get(step)?
        .targets
        .iter()
        .filter(|t| t.status == crate::engine::release::RunStatus::Failed)
        .map(|t| {
            format!(
                "{} ({})",
                t.target,
                t.failure.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    let what = if list == StepList::Rollback {
        "rollback step"
    } else {
        "step"
    };
    Some(format!(
        "{what} {}. {} failed on {}",
        step + 1,
        planned.name,
        failed.join(", ")
    ))
}
