//! A rollback planned from what ran: each `run` step's `undo` on the hosts where it started,
//! latest first, then the release-wide `[[rollback]]` steps (`on = "changed"`: the hosts where
//! anything ran). And what became of each step on each host once the rollback ran: a step is
//! said to be undone only on a host whose undo ran ok.

use super::plan::{CHANGED, Origin, PlannedStep, StepKind};
use super::release::{IrreversibleDone, Release, RunStatus, StepStatus};

/// What became of one step on one host, as far as the rollback goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoMark {
    /// The step never started there: nothing to undo.
    NeverRan,
    /// Its undo ran there and ended ok.
    Undone,
    /// Its undo is running there now.
    Undoing,
    /// Its undo ran there and failed (or its outcome is unknown).
    UndoFailed,
    /// The step ran there and nothing undid it: why.
    NotUndone(NotUndone),
    /// The rollback has not begun: its undo would run there.
    ToUndo,
}

/// Why a step that ran on a host was not undone there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotUndone {
    Irreversible,
    /// The step has no `undo` (the release-wide rollback steps may restore it; gonogo cannot
    /// tell).
    NoUndo,
    /// Its undo was skipped, with the person's reason.
    Skipped(String),
    /// The rollback ended (aborted) before its undo ran.
    NotReached,
}

impl UndoMark {
    /// In words, the same on every screen and in every record: "↺ undone", "undo failed",
    /// "done, not undone (no undo)", "never ran". `ran` is how the step itself ended there.
    pub fn words(&self, ran: &str) -> String {
        match self {
            UndoMark::NeverRan => "never ran".into(),
            UndoMark::Undone => "↺ undone".into(),
            UndoMark::Undoing => "undoing".into(),
            UndoMark::UndoFailed => "undo failed".into(),
            UndoMark::ToUndo => format!("{ran}, undo planned"),
            UndoMark::NotUndone(why) => {
                let why = match why {
                    NotUndone::Irreversible => "irreversible".to_string(),
                    NotUndone::NoUndo => "no undo".to_string(),
                    NotUndone::Skipped(reason) => format!("undo skipped: {reason}"),
                    NotUndone::NotReached => "the rollback stopped before its undo".to_string(),
                };
                format!("{ran}, not undone ({why})")
            }
        }
    }
}

/// How a run ended, as the first word of its undo mark.
fn ran_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Passed => "done",
        RunStatus::Failed => "failed",
        RunStatus::Unknown => "outcome unknown",
        RunStatus::Cancelled => "stopped",
        RunStatus::Running | RunStatus::Stopping | RunStatus::RetryWaiting => "running",
        RunStatus::Pending => "started",
    }
}

impl Release {
    /// The hosts where any `run` step started (whatever became of it), in profile order.
    pub fn changed_hosts(&self) -> Vec<String> {
        let changes = self.changes();
        self.plan
            .targets
            .iter()
            .filter(|t| changes.iter().any(|c| c.target == t.name))
            .map(|t| t.name.clone())
            .collect()
    }

    /// The rollback as it would run now: every started `run` step's `undo` on the hosts where
    /// it started, latest step first and, inside a step, the host that started last first
    /// (a `serial` step's undo keeps its `serial`); then the profile's `[[rollback]]` steps,
    /// `on = "changed"` narrowed to the hosts where anything ran (a command step left with no
    /// host is left out). Irreversible steps and steps without `undo` are not in it.
    pub fn planned_rollback(&self) -> Vec<PlannedStep> {
        let mut out = Vec::new();
        for (index, (step, state)) in self.plan.steps.iter().zip(&self.steps).enumerate().rev() {
            let Some(undo) = &step.undo else {
                continue;
            };
            if step.kind != StepKind::Run || step.irreversible {
                continue;
            }
            let mut started: Vec<(u64, usize, &str)> = state
                .targets
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.started_at.map(|at| (at, i, t.target.as_str())))
                .collect();
            if started.is_empty() {
                continue;
            }
            // Latest first; hosts started together keep profile order.
            started.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            out.push(PlannedStep {
                // A batched phase's step comes once per batch: each undo says which.
                name: match &step.batch {
                    Some(batch) => format!("Undo {} ({})", step.name, batch.label()),
                    None => format!("Undo {}", step.name),
                },
                kind: StepKind::Run,
                text: undo.clone(),
                targets: started.iter().map(|(_, _, t)| t.to_string()).collect(),
                expect: None,
                irreversible: false,
                retries: 0,
                builtin: None,
                undo: None,
                after_watch: false,
                origin: Some(Origin::Undo { step: index }),
                ..step.clone()
            });
        }
        let changed = self.changed_hosts();
        // A batch that never came left its hosts as they were: no rollback step touches them.
        let never = self.never_deployed();
        for (index, step) in self.plan.rollback.iter().enumerate() {
            let mut step = step.clone();
            step.origin = Some(Origin::Rollback { index });
            if !never.is_empty() {
                step.targets.retain(|t| !never.contains(t));
                if step.kind.runs_command() && step.targets.is_empty() {
                    continue;
                }
            }
            if step.on.iter().any(|n| n == CHANGED) {
                let named = |t: &str| {
                    step.on.iter().any(|n| {
                        n == t
                            || self
                                .plan
                                .targets
                                .iter()
                                .any(|p| p.name == t && p.roles.contains(n))
                    })
                };
                step.targets = step
                    .targets
                    .iter()
                    .filter(|t| changed.contains(t) || named(t))
                    .cloned()
                    .collect();
                if step.kind.runs_command() && step.targets.is_empty() {
                    continue;
                }
            }
            out.push(step);
        }
        out
    }

    /// The rollback plan shown (and run) from now: frozen once the rollback has begun.
    pub(super) fn refresh_rollback(&mut self) {
        if self.rollback_begun {
            return;
        }
        let planned = self.planned_rollback();
        if planned != self.rollback_plan {
            self.rollback = planned.iter().map(super::apply::fresh_state).collect();
            self.rollback_expect = planned
                .iter()
                .map(|s| s.expect.as_deref().and_then(|p| regex::Regex::new(p).ok()))
                .collect();
            self.rollback_plan = planned;
        }
    }

    /// The rollback plan per host, in the order it would run there: each host with the names
    /// of the steps that run on it (hosts in profile order; hosts nothing runs on left out).
    pub fn rollback_by_host(&self) -> Vec<(String, Vec<String>)> {
        self.plan
            .targets
            .iter()
            .filter_map(|t| {
                let steps: Vec<String> = self
                    .rollback_plan
                    .iter()
                    .filter(|s| s.kind.runs_command() && s.targets.contains(&t.name))
                    .map(|s| s.name.clone())
                    .collect();
                (!steps.is_empty()).then(|| (t.name.clone(), steps))
            })
            .collect()
    }

    /// [`Self::rollback_by_host`] with the hosts that run the same steps said together:
    /// "web-1, web-2: Undo Restart → Undo Stage" (in the order the first of them comes).
    pub fn rollback_by_hosts(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for (host, steps) in self.rollback_by_host() {
            match groups.iter_mut().find(|(_, s)| *s == steps) {
                Some((hosts, _)) => hosts.push(host),
                None => groups.push((vec![host], steps)),
            }
        }
        groups
            .into_iter()
            .map(|(hosts, steps)| (hosts.join(", "), steps))
            .collect()
    }

    /// Whether a rollback has anything to run, were it asked for now.
    pub fn can_roll_back(&self) -> bool {
        !self.rollback_plan.is_empty()
    }

    /// `run` steps that ran without an `undo` (irreversible ones are `irreversible_done`), with
    /// the hosts where they started: the rollback does not undo them.
    pub fn not_undoable(&self) -> Vec<IrreversibleDone> {
        self.started_where(|plan| {
            plan.kind == StepKind::Run && plan.undo.is_none() && !plan.irreversible
        })
    }

    /// What became of main step `step` on `target` as far as the rollback goes (`None`: not a
    /// `run` step, or no such host for it).
    pub fn undo_mark(&self, step: usize, target: &str) -> Option<UndoMark> {
        let planned = self.plan.steps.get(step)?;
        if planned.kind != StepKind::Run {
            return None;
        }
        let run = self
            .steps
            .get(step)?
            .targets
            .iter()
            .find(|t| t.target == target)?;
        if run.started_at.is_none() {
            return Some(UndoMark::NeverRan);
        }
        if planned.irreversible {
            return Some(UndoMark::NotUndone(NotUndone::Irreversible));
        }
        let undo = self
            .rollback_plan
            .iter()
            .position(|s| s.origin == Some(Origin::Undo { step }));
        let Some(undo) = undo else {
            return Some(UndoMark::NotUndone(NotUndone::NoUndo));
        };
        let state = &self.rollback[undo];
        let Some(undo_run) = state.targets.iter().find(|t| t.target == target) else {
            return Some(UndoMark::NotUndone(NotUndone::NoUndo));
        };
        Some(match undo_run.status {
            RunStatus::Passed => UndoMark::Undone,
            RunStatus::Failed | RunStatus::Unknown => UndoMark::UndoFailed,
            RunStatus::Running | RunStatus::Stopping | RunStatus::RetryWaiting => UndoMark::Undoing,
            RunStatus::Pending | RunStatus::Cancelled if !self.rollback_begun => UndoMark::ToUndo,
            RunStatus::Pending | RunStatus::Cancelled => match &state.skip_reason {
                Some(reason) if state.status == StepStatus::Skipped => {
                    UndoMark::NotUndone(NotUndone::Skipped(reason.clone()))
                }
                _ if self.outcome.is_none() => UndoMark::ToUndo,
                _ => UndoMark::NotUndone(NotUndone::NotReached),
            },
        })
    }

    /// What became of main step `step` on `target`, in words ("↺ undone", "done, not undone
    /// (no undo)", "never ran").
    pub fn undo_said(&self, step: usize, target: &str) -> Option<String> {
        let run = self
            .steps
            .get(step)?
            .targets
            .iter()
            .find(|t| t.target == target)?;
        Some(self.undo_mark(step, target)?.words(ran_word(run.status)))
    }

    /// Every host of main step `step` with its mark in words, grouped: "↺ undone on web-1,
    /// web-2; never ran on web-3". `None` before a rollback began, and for steps that are not
    /// `run` steps.
    pub fn undo_words(&self, step: usize) -> Option<String> {
        if !self.rollback_begun {
            return None;
        }
        let state = self.steps.get(step)?;
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for t in &state.targets {
            let mark = self.undo_mark(step, &t.target)?;
            let words = mark.words(ran_word(t.status));
            match groups.iter_mut().find(|(w, _)| *w == words) {
                Some((_, hosts)) => hosts.push(t.target.clone()),
                None => groups.push((words, vec![t.target.clone()])),
            }
        }
        let said: Vec<String> = groups
            .into_iter()
            .map(|(words, hosts)| format!("{words} on {}", hosts.join(", ")))
            .collect();
        (!said.is_empty()).then(|| said.join("; "))
    }

    /// Whether main step `step` is undone on every host where it started (and started
    /// somewhere): only then is it marked ↺.
    pub(super) fn undone_everywhere(&self, step: usize) -> bool {
        let Some(state) = self.steps.get(step) else {
            return false;
        };
        let started: Vec<&str> = state
            .targets
            .iter()
            .filter(|t| t.started_at.is_some())
            .map(|t| t.target.as_str())
            .collect();
        !started.is_empty()
            && started
                .iter()
                .all(|t| self.undo_mark(step, t) == Some(UndoMark::Undone))
    }
}
