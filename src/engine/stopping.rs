//! Runs that stop, get lost or are attached to again, and the deploy locks' lifetime: nothing
//! is said to have stopped, ended or been released before a driver confirmed it.

use super::event::{Effect, KeptLock, Outcome, RunId, StepList, Timer};
use super::release::{
    AfterStop, LinkState, LockState, Release, RunStatus, Stage, TargetRun, TargetState,
};

impl Release {
    /// A run has ended, one way or another: its timeout must not fire, and it ended now.
    pub(super) fn end_run(&mut self, run: &RunId, fx: &mut Vec<Effect>) -> Option<&mut TargetRun> {
        fx.push(Effect::CancelTimer {
            timer: Timer::Timeout { run: run.clone() },
        });
        let now = self.now;
        let t = self.target_run_mut(run)?;
        t.finished_at = Some(now);
        Some(t)
    }

    /// Sends a cancel for a live run; `failure` is why it fails once stopped (a timeout), or
    /// `None` when it is cancelled by an abort or a rollback.
    pub(super) fn stop_run(&mut self, run: &RunId, failure: Option<String>, fx: &mut Vec<Effect>) {
        let Some(t) = self.target_run_mut(run) else {
            return;
        };
        t.status = RunStatus::Stopping;
        t.failure = failure;
        fx.push(Effect::CancelRun { run: run.clone() });
    }

    /// The host answered a cancel: the run stopped (`Ok(how)`), or nobody can tell (`Err`).
    pub(super) fn run_stopped(
        &mut self,
        run: &RunId,
        answer: Result<&String, &String>,
        fx: &mut Vec<Effect>,
    ) {
        if !self.run_is(run, RunStatus::Stopping) {
            return;
        }
        let Some(t) = self.end_run(run, fx) else {
            return;
        };
        match answer {
            Ok(how) => {
                t.stopped = Some(how.clone());
                t.status = if t.failure.is_some() {
                    RunStatus::Failed
                } else {
                    RunStatus::Cancelled
                };
            }
            Err(error) => {
                let before = t.failure.take().map_or(String::new(), |f| format!("{f}; "));
                t.failure = Some(format!(
                    "{before}could not confirm it stopped ({error}): it may still be running"
                ));
                t.status = RunStatus::Unknown;
            }
        }
        self.mark_run_end(run);
        self.progress(run.list, run.step, fx);
    }

    /// The attach gave up: what the step did on the host is not known.
    pub(super) fn run_lost(&mut self, run: &RunId, error: &str, fx: &mut Vec<Effect>) {
        if !self.run_is_live(run) {
            return;
        }
        let now = self.now;
        let mut down_for = None;
        if let Some(t) = self.targets.iter_mut().find(|t| t.name == run.target)
            && let LinkState::Down { since, .. } | LinkState::Lost { since, .. } = t.link.clone()
        {
            down_for = Some(now.saturating_sub(since));
            t.link = LinkState::Lost {
                since,
                error: error.to_string(),
            };
        }
        let lost = match down_for {
            Some(ms) => format!(
                "connection lost {}",
                humantime::format_duration(std::time::Duration::from_secs(ms / 1000))
            ),
            None => format!("lost track of it ({error})"),
        };
        if let Some(t) = self.end_run(run, fx) {
            t.status = RunStatus::Unknown;
            t.failure = Some(format!("{lost}; the step may still be running"));
        }
        self.mark_run_end(run);
        self.progress(run.list, run.step, fx);
    }

    /// Retry of a step whose runs' outcome is unknown: attach to the same attempt again.
    pub(super) fn reattach_unknown(&mut self, list: StepList, step: usize, fx: &mut Vec<Effect>) {
        let timeout_ms = self.list(list)[step].timeout_ms;
        let now = self.now;
        let mut reattached = Vec::new();
        for t in &mut self.states_mut(list)[step].targets {
            if t.status != RunStatus::Unknown {
                continue;
            }
            t.status = RunStatus::Running;
            t.finished_at = None;
            t.failure = None;
            t.started_at.get_or_insert(now);
            let run = RunId {
                list,
                step,
                target: t.target.clone(),
                attempt: t.attempt,
            };
            reattached.push(run.clone());
            fx.push(Effect::StartRun {
                run: run.clone(),
                started: true,
            });
            fx.push(Effect::StartTimer {
                timer: Timer::Timeout { run },
                after_ms: timeout_ms,
            });
        }
        for run in reattached {
            self.mark_attempt(&run, true);
        }
    }

    /// Carries out a decision that waited for runs to stop, once none is in flight.
    pub(super) fn settle(&mut self, fx: &mut Vec<Effect>) {
        let in_flight = self
            .runs()
            .any(|(_, _, t)| matches!(t.status, RunStatus::Running | RunStatus::Stopping));
        if in_flight {
            return;
        }
        match self.after_stop.take() {
            Some(AfterStop::Abort) => self.finish(Outcome::Aborted, fx),
            Some(AfterStop::Rollback) => self.begin_rollback(fx),
            None => {}
        }
    }

    /// A target answered the lock take.
    pub(super) fn lock_answer(
        &mut self,
        target: &str,
        lock: LockState,
        refusal: Option<String>,
        fx: &mut Vec<Effect>,
    ) {
        if !matches!(self.stage, Stage::Connecting | Stage::Locking) {
            return;
        }
        if let Some(t) = self.targets.iter_mut().find(|t| t.name == target)
            && t.lock == LockState::None
        {
            t.lock = lock;
            self.refusals.extend(refusal);
        }
        self.locks_settled(fx);
    }

    /// Once every target has answered the lock take: start, or refuse and release what was
    /// taken.
    /// A target that was never reached has no lock to wait for.
    pub(super) fn locks_settled(&mut self, fx: &mut Vec<Effect>) {
        let waiting = |t: &&TargetState| t.lock == LockState::None && t.link == LinkState::Up;
        if self.stage != Stage::Locking || self.targets.iter().any(|t| waiting(&t)) {
            return;
        }
        if self.targets.iter().all(|t| t.lock == LockState::Held) {
            // What runs now is found first, when the plan asks; then the first step.
            if !self.find_versions(fx) {
                self.find_lists(fx);
                self.begin(fx);
            }
        } else {
            self.finish(Outcome::Refused, fx);
        }
    }

    /// A run found its target's lock taken over: nothing more starts; runs in flight end, then
    /// the release stops.
    pub(super) fn lock_lost(&mut self, run: &RunId, holder: &str, fx: &mut Vec<Effect>) {
        if !self.run_is_live(run) {
            return;
        }
        if let Some(t) = self.end_run(run, fx) {
            t.status = RunStatus::Cancelled;
            t.failure = Some("not started: the deploy lock is no longer this session's".into());
        }
        if let Some(t) = self.targets.iter_mut().find(|t| t.name == run.target) {
            t.lock = LockState::Lost;
        }
        let name = &self.list(run.list)[run.step].name;
        self.halted.get_or_insert(format!(
            "{}: the deploy lock was taken over by {holder}: this session stops before `{name}`; nothing more runs",
            run.target
        ));
        self.question = None;
        self.after_stop = Some(AfterStop::Abort);
        self.settle(fx);
    }

    /// The drivers released (or kept) the locks: the release is over.
    pub(super) fn locks_released(
        &mut self,
        released: &[String],
        kept: &[KeptLock],
        fx: &mut Vec<Effect>,
    ) {
        if self.stage != Stage::Closing {
            return;
        }
        for t in &mut self.targets {
            if released.contains(&t.name) {
                t.lock = LockState::Released;
            } else if kept.iter().any(|k| k.target == t.name) {
                t.lock = LockState::Kept;
            }
        }
        self.kept_locks = kept.to_vec();
        // A resume's confirmations still on their way change nothing once it is over.
        self.resuming = false;
        self.confirming.clear();
        self.stage = Stage::Finished;
        if let Some(outcome) = self.outcome {
            fx.push(Effect::Finish { outcome });
        }
    }

    /// The outcome is known: release the locks this session holds, then finish once the
    /// drivers say what became of them.
    pub(super) fn finish(&mut self, outcome: Outcome, fx: &mut Vec<Effect>) {
        self.question = None;
        self.after_stop = None;
        self.outcome = Some(outcome);
        if !self.plan.probes.is_empty() {
            fx.push(Effect::StopProbes);
        }
        self.stop_following(fx);
        let mut held = self.held_locks();
        // Ended while a resume still confirmed its locks: those are released too (the release
        // keeps one another session holds now, and says so), and their answers change nothing.
        if self.resuming {
            self.resuming = false;
            held.append(&mut self.confirming);
        }
        if held.is_empty() {
            self.stage = Stage::Finished;
            fx.push(Effect::Finish { outcome });
        } else {
            self.stage = Stage::Closing;
            fx.push(Effect::ReleaseLocks { targets: held });
        }
    }
}
