//! What a team keeps and says after a release: the release record (deployed version, time, who
//! deployed, what cannot be undone, the rollback command: seed 000, step 16) and the status
//! message for the deployments channel (seed 003), made from the journal alone.

use serde::Serialize;

use super::health::HealthReport;
use super::history::History;
use super::summary::{ReportOutcome, Summary};
use super::words::{clock, millis, percent, took};
use crate::engine::release::IrreversibleDone;
use crate::engine::{Actor, Decision, Question, StepList};
use crate::journal::Header;
use crate::text::{printable, printable_lines};

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseRecord {
    pub release: String,
    pub environment: String,
    pub version: Option<String>,
    /// The version the hosts ran before (`[release] current`), in words; `None` when the
    /// profile does not find it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    /// What a rollback returns the hosts to (`{{previous}}` on each), in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_target: Option<String>,
    pub outcome: ReportOutcome,
    /// When it was released (`None` unless it was).
    pub deployed_at: Option<String>,
    /// `user@host` of the operator's machine.
    pub deployed_by: String,
    /// Everyone who said go at a gate (`--yes` included, named as such).
    pub approved_by: Vec<String>,
    pub session: String,
    pub profile: String,
    pub profile_sha256: String,
    /// Irreversible steps that ran: a rollback cannot undo them.
    pub irreversible_done: Vec<IrreversibleDone>,
    /// What the rollback would run now (or ran), host by host, commands as shown (secrets
    /// masked), and what it cannot undo.
    pub rollback: RollbackScript,
}

/// The release record's rollback: each host with its commands in order, the manual items,
/// the steps it does not undo, and all of it as one `sh` script of comments and commands.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RollbackScript {
    pub hosts: Vec<HostRollback>,
    /// Manual rollback items, for a person.
    pub manual: Vec<String>,
    /// Steps that ran and that the rollback does not undo, with where and why.
    pub not_undone: Vec<NotUndoneStep>,
    /// Passes `sh -n`: `# on HOST` comments, each command as written, `# MANUAL:` and
    /// `# NOT UNDONE:` comments.
    pub script: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostRollback {
    pub host: String,
    pub steps: Vec<RollbackCommand>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackCommand {
    pub name: String,
    pub command: String,
    /// Whether this release ran it on this host.
    pub ran: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotUndoneStep {
    pub step: String,
    pub targets: Vec<String>,
    pub why: String,
}

pub(super) fn record(header: Option<&Header>, h: &History, summary: &Summary) -> ReleaseRecord {
    let release = &h.release;
    let mut approved_by: Vec<String> = Vec::new();
    for d in &release.decisions {
        let at_gate = matches!(
            d.question,
            Some(Question::Gate { .. } | Question::FinalGate)
        );
        if at_gate && d.decision == Decision::Go {
            let name = match d.actor {
                Actor::Yes => format!("{} (--yes)", d.by),
                _ => d.by.clone(),
            };
            if !approved_by.contains(&name) {
                approved_by.push(name);
            }
        }
    }
    let rollback = rollback_script(release);
    ReleaseRecord {
        release: summary.release.clone(),
        environment: summary.environment.clone(),
        version: summary.version.clone(),
        previous_version: (release.plan.ships.current.is_some())
            .then(|| super::ships::previous_said(release)),
        rollback_target: (release.plan.ships.current.is_some())
            .then(|| super::ships::rollback_target(release)),
        outcome: summary.outcome,
        deployed_at: (summary.outcome == ReportOutcome::Released)
            .then(|| h.outcome_at.map(crate::journal::timestamp))
            .flatten(),
        deployed_by: summary.operator.clone(),
        approved_by,
        session: summary.session.clone(),
        profile: header.map(|hd| hd.profile.clone()).unwrap_or_default(),
        profile_sha256: summary.profile_sha256.clone(),
        irreversible_done: release.irreversible_done(),
        rollback,
    }
}

/// The message for the team, ready to paste: plain text, one value per line.
pub(super) fn status_message(s: &Summary, h: &History, health: &HealthReport) -> String {
    let version = s
        .version
        .as_deref()
        .map_or(String::new(), |v| format!(" {}", printable(v)));
    let what = format!("{}{version}", printable(&s.release));
    let env = printable(&s.environment);
    let mut out: Vec<String> = match s.outcome {
        ReportOutcome::Released => released_lines(&what, &env, h, health),
        ReportOutcome::RolledBack => rolled_back_lines(&what, &env, s, h, health),
        ReportOutcome::Aborted | ReportOutcome::Refused => stopped_lines(&what, &env, s, h),
        ReportOutcome::Unknown => {
            let mut out = vec![
                format!("❓ {what} to {env}: outcome unknown"),
                String::new(),
            ];
            if let Some(reason) = s.reason.as_deref() {
                out.push(printable(reason).to_string());
            }
            out
        }
    };
    out.push(String::new());
    out.extend(who_lines(s));
    out.join("\n") + "\n"
}

/// A release that went out: what changed, how it was validated, and the watch window.
fn released_lines(what: &str, env: &str, h: &History, health: &HealthReport) -> Vec<String> {
    let release = &h.release;
    let mut out = vec![format!("✅ {what} deployed to {env} successfully")];
    if let Some(said) = release.ships_said() {
        out.push(format!("What shipped: {}", printable(&said)));
    }
    out.push(String::new());
    out.push("Changes:".into());
    // The change list (`[release] changes`) when there is one, then what ran on the hosts.
    let listed = super::ships::change_list_lines(release);
    if !listed.is_empty() {
        out.extend(listed);
        out.push(String::new());
        out.push("On the hosts:".into());
    }
    out.extend(change_lines(release));
    out.push(String::new());
    out.push("Validation:".into());
    out.extend(checklist_lines(h));
    out.extend(health_lines(health));
    out.push(match release.signatures.new_count() {
        0 if release.plan.logs.is_empty() => "- Logs: not followed".into(),
        0 => "- No new errors in logs".into(),
        n => format!("- {n} new error signature(s) in logs since the deploy"),
    });
    if let Some(span) = &health.watch {
        out.push(String::new());
        out.push(format!(
            "Watch window: {} ({}–{})",
            took(span.to_ms.saturating_sub(span.from_ms)),
            clock(span.from_ms),
            clock(span.to_ms)
        ));
    }
    out
}

/// A release that was rolled back: why, the rollback steps that ran, what cannot be undone,
/// the health during the watch, and the next steps.
fn rolled_back_lines(
    what: &str,
    env: &str,
    s: &Summary,
    h: &History,
    health: &HealthReport,
) -> Vec<String> {
    let release = &h.release;
    let mut out = vec![format!("⚠️ {env} rollback executed: {what}"), String::new()];
    if let Some(reason) = s.reason.as_deref() {
        out.push(format!("Reason: {}", printable(reason)));
    }
    if release.plan.ships.current.is_some() {
        let target = super::ships::rollback_target(release);
        out.push(format!("Back to: {}", printable(&target)));
    }
    let steps = rollback_steps(release);
    if !steps.is_empty() {
        out.push(format!("Rolled back with: {}", steps.join("; ")));
    }
    out.extend(crate::summary::undo_lines(release));
    let during = health_lines(health);
    if !during.is_empty() {
        out.push(String::new());
        out.push("During the watch:".into());
        out.extend(during);
    }
    out.push(String::new());
    out.push("Next steps:".into());
    out.push("- Root cause analysis".into());
    out.push("- Hotfix or revert".into());
    out
}

/// The rollback steps that started, each with where it ran and how it ended.
fn rollback_steps(release: &crate::engine::Release) -> Vec<String> {
    super::checklist::items(release, StepList::Rollback)
        .iter()
        .filter(|i| i.started.is_some())
        .map(|i| {
            let how = match i.result {
                super::checklist::StepResult::Passed => "done",
                super::checklist::StepResult::Failed => "FAILED",
                other => other.mark(),
            };
            match i.targets.is_empty() {
                true => format!("{} ({how})", printable(&i.name)),
                false => format!(
                    "{} on {} ({how})",
                    printable(&i.name),
                    printable(&i.targets.join(", "))
                ),
            }
        })
        .collect()
}

/// A release that was aborted or refused: why, and (when aborted) what it changed on the hosts.
fn stopped_lines(what: &str, env: &str, s: &Summary, h: &History) -> Vec<String> {
    let aborted = s.outcome == ReportOutcome::Aborted;
    let said = if aborted {
        "aborted"
    } else {
        "refused to start: nothing ran"
    };
    let mut out = vec![format!("⛔ {what} to {env} {said}"), String::new()];
    if let Some(reason) = s.reason.as_deref() {
        out.push(format!("Reason: {}", printable(reason)));
    }
    if aborted {
        let changes = h.release.changes();
        if changes.is_empty() {
            out.push("Changed on the hosts: nothing".into());
        }
        for c in changes {
            out.push(format!(
                "Changed on the hosts: {} on {} ({})",
                printable(&c.step),
                printable(&c.target),
                run_words(c.status)
            ));
        }
    }
    out
}

/// Who ran the release and when it started, and the session it is journalled under.
fn who_lines(s: &Summary) -> [String; 2] {
    let mut by = printable(&s.operator).into_owned();
    if let Some(at) = s.started_ms {
        by.push_str(&format!(", started {}", super::words::date_time(at)));
    }
    [
        format!("Operator: {by}"),
        format!("Session: {}", printable(&s.session)),
    ]
}

/// What the release changed on the hosts, one line per step and target (seed 003's Changes).
pub(crate) fn change_lines(release: &crate::engine::Release) -> Vec<String> {
    let changes = release.changes();
    if changes.is_empty() {
        return vec!["- nothing changed on the hosts".into()];
    }
    changes
        .iter()
        .map(|c| {
            let irreversible = if c.irreversible { ", irreversible" } else { "" };
            format!(
                "- {} on {}: {}{irreversible}",
                printable(&c.step),
                printable(&c.target),
                run_words(c.status)
            )
        })
        .collect()
}

/// How the checklist went, in a line or two.
fn checklist_lines(h: &History) -> Vec<String> {
    let items = super::checklist::items(&h.release, StepList::Main);
    let passed = items
        .iter()
        .filter(|i| i.result == super::checklist::StepResult::Passed)
        .count();
    let mut out = vec![format!(
        "- Checklist: {passed} of {} steps passed",
        items.len()
    )];
    for i in items
        .iter()
        .filter(|i| i.result == super::checklist::StepResult::Skipped)
    {
        out.push(format!(
            "- Skipped: {} ({})",
            printable(&i.name),
            printable(i.skip_reason.as_deref().unwrap_or("no reason recorded"))
        ));
    }
    out
}

/// Health and metrics across the watch, in a few lines.
fn health_lines(health: &HealthReport) -> Vec<String> {
    let mut out = Vec::new();
    if health.watch.is_none() {
        return out;
    }
    if !health.checks.is_empty() {
        let failing: Vec<String> = health
            .checks
            .iter()
            .filter(|c| c.last_ok == Some(false))
            .map(|c| printable(&c.check).into_owned())
            .collect();
        let ok: u64 = health.checks.iter().map(|c| c.ok).sum();
        let all: u64 = health.checks.iter().map(|c| c.ok + c.failing).sum();
        out.push(if failing.is_empty() {
            format!("- Health checks passing ({ok}/{all} answers ok during the watch)")
        } else {
            format!(
                "- Health checks failing: {} ({ok}/{all} answers ok during the watch)",
                failing.join(", ")
            )
        });
    }
    for m in &health.metrics {
        let name = printable(&m.source);
        if let Some(last) = m.error_ratio.last {
            let base = m
                .error_ratio
                .baseline
                .map_or(String::new(), |b| format!(", baseline {}", percent(b)));
            out.push(format!(
                "- Error rate ({name}): {} (highest {}{base})",
                percent(last),
                percent(m.error_ratio.max.unwrap_or(last))
            ));
        }
        if let Some(last) = m.latency_p95_ms.last {
            let base = m
                .latency_p95_ms
                .baseline
                .map_or(String::new(), |b| format!(", baseline {}", millis(b)));
            out.push(format!(
                "- Response time p95 ({name}): {} (highest {}{base})",
                millis(last),
                millis(m.latency_p95_ms.max.unwrap_or(last))
            ));
        }
    }
    out
}

fn run_words(status: crate::engine::RunStatus) -> &'static str {
    use crate::engine::RunStatus;
    match status {
        RunStatus::Passed => "done",
        RunStatus::Failed => "failed",
        RunStatus::Cancelled => "stopped",
        RunStatus::Unknown => "outcome unknown",
        RunStatus::Running | RunStatus::Stopping => "still running",
        RunStatus::Pending | RunStatus::RetryWaiting => "not finished",
    }
}

/// The rollback as the release record keeps it: what the rollback ran, or would run now.
pub(super) fn rollback_script(release: &crate::engine::Release) -> RollbackScript {
    let plan = release.list(StepList::Rollback);
    let states = release.states(StepList::Rollback);
    let mut out = RollbackScript::default();
    for (host, _) in release.rollback_by_host() {
        let steps = plan
            .iter()
            .zip(states)
            .filter(|(step, _)| step.kind.runs_command() && step.targets.contains(&host))
            .map(|(step, state)| RollbackCommand {
                name: step.name.clone(),
                command: match step.builtin {
                    // A built-in check is gonogo's own: no shell command to copy.
                    Some(_) => String::new(),
                    None => with_previous(release, &host, &step.text),
                },
                ran: state
                    .targets
                    .iter()
                    .any(|t| t.target == host && t.started_at.is_some()),
            })
            .collect();
        out.hosts.push(HostRollback { host, steps });
    }
    out.manual = plan
        .iter()
        .filter(|s| !s.kind.runs_command())
        .map(|s| s.text.clone())
        .collect();
    let irreversible = release
        .irreversible_done()
        .into_iter()
        .map(|d| (d, "irreversible"));
    let no_undo = release.not_undoable().into_iter().map(|d| (d, "no undo"));
    out.not_undone = irreversible
        .chain(no_undo)
        .map(|(d, why)| NotUndoneStep {
            step: d.step,
            targets: d.targets,
            why: why.to_string(),
        })
        .collect();
    out.script = script(&out, plan);
    out
}

/// A command as shown with `{{previous}}` as the host's version before the release
/// (shell-quoted, as the drivers put it), once `[release] current` found it.
fn with_previous(release: &crate::engine::Release, host: &str, command: &str) -> String {
    match release.previous_on(host) {
        Some(previous) if release.plan.ships.current.is_some() => {
            command.replace("{{previous}}", &crate::shell::shell_word(previous))
        }
        _ => command.to_string(),
    }
}

/// The rollback as a script: a reader can run it by hand, a shell can parse it (`sh -n`).
fn script(r: &RollbackScript, plan: &[crate::engine::plan::PlannedStep]) -> String {
    let mut out = String::new();
    let comment = |out: &mut String, lead: &str, text: &str| {
        for (i, line) in printable_lines(text).lines().enumerate() {
            let lead = if i == 0 { lead } else { "" };
            out.push_str(&format!("# {lead}{line}\n"));
        }
    };
    for host in &r.hosts {
        comment(&mut out, "on ", &host.host);
        for step in &host.steps {
            let ran = if step.ran {
                " (ran in this release)"
            } else {
                ""
            };
            comment(&mut out, "", &format!("{}{ran}", step.name));
            if step.command.is_empty() {
                let said = plan
                    .iter()
                    .find(|s| s.name == step.name)
                    .map_or("", |s| s.text.as_str());
                comment(&mut out, "CHECK (built in, not a command): ", said);
            } else {
                out.push_str(step.command.trim_end());
                out.push('\n');
            }
        }
        out.push('\n');
    }
    for item in &r.manual {
        comment(&mut out, "MANUAL: ", item);
    }
    for step in &r.not_undone {
        comment(
            &mut out,
            "NOT UNDONE: ",
            &format!(
                "{} on {} ({})",
                step.step,
                step.targets.join(", "),
                step.why
            ),
        );
    }
    if out.is_empty() {
        out.push_str("# nothing to roll back: no step ran, and no [[rollback]] step applies\n");
    }
    out
}
