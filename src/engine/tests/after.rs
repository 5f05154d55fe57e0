//! `[[after]]` steps: they run once the watch's verdict was GO, and never after a rollback.

use super::*;

const AFTER: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"
[targets.a]
host = "a"

[[step]]
name = "Deploy"
run = "deploy"
on = "a"

[watch]
duration = "10m"

[[after]]
name = "Record the release"
run = "echo deployed >> ~/releases.log"
on = "a"

[[rollback]]
name = "Undo"
run = "undo"
on = "a"
"#;

#[test]
fn after_steps_wait_for_the_final_gate_then_run_and_the_release_is_released() {
    let mut run = Run::going(AFTER);
    assert!(run.release.plan.steps[1].after_watch);
    let fx = run.exit(0, "a", 1, 0);
    assert!(
        matches!(run.release.stage, Stage::Watching { .. }),
        "the watch comes before the after steps: {fx:?}"
    );
    assert!(started(&fx).is_empty());
    run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert_eq!(run.release.question, Some(Question::FinalGate));
    let fx = run.decide("ana", Decision::Go);
    assert_eq!(started(&fx), vec![main_run(1, "a", 1)]);
    assert!(
        run.release.outcome.is_none(),
        "not released before they ran"
    );
    let fx = run.exit(1, "a", 1, 0);
    assert_eq!(finished(&run.locks_released(&fx)), Some(Outcome::Released));
}

#[test]
fn after_steps_never_run_after_a_rollback() {
    let mut run = Run::going(AFTER);
    run.exit(0, "a", 1, 0);
    let fx = run.decide("ana", Decision::Rollback);
    assert_eq!(
        started(&fx),
        vec![(StepList::Rollback, 0, "a".to_string(), 1)]
    );
    let fx = run.exit_in(StepList::Rollback, 0, "a", 1, 0);
    assert_eq!(
        finished(&run.locks_released(&fx)),
        Some(Outcome::RolledBack)
    );
    assert_eq!(run.status(1), StepStatus::Pending, "never ran");
    assert!(!run.release.verdict_go);
}

#[test]
fn without_a_watch_after_steps_follow_the_checklist() {
    let profile = AFTER.replace("[watch]\nduration = \"10m\"\n", "");
    let mut run = Run::going(&profile);
    let fx = run.exit(0, "a", 1, 0);
    assert_eq!(started(&fx), vec![main_run(1, "a", 1)]);
    let fx = run.exit(1, "a", 1, 0);
    assert_eq!(finished(&run.locks_released(&fx)), Some(Outcome::Released));
}
