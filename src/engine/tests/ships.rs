//! What ships: the version each host runs is found before the first step; a fleet that
//! disagrees, cannot say, or already runs the release is refused unless a reason was given.

use super::*;

fn profile() -> String {
    TWO_HOSTS.replace(
        "environment = \"staging\"",
        "environment = \"staging\"\nversion = \"v2\"\ncurrent = \"cat VERSION\"\nchanges = \"git log --oneline {{previous}}..v2\"",
    )
}

fn found(run: &mut Run, target: &str, version: &str) -> Vec<Effect> {
    run.send(EventKind::VersionFound {
        target: target.into(),
        version: Some(version.into()),
        error: None,
    })
}

/// Connected and locked: what runs now is asked for, nothing started.
fn finding(plan: impl FnOnce(&mut ReleasePlan)) -> Run {
    let mut run = Run::new(&profile());
    plan(&mut run.release.plan);
    for t in run.target_names() {
        run.send(EventKind::Connected { target: t });
    }
    let mut fx = Vec::new();
    for t in run.target_names() {
        fx.extend(run.send(EventKind::LockTaken { target: t }));
    }
    assert!(fx.contains(&Effect::FindVersions), "{fx:?}");
    assert!(
        started(&fx).is_empty(),
        "nothing runs before the versions are known"
    );
    assert_eq!(run.release.stage, Stage::Finding);
    run
}

#[test]
fn hosts_that_agree_give_previous_then_the_first_step_starts() {
    let mut run = finding(|_| {});
    assert!(found(&mut run, "a", "v1").is_empty());
    let fx = found(&mut run, "b", "v1\n");
    assert!(fx.contains(&Effect::UsePrevious {
        previous: vec![("a".into(), "v1".into()), ("b".into(), "v1".into())]
    }));
    assert!(fx.contains(&Effect::FindChanges));
    assert_eq!(started(&fx), vec![main_run(0, "a", 1), main_run(0, "b", 1)]);
    assert_eq!(run.release.previous_on("b"), Some("v1"));
    assert_eq!(run.release.ships_said().as_deref(), Some("v1 → v2"));
    run.send(EventKind::ChangesFound {
        found: listed(&["abc one", "def two"]),
    });
    assert_eq!(
        run.release.ships_said().as_deref(),
        Some("v1 → v2 · 2 changes")
    );
}

#[test]
fn hosts_that_disagree_are_refused_naming_each_version() {
    let mut run = finding(|_| {});
    found(&mut run, "a", "v1");
    let fx = found(&mut run, "b", "v0");
    assert_eq!(run.release.outcome, Some(Outcome::Refused));
    assert!(started(&fx).is_empty());
    let said = run.release.refusals.join("; ");
    assert!(
        said.contains("the hosts run different versions (a on v1; b on v0)"),
        "{said}"
    );
    assert!(said.contains("--allow-mixed"), "{said}");
    assert!(fx.iter().any(|e| matches!(e, Effect::ReleaseLocks { .. })));
}

#[test]
fn allow_mixed_goes_on_and_each_host_keeps_its_own_previous() {
    let mut run = finding(|plan| plan.ships.allow_mixed = Some("web-2 lagged a week".into()));
    found(&mut run, "a", "v1");
    let fx = found(&mut run, "b", "v0");
    assert!(fx.contains(&Effect::UsePrevious {
        previous: vec![("a".into(), "v1".into()), ("b".into(), "v0".into())]
    }));
    assert_eq!(run.release.ships_said().as_deref(), Some("v1 / v0 → v2"));
    assert_eq!(started(&fx).len(), 2);
}

#[test]
fn a_host_that_cannot_say_is_refused_and_the_refusal_is_recorded_in_its_words() {
    let mut run = finding(|_| {});
    found(&mut run, "a", "v1");
    let fx = run.send(EventKind::VersionFound {
        target: "b".into(),
        version: None,
        error: Some("`current` exited 1: cat: VERSION: No such file".into()),
    });
    assert_eq!(run.release.outcome, Some(Outcome::Refused));
    assert!(
        run.release.refusals[0].contains("b: `current` exited 1"),
        "{:?}",
        run.release.refusals
    );
    assert!(
        fx.contains(&Effect::Record {
            event: Box::new(EventKind::Refused {
                why: run.release.refusals.clone()
            })
        }),
        "the journal gets the words: {fx:?}"
    );
}

/// Every host runs the version: the redeploy question is open, nothing started.
fn already_running() -> Run {
    let mut run = finding(|_| {});
    found(&mut run, "a", "v2");
    let fx = found(&mut run, "b", "v2");
    assert!(fx.contains(&Effect::Ask), "{fx:?}");
    assert!(started(&fx).is_empty());
    assert!(!fx.iter().any(|e| matches!(e, Effect::UsePrevious { .. })));
    assert_eq!(
        run.release.question,
        Some(Question::Redeploy {
            version: "v2".into()
        })
    );
    assert_eq!(run.release.answers(), vec![Answer::Redeploy, Answer::Abort]);
    assert_eq!(run.release.outcome, None);
    run
}

#[test]
fn a_fleet_already_on_the_version_asks_and_deploys_again_with_a_reason() {
    let mut run = already_running();
    let operator = crate::engine::Answerer::operator("ana");
    let blank = Decision::Redeploy { reason: " ".into() };
    assert_eq!(
        run.release.may_answer(&blank, &operator),
        Err(crate::engine::Refusal::NeedsReason)
    );
    assert!(
        run.decide("ana", blank).is_empty(),
        "no reason, no redeploy"
    );
    let reason = "the config changed, not the code";
    let fx = run.decide(
        "ana",
        Decision::Redeploy {
            reason: reason.into(),
        },
    );
    assert_eq!(run.release.question, None);
    assert!(fx.iter().any(|e| matches!(e, Effect::UsePrevious { .. })));
    assert_eq!(started(&fx), vec![main_run(0, "a", 1), main_run(0, "b", 1)]);
    assert_eq!(run.release.plan.ships.redeploy.as_deref(), Some(reason));
    let record = run.release.decisions.last().expect("recorded");
    assert_eq!(
        record.question,
        Some(Question::Redeploy {
            version: "v2".into()
        })
    );
}

#[test]
fn the_redeploy_question_is_asked_over_names_that_show_the_version_found() {
    let mut run = finding(|plan| plan.steps[3].name = "restart over {{previous}}".into());
    found(&mut run, "a", "v2");
    found(&mut run, "b", "v2");
    assert!(matches!(
        run.release.question,
        Some(Question::Redeploy { .. })
    ));
    assert_eq!(run.release.plan.steps[3].name, "restart over v2");
}

#[test]
fn stopping_at_the_redeploy_question_refuses_before_anything_ran() {
    let mut run = already_running();
    let fx = run.decide("ana", Decision::Abort);
    assert_eq!(run.release.outcome, Some(Outcome::Refused));
    assert!(started(&fx).is_empty());
    let said = Release::already_running_said("v2");
    assert_eq!(run.release.refusals, vec![said.clone()]);
    assert!(said.starts_with("every host already runs v2: nothing to ship; run with --redeploy"));
    assert!(fx.contains(&Effect::Record {
        event: Box::new(EventKind::Refused { why: vec![said] })
    }));
    assert!(fx.iter().any(|e| matches!(e, Effect::ReleaseLocks { .. })));
}

#[test]
fn nobody_to_ask_refuses_to_deploy_again_whatever_the_policy() {
    for policy in [Unattended::Rollback, Unattended::Abort] {
        let mut run = already_running();
        run.release.plan.unattended = policy;
        let (decision, note) = run.release.unattended_decision().expect("decided");
        assert_eq!(decision, Decision::Abort);
        assert!(note.contains("deploying v2 again takes a reason"), "{note}");
        run.send(EventKind::Decided {
            by: "policy".into(),
            decision,
            note: Some(note),
            actor: Actor::Policy,
        });
        assert_eq!(run.release.outcome, Some(Outcome::Refused));
    }
    let mut run = finding(|plan| plan.ships.redeploy = Some("config changed".into()));
    found(&mut run, "a", "v2");
    let fx = found(&mut run, "b", "v2");
    assert_eq!(started(&fx).len(), 2, "--redeploy goes on without asking");
    assert_eq!(run.release.question, None);
}

#[test]
fn previous_fills_names_and_manual_items_per_host_commands_keep_it() {
    let toml = profile()
        .replace(
            "manual = \"Tell support\"",
            "manual = \"Tell support we leave {{previous}}\"",
        )
        .replace("name = \"restart\"", "name = \"restart over {{previous}}\"")
        .replace("run = \"restart\"", "run = \"restart {{previous}}\"");
    let mut run = Run::new(&toml);
    run.release.plan.ships.allow_mixed = Some("b lagged".into());
    for t in run.target_names() {
        run.send(EventKind::Connected { target: t });
    }
    for t in run.target_names() {
        run.send(EventKind::LockTaken { target: t });
    }
    assert_eq!(run.release.plan.steps[3].name, "restart over {{previous}}");
    found(&mut run, "a", "v1");
    found(&mut run, "b", "v0\u{1b}[2J");
    let steps = &run.release.plan.steps;
    assert_eq!(steps[2].text, "Tell support we leave v1 on a, v0[2J on b");
    assert_eq!(steps[3].name, "restart over v1 on a, v0[2J on b");
    assert_eq!(
        steps[3].text, "restart {{previous}}",
        "the drivers fill it per host"
    );
    assert_eq!(
        run.release.changes_from_said().as_deref(),
        Some("changes since v1 (a); b runs v0\u{1b}[2J")
    );
    assert_eq!(
        run.release.previous_words(&["b".into()]).as_deref(),
        Some("v0[2J")
    );
}

#[test]
fn the_pending_list_says_which_host_it_came_from() {
    let mut run = finding(|_| {});
    found(&mut run, "a", "v1");
    found(&mut run, "b", "v1");
    run.send(EventKind::PendingFound {
        target: "b".into(),
        found: listed(&["0042 add index"]),
    });
    assert_eq!(run.release.ships.pending_on.as_deref(), Some("b"));
    assert_eq!(run.release.changes_from_said(), None, "the fleet agrees");
}

fn listed(lines: &[&str]) -> crate::engine::ships::Found {
    crate::engine::ships::Found {
        lines: lines.iter().map(|l| l.to_string()).collect(),
        total: lines.len(),
        error: None,
    }
}

/// The first step ended before `changes` answered: the gate waits for the list, then asks with
/// it in view (an unattended `--yes` would otherwise decide it unseen).
#[test]
fn a_gate_waits_for_the_change_list_before_it_is_asked() {
    let mut run = finding(|_| {});
    found(&mut run, "a", "v1");
    found(&mut run, "b", "v1");
    run.exit(0, "a", 1, 0);
    let fx = run.exit(0, "b", 1, 0);
    assert!(
        !fx.contains(&Effect::Ask),
        "asked before the list came: {fx:?}"
    );
    assert_eq!(run.release.question, None);
    assert_eq!(run.status(1), StepStatus::Waiting);
    let fx = run.send(EventKind::ChangesFound {
        found: listed(&["abc one", "def two"]),
    });
    assert!(fx.contains(&Effect::Ask), "{fx:?}");
    assert_eq!(run.release.question, Some(Question::Gate { step: 1 }));
    assert_eq!(
        run.release.ships_said().as_deref(),
        Some("v1 → v2 · 2 changes")
    );
}

/// A list that came (or failed) before the gate: the gate is asked at once; a failed list
/// holds nothing up.
#[test]
fn a_gate_is_asked_at_once_when_the_list_came_or_failed_first() {
    let mut run = finding(|_| {});
    found(&mut run, "a", "v1");
    found(&mut run, "b", "v1");
    run.send(EventKind::ChangesFound {
        found: crate::engine::ships::Found {
            error: Some("`changes` exited 128".into()),
            ..Default::default()
        },
    });
    run.exit(0, "a", 1, 0);
    let fx = run.exit(0, "b", 1, 0);
    assert!(fx.contains(&Effect::Ask), "{fx:?}");
    assert_eq!(run.release.question, Some(Question::Gate { step: 1 }));
}

/// gonogo died while its gate waited for the list: the resume looks for it again, then asks.
#[test]
fn a_resume_at_a_gate_that_waited_looks_for_the_list_again() {
    let mut run = finding(|_| {});
    found(&mut run, "a", "v1");
    found(&mut run, "b", "v1");
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    let mut fx = run.send(EventKind::Resumed {
        by: "ana@laptop".into(),
        unattended: None,
        stopped_at: None,
        stopped_t: None,
    });
    for t in run.target_names() {
        fx.extend(run.send(EventKind::LockTaken { target: t }));
    }
    assert!(fx.contains(&Effect::FindChanges), "{fx:?}");
    assert_eq!(run.release.question, None);
    let fx = run.send(EventKind::ChangesFound {
        found: listed(&["abc one"]),
    });
    assert!(fx.contains(&Effect::Ask), "{fx:?}");
}
