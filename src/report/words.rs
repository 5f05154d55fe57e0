//! How the report says things: decisions, people, outcomes, times and measures, as plain text
//! (the Markdown side escapes it; JSON carries it as it is).

use crate::engine::Millis;

pub use crate::narrate::{asked_at, clock, decision_words, outcome_words, took, who_for as who};

/// `2026-11-23 13:41:04Z`.
pub fn date_time(at: Millis) -> String {
    i64::try_from(at)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "?".into(),
            |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string(),
        )
}

/// A fraction as a percentage: "1.2%".
pub fn percent(v: f64) -> String {
    crate::measure::percent(v, 1)
}

/// Milliseconds, short: "120ms", "1.5s".
pub fn millis(v: f64) -> String {
    crate::measure::millis(v, 1)
}
