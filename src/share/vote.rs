//! Approvals from followers: a follower started with `--approver` says GO at a gate that needs
//! more than one person. The vote is bound to what that follower had on screen: a digest of the
//! gate, the targets and the health shown, computed the same way from the same events on both
//! sides. The run loop judges it against the release as it stands now.

use std::fmt::Write as _;

use crate::engine::{EventKind, Question, Release};

/// A follower's GO, as the socket hands it to the run loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub name: String,
    /// How they came, as the session established it: `ssh from …` or `this machine`.
    pub via: String,
    pub approver: bool,
    pub step: usize,
    pub digest: String,
    pub note: Option<String>,
}

/// What was on screen at gate `step`: its text and approvals so far, each target's link and
/// lock, each health check's state, each watch rule's state. Two releases built from the same
/// events give the same digest.
pub fn digest(release: &Release, step: usize) -> String {
    let mut seen = String::new();
    let gate = release.plan.steps.get(step);
    let _ = write!(
        seen,
        "gate {step} {:?} {:?};",
        gate.map(|g| g.text.as_str()),
        release.steps.get(step).map(|s| &s.approved_by)
    );
    for t in &release.targets {
        let _ = write!(seen, "target {} {:?} {:?};", t.name, t.link, t.lock);
    }
    for h in &release.watch.health {
        let _ = write!(
            seen,
            "health {} {:?} {} {};",
            h.check,
            h.via,
            h.last.ok,
            h.failing_since.is_some()
        );
    }
    for r in &release.watch.rules {
        let _ = write!(
            seen,
            "rule {:?} {:?};",
            r.breaching_since.is_some(),
            r.fired_at
        );
    }
    // FNV-1a, 64 bits: a fingerprint of the screen, not a secret.
    let hash = seen.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The loop's judgement of a vote, as the event the journal records.
pub fn judge(vote: &Vote, release: &Release) -> EventKind {
    let why = if !vote.approver {
        Some("started without --approver: follows, does not approve".to_string())
    } else if !vote.via.starts_with("ssh from") {
        Some(
            "a GO from a follower on this machine is the operator's own: a second person \
             approves over SSH with a key of their own (docs/follow.md)"
                .to_string(),
        )
    } else if let Some(why) = release.vote_refusal(vote.step, &vote.name) {
        Some(why)
    } else if release.question != Some(Question::Gate { step: vote.step }) {
        Some("that gate is not open any more".to_string())
    } else if digest(release, vote.step) != vote.digest {
        Some(
            "what was on screen changed since (targets, health or approvals): look again and \
             approve again"
                .to_string(),
        )
    } else {
        None
    };
    EventKind::Voted {
        name: vote.name.clone(),
        via: vote.via.clone(),
        step: vote.step,
        note: vote.note.clone(),
        counted: why.is_none(),
        why,
    }
}
