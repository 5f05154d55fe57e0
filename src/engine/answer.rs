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
    /// Every host already runs the version: deploy it again; the reason is required and
    /// recorded.
    Redeploy,
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
            Answer::Redeploy => "redeploy REASON",
        }
    }

    /// Whether it is given only with a reason, typed.
    pub fn needs_reason(self) -> bool {
        matches!(self, Answer::Skip | Answer::Keep | Answer::Redeploy)
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
            Answer::Redeploy => Decision::Redeploy { reason },
        }
    }
}

impl Release {
    /// The answers the open question takes, in the order they are offered.
    pub fn answers(&self) -> Vec<Answer> {
        let rollback = self.can_roll_back();
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
            // Stopping ends it refused: nothing ran.
            Some(Question::Redeploy { .. }) => return vec![Answer::Redeploy, Answer::Abort],
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

    /// What `[policy] unattended` decides for the open question when nobody can answer it
    /// (stdin closed, or `--yes` meeting a question it does not answer), with the note that
    /// records why: roll back once anything ran on a host (an unknown outcome counts), abort
    /// before; with `"abort"`, stop and say which hosts were left changed.
    pub fn unattended_decision(&self) -> Option<(Decision, String)> {
        let question = self.question.as_ref()?;
        let policy = self.plan.unattended;
        let setting = format!("[policy] unattended = \"{}\"", policy.word());
        let asked = crate::engine::answer::question_words(self, question);
        // Deploying again takes a person's reason (or `--redeploy`): nothing ran, refused.
        if let Question::Redeploy { version } = question {
            let note = format!(
                "deploying {version} again takes a reason (a person's, or --redeploy \"REASON\"): refusing"
            );
            return Some((Decision::Abort, note));
        }
        let changed = self.changed_hosts();
        let rolling_back = self.rollback_begun;
        if policy == super::plan::Unattended::Rollback
            && !changed.is_empty()
            && !rolling_back
            && self.can_roll_back()
        {
            let acknowledged = match question {
                Question::ConfirmRollback { irreversible, .. } => irreversible.clone(),
                _ => self.irreversible_done(),
            };
            let note = format!(
                "{setting}: nobody could answer {asked}; changed on {}: rolling back",
                changed.join(", ")
            );
            return Some((Decision::ConfirmRollback { acknowledged }, note));
        }
        let left = if changed.is_empty() {
            "no host was changed".to_string()
        } else if rolling_back {
            format!(
                "the rollback needs a person; left changed on {}",
                changed.join(", ")
            )
        } else if !self.can_roll_back() {
            format!(
                "nothing to roll back with; left changed on {}",
                changed.join(", ")
            )
        } else {
            format!("left changed on {}", changed.join(", "))
        };
        Some((
            Decision::Abort,
            format!("{setting}: nobody could answer {asked}; aborting: {left}"),
        ))
    }

    /// The answers as headless words: "go", "skip REASON", …
    pub fn choices(&self) -> Vec<&'static str> {
        self.answers().into_iter().map(Answer::word).collect()
    }
}

/// The open question in a few words, for the policy's note: "the failed step `Migrate`".
pub(crate) fn question_words(release: &Release, question: &Question) -> String {
    let name = |list: StepList, step: usize| {
        release
            .list(list)
            .get(step)
            .map_or_else(|| format!("step {}", step + 1), |s| format!("`{}`", s.name))
    };
    match question {
        Question::Gate { step } => {
            match release.plan.steps.get(*step).and_then(|s| s.batch.as_ref()) {
                Some(batch)
                    if release.plan.steps[*step].kind == super::plan::StepKind::Analysis =>
                {
                    let verdict = release.batch_verdict(*step).map_or("", |v| v.word());
                    format!("the promote gate after {} ({verdict})", batch.label())
                }
                _ => format!("the gate {}", name(StepList::Main, *step)),
            }
        }
        Question::Manual { list, step } => format!("the manual item {}", name(*list, *step)),
        Question::Failure { list, step } => {
            let unknown = release.states(*list).get(*step).is_some_and(|s| {
                s.targets
                    .iter()
                    .any(|t| t.status == super::release::RunStatus::Unknown)
            });
            let what = match (list, unknown) {
                (StepList::Rollback, _) => "the failed rollback step",
                (_, true) => "the unknown outcome of",
                _ => "the failed step",
            };
            format!("{what} {}", name(*list, *step))
        }
        Question::FinalGate => "the final gate".into(),
        Question::RollbackProposal { rule } => {
            let text = release
                .plan
                .watch
                .as_ref()
                .and_then(|w| w.rollback_on.get(*rule))
                .map_or("a watch rule", |r| r.text.as_str());
            format!("the rollback proposal ({text})")
        }
        Question::ConfirmRollback { .. } => "the rollback confirmation".into(),
        Question::Redeploy { version } => format!("whether to deploy {version} again"),
    }
}
