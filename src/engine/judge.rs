//! How a watch rule judges: ok, holding (for how long, over how many samples), breached, or
//! unable to judge and why (no baseline, no data, its source failing). A rule that cannot judge
//! is never said to be ok.

use super::event::Millis;
use super::release::{Release, Stage};
use super::watch::metric;
use super::watch_rule::{Condition, Op, Signal, Threshold, WatchRule};

/// A sample older than this is no data: the source stopped answering or was never asked.
pub const STALE_MS: Millis = 30_000;

/// Why a rule cannot judge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CannotJudge {
    /// An `x baseline` rule with no sample from before the first change.
    NoBaseline,
    /// Nothing measured the signal (no series yet, or its last sample is old).
    NoData,
    /// Its source answers with errors: the scrape failed, the log tails are down.
    SourceFailing(String),
    /// A `control` rule during a batch's analysis with nothing fresh from the control hosts.
    NoControl,
    /// A `control` rule outside a batch's analysis: every host runs the same release.
    NoControlHosts,
}

impl CannotJudge {
    pub fn words(&self) -> String {
        match self {
            CannotJudge::NoBaseline => "no baseline".into(),
            CannotJudge::NoData => "no data".into(),
            CannotJudge::SourceFailing(why) => format!("source failing: {why}"),
            CannotJudge::NoControl => "no control data".into(),
            CannotJudge::NoControlHosts => {
                "no control hosts: judged during a batch's analysis".into()
            }
        }
    }
}

/// What one look at a rule's signal says.
#[derive(Debug, Clone, PartialEq)]
pub enum Judged {
    Holds(f64),
    Clean(Option<f64>),
    Cannot(CannotJudge, Option<f64>),
}

/// Where a rule stands, as every screen and record says it.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleStand {
    /// Before the watch: the rule is measured (or not yet) but judges nothing.
    NotWatching {
        measured: bool,
    },
    Ok,
    /// Breaching, not yet for its whole duration: `samples` looked at since, `clean` of them
    /// within the limit (tolerated).
    Holding {
        held_ms: u64,
        of_ms: u64,
        samples: u32,
        clean: u32,
    },
    /// It held its duration and proposed a rollback.
    Breached,
    CannotJudge {
        why: CannotJudge,
        since_ms: u64,
    },
    /// A rule against the control, outside a batch's analysis: it judges nothing now.
    AnalysisOnly,
}

impl RuleStand {
    /// In words: "ok", "holding 12s of 15s (5 of 6 samples)", "breached", "cannot judge: no
    /// baseline for 40s".
    pub fn words(&self) -> String {
        let secs = |ms: u64| {
            if ms < 10_000 {
                format!("{}.{}s", ms / 1000, ms % 1000 / 100)
            } else {
                format!("{}s", ms / 1000)
            }
        };
        match self {
            RuleStand::NotWatching { measured: true } => "measured; judged during the watch".into(),
            RuleStand::NotWatching { measured: false } => "no data yet".into(),
            RuleStand::Ok => "ok".into(),
            RuleStand::Holding {
                held_ms,
                of_ms,
                samples,
                clean,
            } => {
                // How many of the samples since it began breach: a tolerated clean one shows.
                let over = match samples {
                    0 => String::new(),
                    n => format!(" ({}/{n})", n - clean),
                };
                format!("holding {} of {}{over}", secs(*held_ms), secs(*of_ms))
            }
            RuleStand::Breached => "breached: rollback proposed".into(),
            RuleStand::AnalysisOnly => "judged during a batch's analysis only".into(),
            RuleStand::CannotJudge { why, since_ms } => {
                format!("cannot judge: {} for {}", why.words(), secs(*since_ms))
            }
        }
    }

    /// A rule in doubt: holding, or unable to judge. The watch never ends on one.
    pub fn in_doubt(&self) -> bool {
        matches!(
            self,
            RuleStand::Holding { .. } | RuleStand::CannotJudge { .. }
        )
    }
}

impl Release {
    /// Looks at rule `rule`'s signal now.
    pub fn judge_rule(&self, rule: &WatchRule) -> Judged {
        let now = self.now;
        let fresh = |at: Millis| now.saturating_sub(at) <= STALE_MS;
        if let Condition::Failing = rule.condition {
            let series: Vec<_> = self
                .watch
                .health
                .iter()
                .filter(|s| fresh(s.last_at) && self.in_scope(s.via.as_deref()))
                .collect();
            if series.is_empty() {
                return Judged::Cannot(CannotJudge::NoData, None);
            }
            let failing = series.iter().any(|s| s.failing_since.is_some());
            return match failing {
                true => Judged::Holds(1.0),
                false => Judged::Clean(Some(0.0)),
            };
        }
        let Condition::Compare { op, threshold } = rule.condition else {
            return Judged::Clean(None);
        };
        let measured = match rule.signal {
            Signal::LogErrors | Signal::NewErrors => match self.logs_measured(rule.signal) {
                Ok(measured) => measured,
                Err(why) => return Judged::Cannot(why, None),
            },
            _ => {
                let mut failing = None;
                let mut values = Vec::new();
                let in_scope = self.watch.metrics.iter();
                for s in in_scope.filter(|s| self.in_scope(s.via.as_deref())) {
                    let Some((at, reading)) = s.history.back() else {
                        continue;
                    };
                    if !fresh(*at) {
                        continue;
                    }
                    if let Some(e) = &reading.error {
                        failing.get_or_insert(e.clone());
                        continue;
                    }
                    values.extend(metric(reading, rule.signal));
                }
                if values.is_empty() {
                    let why = failing.map_or(CannotJudge::NoData, CannotJudge::SourceFailing);
                    return Judged::Cannot(why, None);
                }
                if rule.signal == Signal::RequestRate {
                    Some(values.iter().sum())
                } else {
                    values.into_iter().reduce(f64::max)
                }
            }
        };
        let Some(measured) = measured else {
            return Judged::Cannot(CannotJudge::NoData, None);
        };
        let value = rule.compared(measured);
        match self.past_limit(rule, op, threshold, value) {
            Err(why) => Judged::Cannot(why, Some(value)),
            Ok(true) => Judged::Holds(value),
            Ok(false) => Judged::Clean(Some(value)),
        }
    }

    /// A log signal now: during a batch's analysis, the changed hosts' errors only; why not
    /// when no log tail reads.
    fn logs_measured(&self, signal: Signal) -> Result<Option<f64>, CannotJudge> {
        let now = self.now;
        if self.plan.logs.is_empty() {
            return Err(CannotJudge::NoData);
        }
        let tails = &self.logs.tails;
        let down =
            |f: &&super::logs::TailState| matches!(f.status, super::logs::TailStatus::Down { .. });
        if !tails.is_empty() && tails.iter().all(|f| down(&f)) {
            let why = "no log tail is reading".to_string();
            return Err(CannotJudge::SourceFailing(why));
        }
        Ok(match (signal, self.analysing()) {
            (Signal::LogErrors, Some(batch)) => Some(
                (batch.changed.iter())
                    .map(|t| self.log_errors_per_min(Some(t), now))
                    .sum(),
            ),
            _ => self.signal_now(signal),
        })
    }

    /// Whether `value` (in the rule's unit) is past the rule's limit; why not known when the
    /// limit is a multiple of a baseline never taken, or of a control with nothing measured.
    fn past_limit(
        &self,
        rule: &WatchRule,
        op: Op,
        threshold: Threshold,
        value: f64,
    ) -> Result<bool, CannotJudge> {
        let control = || match self.analysing() {
            None => Err(CannotJudge::NoControlHosts),
            Some(_) => self
                .control_value(rule)
                .map(|c| rule.compared(c))
                .ok_or(CannotJudge::NoControl),
        };
        let limit = match threshold {
            Threshold::Percent(n)
            | Threshold::Seconds(n)
            | Threshold::PerMinute(n)
            | Threshold::Count(n) => n,
            Threshold::TimesBaseline(x) => {
                let baseline = self.baseline(rule.signal).ok_or(CannotJudge::NoBaseline)?;
                x * rule.compared(baseline)
            }
            Threshold::OverControl(n) => control()? + n,
            Threshold::TimesControl(x) => x * control()?,
        };
        Ok(match op {
            Op::Above => value > limit,
            Op::AtLeast => value >= limit,
            Op::Below => value < limit,
            Op::AtMost => value <= limit,
        })
    }

    /// The control's value of a rule's signal now, as measured: during a batch's analysis,
    /// the mean over the control hosts' fresh samples (log errors: their total per host).
    pub fn control_value(&self, rule: &WatchRule) -> Option<f64> {
        let batch = self.analysing()?;
        let now = self.now;
        let control = |via: Option<&str>| via.is_some_and(|v| batch.control.iter().any(|c| c == v));
        let values: Vec<f64> = match rule.signal {
            Signal::Health | Signal::NewErrors => return None,
            Signal::LogErrors => {
                let tails = self.plan.logs.iter().flat_map(|l| &l.targets);
                let read = |t: &String| tails.clone().any(|x| x == t);
                (batch.control.iter())
                    .filter(|t| read(t))
                    .map(|t| self.log_errors_per_min(Some(t), now))
                    .collect()
            }
            signal => (self.watch.metrics.iter())
                .filter(|s| control(s.via.as_deref()))
                .filter_map(|s| s.history.back())
                .filter(|(at, r)| now.saturating_sub(*at) <= STALE_MS && r.error.is_none())
                .filter_map(|(_, r)| metric(r, signal))
                .collect(),
        };
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// Where rule `i` of the watch stands now.
    pub fn rule_stand(&self, i: usize) -> RuleStand {
        let Some(rule) = self.plan.watch.as_ref().and_then(|w| w.rollback_on.get(i)) else {
            return RuleStand::NotWatching { measured: false };
        };
        let default = super::watch::RuleState::default();
        let state = self.watch.rules.get(i).unwrap_or(&default);
        let watching = self.judging();
        if state.fired_at.is_some() {
            return RuleStand::Breached;
        }
        if rule.against_control() && self.analysing().is_none() {
            return RuleStand::AnalysisOnly;
        }
        // Judged now, not only when a sample came: a source that went quiet is no data.
        let live = match self.judge_rule(rule) {
            Judged::Cannot(why, _) => Some(why),
            _ => None,
        };
        if let Some(why) = live
            && (watching || why == CannotJudge::NoBaseline)
        {
            let since = match &state.cannot {
                Some(was) if *was == why => state.cannot_since,
                _ => None,
            };
            let since = since.or(self.watching_since()).unwrap_or(self.now);
            return RuleStand::CannotJudge {
                why,
                since_ms: self.now.saturating_sub(since),
            };
        }
        if !watching {
            return RuleStand::NotWatching {
                measured: state.value.is_some(),
            };
        }
        match state.breaching_since {
            Some(since) => RuleStand::Holding {
                held_ms: self.now.saturating_sub(since),
                of_ms: u64::try_from(rule.sustained.as_millis()).unwrap_or(u64::MAX),
                samples: state.samples,
                clean: state.clean,
            },
            None => RuleStand::Ok,
        }
    }
}

impl Release {
    /// When the watch began, if it did: the end of the last step before it.
    pub fn watching_since(&self) -> Option<Millis> {
        if self.analysing().is_some() {
            return self.rollout.analysis_from;
        }
        let Stage::Watching { .. } = self.stage else {
            return None;
        };
        self.steps
            .iter()
            .zip(&self.plan.steps)
            .filter(|(_, p)| !p.after_watch)
            .filter_map(|(s, _)| s.finished_at)
            .max()
    }

    /// The rules in doubt now (holding, or unable to judge), with where each stands.
    pub fn rules_in_doubt(&self) -> Vec<(String, RuleStand)> {
        let Some(watch) = &self.plan.watch else {
            return Vec::new();
        };
        // A control rule judges during a batch's analysis only: in the watch it is no doubt.
        let analysing = self.analysing().is_some();
        (0..watch.rollback_on.len())
            .filter(|&i| analysing || !watch.rollback_on[i].against_control())
            .map(|i| (watch.rollback_on[i].text.clone(), self.rule_stand(i)))
            .filter(|(_, stand)| stand.in_doubt() || matches!(stand, RuleStand::Breached))
            .collect()
    }

    /// What stands between the watch and a clean verdict: each rule not ok (in words), each
    /// rule that could not judge during the whole watch, and the new error signatures. Empty:
    /// the watch held, and `--yes` may answer the final gate.
    pub fn verdict_doubts(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .rules_in_doubt()
            .into_iter()
            .map(|(text, stand)| format!("{text}: {}", stand.words()))
            .collect();
        if let Some(watch) = &self.plan.watch {
            for (i, rule) in watch.rollback_on.iter().enumerate() {
                let judged = self.watch.rules.get(i).is_some_and(|s| s.judged_in_watch);
                let said = out.iter().any(|o| o.starts_with(&rule.text));
                let control = rule.against_control();
                if watch.require_judgement && !judged && !said && !control {
                    out.push(format!(
                        "{}: could not judge during the whole watch",
                        rule.text
                    ));
                }
            }
        }
        let new = self.signatures.new_count();
        if new > 0 {
            out.push(format!("{new} new error signature(s) since the deploy"));
        }
        out
    }

    /// The watch's time ran out while a rule is in doubt: the window goes on, once, by the
    /// longest such rule's duration (at least 5 s), and says so. False when nothing is in doubt
    /// or the window was already held over once.
    pub(super) fn overtime_for_doubt(&mut self, fx: &mut Vec<super::event::Effect>) -> bool {
        if self.watch.overtime.is_some() || self.question.is_some() {
            return false;
        }
        let doubts: Vec<(String, RuleStand)> = self
            .rules_in_doubt()
            .into_iter()
            .filter(|(_, s)| s.in_doubt())
            .collect();
        if doubts.is_empty() {
            return false;
        }
        let rules = self
            .plan
            .watch
            .as_ref()
            .map(|w| w.rollback_on.clone())
            .unwrap_or_default();
        let longest = doubts
            .iter()
            .filter_map(|(text, _)| rules.iter().find(|r| r.text == *text))
            .map(|r| u64::try_from(r.sustained.as_millis()).unwrap_or(u64::MAX))
            .max()
            .unwrap_or(0)
            .max(5_000);
        let said: Vec<String> = doubts
            .iter()
            .map(|(text, stand)| match stand {
                RuleStand::Holding { .. } => format!("{text} holding"),
                other => format!("{text}: {}", other.words()),
            })
            .collect();
        let secs = longest / 1000;
        self.watch.overtime = Some(format!("watch extended {secs}s: {}", said.join("; ")));
        self.watch.overtime_from = Some(self.now);
        if let Stage::Watching { until } = self.stage {
            self.stage = Stage::Watching {
                until: until.max(self.now) + longest,
            };
        }
        fx.push(super::event::Effect::StartTimer {
            timer: super::event::Timer::WatchEnd,
            after_ms: longest,
        });
        true
    }

    /// In overtime, the doubt resolved (every rule ok): the window ends now.
    pub(super) fn doubt_resolved(&mut self, fx: &mut Vec<super::event::Effect>) {
        let overtime = self.watch.overtime_from.is_some();
        if !overtime || self.question.is_some() || !matches!(self.stage, Stage::Watching { .. }) {
            return;
        }
        if self.rules_in_doubt().is_empty() {
            self.watch.overtime_from = None;
            self.question = Some(super::release::Question::FinalGate);
            fx.push(super::event::Effect::Ask);
        }
    }
}

impl Release {
    /// A rate signal over rule `rule`'s own window (`for D`), from the kept samples: the error
    /// ratio as errors over requests of every sample in it (each weighted by its request
    /// rate), the worst source's; the request rate as the mean of each source's, summed.
    /// `None` for other signals, a rule without a duration, or no sample in the window.
    pub fn window_value(&self, rule: &WatchRule) -> Option<f64> {
        let window = u64::try_from(rule.sustained.as_millis()).unwrap_or(u64::MAX);
        if window == 0 || !matches!(rule.signal, Signal::ErrorRatio | Signal::RequestRate) {
            return None;
        }
        let from = self.now.saturating_sub(window);
        let in_scope = self.watch.metrics.iter();
        let in_scope = in_scope.filter(|s| self.in_scope(s.via.as_deref()));
        let per_source = in_scope.filter_map(|s| {
            let samples: Vec<_> = s
                .history
                .iter()
                .filter(|(at, r)| *at >= from && r.error.is_none())
                .collect();
            match rule.signal {
                Signal::ErrorRatio => {
                    let (mut errors, mut requests) = (0.0, 0.0);
                    for (_, r) in &samples {
                        let Some(ratio) = r.error_ratio else { continue };
                        let weight = r.request_rate.filter(|w| *w > 0.0).unwrap_or(1.0);
                        errors += ratio * weight;
                        requests += weight;
                    }
                    (requests > 0.0).then(|| errors / requests)
                }
                _ => {
                    let rates: Vec<f64> =
                        samples.iter().filter_map(|(_, r)| r.request_rate).collect();
                    (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64)
                }
            }
        });
        match rule.signal {
            Signal::RequestRate => per_source.reduce(|a, b| a + b),
            _ => per_source.reduce(f64::max),
        }
    }

    /// Whether rule `rule`'s condition holds over its window too (true when it has none).
    pub(super) fn window_holds(&self, rule: &WatchRule) -> bool {
        let Some(measured) = self.window_value(rule) else {
            return true;
        };
        let Condition::Compare { op, threshold } = rule.condition else {
            return true;
        };
        let value = rule.compared(measured);
        self.past_limit(rule, op, threshold, value).unwrap_or(false)
    }
}
