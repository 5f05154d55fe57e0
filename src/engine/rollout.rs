//! Phases rolled out in batches: each batch's steps on its new hosts, then its analysis, in
//! which the watch's rules judge the changed hosts alone and compare them with the control
//! (the phase's hosts not yet deployed); a clean analysis promotes the next batch (or asks),
//! a breach proposes rolling back the changed hosts only.

use super::event::{BatchFigure, BatchVerdict, Effect, EventKind, Millis, StepList, Timer};
use super::plan::{Batch, Promote, StepKind};
use super::release::{Question, Release, Stage, StepStatus};

/// Where the batches stand.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Rollout {
    /// The analysis under way: when it began and when it ends.
    pub analysis_from: Option<Millis>,
    pub analysis_until: Option<Millis>,
    /// Each analysis's verdict, by its plan step, with the figures it compared.
    pub verdicts: Vec<(usize, BatchVerdict, Vec<BatchFigure>)>,
}

impl Release {
    /// The batch whose analysis is under way.
    pub fn analysing(&self) -> Option<&Batch> {
        let Stage::Running {
            list: StepList::Main,
            step,
        } = self.stage
        else {
            return None;
        };
        let planned = self.plan.steps.get(step)?;
        let open = self.steps.get(step)?.status == StepStatus::Running;
        (planned.kind == StepKind::Analysis && open)
            .then_some(planned.batch.as_ref())
            .flatten()
    }

    /// The watch's rules judge now: during the watch, or a batch's analysis.
    pub fn judging(&self) -> bool {
        matches!(self.stage, Stage::Watching { .. }) || self.analysing().is_some()
    }

    /// The hosts a series measured through `via` counts for now: during an analysis, only
    /// the changed hosts' (a series probed from the laptop is nobody's); otherwise every one.
    pub(super) fn in_scope(&self, via: Option<&str>) -> bool {
        match self.analysing() {
            Some(batch) => via.is_some_and(|v| batch.changed.iter().any(|h| h == v)),
            None => true,
        }
    }

    /// Entering the first step of a batch: said for the record.
    pub(super) fn batch_entered(&mut self, index: usize, fx: &mut Vec<Effect>) {
        let Some(batch) = self.plan.steps.get(index).and_then(|s| s.batch.as_ref()) else {
            return;
        };
        let before = index
            .checked_sub(1)
            .and_then(|i| self.plan.steps.get(i))
            .and_then(|s| s.batch.as_ref());
        if before.is_some_and(|b| b.phase == batch.phase && b.number == batch.number) {
            return;
        }
        fx.push(Effect::Record {
            event: Box::new(EventKind::BatchStarted {
                phase: batch.phase.clone(),
                batch: batch.number,
                of: batch.of,
                hosts: batch.hosts.clone(),
            }),
        });
    }

    /// A batch's analysis begins: the rules start judging afresh, on its changed hosts.
    pub(super) fn begin_analysis(&mut self, index: usize, fx: &mut Vec<Effect>) {
        let ms = self.plan.steps[index].timeout_ms;
        self.steps[index].status = StepStatus::Running;
        self.rollout.analysis_from = Some(self.now);
        self.rollout.analysis_until = Some(self.now + ms);
        self.fresh_judgement();
        fx.push(Effect::StartTimer {
            timer: Timer::Analysis { step: index },
            after_ms: ms,
        });
        // The samples already in may judge at once (a breach that came before is not lost).
        self.evaluate_rules(super::watch::Fresh::Metrics, fx);
    }

    /// The analysis of plan step `step` has had its time.
    pub(super) fn analysis_timer(&mut self, step: usize, fx: &mut Vec<Effect>) {
        let ours = self.stage
            == Stage::Running {
                list: StepList::Main,
                step,
            };
        if !ours || self.analysing().is_none() {
            return;
        }
        // A proposal is open (or runs are stopping): its answer concludes the analysis.
        if self.question.is_some() || self.after_stop.is_some() {
            return;
        }
        self.conclude_analysis(step, fx);
    }

    /// Answered "keep watching" after the analysis's time ran out: it concludes now.
    pub(super) fn analysis_overdue(&mut self, fx: &mut Vec<Effect>) {
        let Stage::Running { step, .. } = self.stage else {
            return;
        };
        let due = self.rollout.analysis_until.is_some_and(|u| self.now >= u);
        if due && self.analysing().is_some() && self.question.is_none() {
            self.conclude_analysis(step, fx);
        }
    }

    /// The verdict: healthy promotes (or asks, `promote = "gate"`); in doubt asks a person.
    fn conclude_analysis(&mut self, step: usize, fx: &mut Vec<Effect>) {
        let Some(batch) = self.plan.steps[step].batch.clone() else {
            return;
        };
        let doubts: Vec<String> = self
            .rules_in_doubt()
            .into_iter()
            .map(|(text, stand)| format!("{text}: {}", stand.words()))
            .collect();
        let verdict = if doubts.is_empty() {
            BatchVerdict::Healthy
        } else {
            BatchVerdict::InDoubt
        };
        self.judged(step, verdict, fx);
        self.rollout.analysis_from = None;
        self.rollout.analysis_until = None;
        if verdict == BatchVerdict::Healthy && batch.promote == Promote::Auto {
            return self.promote(step, "gonogo", fx);
        }
        self.steps[step].status = StepStatus::Waiting;
        self.question = Some(Question::Gate { step });
        fx.push(Effect::Ask);
    }

    /// The verdict of analysis `step`, kept and said for the record with its figures.
    pub(super) fn judged(&mut self, step: usize, verdict: BatchVerdict, fx: &mut Vec<Effect>) {
        let Some(batch) = self.plan.steps.get(step).and_then(|s| s.batch.clone()) else {
            return;
        };
        let figures = self.analysis_figures();
        self.rollout.verdicts.retain(|(s, _, _)| *s != step);
        self.rollout.verdicts.push((step, verdict, figures.clone()));
        fx.push(Effect::Record {
            event: Box::new(EventKind::BatchJudged {
                phase: batch.phase,
                batch: batch.number,
                of: batch.of,
                verdict,
                figures,
            }),
        });
    }

    /// The next batch goes: said for the record, and the analysis passes.
    pub(super) fn promote(&mut self, step: usize, by: &str, fx: &mut Vec<Effect>) {
        if let Some(batch) = self.plan.steps.get(step).and_then(|s| s.batch.as_ref()) {
            fx.push(Effect::Record {
                event: Box::new(EventKind::BatchPromoted {
                    phase: batch.phase.clone(),
                    batch: batch.number + 1,
                    of: batch.of,
                    by: by.to_string(),
                }),
            });
        }
        self.pass_waiting(StepList::Main, step, StepStatus::Passed, fx);
    }

    /// The analysis verdict of plan step `step`, once it has one.
    pub fn batch_verdict(&self, step: usize) -> Option<BatchVerdict> {
        self.rollout
            .verdicts
            .iter()
            .find(|(s, _, _)| *s == step)
            .map(|(_, v, _)| *v)
    }

    /// Each rule as the analysis compares it: the changed hosts' values, the control's, and
    /// where the rule stands.
    pub fn analysis_figures(&self) -> Vec<BatchFigure> {
        let Some(watch) = &self.plan.watch else {
            return Vec::new();
        };
        (0..watch.rollback_on.len())
            .map(|i| {
                let rule = &watch.rollback_on[i];
                let hosts = self
                    .rule_readings(rule)
                    .into_iter()
                    .filter(|e| !e.from.ends_with(" (control)"))
                    .map(|e| (e.from, e.value))
                    .collect();
                BatchFigure {
                    rule: i,
                    hosts,
                    control: self.control_value(rule).map(|v| rule.compared(v)),
                    stand: self.rule_stand(i).words(),
                }
            })
            .collect()
    }

    /// The batched phases' hosts where none of their steps started (a batch that never
    /// came) and nothing else changed: the rollback leaves them alone, and the end says so.
    pub fn never_deployed(&self) -> Vec<String> {
        let batched: Vec<&String> = self
            .plan
            .steps
            .iter()
            .filter_map(|s| s.batch.as_ref())
            .flat_map(|b| &b.hosts)
            .collect();
        let changed = self.changed_hosts();
        self.plan
            .targets
            .iter()
            .map(|t| &t.name)
            .filter(|t| batched.contains(t) && !self.batch_ran_on(t) && !changed.contains(t))
            .cloned()
            .collect()
    }

    /// A step of a batch started on `target`.
    fn batch_ran_on(&self, target: &str) -> bool {
        (self.plan.steps.iter().zip(&self.steps))
            .filter(|(p, _)| p.batch.is_some())
            .flat_map(|(_, s)| &s.targets)
            .any(|t| t.target == target && t.started_at.is_some())
    }

    /// "web-2, web-3 never received v1.5.0", when a batch never came.
    pub fn never_received_said(&self) -> Option<String> {
        let never = self.never_deployed();
        let what = self.plan.version.as_deref().unwrap_or("the release");
        (!never.is_empty()).then(|| format!("{} never received {what}", never.join(", ")))
    }

    /// Where a rollout stopped, in one sentence, when some hosts never received the release:
    /// "caught on web-1 (batch 1 of 3); web-2, web-3 never received v1.5.0".
    pub fn rollout_said(&self) -> Option<String> {
        let never = self.never_deployed();
        if never.is_empty() {
            return None;
        }
        let last = self
            .plan
            .steps
            .iter()
            .zip(&self.steps)
            .filter(|(_, s)| s.started_at.is_some())
            .filter_map(|(p, _)| p.batch.as_ref())
            .next_back()?;
        let what = self.plan.version.as_deref().unwrap_or("the release");
        Some(format!(
            "caught on {} (batch {} of {}); {} never received {what}",
            last.changed.join(", "),
            last.number,
            last.of,
            never.join(", ")
        ))
    }
}
