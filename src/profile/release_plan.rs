//! From a checked profile to the plan the engine runs: every step resolved to its targets and
//! its command as shown to people (secrets masked).

use crate::engine::plan::{
    Batch, PlannedStep, PlannedTail, PlannedTarget, PlannedWatch, ReleasePlan,
};

use super::phases::PlanEntry;
use super::{Profile, Quoting, Step, VarValues};

/// The release as the engine runs it, from a checked profile and its variables' values.
pub fn release_plan(profile: &Profile, vars: &VarValues) -> ReleasePlan {
    let planned = |s: &Step| planned_step(s, profile, vars);
    let steps = planned_steps(profile, vars);
    ReleasePlan {
        probes: profile
            .health
            .iter()
            .map(|h| h.name.clone())
            .chain(profile.metrics.iter().map(|m| m.name.clone()))
            .collect(),
        release: profile.release.name.clone(),
        environment: profile.release.environment.clone(),
        production: profile.release.is_production(),
        version: profile
            .release
            .version
            .as_ref()
            .map(|v| v.display(vars, Quoting::Plain)),
        targets: profile
            .targets
            .iter()
            .map(|t| PlannedTarget {
                name: t.name.clone(),
                address: t.address(&vars.for_target(t)),
                vars: (t.vars.iter())
                    .map(|o| (o.name.clone(), o.value.clone()))
                    .collect(),
                roles: t.roles.clone(),
                transport: t.transport,
            })
            .collect(),
        steps,
        watch: profile.watch.as_ref().map(|w| PlannedWatch {
            duration_ms: millis(w.duration),
            rollback_on: w.rollback_on.clone(),
            auto_rollback_ms: w
                .auto_rollback
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            baseline_ms: w.baseline.map(millis),
            require_judgement: w
                .require_judgement
                .unwrap_or_else(|| profile.release.is_production()),
        }),
        rollback: profile.rollback.iter().map(planned).collect(),
        window_override: None,
        ships: crate::engine::plan::PlannedShips {
            current: (profile.release.current.as_ref()).map(|c| c.display(vars, Quoting::Shell)),
            changes: (profile.release.changes.as_ref()).map(|c| c.display(vars, Quoting::Shell)),
            pending: (profile.release.pending.as_ref()).map(|c| c.display(vars, Quoting::Shell)),
            pending_on: profile.release.pending_on.clone(),
            allow_mixed: None,
            redeploy: None,
        },
        rehearsal: None,
        unattended: profile
            .policy
            .as_ref()
            .map(|p| p.unattended)
            .unwrap_or_default(),
        logs: profile
            .logs
            .iter()
            .map(|l| PlannedTail {
                command: l.command.display(
                    &shown_on(&l.on.resolve(&profile.targets), vars),
                    Quoting::Shell,
                ),
                name: l.name.clone(),
                targets: l
                    .on
                    .resolve(&profile.targets)
                    .iter()
                    .map(|t| t.name.clone())
                    .collect(),
                errors: l.errors.clone(),
            })
            .collect(),
    }
}

/// The values to show for what runs on `targets`: a variable one of them gives a value of its
/// own is shown as its `{{name}}` (`gonogo plan` lists each target's values).
fn shown_on(targets: &[&super::Target], vars: &VarValues) -> VarValues {
    let mut shown = vars.clone();
    for o in targets.iter().flat_map(|t| &t.vars) {
        let base = vars.get(&o.name).and_then(|v| v.value.as_deref());
        if base != Some(o.value.as_str()) {
            shown.insert(o.name.clone(), None, false);
        }
    }
    shown
}

/// The checklist: every step, batched phases unrolled batch by batch with their analyses.
fn planned_steps(profile: &Profile, vars: &VarValues) -> Vec<PlannedStep> {
    super::phases::plan_entries(profile)
        .into_iter()
        .map(|entry| match entry {
            PlanEntry::Step {
                source,
                hosts,
                batch,
            } => {
                let step = planned_step(&profile.steps[source], profile, vars);
                PlannedStep {
                    targets: hosts.unwrap_or(step.targets.clone()),
                    batch,
                    ..step
                }
            }
            PlanEntry::Analysis(batch) => analysis_step(batch, profile),
        })
        .collect()
}

fn planned_step(step: &Step, profile: &Profile, vars: &VarValues) -> PlannedStep {
    let on = step.on.as_ref().map(|sel| sel.resolve(&profile.targets));
    let vars = &shown_on(on.as_deref().unwrap_or_default(), vars);
    let quoting = if step.kind.runs_command() && step.builtin.is_none() {
        Quoting::Shell
    } else {
        Quoting::Plain
    };
    let (on, targets) = match &step.on {
        Some(sel) => (
            sel.names.clone(),
            sel.resolve(&profile.targets)
                .iter()
                .map(|t| t.name.clone())
                .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    PlannedStep {
        phase: step.phase.clone(),
        // A step without a name is named by its text, shown the same way.
        name: if step.name == step.text {
            step.text.display(vars, quoting)
        } else {
            step.name.display(vars, Quoting::Plain)
        },
        kind: step.kind,
        text: step.text.display(vars, quoting),
        on,
        targets,
        serial: step.serial,
        timeout_ms: millis(step.timeout),
        retries: step.retries,
        retry_delay_ms: millis(step.retry_delay),
        expect: step.expect.clone(),
        irreversible: step.irreversible,
        // `[policy] approvals` sets the least for every gate of the environment.
        approvals: if step.kind == crate::profile::StepKind::Gate {
            step.approvals
                .max(profile.policy.as_ref().map_or(1, |p| p.approvals))
        } else {
            step.approvals
        },
        builtin: step.builtin.as_ref().map(|b| b.kind().to_string()),
        undo: step.undo.as_ref().map(|u| u.display(vars, Quoting::Shell)),
        after_watch: step.after_watch,
        origin: None,
        batch: None,
    }
}

/// The analysis after a batch: it runs nothing; it holds the batch's hosts against the control
/// for `analysis`, then promotes (or asks, as a gate would).
fn analysis_step(batch: Batch, profile: &Profile) -> PlannedStep {
    let label = batch.label();
    let time = humantime::format_duration(std::time::Duration::from_millis(batch.analysis_ms));
    PlannedStep {
        phase: batch.phase.clone(),
        name: format!("Analysis of {label}"),
        kind: crate::engine::plan::StepKind::Analysis,
        text: format!(
            "{} against {} (control) for {time}",
            batch.changed.join(", "),
            batch.control.join(", ")
        ),
        on: Vec::new(),
        targets: Vec::new(),
        serial: None,
        timeout_ms: batch.analysis_ms,
        retries: 0,
        retry_delay_ms: 0,
        expect: None,
        irreversible: false,
        approvals: profile.policy.as_ref().map_or(1, |p| p.approvals),
        builtin: None,
        undo: None,
        after_watch: false,
        origin: None,
        batch: Some(batch),
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
