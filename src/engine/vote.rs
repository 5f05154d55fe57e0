//! Approvals from followers: a follower started with `--approver` says GO at a gate that needs
//! more than one person. The vote is bound to what that follower had on screen (its
//! [`Release::screen_digest`], computed the same way from the same events on both sides) and
//! judged by `apply` when its event comes: live, and again on every replay and follow, so a
//! journal can never make a vote count that the rules refuse.

use serde::Serialize;

use super::event::{Decision, Effect, EventKind, Millis, StepList};
use super::policy::{Answerer, Refusal, Via};
use super::release::{LinkState, LockState, Question, Release, StepStatus};

/// A follower's GO, as the follow socket hands it to the run loop.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vote {
    pub name: String,
    /// How they came, as the session established it.
    pub via: Via,
    /// Started with `--approver`.
    pub approver: bool,
    pub step: usize,
    /// What they had on screen ([`Release::screen_digest`]); older journals did not record it.
    pub digest: Option<String>,
    pub note: Option<String>,
}

impl Vote {
    /// The event the loop records: judged when it is applied, never before.
    pub fn into_event(self) -> EventKind {
        EventKind::Voted {
            name: self.name,
            via: self.via,
            approver: self.approver,
            step: self.step,
            digest: self.digest,
            note: self.note,
            counted: None,
        }
    }
}

/// A follower's vote as the engine judged it, in order, for every surface to tell.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VoteRecord {
    pub at: Millis,
    pub name: String,
    pub via: Via,
    pub step: usize,
    pub note: Option<String>,
    /// Why it did not count; `None` when it counted.
    pub refused: Option<Refusal>,
}

/// What a follower had on screen at a gate, as the digest reads it: the canonical form, so two
/// releases built from the same events give the same bytes.
#[derive(Serialize)]
struct Seen<'a> {
    step: usize,
    gate: Option<&'a str>,
    approved_by: &'a [String],
    targets: Vec<(&'a str, Link<'a>, LockState)>,
    health: Vec<(&'a str, Option<&'a str>, bool, bool)>,
    rules: Vec<(bool, Option<Millis>)>,
}

#[derive(Serialize)]
#[serde(tag = "link", rename_all = "snake_case")]
enum Link<'a> {
    Connecting,
    Up,
    Down { since: Millis, error: &'a str },
    Lost { since: Millis, error: &'a str },
    Failed { error: &'a str },
}

impl<'a> From<&'a LinkState> for Link<'a> {
    fn from(link: &'a LinkState) -> Self {
        match link {
            LinkState::Connecting => Link::Connecting,
            LinkState::Up => Link::Up,
            LinkState::Down { since, error } => Link::Down {
                since: *since,
                error,
            },
            LinkState::Lost { since, error } => Link::Lost {
                since: *since,
                error,
            },
            LinkState::Failed { error } => Link::Failed { error },
        }
    }
}

impl Release {
    /// What was on screen at gate `step`: its text and approvals so far, each target's link and
    /// lock, each health check's state, each watch rule's state; a fingerprint of their
    /// canonical (JSON) form. The follower sends it with its GO; the judge compares it.
    pub fn screen_digest(&self, step: usize) -> String {
        let seen = Seen {
            step,
            gate: self.plan.steps.get(step).map(|g| g.text.as_str()),
            approved_by: self.steps.get(step).map_or(&[], |s| &s.approved_by),
            targets: (self.targets.iter())
                .map(|t| (t.name.as_str(), Link::from(&t.link), t.lock))
                .collect(),
            health: (self.watch.health.iter())
                .map(|h| {
                    let failing = h.failing_since.is_some();
                    (h.check.as_str(), h.via.as_deref(), h.last.ok, failing)
                })
                .collect(),
            rules: (self.watch.rules.iter())
                .map(|r| (r.breaching_since.is_some(), r.fired_at))
                .collect(),
        };
        let bytes = serde_json::to_vec(&seen).unwrap_or_default();
        // FNV-1a, 64 bits: a fingerprint of the screen, not a secret.
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{hash:016x}")
    }

    /// Whether `vote` counts now: from an approver, over SSH, for the gate open, for what is on
    /// screen, and everything [`Release::may_answer`] asks of a follower's GO. A vote without a
    /// digest (an older journal's) cannot be checked for the screen: that check is skipped.
    pub fn judge_vote(&self, vote: &Vote) -> Result<(), Refusal> {
        if !vote.approver {
            return Err(Refusal::NotApprover);
        }
        if vote.via == Via::Local {
            return Err(Refusal::SameMachine);
        }
        if self.question != Some(Question::Gate { step: vote.step }) {
            return Err(Refusal::GateClosed);
        }
        let who = Answerer::follower(&vote.name, vote.approver, Some(&vote.via));
        self.may_answer(&Decision::Go, &who)?;
        match &vote.digest {
            Some(seen) if *seen != self.screen_digest(vote.step) => Err(Refusal::ScreenChanged),
            _ => Ok(()),
        }
    }

    /// A recorded vote, judged again: it counts only if the rules take it now, whatever the
    /// journal says; an older journal's vote (no digest) counts only if it counted then too.
    pub(super) fn voted(&mut self, vote: Vote, counted_then: Option<bool>, fx: &mut Vec<Effect>) {
        let mut judged = self.judge_vote(&vote);
        if judged.is_ok() && vote.digest.is_none() && counted_then != Some(true) {
            judged = Err(Refusal::RefusedThen);
        }
        let counted = judged.is_ok();
        // The name came over the follow socket: the output pane makes the line printable.
        let why = judged.as_ref().err().map(ToString::to_string);
        let said = vote_said(&vote.name, &vote.via.to_string(), why.as_deref());
        self.mark_vote(vote.step, &said, counted);
        self.votes.push(VoteRecord {
            at: self.now,
            name: vote.name.clone(),
            via: vote.via,
            step: vote.step,
            note: vote.note.clone(),
            refused: judged.err(),
        });
        if counted {
            self.counted_vote(vote.step, &vote.name, &vote.note, fx);
        }
    }

    /// A follower's GO, counted toward the approvals beyond the operator's own: the gate passes
    /// once the operator said GO too.
    fn counted_vote(
        &mut self,
        step: usize,
        name: &str,
        note: &Option<String>,
        fx: &mut Vec<Effect>,
    ) {
        self.decisions.push(super::release::DecisionRecord {
            at: self.now,
            by: name.to_string(),
            actor: super::event::Actor::Person,
            decision: Decision::Go,
            note: note.clone(),
            question: self.question.clone(),
        });
        let state = &mut self.steps[step];
        if !state.approved_by.iter().any(|b| b == name) {
            state.approved_by.push(name.to_string());
        }
        let enough = state.approved_by.len() >= self.plan.steps[step].approvals as usize;
        if state.operator_go && enough {
            self.pass_waiting(StepList::Main, step, StepStatus::Passed, fx);
        } else {
            fx.push(Effect::Ask);
        }
    }
}

/// A follower's GO as judged, in the words every surface uses: `GO from dana (ssh from
/// 10.0.0.7) counted`, or `… refused: why`. The caller makes the name printable.
pub fn vote_said(name: &str, via: &str, why: Option<&str>) -> String {
    match why {
        None => format!("GO from {name} ({via}) counted"),
        Some(why) => format!("GO from {name} ({via}) refused: {why}"),
    }
}
