//! Resuming a session after gonogo died (kill -9, a laptop asleep, a terminal closed): the
//! journal's events rebuilt the release as it stood; `Resumed` takes the deploy locks back
//! (the same session owns them, so the take is a confirmation), then picks up every thread
//! where it was: runs attached again (a run never starts twice: its directory on the host says
//! it started), their timeouts with the time they have left, the watch window's end, the open
//! question, probes and log tails. A lock that another session took meanwhile stops it, saying
//! who.

use serde::{Deserialize, Serialize};

use super::event::{Effect, Millis, RunId, StepList, Timer};
use super::release::{LockState, Question, Release, RunStatus, Stage};

/// gonogo died mid-release and a resume went on with it: what the journal lost between.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruption {
    /// When the gonogo that died wrote its last record (wall time).
    pub stopped_at: Millis,
    /// That record's `t` (microseconds since the session started), when the resume said it.
    pub stopped_t: Option<u64>,
    /// When the resume went on (the `resumed` event's time).
    pub resumed_at: Millis,
    /// Who resumed it, `user@host`.
    pub by: String,
}

impl Interruption {
    /// How long nothing was recorded: from the last record to the resume.
    pub fn gap_ms(&self) -> Millis {
        self.resumed_at.saturating_sub(self.stopped_at)
    }
}

impl Release {
    /// A resume at `at`: the interruption it ends is remembered (`stopped_at` from the event, or
    /// for an older journal the last event's time before it, `before`).
    pub(super) fn interrupted(
        &mut self,
        by: &str,
        (stopped_at, stopped_t): (Option<Millis>, Option<u64>),
        before: Millis,
        at: Millis,
    ) {
        if self.started_at.is_none() || self.is_finished() {
            return;
        }
        self.interruptions.push(Interruption {
            stopped_at: stopped_at.unwrap_or(before).min(at),
            stopped_t,
            resumed_at: at,
            by: by.to_string(),
        });
    }

    /// The loop came back with this release rebuilt from its journal; `by` resumed it.
    pub(super) fn resumed(&mut self, by: &str, fx: &mut Vec<Effect>) {
        if self.started_at.is_none() || self.is_finished() {
            return;
        }
        // The resume reached every target before it began.
        for target in &mut self.targets {
            target.link = super::release::LinkState::Up;
        }
        for target in self.targets.clone() {
            self.mark_link(&target.name, &format!("{by} resumed the session"));
        }
        let held = self.held_locks();
        if held.is_empty() {
            return self.carry_on(fx);
        }
        self.resuming = true;
        self.confirming = held.clone();
        for target in &mut self.targets {
            if target.lock == LockState::Held {
                target.lock = LockState::None;
            }
        }
        fx.extend(
            held.into_iter()
                .map(|target| Effect::ConfirmLock { target }),
        );
    }

    /// A lock's answer while resuming: true if it was that (and is handled).
    pub(super) fn resume_lock(
        &mut self,
        target: &str,
        holder: Option<&str>,
        fx: &mut Vec<Effect>,
    ) -> bool {
        if !self.resuming {
            return false;
        }
        self.confirming.retain(|t| t != target);
        if let Some(t) = self.targets.iter_mut().find(|t| t.name == target)
            && t.lock == LockState::None
        {
            t.lock = match holder {
                None => LockState::Held,
                Some(holder) => {
                    self.halted.get_or_insert(format!(
                        "{target}: while gonogo was down the deploy lock was taken by {holder}: \
                         not resuming; nothing more runs"
                    ));
                    LockState::Lost
                }
            };
        }
        if self.targets.iter().any(|t| t.lock == LockState::None) {
            return true;
        }
        self.resuming = false;
        let lost: Vec<String> = self
            .targets
            .iter()
            .filter(|t| t.lock == LockState::Lost)
            .map(|t| t.name.clone())
            .collect();
        if !lost.is_empty() {
            // What the runs where the lock was taken came to is the other session's to say;
            // elsewhere the resume stops before attaching again: none is left "running".
            for list in [StepList::Main, StepList::Rollback] {
                for state in self.states_mut(list).iter_mut() {
                    for t in state.targets.iter_mut() {
                        if matches!(t.status, RunStatus::Running | RunStatus::Stopping) {
                            t.status = RunStatus::Unknown;
                            t.failure = Some(if lost.contains(&t.target) {
                                "not attached again: the lock was taken while gonogo was down"
                                    .into()
                            } else {
                                concat!(
                                    "not attached again: the resume stopped (a lock elsewhere ",
                                    "was taken); it may still run on the host"
                                )
                                .into()
                            });
                        }
                    }
                }
            }
            self.finish(super::event::Outcome::Aborted, fx);
        } else if self.after_stop == Some(super::release::AfterStop::Abort) {
            // Aborted while the locks were confirmed: what runs is stopped, the locks released.
            self.after_stop = None;
            self.abort(fx);
        } else {
            self.carry_on(fx);
        }
        true
    }

    /// What ships, for the drivers of this process: each host's previous version (they have
    /// not heard it); the versions again if they were being found, and the lists if a gate
    /// waited for them (both only read).
    fn ships_again(&self, fx: &mut Vec<Effect>) {
        self.previous_told(fx);
        if self.stage == Stage::Finding && self.ships.found.len() < self.targets.len() {
            fx.push(Effect::FindVersions);
        }
        if self.ships.gate_held.is_some() {
            self.find_lists(fx);
        }
    }

    /// Every thread of the release picked up where the journal left it.
    fn carry_on(&mut self, fx: &mut Vec<Effect>) {
        let now = self.now;
        self.ships_again(fx);
        if self.rollback_begun {
            // The drivers of this process have not heard where the rollback's steps come from.
            fx.push(Effect::RollbackPlanned {
                origins: self.rollback_plan.iter().filter_map(|s| s.origin).collect(),
            });
        }
        if matches!(self.stage, Stage::Running { .. } | Stage::Watching { .. }) {
            if !self.plan.probes.is_empty() {
                fx.push(Effect::StartProbes);
            }
            self.follow_logs(fx);
        }
        for list in [StepList::Main, StepList::Rollback] {
            for (step, state) in self.states_mut(list).clone().iter().enumerate() {
                let timeout_ms = self.list(list)[step].timeout_ms;
                let retry_ms = self.list(list)[step].retry_delay_ms;
                for t in &state.targets {
                    let run = RunId {
                        list,
                        step,
                        target: t.target.clone(),
                        attempt: t.attempt,
                    };
                    match t.status {
                        RunStatus::Running => {
                            self.mark_resumed_run(&run);
                            let ran = now.saturating_sub(t.started_at.unwrap_or(now));
                            fx.push(Effect::StartRun {
                                run: run.clone(),
                                started: true,
                            });
                            fx.push(Effect::StartTimer {
                                timer: Timer::Timeout { run },
                                after_ms: timeout_ms.saturating_sub(ran),
                            });
                        }
                        RunStatus::Stopping => fx.push(Effect::CancelRun { run }),
                        RunStatus::RetryWaiting => fx.push(Effect::StartTimer {
                            timer: Timer::Retry {
                                run: RunId {
                                    attempt: t.attempt + 1,
                                    ..run
                                },
                            },
                            after_ms: retry_ms,
                        }),
                        _ => {}
                    }
                }
            }
        }
        self.timers_again(fx);
        if let Some(question) = &self.question {
            if let (Question::RollbackProposal { .. }, Some(at)) =
                (question, self.watch.auto_rollback_at)
            {
                fx.push(Effect::StartTimer {
                    timer: Timer::AutoRollback,
                    after_ms: at.saturating_sub(now),
                });
            }
            fx.push(Effect::Ask);
        }
        if self.stage == Stage::Closing {
            fx.push(Effect::ReleaseLocks {
                targets: self.held_locks(),
            });
        }
    }

    /// The release's own timers, each with the time it had left: the baseline's wait, the
    /// watch's end, a batch's analysis.
    fn timers_again(&self, fx: &mut Vec<Effect>) {
        let now = self.now;
        if let Some(wait) = &self.baseline_wait {
            let limit = super::baseline::BASELINE_WAIT_MS;
            fx.push(Effect::StartTimer {
                timer: Timer::Baseline,
                after_ms: (wait.since + limit).saturating_sub(now).max(1),
            });
        }
        if let Stage::Watching { until } = self.stage {
            fx.push(Effect::StartTimer {
                timer: Timer::WatchEnd,
                after_ms: until.saturating_sub(now),
            });
        }
        // A batch's analysis keeps its end.
        if let (Some(until), Stage::Running { step, .. }) =
            (self.rollout.analysis_until, self.stage)
            && self.analysing().is_some()
        {
            fx.push(Effect::StartTimer {
                timer: Timer::Analysis { step },
                after_ms: until.saturating_sub(now),
            });
        }
    }
}
