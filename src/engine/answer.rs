//! The answers an open question takes: one list for every front end (the cockpit's keys,
//! the headless words), so what is offered is what `apply` accepts.

use super::event::{Decision, StepList};
use super::release::{Question, Release};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Go,
    NoGo,
    Done,
    Skip,
    Retry,
    Rollback,
    Abort,
    /// In the rollback confirmation: roll back anyway.
    RollbackAnyway,
    /// In the rollback confirmation: back to the question asked before.
    Cancel,
    /// In a rollback proposal: keep watching; the reason is required and recorded.
    Keep,
}

impl Answer {
    /// What a person types for it on a headless run.
    pub fn word(self) -> &'static str {
        match self {
            Answer::Go => "go",
            Answer::NoGo => "no-go",
            Answer::Done => "done",
            Answer::Skip => "skip REASON",
            Answer::Retry => "retry",
            Answer::Rollback => "rollback",
            Answer::Abort => "abort",
            Answer::RollbackAnyway => "confirm",
            Answer::Cancel => "cancel",
            Answer::Keep => "keep REASON",
        }
    }

    /// The decision it makes in `release`; a skip carries its reason, a rollback confirmation
    /// the irreversible steps the question named.
    pub fn decision(self, reason: String, release: &Release) -> Decision {
        match self {
            Answer::Go => Decision::Go,
            Answer::NoGo => Decision::NoGo,
            Answer::Done => Decision::Done,
            Answer::Skip => Decision::Skip { reason },
            Answer::Retry => Decision::Retry,
            Answer::Rollback => Decision::Rollback,
            Answer::Abort => Decision::Abort,
            Answer::RollbackAnyway => Decision::ConfirmRollback {
                acknowledged: match &release.question {
                    Some(Question::ConfirmRollback { irreversible, .. }) => irreversible.clone(),
                    _ => release.irreversible_done(),
                },
            },
            Answer::Cancel => Decision::Cancel,
            Answer::Keep => Decision::KeepWatching { reason },
        }
    }
}

impl Release {
    /// The answers the open question takes, in the order they are offered.
    pub fn answers(&self) -> Vec<Answer> {
        let rollback = !self.plan.rollback.is_empty();
        let mut out = match &self.question {
            None => return Vec::new(),
            Some(Question::Gate { .. }) => vec![Answer::Go, Answer::NoGo],
            Some(Question::Manual { .. }) => vec![Answer::Done, Answer::Skip],
            Some(Question::Failure { .. }) => vec![Answer::Retry, Answer::Skip],
            Some(Question::ConfirmRollback { .. }) => {
                return vec![Answer::RollbackAnyway, Answer::Cancel];
            }
            Some(Question::RollbackProposal { .. }) => {
                return vec![Answer::Rollback, Answer::Keep];
            }
            Some(Question::FinalGate) if rollback => return vec![Answer::Go, Answer::Rollback],
            Some(Question::FinalGate) => return vec![Answer::Go],
        };
        let main_failure = matches!(
            self.question,
            Some(Question::Failure {
                list: StepList::Main,
                ..
            })
        );
        // Rolling back is offered until the rollback itself is what failed.
        if rollback && (main_failure || matches!(self.question, Some(Question::Gate { .. }))) {
            out.push(Answer::Rollback);
        }
        if matches!(self.question, Some(Question::Failure { .. })) {
            out.push(Answer::Abort);
        }
        out
    }

    /// The answers as headless words: "go", "skip REASON", …
    pub fn choices(&self) -> Vec<&'static str> {
        self.answers().into_iter().map(Answer::word).collect()
    }
}
