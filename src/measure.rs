//! How gonogo writes a measured value, wherever it shows one (the cockpit's health pane and
//! rollback proposal, headless, the end summary, the report, notifications): a watch rule's
//! values in the rule's own unit, each naming the host it was measured on, and never a
//! negative zero.

use crate::engine::watch::{Evidence, RuleState};
use crate::engine::watch_rule::{Condition, Signal, Threshold, WatchRule};

/// `v` to `decimals` places; a value that rounds to zero reads `0.00`, never `-0.00`.
pub fn fixed(v: f64, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => text,
    }
}

/// A measured value, short: "7.31", "0.0523", "412".
pub fn number(v: f64) -> String {
    if v.abs() >= 100.0 {
        fixed(v, 0)
    } else if v.abs() >= 1.0 {
        fixed(v, 2)
    } else {
        fixed(v, 4)
    }
}

/// A fraction as a percentage to `decimals` places: "12.00%", "0.4%".
pub fn percent(fraction: f64, decimals: usize) -> String {
    format!("{}%", fixed(fraction * 100.0, decimals))
}

/// Milliseconds, short: "412ms", "1.62s" (`decimals` above a second).
pub fn millis(ms: f64, decimals: usize) -> String {
    if ms.abs() >= 1000.0 {
        format!("{}s", fixed(ms / 1000.0, decimals))
    } else if ms.abs() < 100.0 && ms.fract().abs() >= 0.05 {
        // Small latencies keep a tenth: 9.75 and 3x of it read 9.8ms and 29.2ms, not 10 and 29.
        format!("{}ms", fixed(ms, 1))
    } else {
        format!("{}ms", fixed(ms, 0))
    }
}

/// A count or a rate of them: whole numbers without decimals ("23"), others short.
fn amount(v: f64) -> String {
    if v.fract() == 0.0 {
        fixed(v, 0)
    } else {
        number(v)
    }
}

/// A rule's value (as [`crate::engine::watch::RuleState::value`] and its evidence hold it) in
/// the rule's unit: "10.59%" for `error_ratio > 5%`, "1.62s" or "412ms" for a latency,
/// "23/min" for log errors, "failing" for a health check. Every place that shows a rule's
/// evidence says it with this.
pub fn rule_value(rule: &WatchRule, value: f64) -> String {
    let threshold = match rule.condition {
        Condition::Failing => return if value > 0.0 { "failing" } else { "ok" }.into(),
        Condition::Compare { threshold, .. } => threshold,
    };
    match threshold {
        Threshold::Percent(_) => format!("{}%", fixed(value, 2)),
        Threshold::Seconds(_) => millis(value * 1000.0, 2),
        Threshold::PerMinute(_) => format!("{}/min", amount(value)),
        Threshold::Count(_) => format!("{} new", amount(value)),
        // Against a baseline or the control the value is as measured: the signal's own unit.
        Threshold::TimesBaseline(_) | Threshold::TimesControl(_) => measured(rule.signal, value),
        Threshold::OverControl(_) => match rule.signal {
            Signal::ErrorRatio => format!("{}%", fixed(value, 2)),
            Signal::Latency { .. } => millis(value * 1000.0, 2),
            Signal::NewErrors | Signal::Health => amount(value),
            Signal::RequestRate | Signal::LogErrors => format!("{}/min", amount(value)),
        },
    }
}

/// A signal's value as measured (a baseline), in the rule's unit: the same words as the values
/// it is compared with.
pub fn rule_measured(rule: &WatchRule, measured: f64) -> String {
    rule_value(rule, rule.compared(measured))
}

/// A signal's value as measured, in its own unit.
fn measured(signal: Signal, value: f64) -> String {
    match signal {
        Signal::ErrorRatio => percent(value, 2),
        Signal::Latency { .. } => millis(value, 2),
        Signal::RequestRate => format!("{}/s", amount(value)),
        Signal::LogErrors => format!("{}/min", amount(value)),
        Signal::NewErrors => format!("{} new", amount(value)),
        Signal::Health => if value > 0.0 { "failing" } else { "ok" }.into(),
    }
}

/// One value of a rule's evidence: "14:15:15Z web-1 12.00%".
pub fn evidence(rule: &WatchRule, e: &Evidence) -> String {
    format!(
        "{} {} {}",
        crate::narrate::words::clock(e.at),
        crate::text::printable(&e.from),
        rule_value(rule, e.value)
    )
}

/// The latest value each host gave while the rule held, in the order they were first seen:
/// "web-1 12.00%, web-2 0.40%". Empty when it has none.
pub fn latest_values(rule: &WatchRule, state: &RuleState) -> String {
    let mut hosts: Vec<&str> = Vec::new();
    for e in &state.breach_values {
        if !hosts.contains(&e.from.as_str()) {
            hosts.push(&e.from);
        }
    }
    hosts
        .iter()
        .filter_map(|host| {
            let e = state.breach_values.iter().rev().find(|e| e.from == *host)?;
            Some(format!(
                "{} {}",
                crate::text::printable(host),
                rule_value(rule, e.value)
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::watch_rule::Op;
    use std::time::Duration;

    fn rule(signal: Signal, threshold: Threshold) -> WatchRule {
        WatchRule {
            text: String::new(),
            signal,
            condition: Condition::Compare {
                op: Op::Above,
                threshold,
            },
            sustained: Duration::ZERO,
            tolerate: None,
        }
    }

    #[test]
    fn no_figure_reads_as_negative_zero() {
        assert_eq!(fixed(-0.0, 2), "0.00");
        assert_eq!(fixed(-0.001, 2), "0.00");
        assert_eq!(fixed(-0.0, 0), "0");
        assert_eq!(fixed(-0.5, 2), "-0.50");
        assert_eq!(percent(-0.0, 1), "0.0%");
        assert_eq!(number(-0.0), "0.0000");
        assert_eq!(millis(-0.0, 1), "0ms");
    }

    #[test]
    fn a_rules_values_read_in_its_unit() {
        let ratio = rule(Signal::ErrorRatio, Threshold::Percent(5.0));
        assert_eq!(rule_value(&ratio, 10.59), "10.59%");
        // The baseline, measured as a fraction, reads in the same unit as the values.
        assert_eq!(rule_measured(&ratio, 0.1059), "10.59%");
        assert_eq!(rule_measured(&ratio, -0.0), "0.00%");
        let against_base = rule(Signal::ErrorRatio, Threshold::TimesBaseline(2.0));
        assert_eq!(rule_value(&against_base, 0.1059), "10.59%");
        let p95 = rule(Signal::Latency { percentile: 95 }, Threshold::Seconds(1.5));
        assert_eq!(rule_value(&p95, 1.62), "1.62s");
        assert_eq!(rule_value(&p95, 0.412), "412ms");
        assert_eq!(rule_measured(&p95, 412.0), "412ms");
        let p95_base = rule(
            Signal::Latency { percentile: 95 },
            Threshold::TimesBaseline(1.5),
        );
        assert_eq!(rule_value(&p95_base, 412.0), "412ms");
        let logs = rule(Signal::LogErrors, Threshold::PerMinute(20.0));
        assert_eq!(rule_value(&logs, 23.0), "23/min");
        let rate = rule(Signal::RequestRate, Threshold::PerMinute(60.0));
        assert_eq!(rule_measured(&rate, 0.5), "30/min");
        let new = rule(Signal::NewErrors, Threshold::Count(0.0));
        assert_eq!(rule_value(&new, 2.0), "2 new");
        let health = WatchRule {
            text: String::new(),
            signal: Signal::Health,
            condition: Condition::Failing,
            sustained: Duration::ZERO,
            tolerate: None,
        };
        assert_eq!(rule_value(&health, 1.0), "failing");
        assert_eq!(rule_value(&health, 0.0), "ok");
    }

    #[test]
    fn each_value_names_its_host() {
        let ratio = rule(Signal::ErrorRatio, Threshold::Percent(5.0));
        let state = RuleState {
            breach_values: vec![
                Evidence {
                    at: 1_790_000_000_000,
                    from: "web-1".into(),
                    value: 12.0,
                },
                Evidence {
                    at: 1_790_000_000_000,
                    from: "web-2".into(),
                    value: 0.4,
                },
                Evidence {
                    at: 1_790_000_005_000,
                    from: "web-1".into(),
                    value: 9.5,
                },
            ],
            ..RuleState::default()
        };
        assert_eq!(
            evidence(&ratio, &state.breach_values[1]),
            "14:13:20Z web-2 0.40%"
        );
        assert_eq!(latest_values(&ratio, &state), "web-1 9.50%, web-2 0.40%");
    }
}
