//! The engine's rules, driven by event sequences: no SSH, no clock, no I/O.

use super::*;

mod after;
mod approvals;
mod failures;
mod judge;
mod logs;
mod output;
mod policy;
mod props;
mod rollback;
mod rollout;
mod ships;
mod stopping;
mod trace_logs;
mod traces;
mod undo;
mod watch;
use crate::engine::release::RunStatus;
use crate::profile::{self, Purpose, Source};

pub(super) const TWO_HOSTS: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"

[targets.a]
host = "a"
roles = ["web"]
[targets.b]
host = "b"
roles = ["web"]

[[step]]
name = "ready"
check = "true"
on = "web"

[[step]]
gate = "Go?"

[[step]]
manual = "Tell support"

[[step]]
name = "restart"
run = "restart"
on = "web"
serial = 1

[[rollback]]
name = "undo"
run = "undo"
on = "web"
"#;

pub(super) fn plan(toml: &str) -> ReleasePlan {
    let source = Source::new("t.toml", toml);
    let (p, diags) = profile::load(&source);
    let p = p.unwrap_or_else(|| panic!("test profile invalid: {diags:?}"));
    let mut diags = profile::Diagnostics::default();
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut diags);
    profile::release_plan(&p, &vars)
}

/// A release and a clock: each event happens one second after the last.
pub(super) struct Run {
    pub(super) release: Release,
    at: Millis,
}

impl Run {
    pub(super) fn new(toml: &str) -> Self {
        let mut run = Run {
            release: Release::default(),
            at: 1_000_000,
        };
        let plan = plan(toml);
        run.send(EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(plan),
        });
        run
    }

    /// Started, connected and locked: the first step is under way.
    pub(super) fn going(toml: &str) -> Self {
        let mut run = Run::new(toml);
        for t in run.target_names() {
            run.send(EventKind::Connected { target: t });
        }
        for t in run.target_names() {
            run.send(EventKind::LockTaken { target: t });
        }
        run
    }

    pub(super) fn target_names(&self) -> Vec<String> {
        self.release
            .plan
            .targets
            .iter()
            .map(|t| t.name.clone())
            .collect()
    }

    /// Time passes with nothing happening.
    pub(super) fn wait(&mut self, ms: Millis) {
        self.at += ms;
    }

    /// Nothing more came from the log tails: the `logs_settle` timer the engine asked for
    /// fires, and the log lines held to see whether a stack trace goes on are judged.
    pub(super) fn settle_logs(&mut self) -> Vec<Effect> {
        self.wait(crate::engine::trace::SETTLE_MS);
        self.send(EventKind::TimerFired {
            timer: Timer::LogsSettle,
        })
    }

    pub(super) fn send(&mut self, kind: EventKind) -> Vec<Effect> {
        self.at += 1000;
        self.release.apply(&Event::new(self.at, kind))
    }

    pub(super) fn exit(
        &mut self,
        step: usize,
        target: &str,
        attempt: u32,
        status: i32,
    ) -> Vec<Effect> {
        self.exit_in(StepList::Main, step, target, attempt, status)
    }

    pub(super) fn exit_in(
        &mut self,
        list: StepList,
        step: usize,
        target: &str,
        attempt: u32,
        status: i32,
    ) -> Vec<Effect> {
        self.send(EventKind::Exited {
            run: run_id(list, step, target, attempt),
            status,
        })
    }

    pub(super) fn decide(&mut self, by: &str, decision: Decision) -> Vec<Effect> {
        self.send(EventKind::Decided {
            by: by.into(),
            decision,
            note: None,
            actor: Actor::Person,
        })
    }

    pub(super) fn status(&self, step: usize) -> StepStatus {
        self.release.steps[step].status
    }

    /// The drivers released every lock that was asked for.
    pub(super) fn locks_released(&mut self, fx: &[Effect]) -> Vec<Effect> {
        let targets = fx
            .iter()
            .find_map(|e| match e {
                Effect::ReleaseLocks { targets } => Some(targets.clone()),
                _ => None,
            })
            .expect("the locks are released");
        self.send(EventKind::LocksReleased {
            released: targets,
            kept: Vec::new(),
        })
    }
}

/// The effects but for cancelled timers (each run that ends cancels its timeout).
pub(super) fn no_cancels(fx: Vec<Effect>) -> Vec<Effect> {
    fx.into_iter()
        .filter(|e| !matches!(e, Effect::CancelTimer { .. }))
        .collect()
}

/// The effects that are not timer bookkeeping.
pub(super) fn acts(fx: Vec<Effect>) -> Vec<Effect> {
    fx.into_iter()
        .filter(|e| !matches!(e, Effect::CancelTimer { .. } | Effect::StartTimer { .. }))
        .collect()
}

pub(super) fn both() -> Vec<String> {
    vec!["a".to_string(), "b".to_string()]
}

pub(super) fn run_id(list: StepList, step: usize, target: &str, attempt: u32) -> RunId {
    RunId {
        list,
        step,
        target: target.into(),
        attempt,
    }
}

pub(super) fn started(fx: &[Effect]) -> Vec<(StepList, usize, String, u32)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::StartRun { run, .. } => {
                Some((run.list, run.step, run.target.clone(), run.attempt))
            }
            _ => None,
        })
        .collect()
}

pub(super) fn main_run(step: usize, target: &str, attempt: u32) -> (StepList, usize, String, u32) {
    (StepList::Main, step, target.to_string(), attempt)
}

pub(super) fn finished(fx: &[Effect]) -> Option<Outcome> {
    fx.iter().find_map(|e| match e {
        Effect::Finish { outcome } => Some(*outcome),
        _ => None,
    })
}

#[test]
fn each_lock_is_taken_as_its_target_answers_and_nothing_runs_before_every_one_is_held() {
    let mut run = Run::new(TWO_HOSTS);
    assert_eq!(run.release.stage, Stage::Connecting);
    let fx = run.send(EventKind::Connected { target: "a".into() });
    assert_eq!(
        fx,
        vec![Effect::TakeLock { target: "a".into() }],
        "a slow b does not hold up a"
    );
    assert!(started(&run.send(EventKind::LockTaken { target: "a".into() })).is_empty());
    let fx = run.send(EventKind::Connected { target: "b".into() });
    assert_eq!(fx, vec![Effect::TakeLock { target: "b".into() }]);
    let fx = run.send(EventKind::LockTaken { target: "b".into() });
    assert_eq!(
        started(&fx),
        vec![main_run(0, "a", 1), main_run(0, "b", 1)],
        "checks fan out in parallel"
    );
}

#[test]
fn a_target_found_unreachable_after_another_was_locked_refuses_and_releases_that_lock() {
    let mut run = Run::new(TWO_HOSTS);
    run.send(EventKind::Connected { target: "a".into() });
    let error = "connection refused".to_string();
    let fx = run.send(EventKind::ConnectFailed {
        target: "b".into(),
        error,
    });
    assert!(
        finished(&fx).is_none(),
        "a's lock is still being taken: {fx:?}"
    );
    let fx = run.send(EventKind::LockTaken { target: "a".into() });
    assert!(started(&fx).is_empty());
    assert!(
        fx.contains(&Effect::ReleaseLocks {
            targets: vec!["a".into()]
        }),
        "{fx:?}"
    );
    assert!(
        run.release
            .refusals
            .iter()
            .any(|r| r.contains("cannot reach b"))
    );
    // b answering late takes no lock.
    let fx = run.send(EventKind::Connected { target: "b".into() });
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::TakeLock { .. })),
        "{fx:?}"
    );
}

#[test]
fn a_release_walks_checks_gates_manual_items_and_serial_actions_to_the_end() {
    let mut run = Run::going(TWO_HOSTS);
    run.exit(0, "a", 1, 0);
    assert_eq!(run.status(0), StepStatus::Running, "b is still running");
    let fx = run.exit(0, "b", 1, 0);
    assert_eq!(run.status(0), StepStatus::Passed);
    assert_eq!(no_cancels(fx), vec![Effect::Ask]);
    assert_eq!(run.release.question, Some(Question::Gate { step: 1 }));
    assert_eq!(run.release.choices(), vec!["go", "no-go", "rollback"]);

    let fx = run.decide("ana", Decision::Go);
    assert_eq!(fx, vec![Effect::Ask]);
    assert_eq!(
        run.release.question,
        Some(Question::Manual {
            list: StepList::Main,
            step: 2
        })
    );

    let fx = run.decide("ana", Decision::Done);
    assert_eq!(
        started(&fx),
        vec![main_run(3, "a", 1)],
        "serial = 1: one host at a time"
    );
    let fx = run.exit(3, "a", 1, 0);
    assert_eq!(started(&fx), vec![main_run(3, "b", 1)]);
    let fx = run.exit(3, "b", 1, 0);
    assert_eq!(
        acts(fx.clone()),
        vec![Effect::ReleaseLocks { targets: both() }]
    );
    assert!(
        !run.release.is_finished(),
        "not before the locks are released"
    );
    let fx = run.locks_released(&fx);
    assert_eq!(
        fx,
        vec![Effect::Finish {
            outcome: Outcome::Released
        }]
    );
    assert!(run.release.is_finished());
}

#[test]
fn refusals_before_the_start_release_what_was_taken() {
    let mut run = Run::new(TWO_HOSTS);
    let fx = run.send(EventKind::ConnectFailed {
        target: "b".into(),
        error: "connection refused".into(),
    });
    assert_eq!(finished(&fx), Some(Outcome::Refused));

    let mut run = Run::new(TWO_HOSTS);
    run.send(EventKind::Connected { target: "a".into() });
    run.send(EventKind::Connected { target: "b".into() });
    run.send(EventKind::LockTaken { target: "a".into() });
    let fx = run.send(EventKind::LockRefused {
        target: "b".into(),
        holder: "bob@laptop since 10:02".into(),
    });
    assert_eq!(
        fx,
        vec![Effect::ReleaseLocks {
            targets: vec!["a".into()]
        }],
        "only the lock taken is released"
    );
    assert_eq!(finished(&run.locks_released(&fx)), Some(Outcome::Refused));
    assert!(
        run.release
            .steps
            .iter()
            .all(|s| s.status == StepStatus::Pending),
        "nothing ran"
    );
}

#[test]
fn a_gate_with_two_approvals_needs_two_different_people() {
    let profile =
        rollback::IRREVERSIBLE.replace("gate = \"Migrate?\"", "gate = \"Migrate?\"\napprovals = 2");
    let mut run = Run::going(&profile);
    assert_eq!(run.decide("ana", Decision::Go), vec![Effect::Ask]);
    assert_eq!(
        run.decide("ana", Decision::Go),
        Vec::new(),
        "the same person twice is one approval"
    );
    let fx = run.decide("bob", Decision::Go);
    assert_eq!(started(&fx), vec![main_run(1, "db", 1)]);
    assert_eq!(
        run.release.steps[0].approved_by,
        vec!["ana".to_string(), "bob".to_string()]
    );
}

#[test]
fn events_survive_a_round_trip_through_json() {
    let events = vec![
        Event::new(
            1,
            EventKind::Started {
                session: "s".into(),
                operator: "ana".into(),
                plan: Box::new(plan(TWO_HOSTS)),
            },
        ),
        Event::new(
            2,
            EventKind::Output {
                run: run_id(StepList::Main, 0, "a", 1),
                stream: Stream::Stderr,
                lines: vec!["oops".into(), "again".into()],
            },
        ),
        Event::new(
            3,
            EventKind::Decided {
                by: "ana".into(),
                decision: Decision::Skip {
                    reason: "known".into(),
                },
                note: Some("n".into()),
                actor: Actor::Yes,
            },
        ),
        Event::new(
            4,
            EventKind::TimerFired {
                timer: Timer::Retry {
                    run: run_id(StepList::Rollback, 1, "b", 2),
                },
            },
        ),
    ];
    for event in events {
        let line = serde_json::to_string(&event).expect("serialize");
        let back: Event = serde_json::from_str(&line).expect("deserialize");
        assert_eq!(back, event, "{line}");
    }
}

#[test]
fn a_notification_not_delivered_is_noted_and_changes_nothing_else() {
    let mut run = Run::going(TWO_HOSTS);
    let before = (run.release.stage, run.release.question.clone());
    let failed = |message: &str| EventKind::NotifyFailed {
        message: message.into(),
        error: "the webhook answered 500".into(),
        attempts: 3,
    };
    assert_eq!(run.send(failed("release started")), Vec::new());
    assert_eq!((run.release.stage, run.release.question.clone()), before);
    assert_eq!(run.release.notify_failed, 1);
    // After the end, one more does not make the release longer.
    run.release.stage = Stage::Finished;
    let ended = run.release.now;
    run.wait(5000);
    run.send(failed("release ended (released)"));
    assert_eq!(run.release.now, ended);
    assert_eq!(run.release.notify_failed, 2);
    let last = run.release.notify_failures.last().expect("kept");
    assert_eq!(
        (last.message.as_str(), last.at),
        ("release ended (released)", ended + 6000)
    );
}
