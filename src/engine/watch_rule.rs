//! Rollback rules of the watch window, as the engine holds them (parsed on the profile side,
//! `profile::rule`): `"error_ratio > 5% for 1m"`, `"health failing for 30s"`.
//!
//! ```text
//! rule      = signal ( "failing" | op threshold ) [ "for" duration ]
//! signal    = error_ratio | latency_p50 | latency_p90 | latency_p95 | latency_p99
//!           | log_errors | request_rate | health | new_errors
//! op        = ">" | ">=" | "<" | "<="
//! threshold = N "%" | N "ms" | N "s" | N "x baseline" | N "/min" | N "/s" | N (new_errors)
//!           | "control" "+" N ("%" | "ms" | "s" | "/min") | N "x control"
//! (after "for DURATION") "tolerate" N   clean samples a hold survives (default 1)
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchRule {
    /// The rule as the profile wrote it, for the cockpit and the report.
    pub text: String,
    pub signal: Signal,
    pub condition: Condition,
    /// How long the condition must hold before the rule fires (zero: at once).
    pub sustained: Duration,
    /// Clean samples a hold survives (`tolerate N`; [`DEFAULT_TOLERATE`] when not said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerate: Option<u32>,
}

/// One clean sample inside a hold is noise, not recovery: a hold survives it.
pub const DEFAULT_TOLERATE: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    ErrorRatio,
    Latency {
        percentile: u8,
    },
    LogErrors,
    RequestRate,
    Health,
    /// Error signatures first seen in the logs since the first change.
    NewErrors,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Failing,
    Compare { op: Op, threshold: Threshold },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    Percent(f64),
    Seconds(f64),
    TimesBaseline(f64),
    PerMinute(f64),
    /// A plain count (`new_errors > 0`).
    Count(f64),
    /// `control + 2%`: the control's value plus this much, in the rule's unit (during a
    /// batch's analysis, the phase's hosts not yet deployed measured at the same moment).
    OverControl(f64),
    /// `1.5x control`.
    TimesControl(f64),
}

impl Threshold {
    /// Compared with the control: judged only during a batch's analysis.
    pub fn against_control(self) -> bool {
        matches!(self, Threshold::OverControl(_) | Threshold::TimesControl(_))
    }
}

impl WatchRule {
    /// Compared with the control (`control + 2%`, `1.5x control`).
    pub fn against_control(&self) -> bool {
        matches!(self.condition, Condition::Compare { threshold, .. } if threshold.against_control())
    }

    /// A signal's value as measured (a fraction, milliseconds, per second, per minute, a
    /// count) in the unit the rule compares it in: percent for a `%` rule, seconds for a
    /// `ms`/`s` rule, per minute for a request rate against `/min` or `/s`. Against a baseline,
    /// the measured unit itself.
    pub fn compared(&self, measured: f64) -> f64 {
        let Condition::Compare { threshold, .. } = self.condition else {
            return measured;
        };
        match threshold {
            Threshold::Percent(_) => measured * 100.0,
            Threshold::Seconds(_) => measured / 1000.0,
            Threshold::PerMinute(_) if self.signal == Signal::RequestRate => measured * 60.0,
            Threshold::PerMinute(_)
            | Threshold::Count(_)
            | Threshold::TimesBaseline(_)
            | Threshold::TimesControl(_) => measured,
            // `control + N` says N in the unit the signal is shown in: % for a ratio, s for a
            // latency, /min for rates and counts.
            Threshold::OverControl(_) => match self.signal {
                Signal::ErrorRatio => measured * 100.0,
                Signal::Latency { .. } => measured / 1000.0,
                Signal::RequestRate => measured * 60.0,
                _ => measured,
            },
        }
    }
}
