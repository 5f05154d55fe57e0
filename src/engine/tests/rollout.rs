//! Phases rolled out in batches: sizes over the phase's hosts, each batch's analysis against
//! the control, promotion, and a breach that rolls back only the hosts that changed.

use super::*;
use crate::engine::BatchVerdict;
use crate::engine::watch::MetricsReading;

/// Three web hosts (a, b, zz); `Deploy` in batches of 1, half, all; one minute of analysis;
/// the rules compare the batch with the control.
pub(super) fn canary(promote: &str) -> String {
    format!(
        r#"version = 1
[release]
name = "shop"
environment = "staging"
version = "v1.5.0"

[targets.a]
roles = ["web"]
[targets.b]
roles = ["web"]
[targets.zz]
roles = ["web"]

[metrics.app]
url = "http://127.0.0.1:8000/metrics"
via = "web"
errors = 'http_requests_total{{status=~"5.."}}'
requests = "http_requests_total"

[[step]]
phase = "Preflight"
name = "ready"
check = "true"
on = "web"

[[step]]
phase = "Deploy"
name = "stage"
run = "stage"
undo = "unstage"
on = "web"

[[step]]
phase = "Deploy"
name = "restart"
run = "restart"
undo = "restart old"
on = "web"

[phases.Deploy]
batches = [1, "50%", "100%"]
analysis = "1m"
promote = "{promote}"

[watch]
duration = "5m"
rollback_on = ["error_ratio > control + 2% for 20s"]

[[rollback]]
name = "tell"
run = "tell"
on = "web"
"#
    )
}

fn sample(via: &str, ratio: f64) -> EventKind {
    EventKind::MetricsSampled {
        source: "app".into(),
        via: Some(via.into()),
        reading: MetricsReading {
            error_ratio: Some(ratio),
            request_rate: Some(20.0),
            ..MetricsReading::default()
        },
    }
}

/// Every host's sample, the batch's hosts at `changed` and the rest at 0.1%.
fn samples(run: &mut Run, changed: &[&str], ratio: f64) {
    for host in ["a", "b", "zz"] {
        let value = if changed.contains(&host) {
            ratio
        } else {
            0.001
        };
        run.send(sample(host, value));
    }
}

fn names(plan: &ReleasePlan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| format!("{} {}", s.name, s.targets.join(",")))
        .collect()
}

#[test]
fn batches_are_cumulative_sizes_over_the_phases_hosts() {
    let hosts = |n: usize| {
        let targets: String = (1..=n)
            .map(|i| format!("[targets.w{i}]\nroles = [\"web\"]\n"))
            .collect();
        let toml = format!(
            "version = 1\n[release]\nname = \"s\"\nenvironment = \"staging\"\n{targets}\n[[step]]\nphase = \"Deploy\"\nname = \"restart\"\nrun = \"r\"\non = \"web\"\n\n[phases.Deploy]\nbatches = [1, \"50%\", \"100%\"]\n"
        );
        let plan = plan(&toml);
        plan.steps
            .iter()
            .filter(|s| s.kind == plan::StepKind::Run)
            .map(|s| s.targets.len())
            .collect::<Vec<_>>()
    };
    // A batch that adds no host is left out: half of one host is that host.
    assert_eq!(hosts(1), vec![1]);
    assert_eq!(hosts(2), vec![1, 1]);
    assert_eq!(hosts(3), vec![1, 1, 1]);
    assert_eq!(hosts(10), vec![1, 4, 5]);
}

#[test]
fn the_plan_runs_every_step_of_the_phase_per_batch_then_its_analysis() {
    let plan = plan(&canary("auto"));
    assert_eq!(
        names(&plan),
        [
            "ready a,b,zz",
            "stage a",
            "restart a",
            "Analysis of batch 1/3 ",
            "stage b",
            "restart b",
            "Analysis of batch 2/3 ",
            "stage zz",
            "restart zz",
        ]
    );
    let first = plan.steps[3].batch.as_ref().expect("a batch");
    assert_eq!(
        (first.changed.clone(), first.control.clone()),
        (vec!["a".into()], vec!["b".into(), "zz".into()])
    );
    assert_eq!(plan.steps[3].timeout_ms, 60_000);
}

/// Through the preflight and batch 1's steps, with every host sampled clean before.
fn in_first_analysis(promote: &str) -> Run {
    let mut run = Run::going(&canary(promote));
    samples(&mut run, &[], 0.0);
    for t in ["a", "b", "zz"] {
        run.exit(0, t, 1, 0);
    }
    run.exit(1, "a", 1, 0);
    let fx = run.exit(2, "a", 1, 0);
    assert!(
        fx.contains(&Effect::StartTimer {
            timer: Timer::Analysis { step: 3 },
            after_ms: 60_000
        }),
        "{fx:?}"
    );
    assert!(run.release.analysing().is_some());
    run
}

#[test]
fn a_clean_analysis_promotes_the_next_batch_only_after_its_time() {
    let mut run = in_first_analysis("auto");
    for _ in 0..5 {
        run.wait(5_000);
        samples(&mut run, &["a"], 0.002);
    }
    assert_eq!(
        run.status(4),
        StepStatus::Pending,
        "batch 2 waits for the analysis"
    );
    let fx = run.send(EventKind::TimerFired {
        timer: Timer::Analysis { step: 3 },
    });
    assert_eq!(started(&fx), vec![main_run(4, "b", 1)]);
    assert_eq!(run.release.batch_verdict(3), Some(BatchVerdict::Healthy));
    let said: Vec<&EventKind> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Record { event } => Some(&**event),
            _ => None,
        })
        .collect();
    assert!(
        matches!(
            said[0],
            EventKind::BatchJudged {
                batch: 1,
                verdict: BatchVerdict::Healthy,
                ..
            }
        ),
        "{said:?}"
    );
    assert!(
        matches!(said[1], EventKind::BatchPromoted { batch: 2, by, .. } if by == "gonogo"),
        "{said:?}"
    );
    assert!(
        matches!(said[2], EventKind::BatchStarted { batch: 2, hosts, .. } if hosts == &["b".to_string()]),
        "{said:?}"
    );
}

#[test]
fn promote_gate_asks_a_person_after_a_clean_analysis() {
    let mut run = in_first_analysis("gate");
    samples(&mut run, &["a"], 0.002);
    run.send(EventKind::TimerFired {
        timer: Timer::Analysis { step: 3 },
    });
    assert_eq!(run.release.question, Some(Question::Gate { step: 3 }));
    let fx = run.decide("ana", Decision::Go);
    assert_eq!(started(&fx), vec![main_run(4, "b", 1)]);
}

#[test]
fn a_breach_in_batch_two_rolls_back_batches_one_and_two_only() {
    let mut run = in_first_analysis("auto");
    samples(&mut run, &["a"], 0.002);
    run.send(EventKind::TimerFired {
        timer: Timer::Analysis { step: 3 },
    });
    run.exit(4, "b", 1, 0);
    run.exit(5, "b", 1, 0);
    assert!(run.release.analysing().is_some(), "batch 2's analysis");
    // a and b at 9%, the control (zz) at 0.1%: past control + 2% for 20 s.
    let mut proposed = false;
    for _ in 0..8 {
        run.wait(4_000);
        samples(&mut run, &["a", "b"], 0.09);
        if run.release.question.is_some() {
            proposed = true;
            break;
        }
    }
    assert!(proposed, "the breach proposes a rollback");
    assert!(matches!(
        run.release.question,
        Some(Question::RollbackProposal { rule: 0 })
    ));
    assert_eq!(run.release.batch_verdict(6), Some(BatchVerdict::Breached));
    let fx = run.decide("ana", Decision::Rollback);
    let plan = &run.release.rollback_plan;
    let hosts: Vec<(String, Vec<String>)> = plan
        .iter()
        .map(|s| (s.name.clone(), s.targets.clone()))
        .collect();
    assert_eq!(
        hosts,
        [
            (
                "Undo restart (batch 2/3)".to_string(),
                vec!["b".to_string()]
            ),
            ("Undo stage (batch 2/3)".to_string(), vec!["b".to_string()]),
            (
                "Undo restart (batch 1/3)".to_string(),
                vec!["a".to_string()]
            ),
            ("Undo stage (batch 1/3)".to_string(), vec!["a".to_string()]),
            ("tell".to_string(), vec!["a".to_string(), "b".to_string()]),
        ]
    );
    assert!(started(&fx).iter().all(|(_, _, t, _)| t != "zz"));
    assert_eq!(run.release.never_deployed(), vec!["zz".to_string()]);
    assert_eq!(
        run.release.rollout_said().as_deref(),
        Some("caught on a, b (batch 2 of 3); zz never received v1.5.0")
    );
}

#[test]
fn a_control_rule_with_no_control_data_says_so_and_does_not_promote() {
    let mut run = in_first_analysis("auto");
    // Only the batch's host answers: the control has nothing fresh.
    for _ in 0..10 {
        run.wait(5_000);
        run.send(sample("a", 0.002));
    }
    // The control's samples from before the analysis went stale: since then, no data.
    assert_eq!(
        run.release.rule_stand(0).words(),
        "cannot judge: no control data for 30s"
    );
    run.send(EventKind::TimerFired {
        timer: Timer::Analysis { step: 3 },
    });
    assert_eq!(run.release.batch_verdict(3), Some(BatchVerdict::InDoubt));
    assert_eq!(run.release.question, Some(Question::Gate { step: 3 }));
    assert_eq!(run.status(4), StepStatus::Pending);
}

#[test]
fn a_control_rule_in_the_watch_judges_nothing_and_is_no_doubt() {
    let mut run = in_first_analysis("auto");
    samples(&mut run, &["a"], 0.002);
    run.send(EventKind::TimerFired {
        timer: Timer::Analysis { step: 3 },
    });
    run.exit(4, "b", 1, 0);
    run.exit(5, "b", 1, 0);
    samples(&mut run, &["a", "b"], 0.002);
    run.send(EventKind::TimerFired {
        timer: Timer::Analysis { step: 6 },
    });
    run.exit(7, "zz", 1, 0);
    run.exit(8, "zz", 1, 0);
    assert!(matches!(run.release.stage, Stage::Watching { .. }));
    samples(&mut run, &["a", "b", "zz"], 0.002);
    assert_eq!(
        run.release.rule_stand(0).words(),
        "judged during a batch's analysis only"
    );
    assert!(
        run.release.verdict_doubts().is_empty(),
        "{:?}",
        run.release.verdict_doubts()
    );
}

#[test]
fn a_resume_keeps_the_analysis_end() {
    let mut run = in_first_analysis("auto");
    run.wait(20_000);
    let mut fx = run.send(EventKind::Resumed {
        by: "ana".into(),
        unattended: None,
        stopped_at: None,
        stopped_t: None,
    });
    for t in ["a", "b", "zz"] {
        fx.extend(run.send(EventKind::LockTaken { target: t.into() }));
    }
    let left = fx.iter().find_map(|e| match e {
        Effect::StartTimer {
            timer: Timer::Analysis { step: 3 },
            after_ms,
        } => Some(*after_ms),
        _ => None,
    });
    // Started at the exit of batch 1's last step; 20 s waited and four events a second each.
    assert_eq!(left, Some(60_000 - 24_000), "{fx:?}");
}

#[test]
fn a_host_changed_before_the_batched_phase_is_still_rolled_back() {
    // A migration on `a` before Deploy, which then never starts: `a` changed, `b` and `zz`
    // did not; the [[rollback]] step runs on `a` only.
    let toml = canary("auto").replace(
        "[[step]]\nphase = \"Deploy\"\nname = \"stage\"",
        "[[step]]\nphase = \"Migrate\"\nname = \"migrate\"\nrun = \"migrate\"\non = \"a\"\n\n[[step]]\nphase = \"Deploy\"\nname = \"stage\"",
    );
    let mut run = Run::going(&toml);
    for t in ["a", "b", "zz"] {
        run.exit(0, t, 1, 0);
    }
    run.exit(1, "a", 1, 1);
    assert_eq!(
        run.release.question,
        Some(Question::Failure {
            list: StepList::Main,
            step: 1
        })
    );
    run.decide("ana", Decision::Rollback);
    let plan: Vec<(String, Vec<String>)> = (run.release.rollback_plan.iter())
        .map(|s| (s.name.clone(), s.targets.clone()))
        .collect();
    assert_eq!(plan, [("tell".to_string(), vec!["a".to_string()])]);
    assert_eq!(run.release.never_deployed(), ["b", "zz"]);
}
