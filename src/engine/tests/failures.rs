//! A step that fails: the rest waits, the operator decides (retry only the failed targets,
//! skip with a reason), checks retry by themselves, a timeout cancels and fails.

use super::*;

#[test]
fn a_failure_waits_for_the_rest_then_asks_and_retry_reruns_only_the_failed_targets() {
    let mut run = Run::going(TWO_HOSTS);
    let fx = run.exit(0, "a", 1, 3);
    assert!(no_cancels(fx).is_empty(), "b still runs: no question yet");
    let fx = run.exit(0, "b", 1, 0);
    assert_eq!(no_cancels(fx), vec![Effect::Ask]);
    assert_eq!(
        run.release.question,
        Some(Question::Failure {
            list: StepList::Main,
            step: 0
        })
    );
    assert_eq!(
        run.release.choices(),
        vec!["retry", "skip REASON", "rollback", "abort"]
    );
    assert_eq!(
        run.release.steps[0].targets[0].failure.as_deref(),
        Some("exit 3")
    );

    // Nothing proceeds without a decision.
    assert!(run.decide("ana", Decision::Go).is_empty());
    assert_eq!(run.status(1), StepStatus::Pending);

    let fx = run.decide("ana", Decision::Retry);
    assert_eq!(started(&fx), vec![main_run(0, "a", 2)]);
    run.exit(0, "a", 2, 0);
    assert_eq!(run.status(0), StepStatus::Passed);
    assert_eq!(run.release.question, Some(Question::Gate { step: 1 }));
}

#[test]
fn a_retry_that_fails_again_is_told_with_its_attempt_and_the_one_before() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "a", 1, 3);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Retry);
    run.exit(0, "a", 2, 4);
    assert!(matches!(
        run.release.question,
        Some(Question::Failure { .. })
    ));
    let target = &run.release.steps[0].targets[0];
    assert_eq!(target.attempt, 2);
    assert_eq!(target.failure.as_deref(), Some("exit 4"));
    assert_eq!(target.earlier.len(), 1);
    assert_eq!(target.earlier[0].failure, "exit 3");
    let said = crate::narrate::attempts_said(&run.release.plan.steps[0], target).expect("said");
    assert!(
        said.starts_with("attempt 2 failed: exit 4 · attempt 1: exit 3 at "),
        "{said}"
    );
    // b passed on its first attempt: nothing to tell.
    let b = &run.release.steps[0].targets[1];
    assert_eq!(
        crate::narrate::attempts_said(&run.release.plan.steps[0], b),
        None
    );
}

#[test]
fn serial_steps_stop_starting_hosts_after_a_failure() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Go);
    run.decide("ana", Decision::Done);
    let fx = run.exit(3, "a", 1, 1);
    assert!(started(&fx).is_empty(), "b must not start after a failed");
    assert_eq!(
        run.release.question,
        Some(Question::Failure {
            list: StepList::Main,
            step: 3
        })
    );
    assert_eq!(run.release.steps[3].targets[1].status, RunStatus::Pending);
}

#[test]
fn skipping_needs_a_reason_and_records_it() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "a", 1, 1);
    run.exit(0, "b", 1, 0);
    assert!(
        run.decide(
            "ana",
            Decision::Skip {
                reason: "  ".into()
            }
        )
        .is_empty()
    );
    assert_eq!(run.status(0), StepStatus::Failed);
    let fx = run.decide(
        "ana",
        Decision::Skip {
            reason: "a is being decommissioned".into(),
        },
    );
    assert_eq!(fx, vec![Effect::Ask]);
    assert_eq!(run.status(0), StepStatus::Skipped);
    assert_eq!(
        run.release.steps[0].skip_reason.as_deref(),
        Some("a is being decommissioned")
    );
    assert_eq!(
        run.release.decisions.len(),
        2,
        "even the refused skip is on record"
    );
}

#[test]
fn checks_retry_by_themselves_after_their_delay() {
    let profile = TWO_HOSTS.replace(
        "check = \"true\"",
        "check = \"true\"\nretries = 1\nretry_delay = \"2s\"",
    );
    let mut run = Run::going(&profile);
    let fx = run.exit(0, "a", 1, 1);
    let retry = run_id(StepList::Main, 0, "a", 2);
    assert_eq!(
        no_cancels(fx),
        vec![Effect::StartTimer {
            timer: Timer::Retry { run: retry.clone() },
            after_ms: 2000
        }]
    );
    assert_eq!(
        run.release.steps[0].targets[0].status,
        RunStatus::RetryWaiting
    );
    run.exit(0, "b", 1, 0);
    assert!(
        run.release.question.is_none(),
        "a retry is pending, not a failure"
    );
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::Retry { run: retry },
    });
    assert_eq!(started(&fx), vec![main_run(0, "a", 2)]);
    run.exit(0, "a", 2, 1);
    assert_eq!(
        run.release.question,
        Some(Question::Failure {
            list: StepList::Main,
            step: 0
        }),
        "retries used up"
    );
}

#[test]
fn a_timeout_cancels_the_run_and_fails_it() {
    let mut run =
        Run::going(&TWO_HOSTS.replace("check = \"true\"", "check = \"true\"\ntimeout = \"30s\""));
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::Timeout {
            run: run_id(StepList::Main, 0, "a", 1),
        },
    });
    assert_eq!(
        fx,
        vec![Effect::CancelRun {
            run: run_id(StepList::Main, 0, "a", 1)
        }]
    );
    assert_eq!(
        run.release.steps[0].targets[0].failure.as_deref(),
        Some("timed out after 30s")
    );
    // The exit status of the cancelled attempt arrives late: it does not pass the run.
    run.exit(0, "a", 1, 0);
    assert_eq!(run.release.steps[0].targets[0].status, RunStatus::Stopping);
    run.send(EventKind::RunStopped {
        run: run_id(StepList::Main, 0, "a", 1),
        how: "had already ended (exit 0)".into(),
    });
    assert_eq!(run.release.steps[0].targets[0].status, RunStatus::Failed);
}
