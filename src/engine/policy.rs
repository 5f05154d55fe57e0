//! Who may answer what, and when: one judgement for every front end (the cockpit's keys, the
//! headless words, a follower's GO) and for `apply`, which ignores what it refuses. A replay
//! asks the same questions of the same events, so it judges every recorded answer again.

use serde::{Deserialize, Serialize};

use super::event::{Decision, Millis};
use super::release::{Question, Release, Stage};

/// Keys pressed this soon after a question opens are stray: they were meant for what was on
/// screen before, not for the question.
pub const STRAY_KEY_GUARD_MS: Millis = 400;

/// How a person following the session reached this machine, as the session established it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// A terminal on this machine: a GO from here is the operator's own.
    Local,
    /// Over SSH, from this address (as the follower's `SSH_CONNECTION` said it).
    Ssh { from: String },
}

impl Via {
    /// The words older journals recorded: "this machine", "ssh from 10.0.0.7". Anything else
    /// reads as this machine, which approves nothing.
    pub fn from_words(words: &str) -> Via {
        match words.strip_prefix("ssh from ") {
            Some(from) => Via::Ssh {
                from: from.to_string(),
            },
            None => Via::Local,
        }
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Local => f.write_str("this machine"),
            Via::Ssh { from } => write!(f, "ssh from {from}"),
        }
    }
}

impl From<&str> for Via {
    fn from(words: &str) -> Via {
        Via::from_words(words)
    }
}

/// Journals write the typed form; older ones wrote the words ("this machine", "ssh from X").
impl<'de> Deserialize<'de> for Via {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Typed {
            Local,
            Ssh { from: String },
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Read {
            Typed(Typed),
            Words(String),
        }
        Ok(match Read::deserialize(d)? {
            Read::Typed(Typed::Local) => Via::Local,
            Read::Typed(Typed::Ssh { from }) => Via::Ssh { from },
            Read::Words(words) => Via::from_words(&words),
        })
    }
}

/// Where an answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat<'a> {
    /// The operator: at the cockpit, at the terminal, or `--yes` and the policy in their name.
    Operator,
    /// A person following the session (`gonogo follow`): read-only, except a GO at a gate of
    /// two approvals or more from one started with `--approver`. `via` is `None` where it is
    /// not known (a follower's own cockpit): the session judges it when the vote arrives.
    Follower {
        approver: bool,
        via: Option<&'a Via>,
    },
}

/// A person answering: their name, their seat, and, for a key pressed in the cockpit, the
/// loop's time of the key (the stray-key guard applies to keys only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answerer<'a> {
    pub name: &'a str,
    pub seat: Seat<'a>,
    pub keys_at: Option<Millis>,
}

impl<'a> Answerer<'a> {
    pub fn operator(name: &'a str) -> Self {
        Answerer {
            name,
            seat: Seat::Operator,
            keys_at: None,
        }
    }

    pub fn follower(name: &'a str, approver: bool, via: Option<&'a Via>) -> Self {
        Answerer {
            name,
            seat: Seat::Follower { approver, via },
            keys_at: None,
        }
    }

    /// The answer is a key pressed at loop time `at`.
    pub fn at_keys(self, at: Millis) -> Self {
        Answerer {
            keys_at: Some(at),
            ..self
        }
    }
}

/// Why an answer is not taken, in the words a person is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Refusal {
    #[error("Ignored: keys right after a question opens do not count. Press again.")]
    TooSoon,
    #[error("the release has ended")]
    Ended,
    #[error("the release has not started")]
    NotStarted,
    #[error("runs are being stopped (or locks confirmed): only abort changes what comes next")]
    Stopping,
    #[error("nothing is asked now")]
    NothingAsked,
    #[error("that does not answer the open question")]
    NotAnAnswer,
    #[error("the watch window is not open")]
    NotWatching,
    #[error("this answer needs a reason")]
    NeedsReason,
    #[error("{who} already approved; this gate needs another person")]
    AlreadyApproved { who: String },
    #[error("read-only: only the operator answers")]
    ReadOnly,
    #[error("started without --approver: follows, does not approve")]
    NotApprover,
    #[error(
        "a GO from a follower on this machine is the operator's own: a second person approves \
         over SSH with a key of their own (docs/follow.md)"
    )]
    SameMachine,
    #[error(
        "this gate needs one approval, the operator's: a follower's GO counts only toward a \
         gate's second approval and beyond"
    )]
    OperatorsGate,
    #[error("{who} is the operator: one person counts once")]
    OperatorCountsOnce { who: String },
    #[error("that gate is not open any more")]
    GateClosed,
    #[error(
        "what was on screen changed since (targets, health or approvals): look again and approve \
         again"
    )]
    ScreenChanged,
    /// An older journal's vote, recorded refused: it did not record what the follower saw,
    /// so it is not judged counted now.
    #[error("refused when it was cast (this older journal did not record what the follower saw)")]
    RefusedThen,
}

impl Release {
    /// Whether a key pressed at loop time `at` comes within the stray-key guard of the open
    /// question (it opened at `question_opened_at`).
    pub fn too_soon(&self, at: Millis) -> bool {
        self.question.is_some() && at < self.question_opened_at.saturating_add(STRAY_KEY_GUARD_MS)
    }

    /// Whether `who` may make `decision` now: the one judgement the cockpit, the headless
    /// answers, a follower's vote and `apply` all use.
    pub fn may_answer(&self, decision: &Decision, who: &Answerer) -> Result<(), Refusal> {
        // A follower's seat first: what is not theirs to answer is refused whenever it comes.
        if let Seat::Follower { approver, via } = who.seat {
            self.follower_may(decision, who.name, approver, via)?;
        }
        if let Some(at) = who.keys_at
            && self.too_soon(at)
        {
            return Err(Refusal::TooSoon);
        }
        self.takes(decision, who.name)
    }

    /// A follower only approves: a GO at an open gate of two approvals or more, from another
    /// person, over SSH.
    fn follower_may(
        &self,
        decision: &Decision,
        name: &str,
        approver: bool,
        via: Option<&Via>,
    ) -> Result<(), Refusal> {
        let Some(Question::Gate { step }) = self.question else {
            return Err(Refusal::ReadOnly);
        };
        if !approver || *decision != Decision::Go {
            return Err(Refusal::ReadOnly);
        }
        if via == Some(&Via::Local) {
            return Err(Refusal::SameMachine);
        }
        if self.plan.steps.get(step).map_or(1, |s| s.approvals) <= 1 {
            return Err(Refusal::OperatorsGate);
        }
        if name == self.operator {
            return Err(Refusal::OperatorCountsOnce {
                who: name.to_string(),
            });
        }
        Ok(())
    }

    /// Whether the release takes `decision` from `by` as it stands: what `decide` acts on.
    fn takes(&self, decision: &Decision, by: &str) -> Result<(), Refusal> {
        if self.outcome.is_some() {
            return Err(Refusal::Ended);
        }
        if self.stage == Stage::Idle {
            return Err(Refusal::NotStarted);
        }
        if self.resuming || self.after_stop.is_some() {
            return match decision {
                Decision::Abort => Ok(()),
                _ => Err(Refusal::Stopping),
            };
        }
        let reasoned = |reason: &str| match reason.trim() {
            "" => Err(Refusal::NeedsReason),
            _ => Ok(()),
        };
        let watching = matches!(self.stage, Stage::Watching { .. });
        match (&self.question, decision) {
            (_, Decision::Abort | Decision::ConfirmRollback { .. }) => Ok(()),
            (Some(Question::ConfirmRollback { .. }), Decision::Cancel) => Ok(()),
            (Some(Question::ConfirmRollback { .. }), Decision::Rollback) => {
                Err(Refusal::NotAnAnswer)
            }
            (_, Decision::Rollback) => Ok(()),
            (Some(Question::Gate { step }), Decision::Go)
                if self
                    .steps
                    .get(*step)
                    .is_some_and(|s| s.approved_by.iter().any(|b| b == by)) =>
            {
                Err(Refusal::AlreadyApproved {
                    who: by.to_string(),
                })
            }
            (Some(Question::Gate { .. } | Question::FinalGate), Decision::Go)
            | (Some(Question::Gate { .. }), Decision::NoGo)
            | (Some(Question::Manual { .. }), Decision::Done)
            | (Some(Question::Failure { .. }), Decision::Retry) => Ok(()),
            (
                Some(Question::Manual { .. } | Question::Failure { .. }),
                Decision::Skip { reason },
            )
            | (Some(Question::RollbackProposal { .. }), Decision::KeepWatching { reason })
            | (Some(Question::Redeploy { .. }), Decision::Redeploy { reason }) => reasoned(reason),
            (None, Decision::EndWatch) if watching => Ok(()),
            (_, Decision::SkipBaseline { reason }) if self.baseline_wait.is_some() => {
                reasoned(reason)
            }
            (_, Decision::ExtendWatch | Decision::EndWatch) if !watching => {
                Err(Refusal::NotWatching)
            }
            (_, Decision::ExtendWatch) => Ok(()),
            (None, _) => Err(Refusal::NothingAsked),
            _ => Err(Refusal::NotAnAnswer),
        }
    }
}
