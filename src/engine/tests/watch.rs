//! The watch window's rules, on samples with their times: a rule proposes a rollback only
//! once it has held for its duration during the watch, against a baseline taken before the
//! first change; `auto_rollback` acts when nobody answers; "keep watching" needs a reason.

use super::*;
use crate::engine::Actor;
use crate::engine::watch::{HealthReading, MetricsReading};
use crate::engine::watch_rule::Signal;

pub(super) fn profile(rules: &str, extra: &str) -> String {
    format!(
        "{TWO_HOSTS}\n[health.app]\nurl = \"http://127.0.0.1:8000/health\"\n\n[metrics.app]\nurl = \"http://127.0.0.1:8000/metrics\"\nerrors = 'http_requests_total{{status=~\"5..\"}}'\nrequests = \"http_requests_total\"\nlatency = \"http_request_duration_seconds\"\n\n[watch]\nduration = \"10m\"\nrollback_on = [{rules}]\n{extra}"
    )
}

pub(super) fn metrics(ratio: f64, p95_ms: f64) -> EventKind {
    EventKind::MetricsSampled {
        source: "app".into(),
        via: None,
        reading: MetricsReading {
            error_ratio: Some(ratio),
            request_rate: Some(50.0),
            latency_p95_ms: Some(p95_ms),
            ..MetricsReading::default()
        },
    }
}

pub(super) fn health(ok: bool) -> EventKind {
    EventKind::HealthSampled {
        check: "app".into(),
        via: Some("a".into()),
        reading: HealthReading {
            ok,
            status: Some(if ok { 200 } else { 503 }),
            latency_ms: 12,
            error: (!ok).then(|| "503, expected 200".to_string()),
            cert_days: None,
        },
    }
}

/// Through the checklist into the watch, with `before` sent while the preflight check runs
/// (the baseline) and nothing after the deploy.
pub(super) fn watching(toml: &str, before: &[EventKind]) -> Run {
    let mut run = Run::going(toml);
    for kind in before {
        run.send(kind.clone());
    }
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Go);
    run.decide("ana", Decision::Done);
    run.exit(3, "a", 1, 0);
    run.exit(3, "b", 1, 0);
    assert!(matches!(run.release.stage, Stage::Watching { .. }));
    run
}

/// Sends `kind` every 5 s for `seconds`; returns the effects of the sample that opened a
/// question, and when.
pub(super) fn for_seconds(
    run: &mut Run,
    seconds: u64,
    kind: &EventKind,
) -> Option<(u64, Vec<Effect>)> {
    for s in (0..seconds).step_by(5) {
        run.wait(4_000);
        let fx = run.send(kind.clone());
        if run.release.question.is_some() {
            return Some((s, fx));
        }
    }
    None
}

#[test]
fn probes_start_before_the_first_change_and_stop_at_the_end() {
    let toml = profile("\"error_ratio > 5% for 1m\"", "");
    let mut run = Run::new(&toml);
    for t in ["a", "b"] {
        run.send(EventKind::Connected { target: t.into() });
    }
    run.send(EventKind::LockTaken { target: "a".into() });
    let fx = run.send(EventKind::LockTaken { target: "b".into() });
    assert_eq!(fx.first(), Some(&Effect::StartProbes), "{fx:?}");
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    let fx = run.decide("ana", Decision::Abort);
    assert!(fx.contains(&Effect::StopProbes), "{fx:?}");
}

#[test]
fn a_healthy_watch_runs_its_duration_and_releases() {
    let toml = profile("\"error_ratio > 5% for 1m\"", "");
    let mut run = watching(&toml, &[metrics(0.01, 90.0)]);
    assert_eq!(for_seconds(&mut run, 120, &metrics(0.01, 95.0)), None);
    run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert_eq!(run.release.question, Some(Question::FinalGate));
    let fx = run.decide("ana", Decision::Go);
    assert_eq!(finished(&run.locks_released(&fx)), Some(Outcome::Released));
}

#[test]
fn an_error_spike_held_for_the_rules_duration_proposes_a_rollback() {
    let toml = profile("\"error_ratio > 5% for 1m\"", "");
    let mut run = watching(&toml, &[metrics(0.01, 90.0)]);
    // A blip shorter than the rule's minute proposes nothing.
    assert_eq!(for_seconds(&mut run, 30, &metrics(0.2, 90.0)), None);
    assert_eq!(for_seconds(&mut run, 20, &metrics(0.01, 90.0)), None);
    let (after, fx) = for_seconds(&mut run, 120, &metrics(0.12, 90.0)).expect("proposed");
    assert!((60..70).contains(&after), "after {after}s");
    assert_eq!(fx, vec![Effect::Ask]);
    assert_eq!(
        run.release.question,
        Some(Question::RollbackProposal { rule: 0 })
    );
    assert_eq!(run.release.answers(), vec![Answer::Rollback, Answer::Keep]);
    let evidence = &run.release.watch.rules[0].breach_values;
    assert!(evidence.len() >= 12, "{evidence:?}");
    // In the rule's unit (percent, not the fraction measured), each from where it came.
    assert!(
        evidence.iter().all(|e| e.value == 12.0 && e.from == "app"),
        "{evidence:?}"
    );
    // The watch does not end under an open proposal.
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert!(!fx.iter().any(|e| matches!(e, Effect::ReleaseLocks { .. })));
    // Rolling back from it runs the rollback steps.
    let fx = run.decide("ana", Decision::Rollback);
    assert!(!started(&fx).is_empty(), "{fx:?}");
}

#[test]
fn auto_rollback_acts_when_nobody_answers_and_says_so() {
    let toml = profile("\"health failing for 30s\"", "auto_rollback = \"60s\"\n");
    let mut run = watching(&toml, &[health(true)]);
    let (_, fx) = for_seconds(&mut run, 120, &health(false)).expect("proposed");
    assert!(
        fx.contains(&Effect::StartTimer {
            timer: Timer::AutoRollback,
            after_ms: 60_000
        }),
        "{fx:?}"
    );
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::AutoRollback,
    });
    assert!(!started(&fx).is_empty(), "the rollback runs: {fx:?}");
    let last = run.release.decisions.last().expect("recorded");
    assert_eq!(last.actor, Actor::AutoRollback);
    assert_eq!(last.by, "auto_rollback");
}

#[test]
fn keep_watching_needs_a_reason_and_rearms_the_rule() {
    let toml = profile("\"health failing for 30s\"", "auto_rollback = true\n");
    let mut run = watching(&toml, &[health(true)]);
    for_seconds(&mut run, 120, &health(false)).expect("proposed");
    run.decide(
        "ana",
        Decision::KeepWatching {
            reason: "  ".into(),
        },
    );
    assert!(
        run.release.question.is_some(),
        "a blank reason is no answer"
    );
    let fx = run.decide(
        "ana",
        Decision::KeepWatching {
            reason: "known flaky probe, app is fine".into(),
        },
    );
    assert_eq!(run.release.question, None);
    assert!(fx.contains(&Effect::CancelTimer {
        timer: Timer::AutoRollback
    }));
    // The old auto-rollback timer, if it still fires, does nothing.
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::AutoRollback,
    });
    assert!(started(&fx).is_empty());
    // It proposes again only after holding for its whole duration once more.
    let (after, _) = for_seconds(&mut run, 120, &health(false)).expect("proposed again");
    assert!(after >= 30, "after {after}s");
}

#[test]
fn latency_against_baseline_fires_on_a_real_slowdown_not_on_noise() {
    let toml = profile("\"latency_p95 > 1.5x baseline for 2m\"", "");
    let before = [metrics(0.0, 100.0), metrics(0.0, 110.0), metrics(0.0, 90.0)];
    let mut run = watching(&toml, &before);
    assert_eq!(
        run.release
            .baseline(crate::engine::watch_rule::Signal::Latency { percentile: 95 }),
        Some(100.0)
    );
    // Noise up to 1.4x for five minutes: nothing.
    assert_eq!(for_seconds(&mut run, 300, &metrics(0.0, 140.0)), None);
    // A real slowdown to 2x, held two minutes: proposed.
    let (after, _) = for_seconds(&mut run, 300, &metrics(0.0, 200.0)).expect("proposed");
    assert!((120..130).contains(&after), "after {after}s");
}

#[test]
fn extending_the_watch_holds_it_five_minutes_more() {
    let toml = profile("\"error_ratio > 5% for 1m\"", "");
    let mut run = watching(&toml, &[]);
    run.decide("ana", Decision::ExtendWatch);
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert_eq!(
        fx,
        vec![Effect::StartTimer {
            timer: Timer::WatchEnd,
            after_ms: 300_000
        }]
    );
    assert!(matches!(run.release.stage, Stage::Watching { .. }));
    // A healthy sample: the rule judges ok, so the window ends when its time is up.
    run.send(metrics(0.01, 90.0));
    run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert_eq!(run.release.question, Some(Question::FinalGate));
}

#[test]
fn a_burst_of_error_lines_in_the_logs_proposes_a_rollback() {
    let toml = profile("\"log_errors > 20/min\"", "")
        + "\n[logs.app]\non = \"web\"\ncommand = \"journalctl -f\"\nerrors = 'ERROR'\n";
    let mut run = watching(&toml, &[]);
    let burst = |n: usize| EventKind::LogLines {
        target: "a".into(),
        tail: "app".into(),
        lines: (0..n).map(|i| format!("ERROR order {i} failed")).collect(),
    };
    // A few errors a minute: nothing.
    for _ in 0..30 {
        run.wait(4_000);
        run.send(burst(1));
    }
    assert_eq!(run.release.question, None);
    // Thirty a minute, held over a full minute: proposed.
    let mut proposed = false;
    for _ in 0..40 {
        run.wait(4_000);
        run.send(burst(3));
        proposed |= run.release.question.is_some();
    }
    assert!(proposed);
    assert_eq!(
        run.release.question,
        Some(Question::RollbackProposal { rule: 0 })
    );
}

#[test]
fn an_error_never_seen_before_the_deploy_proposes_a_rollback_and_an_old_one_does_not() {
    let toml = profile("\"new_errors > 0\"", "")
        + "\n[logs.app]\non = \"web\"\ncommand = \"journalctl -f\"\nerrors = 'ERROR'\n";
    let line = |text: &str| EventKind::LogLines {
        target: "a".into(),
        tail: "app".into(),
        lines: vec![text.to_string()],
    };
    let before = [line("ERROR payment gateway timeout after 3001ms")];
    let mut run = watching(&toml, &before);
    // The same error as before the deploy, with other numbers: not new.
    run.send(line("ERROR payment gateway timeout after 2874ms"));
    assert_eq!(run.release.question, None);
    run.send(line(
        "ERROR column orders.coupon_id does not exist (id 4411)",
    ));
    // Judged once nothing followed it (it might have headed a stack trace).
    run.settle_logs();
    assert_eq!(
        run.release.question,
        Some(Question::RollbackProposal { rule: 0 })
    );
}

#[test]
fn a_proposal_open_when_the_watch_runs_out_leads_to_the_final_gate_once_answered() {
    let toml = profile("\"health failing for 30s\"", "");
    let mut run = watching(&toml, &[health(true)]);
    for_seconds(&mut run, 120, &health(false)).expect("proposed");
    // The watch's time runs out under the open proposal: nothing ends yet.
    run.wait(600_000);
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert!(fx.is_empty(), "{fx:?}");
    let fx = run.decide(
        "ana",
        Decision::KeepWatching {
            reason: "probe host flapping, app fine".into(),
        },
    );
    assert!(fx.contains(&Effect::Ask), "{fx:?}");
    assert_eq!(run.release.question, Some(Question::FinalGate));
}

fn metrics_via(via: &str, ratio: f64) -> EventKind {
    EventKind::MetricsSampled {
        source: "app".into(),
        via: Some(via.into()),
        reading: MetricsReading {
            error_ratio: Some(ratio),
            request_rate: Some(50.0),
            latency_p95_ms: Some(90.0),
            ..MetricsReading::default()
        },
    }
}

/// Two hosts sampled at the same instant: the evidence keeps both values, each naming its
/// host, in the rule's unit; a host whose value did not change is not repeated within 5 s.
#[test]
fn a_rules_evidence_names_the_host_of_each_value() {
    let toml = profile("\"error_ratio > 5% for 30s\"", "");
    let mut run = watching(&toml, &[metrics_via("a", 0.001), metrics_via("b", 0.001)]);
    for _ in 0..8 {
        run.wait(4_000);
        run.send(metrics_via("a", 0.1059));
        // b in the same millisecond as a (twice: re-evaluated, not repeated).
        for _ in 0..2 {
            run.release
                .apply(&Event::new(run.at, metrics_via("b", 0.0792)));
        }
    }
    assert_eq!(
        run.release.question,
        Some(Question::RollbackProposal { rule: 0 })
    );
    let evidence = &run.release.watch.rules[0].breach_values;
    let first = evidence[0].at;
    let at_first: Vec<(&str, f64)> = evidence
        .iter()
        .filter(|e| e.at == first)
        .map(|e| (e.from.as_str(), e.value))
        .collect();
    assert_eq!(at_first, [("a", 0.1059 * 100.0), ("b", 0.0792 * 100.0)]);
    for host in ["a", "b"] {
        let times: Vec<u64> = evidence
            .iter()
            .filter(|e| e.from == host)
            .map(|e| e.at)
            .collect();
        assert!(times.len() >= 6, "{host}: {evidence:?}");
        assert!(times.windows(2).all(|w| w[1] - w[0] >= 5_000), "{times:?}");
    }
    assert!(
        evidence.windows(2).all(|w| w[0].at <= w[1].at),
        "oldest first"
    );
}

/// A health rule's evidence is each check's answer on each host.
#[test]
fn a_health_rules_evidence_says_which_host_fails() {
    let toml = profile("\"health failing for 20s\"", "");
    let mut run = watching(&toml, &[health(true)]);
    let on = |via: &str, ok: bool| match health(ok) {
        EventKind::HealthSampled { check, reading, .. } => EventKind::HealthSampled {
            check,
            via: Some(via.into()),
            reading,
        },
        other => other,
    };
    for _ in 0..6 {
        run.wait(4_000);
        run.send(on("a", false));
        run.send(on("b", true));
    }
    let evidence = &run.release.watch.rules[0].breach_values;
    assert!(
        evidence.iter().any(|e| e.from == "a" && e.value == 1.0)
            && evidence.iter().any(|e| e.from == "b" && e.value == 0.0),
        "{evidence:?}"
    );
}

/// A journal from before the probe said 0 for no errors carries `-0.0`: it is kept as 0.
#[test]
fn a_negative_zero_from_an_old_journal_is_kept_as_zero() {
    let toml = profile("\"error_ratio > 5% for 1m\"", "");
    let mut run = watching(&toml, &[]);
    run.send(metrics(-0.0, 90.0));
    let ratio = run
        .release
        .signal_now(Signal::ErrorRatio)
        .expect("measured");
    assert!(ratio == 0.0 && ratio.is_sign_positive(), "{ratio:?}");
    let value = run.release.watch.rules[0].value.expect("measured");
    assert!(value.is_sign_positive(), "{value:?}");
}

/// In production, `E` (`done`) in the watch opens the final gate instead of releasing: the
/// release ends only on its GO. Elsewhere it ends the watch as released.
#[test]
fn ending_the_watch_early_in_production_leads_to_the_final_gate() {
    let toml = profile("\"error_ratio > 5% for 1m\"", "")
        .replace("environment = \"staging\"", "environment = \"production\"");
    let mut run = watching(&toml, &[metrics(0.01, 90.0)]);
    assert!(run.release.plan.production);
    let fx = run.decide("ana", Decision::EndWatch);
    assert_eq!(fx, vec![Effect::Ask]);
    assert_eq!(run.release.question, Some(Question::FinalGate));
    assert_eq!(run.release.outcome, None);
    assert!(matches!(run.release.stage, Stage::Watching { .. }));
    assert_eq!(run.release.answers(), vec![Answer::Go, Answer::Rollback]);
    // The watch's own end, meanwhile, asks nothing twice.
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert!(!fx.contains(&Effect::Ask), "{fx:?}");
    let fx = run.decide("ana", Decision::Go);
    assert_eq!(finished(&run.locks_released(&fx)), Some(Outcome::Released));

    // Not in production: ending the watch early releases at once.
    let toml = profile("\"error_ratio > 5% for 1m\"", "");
    let mut run = watching(&toml, &[metrics(0.01, 90.0)]);
    let fx = run.decide("ana", Decision::EndWatch);
    assert_eq!(run.release.question, None);
    assert_eq!(finished(&run.locks_released(&fx)), Some(Outcome::Released));
}
