//! `gonogo plan`: the release checklist a profile describes, as Markdown for people (in the
//! form of a runbook checklist) and as JSON for tools. Both show the engine's [`ReleasePlan`].

use std::fmt::Write as _;

use crate::engine::plan::{PlannedStep, ReleasePlan};
use crate::profile::StepKind;
use crate::text::printable;

pub fn to_json(plan: &ReleasePlan) -> String {
    crate::text::json_escape_controls(
        serde_json::to_string_pretty(plan).expect("a plan is plain data"),
    ) + "\n"
}

/// `# Release`, then per phase a `##` heading and `- [ ]` items, the watch window, rollback.
/// Every value is shown [`printable`]: a newline or an escape in one cannot start a line.
pub fn to_markdown(plan: &ReleasePlan) -> String {
    let mut out = String::new();
    let version = plan
        .version
        .as_deref()
        .map_or(String::new(), |v| format!(" {}", printable(v)));
    let _ = writeln!(
        out,
        "# Release {}{version} to {}\n",
        printable(&plan.release),
        printable(&plan.environment)
    );
    write_targets(&mut out, plan);
    write_ships(&mut out, &plan.ships);
    let mut phase: Option<&str> = None;
    for step in plan.steps.iter().filter(|s| !s.after_watch) {
        if phase != Some(step.phase.as_str()) {
            if phase.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "## {}\n", printable(&step.phase));
            phase = Some(&step.phase);
            write_batches(&mut out, plan, &step.phase);
        }
        write_item(&mut out, step, true);
    }
    if phase.is_some() {
        out.push('\n');
    }
    if let Some(watch) = &plan.watch {
        write_watch(&mut out, watch);
    }
    let after: Vec<&PlannedStep> = plan.steps.iter().filter(|s| s.after_watch).collect();
    if !after.is_empty() {
        let _ = writeln!(
            out,
            "## After the verdict\n\nOnce the final gate says GO (never after a rollback):\n"
        );
        for step in after {
            write_item(&mut out, step, true);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Rollback\n");
    let undos = plan.steps.iter().any(|s| s.undo.is_some());
    if undos {
        let _ = writeln!(
            out,
            "First each step's undo, on the hosts where the step started, the latest step first; then:\n"
        );
    }
    if plan.rollback.is_empty() {
        let _ = writeln!(out, "No rollback steps are defined.");
    }
    for step in &plan.rollback {
        write_item(&mut out, step, false);
    }
    out
}

/// A phase rolled out in batches: which hosts fall in which batch, and how each is judged.
fn write_batches(out: &mut String, plan: &ReleasePlan, phase: &str) {
    let mut batches: Vec<&crate::engine::plan::Batch> = Vec::new();
    for batch in plan.steps.iter().filter_map(|s| s.batch.as_ref()) {
        if batch.phase == phase && !batches.iter().any(|b| b.number == batch.number) {
            batches.push(batch);
        }
    }
    let Some(first) = batches.first() else {
        return;
    };
    let time = humantime::format_duration(std::time::Duration::from_millis(first.analysis_ms));
    let promote = match first.promote {
        crate::engine::plan::Promote::Auto => {
            "the next batch starts by itself after a clean analysis"
        }
        crate::engine::plan::Promote::Gate => "a gate promotes the next batch after its analysis",
    };
    let _ = writeln!(
        out,
        "In {} batches; each is watched {time} against the hosts not yet deployed, and {promote}:\n",
        batches.len()
    );
    for b in &batches {
        let _ = writeln!(
            out,
            "- batch {}/{}: {}",
            b.number,
            b.of,
            printable(&b.hosts.join(", "))
        );
    }
    out.push('\n');
}

/// `Targets:` each with its address and roles, then the values of their own (`vars`).
fn write_targets(out: &mut String, plan: &ReleasePlan) {
    if plan.targets.is_empty() {
        return;
    }
    let targets: Vec<String> = plan
        .targets
        .iter()
        .map(|t| {
            let roles = if t.roles.is_empty() {
                String::new()
            } else {
                format!(" ({})", printable(&t.roles.join(", ")))
            };
            format!("{} `{}`{roles}", printable(&t.name), printable(&t.address))
        })
        .collect();
    let _ = writeln!(out, "Targets: {}\n", targets.join(", "));
    let own: Vec<String> = (plan.targets.iter())
        .filter(|t| !t.vars.is_empty())
        .map(|t| {
            let values: Vec<String> = (t.vars.iter())
                .map(|(name, value)| format!("`{}` = `{}`", printable(name), printable(value)))
                .collect();
            format!("- {}: {}", printable(&t.name), values.join(", "))
        })
        .collect();
    if !own.is_empty() {
        let _ = writeln!(
            out,
            "Values of their own (in place of [vars] on that target):\n\n{}\n",
            own.join("\n")
        );
    }
}

/// `## What ships`: the commands that find it before the first step, and the reasons given
/// to go on with a mixed fleet or a redeploy.
fn write_ships(out: &mut String, ships: &crate::engine::plan::PlannedShips) {
    if ships.current.is_none() && ships.changes.is_none() && ships.pending.is_none() {
        return;
    }
    let _ = writeln!(
        out,
        "## What ships
"
    );
    let _ = writeln!(
        out,
        "Found before the first step:
"
    );
    if let Some(current) = &ships.current {
        let _ = writeln!(
            out,
            "- The version running now, on every target (its first line; hosts that disagree stop the release; `{{{{previous}}}}` in the commands is each host's): {}",
            code(current)
        );
    }
    if let Some(changes) = &ships.changes {
        let _ = writeln!(
            out,
            "- The changes to ship, here (in the profile's directory): {}",
            code(changes)
        );
    }
    if let Some(pending) = &ships.pending {
        let on = ships.pending_on.as_deref().unwrap_or("its target");
        let _ = writeln!(
            out,
            "- The migrations to run, on {}: {}",
            printable(on),
            code(pending)
        );
    }
    if let Some(why) = &ships.allow_mixed {
        let _ = writeln!(
            out,
            "- Hosts may run different versions: {}",
            printable(why)
        );
    }
    if let Some(why) = &ships.redeploy {
        let _ = writeln!(
            out,
            "- The version may be running already (redeploy): {}",
            printable(why)
        );
    }
    out.push('\n');
}

/// `## Watch window`: how long, what happens when a rule holds, each rule to tick.
fn write_watch(out: &mut String, watch: &crate::engine::plan::PlannedWatch) {
    let duration = humantime::format_duration(std::time::Duration::from_millis(watch.duration_ms));
    let _ = writeln!(out, "## Watch window ({duration})\n");
    let then = match watch.auto_rollback_ms {
        Some(ms) => format!(
            "propose a rollback, and roll back by itself if nobody answers within {}",
            humantime::format_duration(std::time::Duration::from_millis(ms))
        ),
        None => "propose a rollback to the operator".to_string(),
    };
    let _ = writeln!(
        out,
        "Hold the release under watch for {duration}; when a rule holds, {then}:\n"
    );
    for rule in &watch.rollback_on {
        let _ = writeln!(out, "- [ ] `{}`", printable(&rule.text));
    }
    if watch.rollback_on.is_empty() {
        let _ = writeln!(
            out,
            "- [ ] No rollback rules: watch the logs and health by eye"
        );
    }
    out.push('\n');
}

/// One item, and what its `{{previous}}` will be: the plan cannot know it.
fn write_item(out: &mut String, step: &PlannedStep, main: bool) {
    write_step(out, step, main);
    let shown = crate::engine::ships::PREVIOUS_SHOWN;
    let undo = step.undo.as_deref().unwrap_or_default();
    if [&step.name, &step.text].iter().any(|t| t.contains(shown)) || undo.contains(shown) {
        let _ = writeln!(
            out,
            "  {}: filled in per host when the release runs, with the version `[release] current` finds there (not known before)",
            code(shown)
        );
    }
}

/// One item; `main`: a step of the checklist (whose undo is said), not a rollback step.
fn write_step(out: &mut String, step: &PlannedStep, main: bool) {
    match step.kind {
        StepKind::Manual => {
            let _ = writeln!(out, "- [ ] {}", printable(&step.text));
        }
        StepKind::Analysis => {
            let promote = match step.batch.as_ref().map(|b| b.promote) {
                Some(crate::engine::plan::Promote::Gate) => "then a gate to promote",
                _ => "then on by itself when clean",
            };
            let _ = writeln!(
                out,
                "- [ ] **{}**: {} ({promote})",
                printable(&step.name),
                printable(&step.text)
            );
        }
        StepKind::Gate => {
            let approvals = match step.approvals {
                1 => "1 approval".to_string(),
                n => format!("{n} approvals"),
            };
            let _ = writeln!(
                out,
                "- [ ] **Gate: {}** (go / no-go, {approvals})",
                printable(&step.text)
            );
        }
        StepKind::Check | StepKind::Run => {
            let mut how = vec![format!(
                "{} on {}",
                step.kind.key(),
                printable(&step.targets.join(", "))
            )];
            match step.serial {
                Some(1) => how.push("one host at a time".into()),
                Some(n) => how.push(format!("{n} hosts at a time")),
                None => {}
            }
            if step.retries > 0 {
                how.push(format!(
                    "up to {} {}",
                    step.retries,
                    if step.retries == 1 {
                        "retry"
                    } else {
                        "retries"
                    }
                ));
            }
            if step.irreversible {
                how.push("**irreversible**".into());
            }
            let title = if step.name == step.text {
                String::new()
            } else {
                format!("{}: ", printable(&step.name))
            };
            if let Some(kind) = &step.builtin {
                how.push(format!("gonogo's own `{kind}` check"));
                let _ = writeln!(out, "- [ ] {title}{}", how.join(", "));
                let _ = writeln!(out, "  {}", printable(&step.text));
                return;
            }
            let _ = writeln!(out, "- [ ] {title}{}", how.join(", "));
            let _ = writeln!(out, "  {}", code(&step.text));
            if let Some(undo) = &step.undo {
                let _ = writeln!(out, "  undo on the hosts where it ran: {}", code(undo));
            } else if main && step.kind == StepKind::Run && !step.irreversible {
                let _ = writeln!(
                    out,
                    "  no `undo`: a rollback does not undo this step itself"
                );
            }
        }
    }
}

/// Inline code that survives backticks in the command; a block when it spans lines, each line
/// printable and indented under its item.
pub(super) fn code(text: &str) -> String {
    if text.contains('\n') {
        let lines: Vec<_> = text.trim_end().split('\n').map(printable).collect();
        let body = lines.join("\n  ");
        let fence = if text.contains("```") { "````" } else { "```" };
        return format!("{fence}sh\n  {body}\n  {fence}");
    }
    let fence = if text.contains('`') { "``" } else { "`" };
    format!("{fence}{}{fence}", printable(text))
}
