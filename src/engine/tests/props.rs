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
        "[a-z ]{0,3}".prop_map(|reason| Decision::KeepWatching { reason }),
        "[a-z ]{0,3}".prop_map(|reason| Decision::SkipBaseline { reason }),
        Just(Decision::ExtendWatch),
        "[a-z ]{0,3}".prop_map(|reason| Decision::Redeploy { reason }),
    ]
}

fn timer() -> impl Strategy<Value = Timer> {
    prop_oneof![
        run().prop_map(|run| Timer::Timeout { run }),
        run().prop_map(|run| Timer::Retry { run }),
        Just(Timer::WatchEnd),
        Just(Timer::AutoRollback),
        Just(Timer::Baseline),
        Just(Timer::LogsSettle),
        (0usize..8).prop_map(|step| Timer::Analysis { step }),
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

fn release_event() -> impl Strategy<Value = EventKind> {
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
                tail: "app".into(),
                lines,
            }
        }),
        (target(), 0u64..5).prop_map(|(target, count)| EventKind::LogsDropped {
            target,
            tail: "app".into(),
            count,
        }),
        (target(), text()).prop_map(|(target, error)| EventKind::TailDown {
            target,
            tail: "app".into(),
            error,
        }),
        (target(), prop::option::of(0u64..9000)).prop_map(|(target, gap_ms)| {
            EventKind::TailUp {
                target,
                tail: "app".into(),
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

/// Who follows, how, and what a person or a probe says: the events that do not come from a run.
fn people_and_probes() -> impl Strategy<Value = EventKind> {
    let text = || "[a-z]{0,4}";
    let name = || prop::sample::select(vec!["ana", "bob", "dana"]).prop_map(str::to_string);
    let via = || {
        prop_oneof![
            Just(crate::engine::policy::Via::Local),
            Just(crate::engine::policy::Via::Ssh {
                from: "10.0.0.7".into()
            }),
        ]
    };
    let place = || prop::option::of(target());
    prop_oneof![
        (
            name(),
            prop::option::of(0u64..5_000),
            prop::option::of(0u64..5_000_000)
        )
            .prop_map(|(by, stopped_at, stopped_t)| EventKind::Resumed {
                by,
                unattended: None,
                stopped_at,
                stopped_t,
            }),
        (target(), text()).prop_map(|(target, fingerprint)| EventKind::HostKeyTrusted {
            target,
            fingerprint
        }),
        (place(), prop::bool::ANY, 0u64..900).prop_map(|(via, ok, latency_ms)| {
            EventKind::HealthSampled {
                check: "app".into(),
                via,
                reading: crate::engine::watch::HealthReading {
                    ok,
                    status: Some(if ok { 200 } else { 503 }),
                    latency_ms,
                    error: (!ok).then(|| "503, expected 200".into()),
                    cert_days: None,
                },
            }
        }),
        (
            place(),
            prop::option::of(0.0f64..0.5),
            prop::option::of(1.0f64..900.0)
        )
            .prop_map(
                |(via, error_ratio, latency_p95_ms)| EventKind::MetricsSampled {
                    source: "app".into(),
                    via,
                    reading: crate::engine::watch::MetricsReading {
                        error_ratio,
                        request_rate: Some(50.0),
                        latency_p95_ms,
                        ..Default::default()
                    },
                }
            ),
        (name(), target()).prop_map(|(by, target)| EventKind::ShellOpened { by, target }),
        (target(), text()).prop_map(|(target, how)| EventKind::ShellClosed { target, how }),
        (name(), via(), prop::bool::ANY).prop_map(|(name, via, approver)| EventKind::Joined {
            name,
            via,
            approver
        }),
        (name(), prop::option::of(text())).prop_map(|(name, why)| EventKind::Left { name, why }),
        (
            name(),
            via(),
            prop::bool::ANY,
            0usize..6,
            prop::option::of(prop::bool::ANY),
            prop::option::of(text()),
        )
            .prop_map(|(name, via, approver, step, counted, digest)| {
                EventKind::Voted {
                    name,
                    via,
                    approver,
                    step,
                    digest,
                    note: None,
                    counted,
                }
            }),
        (
            prop::sample::select(vec!["ana", "bob"]),
            decision(),
            actor()
        )
            .prop_map(|(by, decision, actor)| EventKind::Decided {
                by: by.into(),
                decision,
                note: Some("n".into()),
                actor,
            }),
    ]
}

fn actor() -> impl Strategy<Value = Actor> {
    prop::sample::select(vec![
        Actor::Person,
        Actor::Yes,
        Actor::Gonogo,
        Actor::AutoRollback,
        Actor::Policy,
        Actor::Demo,
    ])
}

#[path = "props_news.rs"]
mod news;
use news::{batch_news, ships_found};

fn event() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        6 => release_event(),
        2 => people_and_probes(),
        1 => batch_news(),
        1 => ships_found()
    ]
}

/// Every kind of event, by name: a kind added to `EventKind` does not compile here until it
/// is named, and the test below fails until `event()` makes it.
fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Started { .. } => "started",
        EventKind::Resumed { .. } => "resumed",
        EventKind::HostKeyTrusted { .. } => "host_key_trusted",
        EventKind::Connected { .. } => "connected",
        EventKind::ConnectFailed { .. } => "connect_failed",
        EventKind::ConnectionLost { .. } => "connection_lost",
        EventKind::Reconnected { .. } => "reconnected",
        EventKind::LockTaken { .. } => "lock_taken",
        EventKind::LockFailed { .. } => "lock_failed",
        EventKind::LockRefused { .. } => "lock_refused",
        EventKind::LockBroken { .. } => "lock_broken",
        EventKind::Output { .. } => "output",
        EventKind::Exited { .. } => "exited",
        EventKind::RunFailed { .. } => "run_failed",
        EventKind::RunLost { .. } => "run_lost",
        EventKind::RunStopped { .. } => "run_stopped",
        EventKind::StopFailed { .. } => "stop_failed",
        EventKind::LockLost { .. } => "lock_lost",
        EventKind::LocksReleased { .. } => "locks_released",
        EventKind::TimerFired { .. } => "timer_fired",
        EventKind::HealthSampled { .. } => "health_sampled",
        EventKind::MetricsSampled { .. } => "metrics_sampled",
        EventKind::ShellOpened { .. } => "shell_opened",
        EventKind::Joined { .. } => "joined",
        EventKind::Left { .. } => "left",
        EventKind::Voted { .. } => "voted",
        EventKind::ShellClosed { .. } => "shell_closed",
        EventKind::Decided { .. } => "decided",
        EventKind::LogLines { .. } => "log_lines",
        EventKind::LogsDropped { .. } => "logs_dropped",
        EventKind::TailDown { .. } => "follower_down",
        EventKind::TailUp { .. } => "follower_up",
        EventKind::NotifyFailed { .. } => "notify_failed",
        EventKind::JournalFailed { .. } => "journal_failed",
        EventKind::BatchStarted { .. } => "batch_started",
        EventKind::BatchJudged { .. } => "batch_judged",
        EventKind::BatchPromoted { .. } => "batch_promoted",
        EventKind::VersionFound { .. } => "version_found",
        EventKind::ChangesFound { .. } => "changes_found",
        EventKind::PendingFound { .. } => "pending_found",
        EventKind::Refused { .. } => "refused",
    }
}

/// Every timer and every decision, by name, the same way.
fn timer_or_decision(kind: &EventKind) -> Option<&'static str> {
    match kind {
        EventKind::TimerFired { timer } => Some(match timer {
            Timer::Timeout { .. } => "timer:timeout",
            Timer::Retry { .. } => "timer:retry",
            Timer::WatchEnd => "timer:watch_end",
            Timer::AutoRollback => "timer:auto_rollback",
            Timer::Baseline => "timer:baseline",
            Timer::LogsSettle => "timer:logs_settle",
            Timer::Analysis { .. } => "timer:analysis",
        }),
        EventKind::Decided { decision, .. } => Some(match decision {
            Decision::Go => "decision:go",
            Decision::NoGo => "decision:no_go",
            Decision::Done => "decision:done",
            Decision::Skip { .. } => "decision:skip",
            Decision::Retry => "decision:retry",
            Decision::Rollback => "decision:rollback",
            Decision::ConfirmRollback { .. } => "decision:confirm_rollback",
            Decision::Cancel => "decision:cancel",
            Decision::Abort => "decision:abort",
            Decision::EndWatch => "decision:end_watch",
            Decision::KeepWatching { .. } => "decision:keep_watching",
            Decision::SkipBaseline { .. } => "decision:skip_baseline",
            Decision::ExtendWatch => "decision:extend_watch",
            Decision::Redeploy { .. } => "decision:redeploy",
        }),
        _ => None,
    }
}

/// 41 kinds, 7 timers, 14 decisions.
const EVERY: usize = 41 + 7 + 14;

#[test]
fn the_generator_makes_every_event_kind_timer_and_decision() {
    use proptest::strategy::ValueTree as _;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = event();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20_000 {
        let kind = strategy.new_tree(&mut runner).expect("an event").current();
        seen.insert(kind_name(&kind));
        seen.extend(timer_or_decision(&kind));
    }
    assert_eq!(seen.len(), EVERY, "made only {seen:?}");
}

/// Either way of promoting, picked by the events themselves.
fn promote_word(kinds: &[EventKind]) -> &'static str {
    if kinds.len().is_multiple_of(2) {
        "auto"
    } else {
        "gate"
    }
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

/// The runs an event's effects start or attach to again (`started`: the journal shows it began).
fn runs_begun(fx: &[Effect]) -> Vec<(StepList, usize, String, u32, bool)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::StartRun { run, started } => Some((
                run.list,
                run.step,
                run.target.clone(),
                run.attempt,
                *started,
            )),
            _ => None,
        })
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
        for (list, step, target, attempt, attach) in runs_begun(&fx) {
            let prior = before
                .states(list)
                .get(step)
                .and_then(|s| s.targets.iter().find(|t| t.target == target));
            // A new attempt starts only once the previous one has ended; the same attempt is
            // only attached to again: after its outcome became unknown, or on a resume, where
            // the journal shows it running.
            let ok = prior.is_some_and(|t| match t.status {
                RunStatus::Stopping => false,
                RunStatus::Running => attach && t.attempt == attempt,
                RunStatus::Unknown => t.attempt == attempt,
                _ => !attach && t.attempt + 1 == attempt,
            });
            assert!(
                ok,
                "{kind:?} started {target} {step} #{attempt} (attach: {attach}) over {prior:?}"
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
        replay(&super::watch::profile(
            "\"error_ratio > 5% for 30s\", \"latency_p95 > 2x baseline for 1m\", \"health failing for 20s\"",
            "auto_rollback = \"1m\"\nbaseline = \"2m\"\n",
        ), &kinds);
        replay(&TWO_HOSTS.replace("check = \"true\"", "check = \"true\"\nretries = 2"), &kinds);
        replay(&format!("{TWO_HOSTS}\n[logs.app]\non = \"web\"\ncommand = \"tail -F x\"\nerrors = 'a'\n"), &kinds);
        replay(&super::rollout::canary(promote_word(&kinds)), &kinds);
        replay(&TWO_HOSTS.replace("environment = \"staging\"", "environment = \"staging\"\ncurrent = \"cat VERSION\""), &kinds);
    }

    #[test]
    fn the_same_events_make_the_same_release(kinds in events()) {
        let (a, b) = (replay(TWO_HOSTS, &kinds), replay(TWO_HOSTS, &kinds));
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
}

/// gonogo died while releasing the locks; the resume asked to confirm one, and the release
/// finished before the answer came: the late answer changes nothing (proptest found it).
#[test]
fn a_lock_confirmed_after_the_end_never_brings_the_release_back() {
    let resumed = || EventKind::Resumed {
        by: "ana".into(),
        unattended: None,
        stopped_at: None,
        stopped_t: None,
    };
    let kinds = vec![
        resumed(),
        EventKind::LockRefused {
            target: "b".into(),
            holder: String::new(),
        },
        EventKind::LockTaken { target: "a".into() },
        resumed(),
        EventKind::LocksReleased {
            released: vec![],
            kept: vec![],
        },
        EventKind::LockTaken { target: "a".into() },
    ];
    let release = replay(TWO_HOSTS, &kinds);
    assert!(release.is_finished());
    assert_eq!(release.outcome, Some(Outcome::Aborted));
}

/// A check failed while the release was stopping (its lock taken over elsewhere): its retry
/// never starts, and the release ends with nothing in flight (proptest found it).
#[test]
fn a_check_failing_while_the_release_stops_is_not_retried() {
    let run = |target: &str, attempt| RunId {
        list: StepList::Main,
        step: 0,
        target: target.into(),
        attempt,
    };
    let kinds = vec![
        EventKind::LockLost {
            run: run("b", 1),
            holder: String::new(),
        },
        EventKind::Exited {
            run: run("a", 1),
            status: 1,
        },
        EventKind::TimerFired {
            timer: Timer::Retry { run: run("a", 2) },
        },
        EventKind::LocksReleased {
            released: vec![],
            kept: vec![],
        },
    ];
    let toml = TWO_HOSTS.replace("check = \"true\"", "check = \"true\"\nretries = 2");
    let release = replay(&toml, &kinds);
    assert!(release.is_finished());
    assert_eq!(release.outcome, Some(Outcome::Aborted));
}
