//! A rule's evidence: where its signal stands on each host (or source), in the rule's unit;
//! during a batch's analysis, the changed hosts and then the control's, each named so.

use super::release::Release;
use super::watch::{Evidence, metric};
use super::watch_rule::{Signal, WatchRule};

impl Release {
    /// Where a rule's signal stands on each host, in the rule's unit: each metrics source's
    /// latest error ratio or latency, each health check's failing or not, and the totals a
    /// rule judges over several hosts (request rate, log errors, new errors) as one value
    /// naming them all.
    pub fn rule_readings(&self, rule: &WatchRule) -> Vec<Evidence> {
        let mut out = self.readings(rule);
        // During a batch's analysis: the changed hosts, then the control's, each named so.
        if let Some(batch) = self.analysing() {
            let control = |from: &str| batch.control.iter().any(|c| measured_on(from, c));
            let (ours, theirs): (Vec<Evidence>, Vec<Evidence>) =
                out.into_iter().partition(|e| !control(&e.from));
            let changed = |from: &str| batch.changed.iter().any(|c| measured_on(from, c));
            out = ours
                .into_iter()
                .filter(|e| {
                    changed(&e.from)
                        || !matches!(
                            rule.signal,
                            Signal::ErrorRatio | Signal::Latency { .. } | Signal::Health
                        )
                })
                .chain(theirs.into_iter().map(|e| Evidence {
                    from: format!("{} (control)", e.from),
                    ..e
                }))
                .collect();
        }
        out
    }

    fn readings(&self, rule: &WatchRule) -> Vec<Evidence> {
        let now = self.now;
        let several_checks = distinct(self.watch.health.iter().map(|s| s.check.as_str()));
        let several_sources = distinct(self.watch.metrics.iter().map(|s| s.source.as_str()));
        match rule.signal {
            Signal::Health => self
                .watch
                .health
                .iter()
                .map(|s| Evidence {
                    at: s.last_at,
                    from: place(&s.check, s.via.as_deref(), several_checks),
                    value: if s.failing_since.is_some() { 1.0 } else { 0.0 },
                })
                .collect(),
            Signal::LogErrors | Signal::NewErrors => self.log_readings(rule),
            Signal::RequestRate => {
                let Some(measured) = self.signal_now(rule.signal) else {
                    return Vec::new();
                };
                let places: Vec<String> = self
                    .watch
                    .metrics
                    .iter()
                    .filter(|s| {
                        s.history
                            .back()
                            .is_some_and(|(_, r)| r.request_rate.is_some())
                    })
                    .map(|s| place(&s.source, s.via.as_deref(), several_sources))
                    .collect();
                vec![Evidence {
                    at: now,
                    from: places.join("+"),
                    value: rule.compared(measured),
                }]
            }
            Signal::ErrorRatio | Signal::Latency { .. } => self
                .watch
                .metrics
                .iter()
                .filter_map(|s| {
                    let (at, reading) = s.history.back()?;
                    Some(Evidence {
                        at: *at,
                        from: place(&s.source, s.via.as_deref(), several_sources),
                        value: rule.compared(metric(reading, rule.signal)?),
                    })
                })
                .collect(),
        }
    }

    /// A log signal's total, naming the hosts it spans; during a batch's analysis, log errors
    /// count on the changed hosts alone.
    fn log_readings(&self, rule: &WatchRule) -> Vec<Evidence> {
        let now = self.now;
        let Some(mut measured) = self.signal_now(rule.signal) else {
            return Vec::new();
        };
        let mut targets: Vec<&str> = (self.plan.logs.iter())
            .flat_map(|f| f.targets.iter().map(String::as_str))
            .collect();
        targets.sort_unstable();
        targets.dedup();
        if let (Signal::LogErrors, Some(batch)) = (rule.signal, self.analysing()) {
            targets.retain(|t| batch.changed.iter().any(|c| c == t));
            measured = (targets.iter())
                .map(|t| self.log_errors_per_min(Some(t), now))
                .sum();
        }
        let from = if targets.is_empty() {
            "logs".to_string()
        } else {
            targets.join("+")
        };
        vec![Evidence {
            at: now,
            from,
            value: rule.compared(measured),
        }]
    }
}

/// Where a value was measured: the target it was reached through, or the source's name when
/// probed from here; with several sources, both (`app via web-1`).
fn place(name: &str, via: Option<&str>, several: bool) -> String {
    match via {
        Some(via) if several => format!("{name} via {via}"),
        Some(via) => via.to_string(),
        None => name.to_string(),
    }
}

/// Whether evidence `from` (`web-1`, `app via web-1`) was measured through `host`.
fn measured_on(from: &str, host: &str) -> bool {
    from == host
        || from
            .strip_suffix(host)
            .is_some_and(|rest| rest.ends_with(" via "))
}

/// More than one distinct name.
fn distinct<'a>(mut names: impl Iterator<Item = &'a str>) -> bool {
    let first = names.next();
    names.any(|n| Some(n) != first)
}
