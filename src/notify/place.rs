//! Where a release stands, in the words both a message and a status update use: what ships
//! where ("shop v1.2.1 to production"), and what it is doing now.

use crate::engine::{Millis, Question, Release, RunStatus, Stage, StepList};
use crate::narrate::asked_at;

/// "shop v1.2.1".
pub(super) fn what(release: &Release) -> String {
    match &release.plan.version {
        Some(v) => format!("{} {v}", release.plan.release),
        None => release.plan.release.clone(),
    }
}

/// "shop v1.2.1 to production".
pub(super) fn what_where(release: &Release) -> String {
    format!("{} to {}", what(release), release.plan.environment)
}

/// Where the release stands, in a line.
pub(super) fn where_now(release: &Release, now: Millis) -> String {
    let step_name = |list: StepList, step: usize| crate::report::step_label(release, list, step);
    if let Some(q) = &release.question {
        let subject = asked_at(release, q).unwrap_or_else(|| "a rollback confirmation".into());
        return match q {
            Question::Failure { list, step } => {
                format!("{} failed, waiting for a decision", step_name(*list, *step))
            }
            _ => format!("waiting at {subject}"),
        };
    }
    match release.stage {
        Stage::Idle | Stage::Connecting => "connecting to the targets".into(),
        Stage::Locking => "taking the deploy locks".into(),
        Stage::Finding => "finding the version each host runs now".into(),
        Stage::Running { list, step } => {
            let on = release
                .states(list)
                .get(step)
                .map(|s| {
                    s.targets
                        .iter()
                        .filter(|t| t.status == RunStatus::Running)
                        .map(|t| t.target.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let on = if on.is_empty() {
                String::new()
            } else {
                format!(" on {on}")
            };
            format!(
                "{} running{on} ({} of {})",
                step_name(list, step),
                step + 1,
                release.list(list).len()
            )
        }
        Stage::Watching { until } => format!(
            "watch window, {} left",
            crate::report::words::took(until.saturating_sub(now))
        ),
        Stage::Closing | Stage::Finished => "releasing the deploy locks".into(),
    }
}
