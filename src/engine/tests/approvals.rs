//! A follower's GO counts only toward the approvals beyond the operator's own: the engine
//! judges it as it applies it, so a journal that says "counted" cannot pass a gate by itself.

use super::*;

pub(super) fn gate(approvals: u32) -> String {
    format!(
        "version = 1\n[release]\nname = \"shop\"\nenvironment = \"production\"\n[targets.a]\nhost = \"a\"\n\n[[step]]\ngate = \"Go?\"\napprovals = {approvals}\n\n[[step]]\nrun = \"deploy\"\non = \"a\"\n"
    )
}

/// `name`'s GO at the first gate, over SSH, for what is on screen now.
pub(super) fn vote(run: &mut Run, name: &str) -> Vec<Effect> {
    let digest = Some(run.release.screen_digest(0));
    run.send(
        Vote {
            name: name.into(),
            via: Via::Ssh {
                from: "10.0.0.7".into(),
            },
            approver: true,
            step: 0,
            digest,
            note: None,
        }
        .into_event(),
    )
}

#[test]
fn an_approver_alone_never_passes_a_one_approval_gate() {
    let mut run = Run::going(&gate(1));
    let fx = vote(&mut run, "dana");
    assert!(started(&fx).is_empty(), "{fx:?}");
    assert_eq!(run.release.question, Some(Question::Gate { step: 0 }));
    assert!(run.release.steps[0].approved_by.is_empty());
    assert_eq!(
        run.release.votes.last().and_then(|v| v.refused.clone()),
        Some(Refusal::OperatorsGate)
    );
    let fx = run.decide("ana", Decision::Go);
    assert_eq!(started(&fx), vec![main_run(1, "a", 1)]);
}

#[test]
fn two_approvers_without_the_operator_never_pass_a_two_approval_gate() {
    let mut run = Run::going(&gate(2));
    vote(&mut run, "dana");
    let fx = vote(&mut run, "erik");
    assert!(started(&fx).is_empty(), "{fx:?}");
    assert_eq!(run.release.steps[0].approved_by, vec!["dana", "erik"]);
    // The operator's GO passes it: theirs and one more.
    let fx = run.decide("ana", Decision::Go);
    assert_eq!(started(&fx), vec![main_run(1, "a", 1)]);
}

#[test]
fn the_operators_go_then_an_approvers_passes_a_two_approval_gate() {
    let mut run = Run::going(&gate(2));
    let fx = run.decide("ana", Decision::Go);
    assert!(started(&fx).is_empty());
    // The operator's own name from a follower does not count twice.
    let fx = vote(&mut run, "ana");
    assert!(started(&fx).is_empty());
    let fx = vote(&mut run, "dana");
    assert_eq!(started(&fx), vec![main_run(1, "a", 1)]);
}

#[test]
fn every_vote_is_a_line_in_the_output_counted_or_refused_with_why() {
    use crate::engine::release::Mark;
    let mut run = Run::going(&gate(2));
    run.decide("ana", Decision::Go);
    // From the operator's machine: the operator's own, refused.
    run.send(
        Vote {
            name: "bob".into(),
            via: Via::Local,
            approver: true,
            step: 0,
            digest: Some(run.release.screen_digest(0)),
            note: None,
        }
        .into_event(),
    );
    vote(&mut run, "dana");
    let votes: Vec<(String, Mark)> = run
        .release
        .output
        .iter()
        .filter(|o| matches!(o.mark, Mark::Vote { .. }))
        .map(|o| (o.line.to_string(), o.mark))
        .collect();
    assert_eq!(votes.len(), 2, "{votes:?}");
    assert!(
        votes[0]
            .0
            .starts_with("GO from bob (this machine) refused: "),
        "{votes:?}"
    );
    assert_eq!(votes[0].1, Mark::Vote { counted: false });
    assert_eq!(votes[1].0, "GO from dana (ssh from 10.0.0.7) counted");
    assert_eq!(votes[1].1, Mark::Vote { counted: true });
}
