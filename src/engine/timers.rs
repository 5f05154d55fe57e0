//! Timers as the engine hears them fire: a run's timeout, a check's next attempt, the watch's
//! end (held over while a rule is in doubt), `auto_rollback`, the baseline's longest wait.

use super::event::{Effect, Timer};
use super::release::{Question, Release, RunStatus, Stage};

impl Release {
    pub(super) fn timer(&mut self, timer: &Timer, fx: &mut Vec<Effect>) {
        match timer {
            Timer::Timeout { run } => {
                if self.run_is_live(run) {
                    let limit = self.list(run.list)[run.step].timeout_ms;
                    let why = format!(
                        "timed out after {}",
                        humantime::format_duration(std::time::Duration::from_millis(limit))
                    );
                    // It fails once the host confirms it stopped, not before.
                    self.stop_run(run, Some(why), fx);
                }
            }
            Timer::Retry { run } => {
                let due = self.run_state(run).is_some_and(|t| {
                    t.status == RunStatus::RetryWaiting && t.attempt + 1 == run.attempt
                });
                // A timer from a journal may name a step or target this release does not have.
                let t = self
                    .states(run.list)
                    .get(run.step)
                    .and_then(|s| s.targets.iter().position(|t| t.target == run.target));
                // Nothing new starts while the release is stopping.
                if let (true, Some(t), None) = (due, t, self.after_stop) {
                    self.start_run(run.list, run.step, t, fx);
                }
            }
            Timer::WatchEnd => {
                if !matches!(self.stage, Stage::Watching { .. }) {
                    return;
                }
                // An extension asked for meanwhile holds the watch that much longer.
                let more = std::mem::take(&mut self.watch.extension_ms);
                if more > 0 {
                    fx.push(Effect::StartTimer {
                        timer: Timer::WatchEnd,
                        after_ms: more,
                    });
                } else if self.overtime_for_doubt(fx) {
                    // A rule in doubt holds the window open (once, by its own duration).
                } else if self.question.is_none() {
                    // The watch ran its time: a person says the release is good, or rolls it back.
                    self.question = Some(Question::FinalGate);
                    fx.push(Effect::Ask);
                }
            }
            Timer::Baseline => {
                if self.baseline_wait.is_some() {
                    let waited = self
                        .baseline_progress()
                        .map(|p| p.words())
                        .unwrap_or_default();
                    let why = format!("the wait for the baseline ran out ({waited})");
                    self.end_baseline_wait(Some(why), fx);
                }
            }
            Timer::AutoRollback => {
                if let Some(Question::RollbackProposal { .. }) = self.question
                    && self.watch.auto_rollback_at.take().is_some()
                {
                    self.auto_rollback(fx);
                }
            }
            Timer::LogsSettle => self.logs_settle_timer(fx),
            Timer::Analysis { step } => self.analysis_timer(*step, fx),
        }
    }
}
