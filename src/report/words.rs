//! How the report says things: decisions, people, outcomes, times and measures, as plain text
//! (the Markdown side escapes it; JSON carries it as it is).

use crate::engine::{Actor, Millis, Outcome, Question, Release, StepList};

pub use crate::summary::decision_words;

/// Who acted: the person, `--yes` on their behalf, or gonogo itself.
pub fn who(by: &str, actor: Actor) -> String {
    match actor {
        Actor::Person => by.to_string(),
        Actor::Yes => format!("{by} (--yes)"),
        Actor::Gonogo => "gonogo".into(),
        Actor::AutoRollback => "auto_rollback".into(),
        Actor::Demo => format!("{by} (gonogo demo)"),
        Actor::Policy => "policy".into(),
    }
}

/// What a question was about, as the checklist names it; a step by its number.
pub fn asked_at(release: &Release, question: &Question) -> Option<String> {
    crate::summary::question_subject(release, question, |list, step, planned| {
        let rollback = if list == StepList::Rollback {
            "rollback "
        } else {
            ""
        };
        format!("{rollback}step {}. {}", step + 1, planned.name)
    })
}

pub fn outcome_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Released => "released",
        Outcome::RolledBack => "rolled back",
        Outcome::Aborted => "aborted",
        Outcome::Refused => "refused to start",
    }
}

/// `HH:MM:SSZ`.
pub fn clock(at: Millis) -> String {
    crate::summary::clock(at)
}

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

/// A length of time to the second: `14m 6s`, `0s`.
pub fn took(ms: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(ms / 1000)).to_string()
}

/// A fraction as a percentage: "1.2%".
pub fn percent(v: f64) -> String {
    crate::measure::percent(v, 1)
}

/// Milliseconds, short: "120ms", "1.5s".
pub fn millis(v: f64) -> String {
    crate::measure::millis(v, 1)
}
