//! Decisions: a person's answer to the open question (or to none), and what it sets going:
//! gates and approvals, manual items, guided failure, rollback and its confirmation, abort.

use super::event::{Decision, Effect, Outcome, RunId, StepList, Timer};
use super::release::{
    AfterStop, IrreversibleDone, Question, Release, RunStatus, Stage, StepStatus,
};

/// `+`: how much longer the watch holds.
pub const EXTEND_WATCH_MS: u64 = 5 * 60 * 1000;

impl Release {
    /// A decision (a person's, `--yes`, a follower's counted vote): recorded for the report
    /// with the question it answered, then taken.
    pub(super) fn recorded_decision(
        &mut self,
        by: &str,
        decision: &super::event::Decision,
        note: &Option<String>,
        actor: super::event::Actor,
        fx: &mut Vec<Effect>,
    ) {
        self.decisions.push(super::release::DecisionRecord {
            at: self.now,
            by: by.to_string(),
            actor,
            decision: decision.clone(),
            note: note.clone(),
            question: self.question.clone(),
        });
        self.decide(by, decision, fx);
    }

    pub(super) fn decide(&mut self, by: &str, decision: &Decision, fx: &mut Vec<Effect>) {
        // What the release does not take is recorded and changes nothing (`may_answer`).
        if self
            .may_answer(decision, &super::policy::Answerer::operator(by))
            .is_err()
        {
            return;
        }
        if self.resuming || self.after_stop.is_some() {
            // The locks are being confirmed, or runs stopped: only an abort gets here, and it
            // waits for them, so every lock confirmed is released.
            self.after_stop = Some(AfterStop::Abort);
            return;
        }
        let question = self.question.clone();
        match (question, decision) {
            (Some(Question::Redeploy { .. }), Decision::Abort) => self.redeploy_answered(None, fx),
            (Some(Question::Redeploy { .. }), Decision::Redeploy { reason }) => {
                self.redeploy_answered(Some(reason), fx)
            }
            (_, Decision::Abort) => self.abort(fx),
            // Confirmed from the question or straight from the cockpit's rollback key: it counts
            // only for the irreversible steps the person was shown.
            (question, Decision::ConfirmRollback { acknowledged }) => {
                let before = match question {
                    Some(Question::ConfirmRollback { then, .. }) => then.map(|q| *q),
                    other => other,
                };
                self.offer_rollback(before, Some(acknowledged), fx);
            }
            (Some(Question::ConfirmRollback { then, .. }), Decision::Cancel) => {
                self.back_from_confirmation(then.map(|q| *q), fx)
            }
            (Some(Question::ConfirmRollback { .. }), Decision::Rollback) => {}
            (question, Decision::Rollback) => self.offer_rollback(question, None, fx),
            (Some(Question::Gate { step }), Decision::Go) => self.operator_go(step, by, fx),
            (Some(Question::FinalGate), Decision::Go) => self.verdict(fx),
            (Some(Question::Gate { step }), Decision::NoGo) => {
                self.steps[step].status = StepStatus::Failed;
                self.abort(fx);
            }
            (Some(Question::Manual { list, step }), Decision::Done) => {
                self.pass_waiting(list, step, StepStatus::Passed, fx);
            }
            (
                Some(Question::Manual { list, step } | Question::Failure { list, step }),
                Decision::Skip { reason },
            ) => {
                self.states_mut(list)[step].skip_reason = Some(reason.clone());
                self.pass_waiting(list, step, StepStatus::Skipped, fx);
            }
            (Some(Question::Failure { list, step }), Decision::Retry) => self.retry(list, step, fx),
            // In production, leaving the watch early is the release's last decision, not a
            // reason alone: it leads to the final gate (GO typed out), as the watch's end does.
            (None, Decision::EndWatch)
                if matches!(self.stage, Stage::Watching { .. }) && self.plan.production =>
            {
                self.question = Some(Question::FinalGate);
                fx.push(Effect::Ask);
            }
            (None, Decision::EndWatch) if matches!(self.stage, Stage::Watching { .. }) => {
                self.verdict(fx);
            }
            (Some(Question::RollbackProposal { rule }), Decision::KeepWatching { .. }) => {
                self.keep_watching(rule, fx);
            }
            (_, Decision::SkipBaseline { reason }) => {
                fx.push(Effect::CancelTimer {
                    timer: Timer::Baseline,
                });
                let why = format!("skipped by {by}: {reason}");
                self.end_baseline_wait(Some(why), fx);
            }
            (_, Decision::ExtendWatch) => self.extend_watch(),
            // `may_answer` took nothing else.
            _ => {}
        }
    }

    /// A rollback confirmation cancelled: back to the question it came from, or on with the step.
    fn back_from_confirmation(&mut self, then: Option<Question>, fx: &mut Vec<Effect>) {
        self.question = then;
        if self.question.is_some() {
            fx.push(Effect::Ask);
        } else if let Some((list, step)) = self.current() {
            self.progress(list, step, fx);
        }
    }

    /// The operator's GO at gate `step`: it passes once as many other people's as the gate asks
    /// beyond it are in too.
    fn operator_go(&mut self, step: usize, by: &str, fx: &mut Vec<Effect>) {
        let state = &mut self.steps[step];
        if !state.approved_by.iter().any(|b| b == by) {
            state.approved_by.push(by.to_string());
        }
        state.operator_go = true;
        if state.approved_by.len() < self.plan.steps[step].approvals as usize {
            fx.push(Effect::Ask);
        } else if self.plan.steps[step].kind == super::plan::StepKind::Analysis {
            // The promote gate after a batch's analysis: the next batch goes.
            self.promote(step, by, fx);
        } else {
            self.pass_waiting(StepList::Main, step, StepStatus::Passed, fx);
        }
    }

    /// A failed step again, on its failed targets only; a run whose outcome is unknown is
    /// attached to again, never started anew.
    fn retry(&mut self, list: StepList, step: usize, fx: &mut Vec<Effect>) {
        self.question = None;
        let state = &mut self.states_mut(list)[step];
        state.status = StepStatus::Running;
        state.finished_at = None;
        for t in &mut state.targets {
            if t.status == RunStatus::Failed {
                t.status = RunStatus::Pending;
            }
        }
        self.reattach_unknown(list, step, fx);
        self.progress(list, step, fx);
    }

    /// Five more minutes of watch: the running timer stays; when it fires, the extension starts
    /// its own.
    fn extend_watch(&mut self) {
        if let Stage::Watching { until } = self.stage {
            self.stage = Stage::Watching {
                until: until + EXTEND_WATCH_MS,
            };
            self.watch.extension_ms += EXTEND_WATCH_MS;
        }
    }

    /// The watch's verdict is GO: the `[[after]]` steps run (record, tag, notify), then the
    /// release is released; without them it is released now.
    pub(super) fn verdict(&mut self, fx: &mut Vec<Effect>) {
        self.question = None;
        self.verdict_go = true;
        match self.after_from() {
            Some(first) => {
                if self.watch.auto_rollback_at.take().is_some() {
                    fx.push(Effect::CancelTimer {
                        timer: Timer::AutoRollback,
                    });
                }
                self.enter(StepList::Main, first, fx)
            }
            None => self.finish(Outcome::Released, fx),
        }
    }

    /// Where the `[[after]]` steps begin in the checklist, if there are any.
    pub fn after_from(&self) -> Option<usize> {
        self.plan.steps.iter().position(|s| s.after_watch)
    }

    /// Closes a gate, manual item or failure with `status` and moves on.
    pub(super) fn pass_waiting(
        &mut self,
        list: StepList,
        step: usize,
        status: StepStatus,
        fx: &mut Vec<Effect>,
    ) {
        self.question = None;
        let now = self.now;
        let state = &mut self.states_mut(list)[step];
        state.status = status;
        state.finished_at = Some(now);
        self.enter(list, step + 1, fx);
    }

    /// Rollback is offered until the release ends; irreversible steps that ran are named first.
    pub(super) fn offer_rollback(
        &mut self,
        question: Option<Question>,
        acknowledged: Option<&Vec<IrreversibleDone>>,
        fx: &mut Vec<Effect>,
    ) {
        let rolling_back = matches!(
            self.stage,
            Stage::Running {
                list: StepList::Rollback,
                ..
            }
        );
        if !self.can_roll_back()
            || rolling_back
            || matches!(
                self.stage,
                Stage::Connecting | Stage::Locking | Stage::Finding
            )
        {
            return;
        }
        let irreversible = self.irreversible_done();
        if irreversible.is_empty() || acknowledged == Some(&irreversible) {
            return self.roll_back(fx);
        }
        self.question = Some(Question::ConfirmRollback {
            irreversible,
            then: question.map(Box::new),
        });
        fx.push(Effect::Ask);
    }

    /// Rolls back once every run in flight has confirmed it stopped.
    fn roll_back(&mut self, fx: &mut Vec<Effect>) {
        self.question = None;
        if self.cancel_all(fx) {
            self.after_stop = Some(AfterStop::Rollback);
        } else {
            self.begin_rollback(fx);
        }
    }

    /// Every run has stopped: the rollback's plan is made from what ran, and it begins.
    pub(super) fn begin_rollback(&mut self, fx: &mut Vec<Effect>) {
        self.question = None;
        self.refresh_rollback();
        self.rollback_begun = true;
        fx.push(Effect::RollbackPlanned {
            origins: self.rollback_plan.iter().filter_map(|s| s.origin).collect(),
        });
        self.enter(StepList::Rollback, 0, fx);
    }

    /// Aborts once every run in flight has confirmed it stopped.
    pub(super) fn abort(&mut self, fx: &mut Vec<Effect>) {
        self.question = None;
        if self.cancel_all(fx) {
            self.after_stop = Some(AfterStop::Abort);
        } else {
            self.finish(Outcome::Aborted, fx);
        }
    }

    /// Sends a cancel to everything in flight (runs whose outcome is unknown too); the step it
    /// interrupts shows as cancelled. True when some run must confirm it stopped.
    fn cancel_all(&mut self, fx: &mut Vec<Effect>) -> bool {
        self.question = None;
        let now = self.now;
        let mut stopping = false;
        for list in [StepList::Main, StepList::Rollback] {
            for (index, state) in self.states_mut(list).iter_mut().enumerate() {
                for t in &mut state.targets {
                    let run = RunId {
                        list,
                        step: index,
                        target: t.target.clone(),
                        attempt: t.attempt,
                    };
                    match t.status {
                        RunStatus::Running | RunStatus::Unknown => {
                            fx.push(Effect::CancelRun { run });
                            t.status = RunStatus::Stopping;
                            t.failure = None;
                            stopping = true;
                        }
                        RunStatus::Stopping => stopping = true,
                        RunStatus::RetryWaiting => {
                            fx.push(Effect::CancelTimer {
                                timer: Timer::Retry {
                                    run: RunId {
                                        attempt: run.attempt + 1,
                                        ..run
                                    },
                                },
                            });
                            t.status = RunStatus::Cancelled;
                        }
                        _ => {}
                    }
                }
                if matches!(state.status, StepStatus::Running | StepStatus::Waiting) {
                    state.status = StepStatus::Cancelled;
                    // A step with no run of its own (an analysis) ends here, not with a run.
                    state.finished_at.get_or_insert(now);
                }
            }
        }
        stopping
    }
}
