//! Rollback, abort and the watch window, driven by events.

use super::*;

pub(super) const IRREVERSIBLE: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"
[targets.db]
host = "db"

[[step]]
gate = "Migrate?"
[[step]]
name = "Migrate"
run = "migrate"
on = "db"
irreversible = true
[[step]]
gate = "Open traffic?"

[[rollback]]
run = "undo"
on = "db"
"#;

#[test]
fn rollback_from_a_failure_runs_the_rollback_steps_and_ends_rolled_back() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Go);
    run.decide("ana", Decision::Done);
    run.exit(3, "a", 1, 1);
    let fx = run.decide("ana", Decision::Rollback);
    let rollback = |t: &str| (StepList::Rollback, 0, t.to_string(), 1);
    assert_eq!(started(&fx), vec![rollback("a"), rollback("b")]);
    run.exit_in(StepList::Rollback, 0, "a", 1, 0);
    let fx = run.exit_in(StepList::Rollback, 0, "b", 1, 0);
    assert_eq!(
        finished(&run.locks_released(&fx)),
        Some(Outcome::RolledBack)
    );
    assert_eq!(
        run.status(0),
        StepStatus::Passed,
        "a check changed nothing to roll back"
    );
    assert_eq!(run.status(3), StepStatus::Failed);
}

#[test]
fn a_failing_rollback_offers_retry_skip_abort_but_not_rollback() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Rollback);
    run.exit_in(StepList::Rollback, 0, "a", 1, 0);
    run.exit_in(StepList::Rollback, 0, "b", 1, 7);
    assert_eq!(
        run.release.question,
        Some(Question::Failure {
            list: StepList::Rollback,
            step: 0
        })
    );
    assert_eq!(run.release.choices(), vec!["retry", "skip REASON", "abort"]);
    assert!(run.decide("ana", Decision::Rollback).is_empty());
    let fx = run.decide("ana", Decision::Retry);
    assert_eq!(
        started(&fx),
        vec![(StepList::Rollback, 0, "b".to_string(), 2)]
    );
}

#[test]
fn rollback_after_an_irreversible_step_names_it_and_asks_to_confirm() {
    let mut run = Run::going(IRREVERSIBLE);
    run.decide("ana", Decision::Go);
    run.exit(1, "db", 1, 0);
    assert_eq!(run.release.question, Some(Question::Gate { step: 2 }));
    let fx = run.decide("ana", Decision::Rollback);
    assert_eq!(fx, vec![Effect::Ask]);
    let Some(Question::ConfirmRollback { irreversible, then }) = run.release.question.clone()
    else {
        panic!("expected a confirmation, got {:?}", run.release.question);
    };
    assert_eq!(irreversible[0].step, "Migrate");
    assert_eq!(irreversible[0].targets, vec!["db".to_string()]);
    assert_eq!(then.as_deref(), Some(&Question::Gate { step: 2 }));

    run.decide("ana", Decision::Cancel);
    assert_eq!(
        run.release.question,
        Some(Question::Gate { step: 2 }),
        "cancel goes back to the gate"
    );

    run.decide("ana", Decision::Rollback);
    let Some(Question::ConfirmRollback { irreversible, .. }) = run.release.question.clone() else {
        panic!("asked to confirm");
    };
    let fx = run.decide(
        "ana",
        Decision::ConfirmRollback {
            acknowledged: irreversible,
        },
    );
    assert_eq!(
        started(&fx),
        vec![(StepList::Rollback, 0, "db".to_string(), 1)]
    );
}

#[test]
fn a_confirmation_counts_only_for_the_irreversible_steps_it_was_shown() {
    let mut run = Run::going(IRREVERSIBLE);
    run.decide("ana", Decision::Go);
    // Confirmed having seen nothing irreversible, but the migration has started since.
    let fx = run.decide(
        "ana",
        Decision::ConfirmRollback {
            acknowledged: Vec::new(),
        },
    );
    assert!(started(&fx).is_empty(), "asked again: {fx:?}");
    let Some(Question::ConfirmRollback { irreversible, .. }) = run.release.question.clone() else {
        panic!("asked again with what ran");
    };
    assert_eq!(irreversible[0].step, "Migrate");
    // From the cockpit's rollback key, confirmed with what it showed: no second question.
    let fx = run.decide(
        "ana",
        Decision::ConfirmRollback {
            acknowledged: irreversible,
        },
    );
    assert_eq!(
        fx,
        vec![Effect::CancelRun {
            run: run_id(StepList::Main, 1, "db", 1)
        }]
    );
}

#[test]
fn no_go_aborts_and_releases_the_locks() {
    let mut run = Run::going(IRREVERSIBLE);
    let fx = run.decide("ana", Decision::NoGo);
    assert!(
        matches!(fx.as_slice(), [Effect::ReleaseLocks { .. }]),
        "{fx:?}"
    );
    assert_eq!(finished(&run.locks_released(&fx)), Some(Outcome::Aborted));
    assert_eq!(
        run.status(1),
        StepStatus::Pending,
        "the migration never ran"
    );
}

#[test]
fn abort_mid_step_cancels_what_runs() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "a", 1, 0);
    let fx = run.decide("ana", Decision::Abort);
    assert_eq!(
        fx,
        vec![Effect::CancelRun {
            run: run_id(StepList::Main, 0, "b", 1)
        }]
    );
    run.send(EventKind::RunStopped {
        run: run_id(StepList::Main, 0, "b", 1),
        how: "stopped with TERM".into(),
    });
    assert_eq!(run.status(0), StepStatus::Cancelled);
    assert!(!run.release.is_running_commands());
}

#[test]
fn the_watch_window_holds_the_release_until_it_ends() {
    let profile = format!("{TWO_HOSTS}\n[watch]\nduration = \"10m\"\n");
    let mut run = Run::going(&profile);
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Go);
    run.decide("ana", Decision::Done);
    run.exit(3, "a", 1, 0);
    let fx = run.exit(3, "b", 1, 0);
    assert_eq!(
        no_cancels(fx),
        vec![Effect::StartTimer {
            timer: Timer::WatchEnd,
            after_ms: 600_000
        }]
    );
    assert!(matches!(run.release.stage, Stage::Watching { .. }));
    // At its end, the final gate: a person says the release is good.
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert_eq!(fx, vec![Effect::Ask]);
    assert_eq!(run.release.question, Some(Question::FinalGate));
    assert_eq!(run.release.answers(), vec![Answer::Go, Answer::Rollback]);
    let fx = run.decide("ana", Decision::Go);
    assert_eq!(finished(&run.locks_released(&fx)), Some(Outcome::Released));
}

#[test]
fn rollback_is_offered_during_the_watch() {
    let profile = format!("{TWO_HOSTS}\n[watch]\nduration = \"10m\"\n");
    let mut run = Run::going(&profile);
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Go);
    run.decide("ana", Decision::Done);
    run.exit(3, "a", 1, 0);
    run.exit(3, "b", 1, 0);
    let fx = run.decide("ana", Decision::Rollback);
    assert_eq!(started(&fx).len(), 2);
    // The watch timer firing during the rollback does not end the release as released.
    assert!(
        finished(&run.send(EventKind::TimerFired {
            timer: Timer::WatchEnd
        }))
        .is_none()
    );
}
