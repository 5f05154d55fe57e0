//! Moments read from how the release's state changed with an event: a change step began, a run
//! failed, retried or was lost, a rollback proposal opened, the watch began or ended, the
//! rollback began, the outcome became known.

use std::collections::HashMap;

use super::history::{History, MomentKind};
use crate::engine::release::{RunStatus, StepStatus};
use crate::engine::{Outcome, Question, Release, Stage, StepList};

type RunKey = (StepList, usize, String);

/// What a moment is detected from: the state just before and just after an event.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Seen {
    stage: Stage,
    pub(super) question: Option<Question>,
    outcome: Option<Outcome>,
    steps: Vec<(StepList, usize, StepStatus)>,
    runs: HashMap<RunKey, (RunStatus, u32)>,
    overtime: Option<String>,
    baseline_waited: bool,
}

impl Seen {
    pub(super) fn of(release: &Release) -> Seen {
        let mut steps = Vec::new();
        let mut runs = HashMap::new();
        for list in [StepList::Main, StepList::Rollback] {
            for (i, state) in release.states(list).iter().enumerate() {
                steps.push((list, i, state.status));
                for t in &state.targets {
                    runs.insert((list, i, t.target.clone()), (t.status, t.attempt));
                }
            }
        }
        Seen {
            stage: release.stage,
            question: release.question.clone(),
            outcome: release.outcome,
            steps,
            runs,
            overtime: release.watch.overtime.clone(),
            baseline_waited: release.baseline_waited,
        }
    }
}

impl History {
    /// Moments read from how the state changed.
    pub(super) fn changes(&mut self, before: &Seen, after: &Seen) {
        let at = self.now();
        let release = &self.release;
        let mut notes: Vec<(MomentKind, String)> = Vec::new();
        // The watch began or ended; the rollback began.
        let watching = |s: &Stage| matches!(s, Stage::Watching { .. });
        if watching(&after.stage) && !watching(&before.stage) {
            self.watch_from = Some(at);
            let length = match after.stage {
                Stage::Watching { until } => super::words::took(until.saturating_sub(at)),
                _ => String::new(),
            };
            notes.push((
                MomentKind::WatchStarted,
                format!("watch window started ({length})"),
            ));
        }
        if watching(&before.stage) && !watching(&after.stage) {
            self.watch_to = Some(at);
            notes.push((MomentKind::WatchEnded, "watch window ended".into()));
        }
        let rolling = |s: &Stage| {
            matches!(
                s,
                Stage::Running {
                    list: StepList::Rollback,
                    ..
                }
            )
        };
        if rolling(&after.stage) && !rolling(&before.stage) {
            notes.push((MomentKind::RollingBack, "rolling back".into()));
        }
        // Steps that began.
        for &(list, i, status) in &after.steps {
            let was = before
                .steps
                .iter()
                .find(|(l, j, _)| *l == list && *j == i)
                .map(|(_, _, s)| *s);
            let Some(step) = release.list(list).get(i) else {
                continue;
            };
            let started =
                status == StepStatus::Running && matches!(was, None | Some(StepStatus::Pending));
            let changes =
                list == StepList::Rollback || step.kind == crate::engine::plan::StepKind::Run;
            if started && changes {
                let what = if list == StepList::Rollback {
                    "rollback step"
                } else {
                    "step"
                };
                notes.push((
                    MomentKind::StepStarted,
                    format!(
                        "{what} {}. {} started on {}",
                        i + 1,
                        step.name,
                        step.targets.join(", ")
                    ),
                ));
            }
        }
        // Runs that failed, retried or were lost.
        let mut keys: Vec<&RunKey> = after.runs.keys().collect();
        keys.sort_by_key(|(list, step, target)| {
            (*list == StepList::Rollback, *step, target.clone())
        });
        for key in keys {
            let (status, attempt) = after.runs[key];
            let was = before.runs.get(key).copied();
            if was == Some((status, attempt)) {
                continue;
            }
            let (list, i, target) = key;
            let Some(step) = release.list(*list).get(*i) else {
                continue;
            };
            let run = release.states(*list)[*i]
                .targets
                .iter()
                .find(|t| &t.target == target);
            let why = run
                .and_then(|r| r.failure.clone())
                .unwrap_or_else(|| "failed".into());
            let what = if *list == StepList::Rollback {
                "rollback step"
            } else {
                "step"
            };
            let name = format!("{what} {}. {}", i + 1, step.name);
            match status {
                RunStatus::Failed => {
                    if *list == StepList::Main {
                        self.first_failure_at.get_or_insert(at);
                    }
                    notes.push((
                        MomentKind::StepFailed,
                        format!("{name} failed on {target}: {why}"),
                    ));
                }
                RunStatus::RetryWaiting => notes.push((
                    MomentKind::StepFailed,
                    format!("{name} failed on {target}: {why}; retrying"),
                )),
                RunStatus::Unknown => notes.push((
                    MomentKind::OutcomeUnknown,
                    format!("{name} on {target}: outcome unknown: {why}"),
                )),
                RunStatus::Running if attempt > 1 => notes.push((
                    MomentKind::Retry,
                    format!("{name} on {target}: attempt {attempt}"),
                )),
                _ => {}
            }
        }
        // A rollback proposal opened.
        if after.question != before.question
            && let Some(Question::RollbackProposal { rule }) = &after.question
        {
            let planned = release
                .plan
                .watch
                .as_ref()
                .and_then(|w| w.rollback_on.get(*rule));
            let text = planned.map_or_else(|| "a watch rule".to_string(), |r| r.text.clone());
            // The values it held at, each host's latest, in the rule's unit.
            let value = planned
                .zip(release.watch.rules.get(*rule))
                .map(|(planned, state)| crate::measure::latest_values(planned, state))
                .filter(|values| !values.is_empty())
                .map_or(String::new(), |values| format!(" ({values})"));
            self.first_proposal_at.get_or_insert(at);
            self.proposal_rule.get_or_insert(text.clone());
            notes.push((
                MomentKind::RollbackProposed,
                format!("rollback proposed: \"{text}\" held{value}"),
            ));
        }
        if after.overtime != before.overtime
            && let Some(overtime) = &after.overtime
        {
            notes.push((MomentKind::WatchStarted, overtime.clone()));
        }
        if after.baseline_waited
            && !before.baseline_waited
            && let Some(why) = &release.baseline_short
        {
            notes.push((MomentKind::Health, format!("baseline incomplete: {why}")));
        }
        if after.outcome.is_some() && before.outcome.is_none() {
            self.outcome_at = Some(at);
            let (kind, text) = match after.outcome {
                Some(Outcome::Refused) => (
                    MomentKind::Refused,
                    format!("refused to start: {}", release.refusals.join("; ")),
                ),
                Some(o) => (
                    MomentKind::Ended,
                    super::words::outcome_words(o).to_string(),
                ),
                None => unreachable!("checked just above"),
            };
            notes.push((kind, text));
        }
        if after.stage == Stage::Finished && before.stage != Stage::Finished {
            self.finished_at = Some(at);
        }
        for (kind, text) in notes {
            self.note(at, kind, text);
        }
    }
}
