//! The checklist as it ended: each step's result, each target's run, and who answered each
//! gate, manual item and failure, when, with their notes and reasons.

use serde::Serialize;

use super::words::{decision_words, who};
use crate::engine::release::{RunStatus, StepStatus};
use crate::engine::{Question, Release, StepList};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    Passed,
    Failed,
    Skipped,
    /// Passed, then undone by the rollback.
    RolledBack,
    /// Stopped by an abort or a rollback while it ran.
    Cancelled,
    /// The link to a target was lost while it ran: it may have run to its end or not.
    Unknown,
    /// Still running, or waiting for a person, when the journal ends.
    Running,
    Waiting,
    NotReached,
}

impl StepResult {
    /// The mark the Markdown shows.
    pub fn mark(self) -> &'static str {
        match self {
            StepResult::Passed => "✓",
            StepResult::Failed => "✗",
            StepResult::Skipped => "skipped",
            StepResult::RolledBack => "↺ undone",
            StepResult::Cancelled => "✗ stopped",
            StepResult::Unknown => "? unknown",
            StepResult::Running => "… running",
            StepResult::Waiting => "… waiting",
            StepResult::NotReached => "not reached",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistItem {
    /// 1, 2, 3… as the checklist numbers them.
    pub number: usize,
    pub phase: String,
    pub name: String,
    /// `check`, `run`, `manual` or `gate`.
    pub kind: &'static str,
    /// The command (secrets masked), the item or the question.
    pub text: String,
    pub targets: Vec<String>,
    pub irreversible: bool,
    pub result: StepResult,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub runs: Vec<TargetResult>,
    /// Who answered it (gates, manual items, failures), when, and what they said.
    pub decisions: Vec<StepDecision>,
    pub skip_reason: Option<String>,
}

/// One target's run of a step, as it ended.
#[derive(Debug, Clone, Serialize)]
pub struct TargetResult {
    pub target: String,
    pub result: RunStatus,
    pub attempts: u32,
    pub exit: Option<i32>,
    /// Why it failed, in words.
    pub failure: Option<String>,
    /// How a stopped run ended, as the host confirmed it.
    pub stopped: Option<String>,
    pub duration_ms: Option<u64>,
    /// Once a rollback began: what it made of this step on this host ("↺ undone", "undo
    /// failed", "done, not undone (no undo)").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepDecision {
    pub at: String,
    #[serde(skip)]
    pub at_ms: u64,
    pub by: String,
    pub decision: String,
    pub note: Option<String>,
}

pub(super) fn items(release: &Release, list: StepList) -> Vec<ChecklistItem> {
    release
        .list(list)
        .iter()
        .zip(release.states(list))
        .enumerate()
        .map(|(i, (step, state))| {
            let unknown = state.targets.iter().any(|t| t.status == RunStatus::Unknown);
            let result = match state.status {
                _ if unknown => StepResult::Unknown,
                StepStatus::Pending => StepResult::NotReached,
                StepStatus::Running => StepResult::Running,
                StepStatus::Waiting => StepResult::Waiting,
                StepStatus::Passed => StepResult::Passed,
                StepStatus::Failed => StepResult::Failed,
                StepStatus::Skipped => StepResult::Skipped,
                StepStatus::RolledBack => StepResult::RolledBack,
                StepStatus::Cancelled => StepResult::Cancelled,
            };
            let runs = state
                .targets
                .iter()
                .filter(|t| t.attempt > 0 || t.started_at.is_some())
                .map(|t| TargetResult {
                    target: t.target.clone(),
                    result: t.status,
                    attempts: t.attempt,
                    exit: t.exit,
                    failure: t.failure.clone(),
                    stopped: t.stopped.clone(),
                    duration_ms: t
                        .started_at
                        .zip(t.finished_at)
                        .map(|(a, b)| b.saturating_sub(a)),
                    undo: (list == StepList::Main && release.rollback_begun)
                        .then(|| release.undo_said(i, &t.target))
                        .flatten(),
                })
                .collect();
            let decisions = release
                .decisions
                .iter()
                .filter(|d| match &d.question {
                    Some(Question::Gate { step }) => list == StepList::Main && *step == i,
                    Some(
                        Question::Manual { list: l, step } | Question::Failure { list: l, step },
                    ) => *l == list && *step == i,
                    _ => false,
                })
                .map(|d| StepDecision {
                    at: crate::journal::timestamp(d.at),
                    at_ms: d.at,
                    by: who(&d.by, d.actor),
                    decision: decision_words(&d.decision),
                    note: d.note.clone(),
                })
                .collect();
            ChecklistItem {
                number: i + 1,
                phase: step.phase.clone(),
                name: step.name.clone(),
                kind: step.kind.key(),
                text: step.text.clone(),
                targets: step.targets.clone(),
                irreversible: step.irreversible,
                result,
                started: state.started_at.map(crate::journal::timestamp),
                finished: state.finished_at.map(crate::journal::timestamp),
                runs,
                decisions,
                skip_reason: state.skip_reason.clone(),
            }
        })
        .collect()
}
