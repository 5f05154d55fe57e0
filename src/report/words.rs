//! How the report says things: decisions, people, outcomes, times and measures, as plain text
//! (the Markdown side escapes it; JSON carries it as it is).

use crate::engine::plan::StepKind;
use crate::engine::{Actor, Decision, Millis, Outcome, Question, Release, StepList};

/// A decision in words, as an operator would say it.
pub fn decision_words(decision: &Decision) -> String {
    match decision {
        Decision::Go => "go".into(),
        Decision::NoGo => "no-go".into(),
        Decision::Done => "done".into(),
        Decision::Skip { reason } => format!("skip: {reason}"),
        Decision::Retry => "retry".into(),
        Decision::Rollback => "rollback".into(),
        Decision::ConfirmRollback { acknowledged } if acknowledged.is_empty() => {
            "rollback confirmed".into()
        }
        Decision::ConfirmRollback { acknowledged } => {
            let steps: Vec<&str> = acknowledged.iter().map(|d| d.step.as_str()).collect();
            format!(
                "rollback confirmed, knowing {} cannot be undone",
                steps.join(", ")
            )
        }
        Decision::Cancel => "cancel".into(),
        Decision::Abort => "abort".into(),
        Decision::EndWatch => "end the watch".into(),
        Decision::KeepWatching { reason } => format!("keep watching: {reason}"),
        Decision::ExtendWatch => "extend the watch by 5m".into(),
    }
}

/// Who acted: the person, `--yes` on their behalf, or gonogo itself.
pub fn who(by: &str, actor: Actor) -> String {
    match actor {
        Actor::Person => by.to_string(),
        Actor::Yes => format!("{by} (--yes)"),
        Actor::Gonogo => "gonogo".into(),
        Actor::AutoRollback => "auto_rollback".into(),
    }
}

/// What a question was about, as the checklist names it.
pub fn asked_at(release: &Release, question: &Question) -> Option<String> {
    let (list, step) = match question {
        Question::Gate { step } => (StepList::Main, *step),
        Question::Manual { list, step } | Question::Failure { list, step } => (*list, *step),
        Question::ConfirmRollback { .. } => return None,
        Question::FinalGate => return Some("the final gate".into()),
        Question::RollbackProposal { rule } => {
            let rule = release.plan.watch.as_ref()?.rollback_on.get(*rule)?;
            return Some(format!("rollback proposal \"{}\"", rule.text));
        }
    };
    let planned = release.list(list).get(step)?;
    let rollback = if list == StepList::Rollback {
        "rollback "
    } else {
        ""
    };
    Some(match planned.kind {
        StepKind::Gate => format!("gate \"{}\"", planned.text),
        _ => format!("{rollback}step {}. {}", step + 1, planned.name),
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

/// A measured value, short: "7.31", "0.0523", "412".
pub fn number(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// A fraction as a percentage: "1.2%".
pub fn percent(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// Milliseconds, short: "120ms", "1.5s".
pub fn millis(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1}s", v / 1000.0)
    } else {
        format!("{v:.0}ms")
    }
}
