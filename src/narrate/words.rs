//! The words shared by every sentence: who acted, what was decided and at what, how the
//! release ended, when.

use crate::engine::plan::{PlannedStep, StepKind};
use crate::engine::release::DecisionRecord;
use crate::engine::{Actor, Decision, Millis, Outcome, Question, Release, StepList};
use crate::text::printable;

/// Who acted: the person, or gonogo itself (`gonogo`, `auto_rollback`, `policy`).
pub fn who(by: &str, actor: Actor) -> String {
    match actor {
        Actor::Person | Actor::Yes | Actor::Demo => printable(by).into_owned(),
        Actor::Gonogo => "gonogo".into(),
        Actor::AutoRollback => "auto_rollback".into(),
        Actor::Policy => "policy".into(),
    }
}

/// Who acted, with what acted for them: "ana", "ana (--yes)", "ana (gonogo demo)", "policy".
pub fn who_for(by: &str, actor: Actor) -> String {
    match on_behalf(actor) {
        Some(tag) => format!("{} ({tag})", who(by, actor)),
        None => who(by, actor),
    }
}

/// What acted for the person, said after the decision: `--yes`, `gonogo demo`.
fn on_behalf(actor: Actor) -> Option<&'static str> {
    match actor {
        Actor::Yes => Some("--yes"),
        Actor::Demo => Some("gonogo demo"),
        _ => None,
    }
}

/// A decision, the one sentence every surface tells it in: "decided by ana at gate \"Go?\":
/// go (dashboards green)", "decided by root at step 3. Migrate: retry (gonogo demo)",
/// "decided by policy: rollback confirmed (…)".
pub fn decision_said(release: &Release, d: &DecisionRecord) -> String {
    let at = d
        .question
        .as_ref()
        .and_then(|q| asked_at(release, q))
        .map_or(String::new(), |a| format!(" at {}", printable(&a)));
    let mut notes: Vec<String> = Vec::new();
    if let Some(tag) = on_behalf(d.actor)
        && d.note.as_deref() != Some(tag)
    {
        notes.push(tag.into());
    }
    if let Some(note) = &d.note {
        notes.push(printable(note).into_owned());
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    format!(
        "decided by {}{at}: {}{notes}",
        who(&d.by, d.actor),
        printable(&decision_words(&d.decision))
    )
}

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
        Decision::SkipBaseline { reason } => format!("start without a baseline: {reason}"),
        Decision::Redeploy { reason } => format!("deploy it again: {reason}"),
    }
}

/// "step 3. Migrate", "rollback step 1. Check out the previous release".
pub fn step_label(release: &Release, list: StepList, step: usize) -> String {
    let what = if list == StepList::Rollback {
        "rollback step"
    } else {
        "step"
    };
    let name = release
        .list(list)
        .get(step)
        .map_or(String::new(), |s| s.name.clone());
    format!("{what} {}. {name}", step + 1)
}

/// What a question was about: a gate by its question, the final gate, a rollback proposal by
/// its rule, another step by its number.
pub fn asked_at(release: &Release, question: &Question) -> Option<String> {
    question_subject(release, question, |list, step, _| {
        step_label(release, list, step)
    })
}

/// What a question was about, a step other than a gate as `step` names it.
pub fn question_subject(
    release: &Release,
    question: &Question,
    step: impl Fn(StepList, usize, &PlannedStep) -> String,
) -> Option<String> {
    let (list, index) = match question {
        Question::Gate { step } => (StepList::Main, *step),
        Question::Manual { list, step } | Question::Failure { list, step } => (*list, *step),
        Question::ConfirmRollback { .. } => return None,
        Question::FinalGate => return Some("the final gate".into()),
        Question::Redeploy { version } => {
            return Some(format!("the question whether to deploy {version} again"));
        }
        Question::RollbackProposal { rule } => {
            let rule = release.plan.watch.as_ref()?.rollback_on.get(*rule)?;
            return Some(format!("rollback proposal \"{}\"", rule.text));
        }
    };
    let planned = release.list(list).get(index)?;
    Some(match planned.kind {
        StepKind::Gate => format!("gate \"{}\"", planned.text),
        _ => step(list, index, planned),
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

/// How the release ended, in the words every place uses: "released", "rolled back",
/// "aborted: no host was changed", "aborted: left changed on web-1, web-2".
pub fn outcome_said(release: &Release) -> String {
    match outcome_parts(release) {
        (word, None) => word.to_string(),
        (word, Some(detail)) => format!("{word}: {detail}"),
    }
}

/// The outcome's word, and what a release that stopped short left behind.
pub fn outcome_parts(release: &Release) -> (&'static str, Option<String>) {
    let word = match release.outcome {
        Some(Outcome::Aborted) => "aborted",
        Some(Outcome::Refused) => return ("refused to start", Some("nothing ran".into())),
        // A rollout caught before its last batch: where, and who never received it.
        Some(outcome) => {
            let caught = release.rollout_said().map(|s| printable(&s).into_owned());
            return (outcome_words(outcome), caught);
        }
        None => "not finished",
    };
    let mut detail = match release.changed_hosts() {
        hosts if hosts.is_empty() => "no host was changed".to_string(),
        hosts => format!("left changed on {}", printable(&hosts.join(", "))),
    };
    if let Some(never) = release.never_received_said() {
        detail.push_str(&format!("; {}", printable(&never)));
    }
    (word, Some(detail))
}

/// The one sentence an interruption is told in, everywhere: "gonogo stopped at 03:12:05Z (no
/// end record), resumed at 03:14:40Z by ana@laptop, 2m35s later".
pub fn interruption_said(i: &crate::engine::Interruption) -> String {
    format!(
        "gonogo stopped at {} (no end record), resumed at {} by {}, {} later",
        clock(i.stopped_at),
        clock(i.resumed_at),
        printable(&i.by),
        gap(i.gap_ms())
    )
}

/// A gap to the second, in one word: "2m35s", "45s", "1h2m", "3d4h".
pub fn gap(ms: u64) -> String {
    let s = ms / 1000;
    let parts = [
        (s / 86_400, "d"),
        (s / 3600 % 24, "h"),
        (s / 60 % 60, "m"),
        (s % 60, "s"),
    ];
    let said: String = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if said.is_empty() { "0s".into() } else { said }
}

/// `HH:MM:SSZ` of a moment (UTC: the same on every machine that reads it).
pub fn clock(at: Millis) -> String {
    i64::try_from(at)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(|| "?".into(), |t| t.format("%H:%M:%SZ").to_string())
}

/// A length of time to the second: `14m 6s`, `0s`.
pub fn took(ms: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(ms / 1000)).to_string()
}
