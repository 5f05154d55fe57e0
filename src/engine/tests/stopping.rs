//! Stops confirmed by the host, outcomes unknown, runs that end once, and the locks' lifetime.

use super::*;

fn a0() -> RunId {
    run_id(StepList::Main, 0, "a", 1)
}

fn b0() -> RunId {
    run_id(StepList::Main, 0, "b", 1)
}

#[test]
fn a_refused_start_waits_for_every_lock_take_in_flight_and_releases_what_it_took() {
    let mut run = Run::new(TWO_HOSTS);
    run.send(EventKind::Connected { target: "a".into() });
    run.send(EventKind::Connected { target: "b".into() });
    let fx = run.send(EventKind::LockRefused {
        target: "b".into(),
        holder: "bob@laptop".into(),
    });
    assert!(fx.is_empty(), "a's take is still on its way: {fx:?}");
    assert_eq!(run.release.outcome, None);
    let fx = run.send(EventKind::LockTaken { target: "a".into() });
    assert_eq!(
        fx,
        vec![Effect::ReleaseLocks {
            targets: vec!["a".into()]
        }]
    );
    assert!(started(&fx).is_empty());
    assert_eq!(finished(&run.locks_released(&fx)), Some(Outcome::Refused));
}

#[test]
fn a_timeout_fails_the_run_only_once_the_host_confirms_it_stopped() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "b", 1, 0);
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::Timeout { run: a0() },
    });
    assert_eq!(fx, vec![Effect::CancelRun { run: a0() }]);
    assert_eq!(run.release.steps[0].targets[0].status, RunStatus::Stopping);
    assert_eq!(run.release.question, None, "no failure before the stop");
    let fx = run.send(EventKind::RunStopped {
        run: a0(),
        how: "killed: it ignored TERM for 5s".into(),
    });
    assert_eq!(no_cancels(fx), vec![Effect::Ask]);
    let t = &run.release.steps[0].targets[0];
    assert_eq!(t.status, RunStatus::Failed);
    assert_eq!(t.stopped.as_deref(), Some("killed: it ignored TERM for 5s"));
}

#[test]
fn rollback_and_abort_wait_for_the_cancelled_runs_to_stop() {
    let mut run = Run::going(TWO_HOSTS);
    let fx = run.decide("ana", Decision::Rollback);
    assert_eq!(
        fx,
        vec![
            Effect::CancelRun { run: a0() },
            Effect::CancelRun { run: b0() }
        ]
    );
    let fx = run.send(EventKind::RunStopped {
        run: a0(),
        how: "stopped with TERM".into(),
    });
    assert!(started(&fx).is_empty(), "b has not stopped yet");
    // An answer while runs stop changes nothing but an abort.
    assert!(run.decide("ana", Decision::Retry).is_empty());
    let fx = run.send(EventKind::StopFailed {
        run: b0(),
        error: "host unreachable".into(),
    });
    assert_eq!(
        started(&fx),
        vec![
            (StepList::Rollback, 0, "a".to_string(), 1),
            (StepList::Rollback, 0, "b".to_string(), 1)
        ]
    );
    assert_eq!(
        run.release.steps[0].targets[1].status,
        RunStatus::Unknown,
        "a stop nobody confirmed leaves the outcome unknown"
    );

    let mut run = Run::going(TWO_HOSTS);
    run.decide("ana", Decision::Abort);
    assert_eq!(run.release.outcome, None, "not aborted before the stops");
    run.send(EventKind::RunStopped {
        run: a0(),
        how: "stopped with TERM".into(),
    });
    // Its shell ending is not the stop: a child may linger; the host's answer decides.
    assert!(run.exit(0, "b", 1, 143).is_empty());
    assert_eq!(run.release.steps[0].targets[1].status, RunStatus::Stopping);
    let fx = run.send(EventKind::RunStopped {
        run: b0(),
        how: "killed: it ignored TERM for 5s".into(),
    });
    assert_eq!(
        acts(fx.clone()),
        vec![Effect::ReleaseLocks { targets: both() }]
    );
    assert_eq!(run.release.steps[0].targets[1].exit, Some(143));
    assert_eq!(finished(&run.locks_released(&fx)), Some(Outcome::Aborted));
}

#[test]
fn a_lost_run_is_unknown_and_retry_attaches_to_the_same_attempt() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "b", 1, 0);
    run.send(EventKind::ConnectionLost {
        target: "a".into(),
        error: "connection lost".into(),
    });
    let fx = run.send(EventKind::RunLost {
        run: a0(),
        error: "not back after 2m".into(),
    });
    assert_eq!(no_cancels(fx), vec![Effect::Ask]);
    let t = &run.release.steps[0].targets[0];
    assert_eq!(t.status, RunStatus::Unknown);
    assert_eq!(
        t.failure.as_deref(),
        Some("connection lost 1s; the step may still be running")
    );
    let fx = run.decide("ana", Decision::Retry);
    assert_eq!(started(&fx), vec![main_run(0, "a", 1)], "same attempt");
    // It had finished on the host: the re-attach brings its status back.
    let fx = run.exit(0, "a", 1, 0);
    assert_eq!(no_cancels(fx), vec![Effect::Ask], "on to the gate");
    assert_eq!(run.status(0), StepStatus::Passed);
}

#[test]
fn a_run_ends_once_and_its_timeout_is_cancelled() {
    let mut run = Run::going(TWO_HOSTS);
    let fx = run.exit(0, "a", 1, 0);
    assert!(fx.contains(&Effect::CancelTimer {
        timer: Timer::Timeout { run: a0() }
    }));
    let before = run.release.steps[0].targets[0].clone();
    for late in [
        EventKind::Exited {
            run: a0(),
            status: 1,
        },
        EventKind::RunLost {
            run: a0(),
            error: "late".into(),
        },
        EventKind::RunStopped {
            run: a0(),
            how: "late".into(),
        },
        EventKind::TimerFired {
            timer: Timer::Timeout { run: a0() },
        },
    ] {
        assert!(run.send(late).is_empty());
        let after = &run.release.steps[0].targets[0];
        assert_eq!(
            (after.status, after.finished_at, &after.failure),
            (before.status, before.finished_at, &before.failure)
        );
    }
}

#[test]
fn a_lock_taken_over_stops_the_release_once_runs_in_flight_end() {
    let mut run = Run::going(TWO_HOSTS);
    let fx = run.send(EventKind::LockLost {
        run: a0(),
        holder: "bob@laptop (session s2), who broke the previous lock: hung".into(),
    });
    assert!(started(&fx).is_empty());
    assert!(
        run.release
            .halted
            .as_deref()
            .is_some_and(|h| h.contains("bob@laptop") && h.contains("stops before `ready`"))
    );
    assert_eq!(run.release.outcome, None, "b still runs");
    let fx = run.exit(0, "b", 1, 0);
    assert_eq!(
        acts(fx),
        vec![Effect::ReleaseLocks {
            targets: vec!["b".into()]
        }],
        "a's lock is no longer this session's to release"
    );
    assert_eq!(run.release.question, None);
}

#[test]
fn an_abort_while_a_resume_confirms_its_locks_waits_for_them_and_releases_them() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    assert_eq!(run.release.question, Some(Question::Gate { step: 1 }));
    run.send(resumed_by_ana());
    assert!(run.release.resuming);
    // Nothing is open while the locks are confirmed: a GO does not pass the gate.
    run.decide("ana", Decision::Go);
    assert_eq!(run.release.steps[1].status, StepStatus::Waiting);
    run.decide("ana", Decision::Abort);
    assert!(
        run.release.outcome.is_none(),
        "not before the locks are confirmed"
    );
    run.send(EventKind::LockTaken { target: "a".into() });
    let fx = run.send(EventKind::LockTaken { target: "b".into() });
    assert_eq!(
        fx.iter().find_map(|e| match e {
            Effect::ReleaseLocks { targets } => Some(targets.clone()),
            _ => None,
        }),
        Some(both()),
        "{fx:?}"
    );
    assert_eq!(run.release.outcome, Some(Outcome::Aborted));
}

/// Found by the property test: a resume stopped by a lock taken meanwhile on one host left
/// the run on the other host "running" for ever. It was never attached again: unknown, and said.
#[test]
fn a_resume_stopped_by_a_lock_leaves_no_run_running_anywhere() {
    let mut run = Run::going(TWO_HOSTS);
    run.send(resumed_by_ana());
    run.send(EventKind::LockTaken { target: "b".into() });
    run.send(EventKind::LockRefused {
        target: "a".into(),
        holder: "bob@ci".into(),
    });
    assert_eq!(run.release.outcome, Some(Outcome::Aborted));
    for t in &run.release.steps[0].targets {
        assert_eq!(t.status, RunStatus::Unknown, "{t:?}");
        let why = t.failure.as_deref().unwrap_or_default();
        assert!(why.starts_with("not attached again"), "{why}");
    }
}

/// Found by the property test: a resume that ended while it still confirmed its locks (here a
/// run's lock reported lost) left the locks it was confirming on the hosts, and a late answer
/// brought the finished release back. They are released with the rest; late answers are noted.
#[test]
fn a_resume_ending_while_it_confirms_its_locks_releases_them_and_stays_ended() {
    let mut run = Run::going(TWO_HOSTS);
    run.send(resumed_by_ana());
    run.exit(0, "b", 1, 0);
    let fx = run.send(EventKind::LockLost {
        run: RunId {
            list: StepList::Main,
            step: 0,
            target: "a".into(),
            attempt: 1,
        },
        holder: "bob@ci".into(),
    });
    assert!(run.release.outcome.is_some(), "{:?}", run.release.stage);
    let released = fx.iter().find_map(|e| match e {
        Effect::ReleaseLocks { targets } => Some(targets.clone()),
        _ => None,
    });
    assert!(
        released.is_some_and(|t| t.contains(&"b".to_string())),
        "b's lock, still being confirmed, is released too: {fx:?}"
    );
    let fx = run.send(EventKind::LockTaken { target: "b".into() });
    assert!(started(&fx).is_empty(), "{fx:?}");
}

#[test]
fn a_resume_remembers_when_gonogo_stopped_and_when_it_went_on() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "a", 1, 0);
    let last = run.release.now;
    // gonogo died; the resume said when its last record was written, 2m35s before.
    run.wait(155_000);
    run.send(EventKind::Resumed {
        by: "ana@laptop".into(),
        unattended: None,
        stopped_at: Some(last),
        stopped_t: Some(4_000_000),
    });
    let resumed_at = run.release.now;
    assert_eq!(
        run.release.interruptions,
        vec![crate::engine::Interruption {
            stopped_at: last,
            stopped_t: Some(4_000_000),
            resumed_at,
            by: "ana@laptop".into(),
        }]
    );
    assert_eq!(run.release.interruptions[0].gap_ms(), 156_000);
    // An older journal's resume says nothing of it: the last event before it did.
    run.send(EventKind::LockTaken { target: "a".into() });
    run.send(EventKind::LockTaken { target: "b".into() });
    let before = run.release.now;
    run.wait(60_000);
    run.send(EventKind::Resumed {
        by: "bo@desk".into(),
        unattended: None,
        stopped_at: None,
        stopped_t: None,
    });
    let second = &run.release.interruptions[1];
    assert_eq!((second.stopped_at, second.stopped_t), (before, None));
    assert_eq!(second.gap_ms(), 61_000);
}

#[test]
fn a_resume_of_a_session_never_started_is_no_interruption() {
    let mut fresh = crate::engine::Release::default();
    fresh.apply(&Event::new(
        5,
        EventKind::Resumed {
            by: "ana@laptop".into(),
            unattended: None,
            stopped_at: Some(1),
            stopped_t: None,
        },
    ));
    assert!(fresh.interruptions.is_empty());
}

/// `gonogo resume` by ana, from a journal that did not say when it stopped.
fn resumed_by_ana() -> EventKind {
    EventKind::Resumed {
        by: "ana".into(),
        unattended: None,
        stopped_at: None,
        stopped_t: None,
    }
}
