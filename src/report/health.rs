//! Health and metrics in the report: as they stood at each gate, and across the watch window
//! (each check's passes and failures; error ratio and p95 latency, lowest, highest and last,
//! against the baseline measured before the first change, as the watch rules use it).

use serde::Serialize;

use super::history::{GateHealth, History, MetricsSample};
use crate::engine::Millis;
use crate::engine::watch::MetricsReading;

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub at_gates: Vec<GateHealth>,
    /// The watch window, when it ran (its end is the journal's when it was still on).
    pub watch: Option<Span>,
    pub checks: Vec<CheckOverWatch>,
    pub metrics: Vec<MetricsOverWatch>,
    /// How each rule of the watch judged: a rule that could not is said so, never "ok".
    pub rules: Vec<RuleOverWatch>,
}

/// One watch rule, as it judged across the watch.
#[derive(Debug, Clone, Serialize)]
pub struct RuleOverWatch {
    pub rule: String,
    /// "judged: ok at the end", "proposed a rollback", "never judged: no baseline", …
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Span {
    pub from: String,
    pub to: String,
    #[serde(skip)]
    pub from_ms: Millis,
    #[serde(skip)]
    pub to_ms: Millis,
    /// The journal ends before the watch did.
    pub cut_off: bool,
}

/// One health check, from one place, across the watch window.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOverWatch {
    pub check: String,
    pub via: Option<String>,
    pub ok: u64,
    pub failing: u64,
    pub last_ok: Option<bool>,
    pub last_error: Option<String>,
}

/// One metrics source, from one place, across the watch window.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsOverWatch {
    pub source: String,
    pub via: Option<String>,
    /// Errors over requests, as a fraction.
    pub error_ratio: SignalOverWatch,
    pub latency_p95_ms: SignalOverWatch,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SignalOverWatch {
    /// The mean before the first change (`None`: nothing measured before it).
    pub baseline: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub last: Option<f64>,
    pub samples: usize,
}

pub(super) fn health(h: &History) -> HealthReport {
    let watch = watch_span(h);
    let (checks, metrics) = match &watch {
        Some(span) => (checks_over(h, span), metrics_over(h, span)),
        None => (Vec::new(), Vec::new()),
    };
    let rules = rules(&h.release, watch.is_some());
    HealthReport {
        at_gates: h.gates.clone(),
        watch,
        checks,
        metrics,
        rules,
    }
}

/// The watch window as the journal holds it: to its end, or cut off where the journal ends.
fn watch_span(h: &History) -> Option<Span> {
    h.watch_from.map(|from| {
        let (to, cut_off) = match h.watch_to {
            Some(to) => (to, false),
            None => (h.last_at.unwrap_or(from), true),
        };
        Span {
            from: crate::journal::timestamp(from),
            to: crate::journal::timestamp(to),
            from_ms: from,
            to_ms: to,
            cut_off,
        }
    })
}

impl Span {
    /// Whether `at` falls within the watch window (both ends included).
    fn holds(&self, at: Millis) -> bool {
        at >= self.from_ms && at <= self.to_ms
    }
}

/// Each health check's passes and failures during the watch, and its last answer, in the
/// order the checks first answered.
fn checks_over(h: &History, span: &Span) -> Vec<CheckOverWatch> {
    let mut checks: Vec<CheckOverWatch> = Vec::new();
    for s in h.health.iter().filter(|s| span.holds(s.at)) {
        let i = match checks
            .iter()
            .position(|c| c.check == s.check && c.via == s.via)
        {
            Some(i) => i,
            None => {
                checks.push(CheckOverWatch {
                    check: s.check.clone(),
                    via: s.via.clone(),
                    ok: 0,
                    failing: 0,
                    last_ok: None,
                    last_error: None,
                });
                checks.len() - 1
            }
        };
        let c = &mut checks[i];
        if s.reading.ok {
            c.ok += 1;
        } else {
            c.failing += 1;
        }
        c.last_ok = Some(s.reading.ok);
        c.last_error = s.reading.error.clone();
    }
    checks
}

/// Each metrics source's error ratio and p95 latency over the watch, in the order the sources
/// were first sampled.
fn metrics_over(h: &History, span: &Span) -> Vec<MetricsOverWatch> {
    let deploy = h.release.deploy_started_at();
    let mut places: Vec<(&str, Option<&str>)> = Vec::new();
    for s in &h.metrics {
        let place = (s.source.as_str(), s.via.as_deref());
        if !places.contains(&place) {
            places.push(place);
        }
    }
    places
        .into_iter()
        .map(|(source, via)| {
            let series: Vec<&MetricsSample> = h
                .metrics
                .iter()
                .filter(|s| s.source == source && s.via.as_deref() == via)
                .collect();
            MetricsOverWatch {
                source: source.to_string(),
                via: via.map(str::to_string),
                error_ratio: signal_over(&series, deploy, span, |r| r.error_ratio),
                latency_p95_ms: signal_over(&series, deploy, span, |r| r.latency_p95_ms),
            }
        })
        .collect()
}

/// One signal of a source: its baseline (the mean before the deploy began), and its lowest,
/// highest and last value during the watch.
fn signal_over(
    series: &[&MetricsSample],
    deploy: Option<Millis>,
    span: &Span,
    pick: fn(&MetricsReading) -> Option<f64>,
) -> SignalOverWatch {
    // A journal written before the probe was fixed may hold `-0.0`: it is 0.
    let pick = |r: &MetricsReading| pick(r).map(|v| v + 0.0);
    let before: Vec<f64> = series
        .iter()
        .filter(|s| deploy.is_some_and(|d| s.at < d))
        .filter_map(|s| pick(&s.reading))
        .collect();
    let seen: Vec<f64> = series
        .iter()
        .filter(|s| span.holds(s.at))
        .filter_map(|s| pick(&s.reading))
        .collect();
    SignalOverWatch {
        baseline: (!before.is_empty()).then(|| before.iter().sum::<f64>() / before.len() as f64),
        min: seen.iter().copied().reduce(f64::min),
        max: seen.iter().copied().reduce(f64::max),
        last: seen.last().copied(),
        samples: seen.len(),
    }
}

/// How each rule judged across the watch, from the state its journal left.
fn rules(release: &crate::engine::Release, watched: bool) -> Vec<RuleOverWatch> {
    let Some(plan) = &release.plan.watch else {
        return Vec::new();
    };
    if !watched {
        return Vec::new();
    }
    plan.rollback_on
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let state = release.watch.rules.get(i);
            let cannot = state.and_then(|s| s.cannot.as_ref()).map(|c| c.words());
            let verdict = match state {
                Some(s) if s.fired_at.is_some() => "held: proposed a rollback".to_string(),
                Some(s) if !s.judged_in_watch => format!(
                    "never judged during the watch: {}",
                    cannot.unwrap_or_else(|| "no data".into())
                ),
                Some(_) if cannot.is_some() => format!(
                    "judged, then could not at the end: {}",
                    cannot.unwrap_or_default()
                ),
                Some(s) if s.breaching_since.is_some() => "breaching at the end".to_string(),
                Some(_) => "judged: ok at the end".to_string(),
                None => "never judged during the watch: no data".to_string(),
            };
            RuleOverWatch {
                rule: rule.text.clone(),
                verdict,
            }
        })
        .collect()
}
