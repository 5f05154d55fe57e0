//! How a watch rule judges, on scripted sample series: a baseline taken or not before the
//! first change, a rule that cannot judge, holds that tolerate a clean sample, a window held
//! over while a rule is in doubt, rate rules over their own window.

use super::watch::{for_seconds, health, metrics, profile, watching};
use super::*;
use crate::engine::watch::MetricsReading;
use crate::engine::watch_rule::Signal;

fn stand(run: &Run, i: usize) -> crate::engine::judge::RuleStand {
    run.release.rule_stand(i)
}

#[test]
fn a_rule_with_no_baseline_cannot_judge_through_the_watch_and_the_final_gate_says_so() {
    use crate::engine::judge::{CannotJudge, RuleStand};
    // No sample before the deploy: the x-baseline rule has nothing to compare with.
    let toml = profile(
        "\"latency_p95 > 3x baseline for 30s\", \"error_ratio > 5% for 30s\"",
        "",
    );
    let mut run = Run::going(&toml);
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Go);
    run.decide("ana", Decision::Done);
    run.decide(
        "ana",
        Decision::SkipBaseline {
            reason: "no time".into(),
        },
    );
    run.exit(3, "a", 1, 0);
    run.exit(3, "b", 1, 0);
    assert!(matches!(run.release.stage, Stage::Watching { .. }));
    for_seconds(&mut run, 60, &metrics(0.01, 2_000.0));
    assert!(
        matches!(
            stand(&run, 0),
            RuleStand::CannotJudge {
                why: CannotJudge::NoBaseline,
                ..
            }
        ),
        "{:?}",
        stand(&run, 0)
    );
    assert!(
        stand(&run, 0)
            .words()
            .starts_with("cannot judge: no baseline for ")
    );
    assert_eq!(stand(&run, 1), RuleStand::Ok, "the other rule judges");
    // Its time runs out with a rule in doubt: held over once, by that rule's duration.
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert!(
        fx.contains(&Effect::StartTimer {
            timer: Timer::WatchEnd,
            after_ms: 30_000
        }),
        "{fx:?}"
    );
    assert!(
        run.release
            .watch
            .overtime
            .as_deref()
            .is_some_and(|o| o.starts_with(
                "watch extended 30s: latency_p95 > 3x baseline for 30s: cannot judge: no baseline"
            )),
        "{:?}",
        run.release.watch.overtime
    );
    assert_eq!(run.release.question, None);
    run.send(metrics(0.01, 2_000.0));
    run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert_eq!(run.release.question, Some(Question::FinalGate));
    let doubts = run.release.verdict_doubts();
    assert_eq!(doubts.len(), 1, "{doubts:?}");
    assert!(doubts[0].starts_with("latency_p95 > 3x baseline for 30s: cannot judge: no baseline"));
}

#[test]
fn a_hold_survives_one_clean_sample_and_ends_at_the_second() {
    use crate::engine::judge::RuleStand;
    let toml = profile("\"error_ratio > 5% for 20s\"", "");
    let mut run = watching(&toml, &[metrics(0.01, 90.0)]);
    for_seconds(&mut run, 10, &metrics(0.12, 90.0));
    // One clean scrape in the middle of the hold is noise: the hold goes on.
    for_seconds(&mut run, 5, &metrics(0.01, 90.0));
    assert!(
        matches!(
            stand(&run, 0),
            RuleStand::Holding {
                samples: 3,
                clean: 1,
                ..
            }
        ),
        "{:?}",
        stand(&run, 0)
    );
    assert!(
        stand(&run, 0).words().ends_with("(2/3)"),
        "{}",
        stand(&run, 0).words()
    );
    let (after, _) = for_seconds(&mut run, 60, &metrics(0.12, 90.0)).expect("proposed");
    assert!(
        after <= 10,
        "the hold kept its start: proposed {after}s later"
    );

    // `tolerate 0`: one clean sample ends it; two in a row end any hold.
    let toml = profile("\"error_ratio > 5% for 20s tolerate 0\"", "");
    let mut run = watching(&toml, &[metrics(0.01, 90.0)]);
    for_seconds(&mut run, 10, &metrics(0.12, 90.0));
    for_seconds(&mut run, 5, &metrics(0.01, 90.0));
    assert_eq!(stand(&run, 0), RuleStand::Ok);
    let toml = profile("\"error_ratio > 5% for 20s\"", "");
    let mut run = watching(&toml, &[metrics(0.01, 90.0)]);
    for_seconds(&mut run, 10, &metrics(0.12, 90.0));
    for_seconds(&mut run, 10, &metrics(0.01, 90.0));
    assert_eq!(stand(&run, 0), RuleStand::Ok);
}

#[test]
fn a_window_running_out_while_a_rule_holds_extends_and_ends_when_it_resolves() {
    let toml = profile("\"error_ratio > 5% for 1m\"", "");
    let mut run = watching(&toml, &[metrics(0.01, 90.0)]);
    for_seconds(&mut run, 20, &metrics(0.12, 90.0));
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::WatchEnd,
    });
    assert!(
        fx.contains(&Effect::StartTimer {
            timer: Timer::WatchEnd,
            after_ms: 60_000
        }),
        "{fx:?}"
    );
    assert_eq!(
        run.release.watch.overtime.as_deref(),
        Some("watch extended 60s: error_ratio > 5% for 1m holding")
    );
    // It resolves: two clean samples end the hold, and with it the window.
    for_seconds(&mut run, 10, &metrics(0.01, 90.0));
    assert_eq!(run.release.question, Some(Question::FinalGate));
    assert!(run.release.verdict_doubts().is_empty());
}

#[test]
fn a_source_that_stops_answering_is_no_data_not_ok() {
    use crate::engine::judge::{CannotJudge, RuleStand};
    let toml = profile("\"error_ratio > 5% for 1m\"", "");
    let mut run = watching(&toml, &[metrics(0.01, 90.0)]);
    run.send(metrics(0.01, 90.0));
    assert_eq!(stand(&run, 0), RuleStand::Ok);
    run.wait(40_000);
    run.send(health(true));
    assert!(
        matches!(
            stand(&run, 0),
            RuleStand::CannotJudge {
                why: CannotJudge::NoData,
                ..
            }
        ),
        "{:?}",
        stand(&run, 0)
    );
    // A scrape that fails says so.
    run.send(EventKind::MetricsSampled {
        source: "app".into(),
        via: None,
        reading: MetricsReading {
            error: Some("connection refused".into()),
            ..MetricsReading::default()
        },
    });
    assert_eq!(
        stand(&run, 0),
        RuleStand::CannotJudge {
            why: CannotJudge::SourceFailing("connection refused".into()),
            since_ms: 0
        }
    );
}

#[test]
fn the_first_change_waits_for_the_baseline_then_starts() {
    let toml = profile("\"latency_p95 > 3x baseline for 30s\"", "");
    let mut run = Run::going(&toml);
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Go);
    let fx = run.decide("ana", Decision::Done);
    // The restart (the first change) waits: no baseline reading yet.
    assert!(started(&fx).is_empty(), "{fx:?}");
    assert!(fx.contains(&Effect::StartTimer {
        timer: Timer::Baseline,
        after_ms: 60_000
    }));
    let progress = run.release.baseline_progress().expect("a rule needs one");
    assert_eq!(progress.words(), "baseline 0/2 readings");
    assert!(run.release.baseline_wait.is_some());
    let fx = run.send(metrics(0.0, 100.0));
    assert!(started(&fx).is_empty());
    assert_eq!(
        run.release.baseline_progress().unwrap().words(),
        "baseline 1/2 readings"
    );
    let fx = run.send(metrics(0.0, 110.0));
    assert_eq!(started(&fx), vec![main_run(3, "a", 1)], "{fx:?}");
    assert!(fx.contains(&Effect::CancelTimer {
        timer: Timer::Baseline
    }));
    assert_eq!(
        run.release.baseline(Signal::Latency { percentile: 95 }),
        Some(105.0)
    );
    assert_eq!(run.release.baseline_short, None);
}

#[test]
fn a_baseline_wait_runs_out_or_is_skipped_and_the_rule_then_says_it_has_none() {
    use crate::engine::judge::{CannotJudge, RuleStand};
    let toml = profile("\"latency_p95 > 3x baseline for 30s\"", "");
    let mut run = Run::going(&toml);
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Go);
    run.decide("ana", Decision::Done);
    // A blank reason is no skip.
    let fx = run.decide("ana", Decision::SkipBaseline { reason: " ".into() });
    assert!(started(&fx).is_empty());
    let fx = run.decide(
        "ana",
        Decision::SkipBaseline {
            reason: "metrics endpoint is new in this release".into(),
        },
    );
    assert_eq!(started(&fx), vec![main_run(3, "a", 1)]);
    assert_eq!(
        run.release.baseline_short.as_deref(),
        Some("skipped by ana: metrics endpoint is new in this release")
    );
    run.exit(3, "a", 1, 0);
    run.exit(3, "b", 1, 0);
    run.send(metrics(0.0, 900.0));
    assert!(matches!(
        stand(&run, 0),
        RuleStand::CannotJudge {
            why: CannotJudge::NoBaseline,
            ..
        }
    ));

    // Nobody skips and no reading comes: the wait runs out and says why.
    let mut run = Run::going(&toml);
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Go);
    run.decide("ana", Decision::Done);
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::Baseline,
    });
    assert_eq!(started(&fx), vec![main_run(3, "a", 1)]);
    assert_eq!(
        run.release.baseline_short.as_deref(),
        Some("the wait for the baseline ran out (baseline 0/2 readings)")
    );
}

#[test]
fn a_rate_rule_fires_only_when_its_whole_window_breaches() {
    let toml = profile("\"error_ratio > 5% for 15s\"", "");
    let mut run = watching(&toml, &[metrics(0.01, 90.0)]);
    let sample = |ratio: f64, rate: f64| EventKind::MetricsSampled {
        source: "app".into(),
        via: None,
        reading: MetricsReading {
            error_ratio: Some(ratio),
            request_rate: Some(rate),
            latency_p95_ms: Some(90.0),
            ..MetricsReading::default()
        },
    };
    run.wait(4_000);
    run.send(sample(0.12, 50.0));
    // One clean scrape inside the hold, of far more requests than the breaching ones: the hold
    // tolerates it, but errors over requests across the window are under 5%.
    run.wait(4_000);
    run.send(sample(0.0, 5_000.0));
    for _ in 0..3 {
        run.wait(4_000);
        run.send(sample(0.12, 50.0));
    }
    let window = run.release.plan.watch.as_ref().unwrap().rollback_on[0].clone();
    assert!(run.release.window_value(&window).unwrap() < 0.05);
    assert_eq!(
        run.release.question, None,
        "held 15 s, but not over its window"
    );
    // Once that scrape left the window, the window breaches too: proposed.
    let (_, _) = for_seconds(&mut run, 30, &sample(0.12, 50.0)).expect("proposed");
    assert_eq!(
        run.release.question,
        Some(Question::RollbackProposal { rule: 0 })
    );
}
