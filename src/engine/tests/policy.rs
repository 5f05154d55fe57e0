//! Who may answer what, and when (`Release::may_answer`), and the votes judged again on every
//! replay: one judgement for the cockpit, headless, a follower and `apply`.

use super::approvals::{gate, vote};
use super::*;

fn operator(name: &str) -> Answerer<'_> {
    Answerer::operator(name)
}

#[test]
fn keys_within_the_guard_after_a_question_opened_are_stray() {
    let mut run = Run::going(&gate(1));
    let opened = run.release.question_opened_at;
    assert_eq!(
        opened, run.release.now,
        "the gate opened with the last event"
    );
    let at = |ms| operator("ana").at_keys(opened + ms);
    let go = Decision::Go;
    assert_eq!(run.release.may_answer(&go, &at(0)), Err(Refusal::TooSoon));
    assert_eq!(
        run.release.may_answer(&go, &at(STRAY_KEY_GUARD_MS - 1)),
        Err(Refusal::TooSoon)
    );
    assert_eq!(run.release.may_answer(&go, &at(STRAY_KEY_GUARD_MS)), Ok(()));
    // Typed answers (headless, --yes) are not keys: no guard.
    assert_eq!(run.release.may_answer(&go, &operator("ana")), Ok(()));
    // Events that do not change the question do not open it again.
    run.wait(5000);
    run.send(EventKind::ConnectionLost {
        target: "a".into(),
        error: "reset".into(),
    });
    assert_eq!(run.release.question_opened_at, opened);
}

#[test]
fn what_may_be_answered_follows_the_open_question() {
    let mut run = Run::going(&gate(2));
    let r = &run.release;
    let ana = operator("ana");
    assert_eq!(
        r.may_answer(&Decision::Done, &ana),
        Err(Refusal::NotAnAnswer)
    );
    assert_eq!(r.may_answer(&Decision::NoGo, &ana), Ok(()));
    assert_eq!(r.may_answer(&Decision::Abort, &ana), Ok(()));
    assert_eq!(
        r.may_answer(&Decision::EndWatch, &ana),
        Err(Refusal::NotWatching)
    );
    run.decide("ana", Decision::Go);
    assert_eq!(
        run.release.may_answer(&Decision::Go, &ana),
        Err(Refusal::AlreadyApproved { who: "ana".into() }),
        "one person approves once"
    );
    assert_eq!(
        Refusal::AlreadyApproved { who: "ana".into() }.to_string(),
        "ana already approved; this gate needs another person"
    );
    run.decide("ana", Decision::Abort);
    assert_eq!(
        run.release.may_answer(&Decision::Go, &ana),
        Err(Refusal::Ended)
    );
}

#[test]
fn a_follower_only_approves_a_gate_of_two_from_another_person_over_ssh() {
    let run = Run::going(&gate(2));
    let r = &run.release;
    let ssh = Via::Ssh {
        from: "10.0.0.7".into(),
    };
    let go = Decision::Go;
    let follower = Answerer::follower("bob", false, Some(&ssh));
    assert_eq!(r.may_answer(&go, &follower), Err(Refusal::ReadOnly));
    let approver = Answerer::follower("dana", true, Some(&ssh));
    assert_eq!(r.may_answer(&go, &approver), Ok(()));
    assert_eq!(
        r.may_answer(&Decision::NoGo, &approver),
        Err(Refusal::ReadOnly)
    );
    let here = Answerer::follower("dana", true, Some(&Via::Local));
    assert_eq!(r.may_answer(&go, &here), Err(Refusal::SameMachine));
    // A follower's own cockpit does not know how it came: the session judges that.
    let unknown = Answerer::follower("dana", true, None);
    assert_eq!(r.may_answer(&go, &unknown), Ok(()));
    let as_operator = Answerer::follower("ana", true, Some(&ssh));
    assert_eq!(
        r.may_answer(&go, &as_operator),
        Err(Refusal::OperatorCountsOnce { who: "ana".into() })
    );
    // Whenever it comes: a follower's key as the gate opens is read-only, not stray.
    let at_once = follower.at_keys(r.question_opened_at);
    assert_eq!(r.may_answer(&go, &at_once), Err(Refusal::ReadOnly));
    assert_eq!(
        r.may_answer(&go, &approver.at_keys(r.question_opened_at)),
        Err(Refusal::TooSoon)
    );
    let one = Run::going(&gate(1));
    assert_eq!(
        one.release.may_answer(&go, &approver),
        Err(Refusal::OperatorsGate)
    );
}

/// A journal line as an older gonogo wrote it, or as someone edited it.
fn recorded(line: &str) -> EventKind {
    serde_json::from_str::<Event>(line)
        .unwrap_or_else(|e| panic!("{e}: {line}"))
        .kind
}

#[test]
fn a_recorded_counted_vote_the_rules_refuse_is_refused_on_replay() {
    for (via, name) in [("this machine", "dana"), ("ssh from 10.0.0.7", "ana")] {
        let mut run = Run::going(&gate(2));
        run.decide("ana", Decision::Go);
        let line = format!(
            r#"{{"at":1,"event":"voted","name":"{name}","via":"{via}","step":0,"note":null,{}}}"#,
            r#""counted":true,"why":null"#
        );
        let fx = run.send(recorded(&line));
        assert!(started(&fx).is_empty(), "{via}: {fx:?}");
        assert_eq!(run.release.steps[0].approved_by, vec!["ana"], "{via}");
        let refused = run.release.votes.last().and_then(|v| v.refused.clone());
        assert!(refused.is_some(), "{via}: judged counted");
    }
}

#[test]
fn a_vote_for_another_screen_is_refused_and_one_for_this_screen_counts() {
    let mut run = Run::going(&gate(2));
    run.decide("ana", Decision::Go);
    let seen = run.release.screen_digest(0);
    run.send(EventKind::ConnectionLost {
        target: "a".into(),
        error: "reset".into(),
    });
    assert_ne!(run.release.screen_digest(0), seen, "the link is on screen");
    let stale = Vote {
        name: "dana".into(),
        via: Via::Ssh {
            from: "10.0.0.7".into(),
        },
        approver: true,
        step: 0,
        digest: Some(seen),
        note: None,
    };
    run.send(stale.into_event());
    assert_eq!(
        run.release.votes.last().and_then(|v| v.refused.clone()),
        Some(Refusal::ScreenChanged)
    );
    let fx = vote(&mut run, "dana");
    assert_eq!(started(&fx), vec![main_run(1, "a", 1)]);
    assert_eq!(run.release.votes.last().map(|v| &v.refused), Some(&None));
}

#[test]
fn an_older_journals_counted_vote_still_passes_its_gate_on_replay() {
    let mut run = Run::going(&gate(2));
    run.decide("ana", Decision::Go);
    let line = concat!(
        r#"{"at":1,"event":"voted","name":"dana","via":"ssh from 10.0.0.7","step":0,"#,
        r#""note":null,"counted":true,"why":null}"#
    );
    let fx = run.send(recorded(line));
    assert_eq!(started(&fx), vec![main_run(1, "a", 1)]);
    assert_eq!(
        run.release.votes[0].via,
        Via::Ssh {
            from: "10.0.0.7".into()
        }
    );
    // One it recorded refused stays refused (what was on screen cannot be checked).
    let mut run = Run::going(&gate(2));
    run.decide("ana", Decision::Go);
    let refused = line.replace(r#""counted":true"#, r#""counted":false"#);
    let fx = run.send(recorded(&refused));
    assert!(started(&fx).is_empty(), "{fx:?}");
}

#[test]
fn via_reads_the_words_of_older_journals_and_writes_its_type() {
    let joined = |via: &str| {
        recorded(&format!(
            r#"{{"at":1,"event":"joined","name":"bob","via":{via},"approver":true}}"#
        ))
    };
    let via_of = |kind: EventKind| match kind {
        EventKind::Joined { via, .. } => via,
        other => panic!("{other:?}"),
    };
    assert_eq!(via_of(joined(r#""this machine""#)), Via::Local);
    let ssh = Via::Ssh {
        from: "10.0.0.7".into(),
    };
    assert_eq!(via_of(joined(r#""ssh from 10.0.0.7""#)), ssh);
    let written = serde_json::to_string(&ssh).expect("json");
    assert_eq!(written, r#"{"ssh":{"from":"10.0.0.7"}}"#);
    assert_eq!(via_of(joined(&written)), ssh);
    assert_eq!(via_of(joined(r#""local""#)), Via::Local);
    assert_eq!(ssh.to_string(), "ssh from 10.0.0.7");
    assert_eq!(Via::Local.to_string(), "this machine");
}
