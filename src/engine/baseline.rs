//! The baseline before anything changes: probes start at connect, and the first step that
//! changes a host waits until every `x baseline` rule's signal has the readings it needs (two
//! at least, spanning `[watch] baseline` when set), or until the wait's limit, or until a
//! person skips it (recorded). A rule left without a baseline says so all through the watch.

use super::event::{Effect, Millis, StepList, Timer};
use super::release::{Release, StepStatus};
use super::watch::metric;
use super::watch_rule::{Condition, Signal, Threshold};

/// Readings a baseline needs at least: a rate needs two scrapes, a mean more than one value.
pub const BASELINE_READINGS: usize = 2;

/// The longest the first change waits for a baseline (more if `[watch] baseline` asks more).
pub const BASELINE_WAIT_MS: Millis = 60_000;

/// The first change waiting for its baseline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaselineWait {
    pub step: usize,
    pub since: Millis,
}

/// How far the baseline is: readings had and needed, and the time they span against the time
/// asked for (`[watch] baseline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaselineProgress {
    pub readings: usize,
    pub needed: usize,
    pub span_ms: Millis,
    pub wanted_ms: Millis,
}

impl BaselineProgress {
    pub fn done(&self) -> bool {
        self.readings >= self.needed && self.span_ms >= self.wanted_ms
    }

    /// "baseline 1/2 readings", "baseline 2/2 readings, 20s of 1m".
    pub fn words(&self) -> String {
        let mut out = format!("baseline {}/{} readings", self.readings, self.needed);
        if self.wanted_ms > 0 {
            out.push_str(&format!(
                ", {}s of {}s",
                self.span_ms / 1000,
                self.wanted_ms / 1000
            ));
        }
        out
    }
}

impl Release {
    /// The signals the watch compares with a baseline.
    fn baseline_signals(&self) -> Vec<Signal> {
        let Some(watch) = &self.plan.watch else {
            return Vec::new();
        };
        let mut out: Vec<Signal> = watch
            .rollback_on
            .iter()
            .filter(|r| {
                matches!(
                    r.condition,
                    Condition::Compare {
                        threshold: Threshold::TimesBaseline(_),
                        ..
                    }
                )
            })
            .map(|r| r.signal)
            .collect();
        out.dedup();
        out
    }

    /// Where the baseline stands now; `None` when no rule needs one (or nothing is probed).
    pub fn baseline_progress(&self) -> Option<BaselineProgress> {
        let signals = self.baseline_signals();
        if signals.is_empty() || self.plan.probes.is_empty() {
            return None;
        }
        let wanted_ms = self
            .plan
            .watch
            .as_ref()
            .and_then(|w| w.baseline_ms)
            .unwrap_or(0);
        // The least any signal has: every rule needs its own.
        let mut least: Option<(usize, Millis)> = None;
        for signal in signals {
            let times: Vec<Millis> = self
                .watch
                .metrics
                .iter()
                .flat_map(|s| s.history.iter())
                .filter(|(_, r)| metric(r, signal).is_some())
                .map(|(at, _)| *at)
                .collect();
            let span = match (times.iter().min(), times.iter().max()) {
                (Some(a), Some(b)) => b - a,
                _ => 0,
            };
            let here = (times.len(), span);
            least = Some(match least {
                Some((n, s)) => (n.min(here.0), s.min(here.1)),
                None => here,
            });
        }
        let (readings, span_ms) = least.unwrap_or((0, 0));
        Some(BaselineProgress {
            readings,
            needed: BASELINE_READINGS,
            span_ms,
            wanted_ms,
        })
    }

    /// Before the first change: wait for the baseline if it is not there yet. True when the
    /// step waits (it starts once the baseline is there, the wait runs out, or it is skipped).
    pub(super) fn wait_for_baseline(&mut self, step: usize, fx: &mut Vec<Effect>) -> bool {
        if self.baseline_waited || self.deploy_started() {
            return false;
        }
        let Some(progress) = self.baseline_progress() else {
            return false;
        };
        if progress.done() {
            return false;
        }
        let limit = progress.wanted_ms.saturating_mul(2).max(BASELINE_WAIT_MS);
        self.baseline_wait = Some(BaselineWait {
            step,
            since: self.now,
        });
        self.states_mut(StepList::Main)[step].status = StepStatus::Waiting;
        fx.push(Effect::StartTimer {
            timer: Timer::Baseline,
            after_ms: limit,
        });
        true
    }

    /// A metrics sample came: the baseline may be complete.
    pub(super) fn baseline_sampled(&mut self, fx: &mut Vec<Effect>) {
        if self.baseline_wait.is_some() && self.baseline_progress().is_none_or(|p| p.done()) {
            fx.push(Effect::CancelTimer {
                timer: Timer::Baseline,
            });
            self.end_baseline_wait(None, fx);
        }
    }

    /// The wait ends: complete, run out (`why`), or skipped by a person (`why`). The step
    /// that waited starts.
    pub(super) fn end_baseline_wait(&mut self, why: Option<String>, fx: &mut Vec<Effect>) {
        let Some(wait) = self.baseline_wait.take() else {
            return;
        };
        self.baseline_waited = true;
        self.baseline_short = why;
        self.enter(StepList::Main, wait.step, fx);
    }
}
