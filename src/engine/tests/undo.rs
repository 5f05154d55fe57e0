//! The rollback planned from what ran: each step's `undo` on the hosts where it started, latest
//! first, then the release-wide steps; the marks each host gets; the unattended policy.

use super::*;
use crate::engine::{NotUndone, Origin, UndoMark};

/// Three web hosts: stage everywhere, an irreversible migration on the first, a serial restart
/// with its undo, cache warming with no undo, then a release-wide step on the hosts that
/// changed and a manual item.
const FLEET: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"

[targets.w1]
host = "w1"
roles = ["web", "db"]
[targets.w2]
host = "w2"
roles = ["web"]
[targets.w3]
host = "w3"
roles = ["web"]

[[step]]
name = "Stage"
run = "stage"
undo = "unstage"
on = "web"

[[step]]
gate = "Migrate?"

[[step]]
name = "Migrate"
run = "migrate"
on = "db"
irreversible = true

[[step]]
name = "Restart"
run = "restart new"
undo = "restart old"
on = "web"
serial = 1

[[step]]
name = "Warm caches"
run = "warm"
on = "web"

[[step]]
gate = "Open traffic?"

[[rollback]]
name = "Flush CDN"
run = "flush"
on = "changed"

[[rollback]]
manual = "Tell support the release was rolled back"
"#;

/// Each rollback step: its name, its hosts in order, where it comes from.
fn planned(run: &Run) -> Vec<(String, Vec<String>, Option<Origin>)> {
    run.release
        .rollback_plan
        .iter()
        .map(|s| (s.name.clone(), s.targets.clone(), s.origin))
        .collect()
}

fn hosts(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Stage on every host, the gate passed, the migration done.
fn staged_and_migrated() -> Run {
    let mut run = Run::going(FLEET);
    for t in ["w1", "w2", "w3"] {
        run.exit(0, t, 1, 0);
    }
    run.decide("ana", Decision::Go);
    run.exit(2, "w1", 1, 0);
    run
}

#[test]
fn before_anything_ran_the_rollback_is_the_release_wide_steps_that_apply() {
    let run = Run::new(FLEET);
    assert_eq!(
        planned(&run),
        vec![(
            "Tell support the release was rolled back".to_string(),
            vec![],
            Some(Origin::Rollback { index: 1 })
        )],
        "`on = \"changed\"` with nothing changed is left out"
    );
    assert!(run.release.changed_hosts().is_empty());
}

#[test]
fn a_serial_step_failing_on_its_second_host_is_undone_where_it_started_latest_first() {
    let mut run = staged_and_migrated();
    run.exit(3, "w1", 1, 0);
    run.exit(3, "w2", 1, 9);
    assert_eq!(
        run.release.question,
        Some(Question::Failure {
            list: StepList::Main,
            step: 3
        })
    );
    assert_eq!(
        planned(&run),
        vec![
            (
                "Undo Restart".into(),
                hosts(&["w2", "w1"]),
                Some(Origin::Undo { step: 3 })
            ),
            (
                "Undo Stage".into(),
                hosts(&["w1", "w2", "w3"]),
                Some(Origin::Undo { step: 0 })
            ),
            (
                "Flush CDN".into(),
                hosts(&["w1", "w2", "w3"]),
                Some(Origin::Rollback { index: 0 })
            ),
            (
                "Tell support the release was rolled back".into(),
                vec![],
                Some(Origin::Rollback { index: 1 })
            ),
        ],
        "the restart never started on w3: it is not undone there"
    );
    let undo = &run.release.rollback_plan[0];
    assert_eq!(
        undo.serial,
        Some(1),
        "a serial step's undo keeps its serial"
    );
    assert_eq!(undo.text, "restart old");
    // Irreversible and undo-less steps are named, not planned.
    assert_eq!(run.release.irreversible_done()[0].step, "Migrate");
    assert!(
        run.release
            .not_undoable()
            .iter()
            .all(|d| d.step != "Restart")
    );

    let fx = run.decide(
        "ana",
        Decision::ConfirmRollback {
            acknowledged: run.release.irreversible_done(),
        },
    );
    assert!(fx.contains(&Effect::RollbackPlanned {
        origins: vec![
            Origin::Undo { step: 3 },
            Origin::Undo { step: 0 },
            Origin::Rollback { index: 0 },
            Origin::Rollback { index: 1 },
        ]
    }));
    assert_eq!(
        started(&fx),
        vec![(StepList::Rollback, 0, "w2".to_string(), 1)],
        "serial: one host at a time, the last one first"
    );
}

#[test]
fn an_unknown_outcome_counts_as_ran_and_a_retried_step_is_undone_once() {
    let mut run = Run::going(FLEET);
    run.exit(0, "w1", 1, 0);
    run.exit(0, "w2", 1, 4);
    run.send(EventKind::RunLost {
        run: run_id(StepList::Main, 0, "w3", 1),
        error: "link gone".into(),
    });
    run.decide("ana", Decision::Retry);
    run.exit(0, "w2", 2, 0);
    assert_eq!(
        planned(&run)[0],
        (
            "Undo Stage".into(),
            hosts(&["w2", "w1", "w3"]),
            Some(Origin::Undo { step: 0 })
        ),
        "w2 started last (its retry); w3's outcome is unknown: it counts as ran"
    );
    assert_eq!(planned(&run).len(), 3);
}

#[test]
fn marks_say_undone_only_where_the_undo_ran_ok() {
    let mut run = staged_and_migrated();
    run.exit(3, "w1", 1, 0);
    run.exit(3, "w2", 1, 0);
    run.exit(3, "w3", 1, 0);
    for t in ["w1", "w2", "w3"] {
        run.exit(4, t, 1, 0);
    }
    assert_eq!(
        run.release.undo_mark(3, "w1"),
        Some(UndoMark::ToUndo),
        "before a rollback, the undo is planned"
    );
    run.decide("ana", Decision::Rollback);
    let ack = run.release.irreversible_done();
    run.decide(
        "ana",
        Decision::ConfirmRollback {
            acknowledged: ack.clone(),
        },
    );
    // Undo Restart (w3, w2, w1), Undo Stage, Flush CDN, then the manual item.
    run.exit_in(StepList::Rollback, 0, "w3", 1, 0);
    run.exit_in(StepList::Rollback, 0, "w2", 1, 0);
    run.exit_in(StepList::Rollback, 0, "w1", 1, 0);
    run.exit_in(StepList::Rollback, 1, "w1", 1, 0);
    run.exit_in(StepList::Rollback, 1, "w2", 1, 5);
    run.exit_in(StepList::Rollback, 1, "w3", 1, 0);
    assert_eq!(run.release.undo_mark(0, "w2"), Some(UndoMark::UndoFailed));
    assert_eq!(
        run.release.question,
        Some(Question::Failure {
            list: StepList::Rollback,
            step: 1
        }),
        "a failed undo asks: retry, skip with a reason, abort"
    );
    assert_eq!(run.release.choices(), vec!["retry", "skip REASON", "abort"]);
    run.decide(
        "ana",
        Decision::Skip {
            reason: "w2 restaged by hand".into(),
        },
    );
    for t in ["w1", "w2", "w3"] {
        run.exit_in(StepList::Rollback, 2, t, 1, 0);
    }
    let fx = run.decide("ana", Decision::Done);
    assert_eq!(
        finished(&run.locks_released(&fx)),
        Some(Outcome::RolledBack)
    );

    let r = &run.release;
    assert_eq!(
        r.steps[3].status,
        StepStatus::RolledBack,
        "undone on all three"
    );
    assert_eq!(r.steps[0].status, StepStatus::Passed, "not undone on w2");
    assert_eq!(r.undo_mark(0, "w1"), Some(UndoMark::Undone));
    assert_eq!(
        r.undo_mark(0, "w2"),
        Some(UndoMark::UndoFailed),
        "its undo failed, then was skipped: it stays failed"
    );
    assert_eq!(
        r.undo_mark(2, "w1"),
        Some(UndoMark::NotUndone(NotUndone::Irreversible))
    );
    assert_eq!(r.undo_mark(2, "w2"), None, "the migration was never for w2");
    assert_eq!(
        r.undo_mark(4, "w1"),
        Some(UndoMark::NotUndone(NotUndone::NoUndo))
    );
    assert_eq!(
        r.undo_words(0).as_deref(),
        Some("↺ undone on w1, w3; undo failed on w2")
    );
    assert_eq!(
        r.undo_words(4).as_deref(),
        Some("done, not undone (no undo) on w1, w2, w3")
    );
}

#[test]
fn a_step_that_never_started_on_a_host_says_so() {
    let mut run = staged_and_migrated();
    run.exit(3, "w1", 1, 0);
    let fx = run.decide(
        "ana",
        Decision::ConfirmRollback {
            acknowledged: run.release.irreversible_done(),
        },
    );
    // The restart on w2 is stopped first; then the rollback begins.
    assert_eq!(
        acts(fx),
        vec![Effect::CancelRun {
            run: run_id(StepList::Main, 3, "w2", 1)
        }]
    );
    run.send(EventKind::RunStopped {
        run: run_id(StepList::Main, 3, "w2", 1),
        how: "stopped with TERM".into(),
    });
    assert_eq!(planned(&run)[0].1, hosts(&["w2", "w1"]));
    assert_eq!(run.release.undo_mark(3, "w3"), Some(UndoMark::NeverRan));
    assert!(run.release.rollback_begun);
}

#[test]
fn the_unattended_policy_rolls_back_once_anything_ran_and_aborts_before() {
    let mut run = Run::going(FLEET);
    run.exit(0, "w1", 1, 3);
    run.exit(0, "w2", 1, 0);
    run.exit(0, "w3", 1, 0);
    let (decision, note) = run
        .release
        .unattended_decision()
        .expect("a question is open");
    assert_eq!(
        decision,
        Decision::ConfirmRollback {
            acknowledged: vec![]
        }
    );
    assert!(
        note.contains("[policy] unattended = \"rollback\"")
            && note.contains("the failed step `Stage`")
            && note.contains("changed on w1, w2, w3"),
        "{note}"
    );

    let mut abort = Run::going(&FLEET.replace(
        "[[rollback]]\nname = \"Flush CDN\"",
        "[policy]\nunattended = \"abort\"\n\n[[rollback]]\nname = \"Flush CDN\"",
    ));
    abort.exit(0, "w1", 1, 3);
    abort.exit(0, "w2", 1, 0);
    abort.exit(0, "w3", 1, 0);
    let (decision, note) = abort.release.unattended_decision().unwrap();
    assert_eq!(decision, Decision::Abort);
    assert!(note.contains("left changed on w1, w2, w3"), "{note}");

    // A check that failed before any `run` step: nothing changed, nothing to roll back.
    let mut early = Run::going(TWO_HOSTS);
    early.exit(0, "a", 1, 1);
    early.exit(0, "b", 1, 0);
    let (decision, note) = early.release.unattended_decision().unwrap();
    assert_eq!(decision, Decision::Abort);
    assert!(note.ends_with("aborting: no host was changed"), "{note}");
}

#[test]
fn the_policy_cannot_roll_back_a_failing_rollback_it_stops_and_says_what_is_left() {
    let mut run = Run::going(FLEET);
    for t in ["w1", "w2", "w3"] {
        run.exit(0, t, 1, 0);
    }
    run.decide("ana", Decision::Rollback);
    run.exit_in(StepList::Rollback, 0, "w1", 1, 1);
    run.exit_in(StepList::Rollback, 0, "w2", 1, 0);
    run.exit_in(StepList::Rollback, 0, "w3", 1, 0);
    let (decision, note) = run.release.unattended_decision().unwrap();
    assert_eq!(decision, Decision::Abort);
    assert!(
        note.contains("the failed rollback step `Undo Stage`"),
        "{note}"
    );
    assert!(note.contains("the rollback needs a person"), "{note}");
}

#[test]
fn a_resumed_rollback_tells_the_drivers_its_plan_again() {
    let mut run = Run::going(FLEET);
    for t in ["w1", "w2", "w3"] {
        run.exit(0, t, 1, 0);
    }
    run.decide("ana", Decision::Rollback);
    let fx = run.send(EventKind::Resumed {
        by: "ana".into(),
        unattended: Some(crate::engine::Unattended::Abort),
        stopped_at: None,
        stopped_t: None,
    });
    assert!(
        fx.iter().any(|e| matches!(e, Effect::ConfirmLock { .. })),
        "{fx:?}"
    );
    let mut fx = Vec::new();
    for t in ["w1", "w2", "w3"] {
        fx.extend(run.send(EventKind::LockTaken { target: t.into() }));
    }
    assert!(fx.contains(&Effect::RollbackPlanned {
        origins: vec![
            Origin::Undo { step: 0 },
            Origin::Rollback { index: 0 },
            Origin::Rollback { index: 1 },
        ]
    }));
    assert_eq!(
        run.release.plan.unattended,
        crate::engine::Unattended::Abort,
        "--unattended on the resume holds from then on"
    );
}
