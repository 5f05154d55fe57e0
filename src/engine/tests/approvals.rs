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
