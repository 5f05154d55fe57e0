//! The watch window's evidence and its rules: health and metrics samples as they arrive, the
//! baseline they had before the first change, and the `rollback_on` rules evaluated on every
//! sample. A rule that holds for its duration during the watch proposes a rollback; the person
//! decides (or `auto_rollback`, visibly, when nobody answers in time).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::event::{Effect, Millis, Timer};
use super::judge::Judged;
use super::plan::StepKind;
use super::release::{Question, Release, Stage};
use super::watch_rule::Signal;

/// Samples kept per series: half an hour at one every five seconds.
pub const SAMPLES_KEPT: usize = 360;

/// One health check's answer, as the probe saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReading {
    pub ok: bool,
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// Why it is not ok, in words ("503, expected 200", "no answer after 5s").
    pub error: Option<String>,
    /// HTTPS: days until the server's certificate expires.
    pub cert_days: Option<i64>,
}

/// What one metrics scrape says, derived from the previous one (rates between scrapes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsReading {
    /// Errors over requests between the two scrapes, as a fraction.
    pub error_ratio: Option<f64>,
    pub request_rate: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p90_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// The scrape failed: why.
    pub error: Option<String>,
}

/// A health check as reached through one target (`via`), or from the laptop (`None`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HealthSeries {
    pub check: String,
    pub via: Option<String>,
    pub last: HealthReading,
    pub last_at: Millis,
    /// Since when it has been failing without a pass in between.
    pub failing_since: Option<Millis>,
    pub history: VecDeque<(Millis, bool, u64)>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricSeries {
    pub source: String,
    pub via: Option<String>,
    pub history: VecDeque<(Millis, MetricsReading)>,
}

/// Where a rule stands.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RuleState {
    /// The signal's value at the last sample, in the rule's unit (%, s, /min, ×baseline's base).
    pub value: Option<f64>,
    /// Since when the condition has held, during the watch.
    pub breaching_since: Option<Millis>,
    /// The values seen while it held, for the proposal's evidence: each with the host it was
    /// measured on, oldest first.
    pub breach_values: Vec<Evidence>,
    /// It proposed a rollback that is still open or was answered "keep watching".
    pub fired_at: Option<Millis>,
    /// Why it cannot judge now, and since when.
    pub cannot: Option<super::judge::CannotJudge>,
    pub cannot_since: Option<Millis>,
    /// Samples of its signal looked at since the hold began, and how many of them were clean.
    pub samples: u32,
    pub clean: u32,
    /// It judged (ok or breaching) at least once during the watch.
    pub judged_in_watch: bool,
}

/// Which signals an event brought a new sample of: a hold counts samples of its own signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fresh {
    Health,
    Metrics,
    Logs,
}

impl Fresh {
    fn feeds(self, signal: Signal) -> bool {
        match self {
            Fresh::Health => signal == Signal::Health,
            Fresh::Logs => matches!(signal, Signal::LogErrors | Signal::NewErrors),
            Fresh::Metrics => matches!(
                signal,
                Signal::ErrorRatio | Signal::Latency { .. } | Signal::RequestRate
            ),
        }
    }
}

/// One value a rule's signal had on one host (or source) while the rule held.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    /// When it was measured: the sample's time; for log counts, when they were counted.
    pub at: Millis,
    /// Where: the target the probe went through (`via`), the source's or check's name when
    /// it was probed from here, or the hosts a total spans joined with `+` (`web-1+web-2`).
    pub from: String,
    /// In the rule's unit, as [`RuleState::value`].
    pub value: f64,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WatchState {
    pub health: Vec<HealthSeries>,
    pub metrics: Vec<MetricSeries>,
    pub rules: Vec<RuleState>,
    /// When the open rollback proposal rolls back by itself, if `auto_rollback` is set.
    pub auto_rollback_at: Option<Millis>,
    /// Extensions (`+5m`) asked for since the watch's timer was started.
    pub extension_ms: u64,
    /// The window was held over because a rule was in doubt when its time ran out: in words
    /// ("watch extended 15s: error_ratio > 5% for 15s holding"), and since when (cleared once
    /// the doubt resolved).
    pub overtime: Option<String>,
    pub overtime_from: Option<Millis>,
}

/// How many of a breaching rule's values its evidence keeps.
const BREACH_VALUES_KEPT: usize = 240;

fn push_capped<T>(history: &mut VecDeque<T>, item: T) {
    if history.len() == SAMPLES_KEPT {
        history.pop_front();
    }
    history.push_back(item);
}

impl Release {
    /// When the first `run` step started: samples before it are the baseline.
    pub fn deploy_started_at(&self) -> Option<Millis> {
        self.plan
            .steps
            .iter()
            .zip(&self.steps)
            .filter(|(p, _)| p.kind == StepKind::Run)
            .filter_map(|(_, s)| s.targets.iter().filter_map(|t| t.started_at).min())
            .min()
    }

    pub(super) fn health_sampled(
        &mut self,
        check: &str,
        via: Option<&str>,
        reading: &HealthReading,
        fx: &mut Vec<Effect>,
    ) {
        let now = self.now;
        let series = match self
            .watch
            .health
            .iter_mut()
            .position(|s| s.check == check && s.via.as_deref() == via)
        {
            Some(i) => &mut self.watch.health[i],
            None => {
                self.watch.health.push(HealthSeries {
                    check: check.to_string(),
                    via: via.map(str::to_string),
                    last: reading.clone(),
                    last_at: now,
                    failing_since: None,
                    history: VecDeque::new(),
                });
                self.watch.health.last_mut().expect("just pushed")
            }
        };
        series.failing_since = match (reading.ok, series.failing_since) {
            (true, _) => None,
            (false, Some(since)) => Some(since),
            (false, None) => Some(now),
        };
        series.last = reading.clone();
        series.last_at = now;
        push_capped(&mut series.history, (now, reading.ok, reading.latency_ms));
        self.evaluate_rules(Fresh::Health, fx);
    }

    pub(super) fn metrics_sampled(
        &mut self,
        source: &str,
        via: Option<&str>,
        reading: &MetricsReading,
        fx: &mut Vec<Effect>,
    ) {
        let now = self.now;
        let series = match self
            .watch
            .metrics
            .iter_mut()
            .position(|s| s.source == source && s.via.as_deref() == via)
        {
            Some(i) => &mut self.watch.metrics[i],
            None => {
                self.watch.metrics.push(MetricSeries {
                    source: source.to_string(),
                    via: via.map(str::to_string),
                    history: VecDeque::new(),
                });
                self.watch.metrics.last_mut().expect("just pushed")
            }
        };
        push_capped(&mut series.history, (now, unsigned_zero(reading)));
        self.evaluate_rules(Fresh::Metrics, fx);
        self.baseline_sampled(fx);
    }

    /// A signal's value now: the worst across series (the highest error ratio or latency, the
    /// total request rate), `None` when nothing measured it yet.
    pub fn signal_now(&self, signal: Signal) -> Option<f64> {
        match signal {
            Signal::Health => {
                let any = !self.watch.health.is_empty();
                any.then(|| {
                    let failing = self.watch.health.iter().any(|s| !s.last.ok);
                    if failing { 1.0 } else { 0.0 }
                })
            }
            Signal::LogErrors => {
                let following = !self.plan.logs.is_empty();
                following.then(|| self.log_errors_per_min(None, self.now))
            }
            Signal::NewErrors => {
                let following = !self.plan.logs.is_empty();
                following.then(|| self.signatures.new_count() as f64)
            }
            _ => {
                let values = self.watch.metrics.iter().filter_map(|s| {
                    let (_, reading) = s.history.back()?;
                    metric(reading, signal)
                });
                if signal == Signal::RequestRate {
                    values.reduce(|a, b| a + b)
                } else {
                    values.reduce(f64::max)
                }
            }
        }
    }

    /// The mean of a metric signal over the samples taken before the first change.
    pub fn baseline(&self, signal: Signal) -> Option<f64> {
        let deploy = self.deploy_started_at()?;
        let before: Vec<f64> = self
            .watch
            .metrics
            .iter()
            .flat_map(|s| s.history.iter())
            // A sample at the very moment of the first change came before it (it may be what
            // completed the baseline the change waited for).
            .filter(|(at, _)| *at <= deploy)
            .filter_map(|(_, r)| metric(r, signal))
            .collect();
        (!before.is_empty()).then(|| before.iter().sum::<f64>() / before.len() as f64)
    }

    /// Every rule against the latest samples; during the watch, one held long enough proposes
    /// a rollback (once: answering "keep watching" re-arms it).
    pub(super) fn evaluate_rules(&mut self, fresh: Fresh, fx: &mut Vec<Effect>) {
        let Some(watch) = &self.plan.watch else {
            return;
        };
        let (rules, auto_rollback_ms) = (watch.rollback_on.clone(), watch.auto_rollback_ms);
        self.watch.rules.resize(rules.len(), RuleState::default());
        let watching = self.judging();
        let now = self.now;
        for (i, rule) in rules.iter().enumerate() {
            let judged = self.judge_rule(rule);
            let new_sample = fresh.feeds(rule.signal);
            let tolerate = rule.tolerate.unwrap_or(super::watch_rule::DEFAULT_TOLERATE);
            let state = &mut self.watch.rules[i];
            let holds = match judged {
                Judged::Cannot(why, value) => {
                    // Unable to judge: the hold (if any) neither grows nor ends.
                    state.value = value;
                    if state.cannot.as_ref() != Some(&why) {
                        state.cannot_since = Some(now);
                    }
                    state.cannot = Some(why);
                    continue;
                }
                Judged::Holds(value) => {
                    state.value = Some(value);
                    true
                }
                Judged::Clean(value) => {
                    state.value = value;
                    false
                }
            };
            state.cannot = None;
            state.cannot_since = None;
            if !watching {
                state.breaching_since = None;
                state.breach_values.clear();
                continue;
            }
            state.judged_in_watch = true;
            if !holds {
                // One clean sample inside a hold is noise (or `tolerate N` of them); more end it.
                if state.breaching_since.is_some() && new_sample {
                    state.samples += 1;
                    state.clean += 1;
                }
                if state.breaching_since.is_none() || state.clean > tolerate {
                    state.breaching_since = None;
                    state.breach_values.clear();
                    state.samples = 0;
                    state.clean = 0;
                }
                continue;
            }
            if state.breaching_since.is_none() {
                state.samples = 0;
                state.clean = 0;
            }
            if new_sample {
                state.samples += 1;
            }
            let since = *state.breaching_since.get_or_insert(now);
            self.keep_evidence(i, rule, since);
            let sustained = u64::try_from(rule.sustained.as_millis()).unwrap_or(u64::MAX);
            // A rate rule also holds over its whole window: errors over requests of every
            // sample in it, not one scrape's.
            let window_holds = self.window_holds(rule);
            let state = &mut self.watch.rules[i];
            if now.saturating_sub(since) >= sustained
                && window_holds
                && state.fired_at.is_none()
                && self.question.is_none()
                && self.after_stop.is_none()
            {
                state.fired_at = Some(now);
                self.propose_rollback(i, auto_rollback_ms, fx);
            }
        }
        self.doubt_resolved(fx);
    }

    /// Rules are evaluated on every event; the evidence keeps each host's value when a new
    /// sample changed it (or 5 s on), measured since the rule began to hold, and the latest few
    /// hundred of them.
    fn keep_evidence(&mut self, i: usize, rule: &super::watch_rule::WatchRule, since: Millis) {
        for reading in self.rule_readings(rule) {
            let state = &mut self.watch.rules[i];
            let last = state
                .breach_values
                .iter()
                .rev()
                .find(|e| e.from == reading.from);
            let new = last.is_none_or(|last| {
                reading.at > last.at
                    && (reading.value != last.value || reading.at - last.at >= 5_000)
            });
            if reading.at < since || !new {
                continue;
            }
            if state.breach_values.len() >= BREACH_VALUES_KEPT {
                state.breach_values.remove(0);
            }
            let at = state.breach_values.partition_point(|e| e.at <= reading.at);
            state.breach_values.insert(at, reading);
        }
    }

    /// Rule `i` held for its whole duration: a rollback is proposed, and with `auto_rollback`
    /// it rolls back by itself unless someone answers in time.
    fn propose_rollback(&mut self, i: usize, auto_rollback_ms: Option<u64>, fx: &mut Vec<Effect>) {
        if let (Some(_), Stage::Running { step, .. }) = (self.analysing(), self.stage) {
            self.judged(step, super::event::BatchVerdict::Breached, fx);
        }
        self.question = Some(Question::RollbackProposal { rule: i });
        fx.push(Effect::Ask);
        if let Some(after_ms) = auto_rollback_ms {
            self.watch.auto_rollback_at = Some(self.now + after_ms);
            fx.push(Effect::StartTimer {
                timer: Timer::AutoRollback,
                after_ms,
            });
        }
    }

    /// "Keep watching": the proposal closes with the person's reason and its rule re-arms, so
    /// it proposes again only after holding for its whole duration once more.
    pub(super) fn keep_watching(&mut self, rule: usize, fx: &mut Vec<Effect>) {
        self.question = None;
        if let Some(state) = self.watch.rules.get_mut(rule) {
            *state = RuleState {
                value: state.value,
                ..RuleState::default()
            };
        }
        if self.watch.auto_rollback_at.take().is_some() {
            fx.push(Effect::CancelTimer {
                timer: Timer::AutoRollback,
            });
        }
        // The watch's time ran out while the proposal was open: its end comes now.
        if matches!(self.stage, Stage::Watching { until } if self.now >= until) {
            self.question = Some(Question::FinalGate);
            fx.push(Effect::Ask);
        }
        self.analysis_overdue(fx);
    }

    /// A new judgement begins (a batch's analysis, the watch): every rule's hold, breach and
    /// proposal from before is forgotten; its last value stays.
    pub(super) fn fresh_judgement(&mut self) {
        for state in &mut self.watch.rules {
            *state = RuleState {
                value: state.value,
                ..RuleState::default()
            };
        }
    }
}

impl Release {
    /// Nobody answered the proposal within `auto_rollback`: gonogo rolls back, recorded as its
    /// own decision, including past irreversible steps (what can be undone is undone).
    pub(super) fn auto_rollback(&mut self, fx: &mut Vec<Effect>) {
        let acknowledged = self.irreversible_done();
        let decision = super::event::Decision::ConfirmRollback {
            acknowledged: acknowledged.clone(),
        };
        let waited = self
            .plan
            .watch
            .as_ref()
            .and_then(|w| w.auto_rollback_ms)
            .unwrap_or_default();
        self.decisions.push(super::release::DecisionRecord {
            at: self.now,
            by: "auto_rollback".into(),
            actor: super::event::Actor::AutoRollback,
            decision,
            note: Some(format!(
                "nobody answered the rollback proposal within {}s",
                waited / 1000
            )),
            question: self.question.clone(),
        });
        let question = self.question.take();
        self.offer_rollback(question, Some(&acknowledged), fx);
    }
}

pub(super) fn metric(reading: &MetricsReading, signal: Signal) -> Option<f64> {
    match signal {
        Signal::ErrorRatio => reading.error_ratio,
        Signal::RequestRate => reading.request_rate,
        Signal::Latency { percentile } => match percentile {
            50 => reading.latency_p50_ms,
            90 => reading.latency_p90_ms,
            95 => reading.latency_p95_ms,
            99 => reading.latency_p99_ms,
            _ => None,
        },
        Signal::Health | Signal::LogErrors | Signal::NewErrors => None,
    }
}

/// A reading with no negative zero in it: a sum over no series is `-0.0` in Rust, and journals
/// written before the probe said `0.0` for it still carry one.
fn unsigned_zero(reading: &MetricsReading) -> MetricsReading {
    let zero = |v: Option<f64>| v.map(|v| v + 0.0);
    MetricsReading {
        error_ratio: zero(reading.error_ratio),
        request_rate: zero(reading.request_rate),
        latency_p50_ms: zero(reading.latency_p50_ms),
        latency_p90_ms: zero(reading.latency_p90_ms),
        latency_p95_ms: zero(reading.latency_p95_ms),
        latency_p99_ms: zero(reading.latency_p99_ms),
        error: reading.error.clone(),
    }
}
