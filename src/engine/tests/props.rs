//! Whatever events arrive (a hand-edited journal, garbage on a socket), `apply` never panics and
//! the release keeps its promises; the same events always make the same release.

use proptest::prelude::*;

use super::*;
use crate::engine::{Actor, KeptLock};

const TARGETS: [&str; 3] = ["a", "b", "zz"];

fn target() -> impl Strategy<Value = String> {
    prop::sample::select(TARGETS.to_vec()).prop_map(str::to_string)
}

fn run() -> impl Strategy<Value = RunId> {
    (prop::bool::ANY, 0usize..6, target(), 0u32..4).prop_map(|(rollback, step, target, attempt)| {
        RunId {
            list: if rollback {
                StepList::Rollback
            } else {
                StepList::Main
            },
            step,
            target,
            attempt,
        }
    })
}

fn decision() -> impl Strategy<Value = Decision> {
    prop_oneof![
        Just(Decision::Go),
        Just(Decision::NoGo),
        Just(Decision::Done),
        "[a-z ]{0,3}".prop_map(|reason| Decision::Skip { reason }),
        Just(Decision::Retry),
        Just(Decision::Rollback),
        Just(Decision::ConfirmRollback {
            acknowledged: Vec::new()
        }),
        Just(Decision::Cancel),
        Just(Decision::Abort),
        Just(Decision::EndWatch),
    ]
}

fn timer() -> impl Strategy<Value = Timer> {
    prop_oneof![
        run().prop_map(|run| Timer::Timeout { run }),
        run().prop_map(|run| Timer::Retry { run }),
        Just(Timer::WatchEnd),
        Just(Timer::LogsSettle),
    ]
}

/// A log line: anything short, or a piece of a stack trace in some language.
fn log_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,4}",
        prop::sample::select(vec![
            "",
            "Traceback (most recent call last):",
            "  File \"a.py\", line 3, in f",
            "KeyError: 'a'",
            "During handling of the above exception, another exception occurred:",
            "ERROR in app: a",
            "Exception in thread \"main\" java.lang.IllegalStateException: a",
            "java.lang.IllegalStateException: a",
            "\tat A.b(A.java:3)",
            "Caused by: java.util.NoSuchElementException: a",
            "\t... 2 more",
            "panic: a",
            "goroutine 1 [running]:",
            "main.main()",
            "/a.js:3",
            "  ^",
            "TypeError: a",
            "    at f (/a.js:3:9) {",
            "  [cause]: Error: b",
            "}",
            "a.rb:3:in `f': a (KeyError)",
            "\tfrom a.rb:6:in `<main>'",
            "2026-12-07T04:52:49+0000 a app[1]: Traceback (most recent call last):",
            "127.0.0.1 - - [07/Dec/2026:04:52:49 +0000] \"POST /a HTTP/1.1\" 500 2",
        ])
        .prop_map(str::to_string),
    ]
}

fn event() -> impl Strategy<Value = EventKind> {
    let text = || "[a-z]{0,4}";
    prop_oneof![
        target().prop_map(|target| EventKind::Connected { target }),
        (target(), text()).prop_map(|(target, error)| EventKind::ConnectFailed { target, error }),
        (target(), text()).prop_map(|(target, error)| EventKind::ConnectionLost { target, error }),
        target().prop_map(|target| EventKind::Reconnected { target }),
        target().prop_map(|target| EventKind::LockTaken { target }),
        (target(), text()).prop_map(|(target, error)| EventKind::LockFailed { target, error }),
        (target(), text()).prop_map(|(target, holder)| EventKind::LockRefused { target, holder }),
        (target(), text(), text()).prop_map(|(target, holder, reason)| EventKind::LockBroken {
            target,
            holder,
            reason,
            leftovers: Vec::new(),
        }),
        (run(), prop::collection::vec(text(), 0..3)).prop_map(|(run, lines)| {
            EventKind::Output {
                run,
                stream: Stream::Stdout,
                lines,
            }
        }),
        (run(), -2i32..3).prop_map(|(run, status)| EventKind::Exited { run, status }),
        (run(), text()).prop_map(|(run, error)| EventKind::RunFailed { run, error }),
        (run(), text()).prop_map(|(run, error)| EventKind::RunLost { run, error }),
        (run(), text()).prop_map(|(run, how)| EventKind::RunStopped { run, how }),
        (run(), text()).prop_map(|(run, error)| EventKind::StopFailed { run, error }),
        (run(), text()).prop_map(|(run, holder)| EventKind::LockLost { run, holder }),
        (
            prop::collection::vec(target(), 0..3),
            prop::collection::vec(target(), 0..2)
        )
            .prop_map(|(released, kept)| EventKind::LocksReleased {
                released,
                kept: kept
                    .into_iter()
                    .map(|target| KeptLock {
                        target,
                        why: "x".into(),
                        remove: "y".into(),
                    })
                    .collect(),
            }),
        timer().prop_map(|timer| EventKind::TimerFired { timer }),
        (prop::sample::select(vec!["ana", "bob"]), decision()).prop_map(|(by, decision)| {
            EventKind::Decided {
                by: by.into(),
                decision,
                note: None,
                actor: Actor::Person,
            }
        }),
        (target(), prop::collection::vec(log_line(), 0..6)).prop_map(|(target, lines)| {
            EventKind::LogLines {
                target,
                follower: "app".into(),
                lines,
            }
        }),
        (target(), 0u64..5).prop_map(|(target, count)| EventKind::LogsDropped {
            target,
            follower: "app".into(),
            count,
        }),
        (target(), text()).prop_map(|(target, error)| EventKind::FollowerDown {
            target,
            follower: "app".into(),
            error,
        }),
        (target(), prop::option::of(0u64..9000)).prop_map(|(target, gap_ms)| {
            EventKind::FollowerUp {
                target,
                follower: "app".into(),
                gap_ms,
            }
        }),
        (text(), text(), 0u32..4).prop_map(|(message, error, attempts)| {
            EventKind::NotifyFailed {
                message,
                error,
                attempts,
            }
        }),
        (text(), text()).prop_map(|(path, error)| EventKind::JournalFailed { path, error }),
        // A second start, with another plan, arrives mid-release.
        Just(EventKind::Started {
            session: "s2".into(),
            operator: "eve".into(),
            plan: Box::default(),
        }),
    ]
}

/// Events of a real release interleaved with anything at all.
fn events() -> impl Strategy<Value = Vec<EventKind>> {
    prop::collection::vec(event(), 0..80)
}

fn live(release: &Release) -> Vec<(StepList, usize, String)> {
    release
        .runs()
        .filter(|(_, _, t)| matches!(t.status, RunStatus::Running | RunStatus::Stopping))
        .map(|(list, step, t)| (list, step, t.target.clone()))
        .collect()
}

/// Applies every event, checking after each what must always hold.
fn replay(toml: &str, kinds: &[EventKind]) -> Release {
    let mut run = Run::going(toml);
    for kind in kinds {
        let finished = run.release.is_finished();
        let before = run.release.clone();
        let fx = run.send(kind.clone());
        if finished {
            assert!(
                started(&fx).is_empty() && run.release.is_finished(),
                "a finished release started something or came back: {kind:?}"
            );
        }
        for (list, step, target, attempt) in started(&fx) {
            let prior = before
                .states(list)
                .get(step)
                .and_then(|s| s.targets.iter().find(|t| t.target == target));
            // A new attempt starts only once the previous one has ended; the same attempt is
            // only attached to again, after its outcome became unknown.
            let ok = prior.is_some_and(|t| match t.status {
                RunStatus::Running | RunStatus::Stopping => false,
                RunStatus::Unknown => t.attempt == attempt,
                _ => t.attempt + 1 == attempt,
            });
            assert!(
                ok,
                "{kind:?} started {target} {step} #{attempt} over {prior:?}"
            );
        }
        if run.release.is_finished() {
            assert!(
                live(&run.release).is_empty(),
                "finished with runs still in flight after {kind:?}"
            );
        }
    }
    run.release
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_events_keep_the_release_whole(kinds in events()) {
        replay(TWO_HOSTS, &kinds);
        replay(&TWO_HOSTS.replace("check = \"true\"", "check = \"true\"\nretries = 2"), &kinds);
        replay(&format!("{TWO_HOSTS}\n[logs.app]\non = \"web\"\ncommand = \"tail -F x\"\nerrors = 'a'\n"), &kinds);
    }

    #[test]
    fn the_same_events_make_the_same_release(kinds in events()) {
        let (a, b) = (replay(TWO_HOSTS, &kinds), replay(TWO_HOSTS, &kinds));
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
}
