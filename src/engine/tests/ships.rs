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
        found: crate::engine::ships::Found {
            lines: vec!["abc one".into(), "def two".into()],
            total: 2,
            error: None,
        },
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
fn a_host_that_cannot_say_or_a_fleet_already_on_the_version_is_refused() {
    let mut run = finding(|_| {});
    found(&mut run, "a", "v1");
    run.send(EventKind::VersionFound {
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

    let mut run = finding(|_| {});
    found(&mut run, "a", "v2");
    found(&mut run, "b", "v2");
    assert_eq!(run.release.outcome, Some(Outcome::Refused));
    assert!(run.release.refusals[0].starts_with("every host already runs v2"));

    let mut run = finding(|plan| plan.ships.redeploy = Some("config changed".into()));
    found(&mut run, "a", "v2");
    let fx = found(&mut run, "b", "v2");
    assert_eq!(started(&fx).len(), 2, "--redeploy goes on");
}
