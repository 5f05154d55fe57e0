//! Checks across tables once everything is read: names that point nowhere, and the warnings an
//! experienced operator would give about a release plan.

use super::diag::{Diagnostic, did_you_mean};
use super::load::Loader;
use super::schema::{Profile, Selector, StepKind, Transport};
use crate::engine::plan::CHANGED;

impl Loader<'_> {
    pub(crate) fn cross_check(&mut self, p: &Profile) {
        self.names_are_unambiguous(p);
        for step in &p.steps {
            if let Some(on) = &step.on {
                self.selector_resolves(p, on, "on", false);
            }
        }
        for step in &p.rollback {
            if let Some(on) = &step.on {
                self.selector_resolves(p, on, "on", true);
            }
        }
        for log in &p.logs {
            self.selector_resolves(p, &log.on, "on", false);
        }
        let vias = p.health.iter().filter_map(|h| h.via.as_ref());
        for via in vias.chain(p.metrics.iter().filter_map(|m| m.via.as_ref())) {
            self.selector_resolves(p, via, "via", false);
        }
        self.check_phases(p);
        self.pending_on_resolves(p);
        self.warnings(p);
    }

    fn names_are_unambiguous(&mut self, p: &Profile) {
        for target in &p.targets {
            if target.name == CHANGED || target.roles.iter().any(|r| r == CHANGED) {
                self.diags.push(
                    Diagnostic::error(
                        target.span.clone(),
                        format!("target `{}` uses the name `{CHANGED}`", target.name),
                    )
                    .help("`on = \"changed\"` means the hosts where anything ran (in [[rollback]]): rename the target or role"),
                );
            }
            if let Some(other) = p.targets.iter().find(|t| t.roles.contains(&target.name)) {
                self.diags.push(
                    Diagnostic::error(
                        other.span.clone(),
                        format!(
                            "`{}` is both a target and a role of target `{}`",
                            target.name, other.name
                        ),
                    )
                    .help("`on` could mean either: rename the role or the target"),
                );
            }
        }
    }

    fn selector_resolves(&mut self, p: &Profile, selector: &Selector, key: &str, rollback: bool) {
        let targets: Vec<&str> = p.targets.iter().map(|t| t.name.as_str()).collect();
        let mut roles: Vec<&str> = p
            .targets
            .iter()
            .flat_map(|t| t.roles.iter().map(String::as_str))
            .collect();
        roles.sort_unstable();
        roles.dedup();
        for (name, span) in selector.names.iter().zip(&selector.spans) {
            if targets.contains(&name.as_str()) || roles.contains(&name.as_str()) {
                continue;
            }
            if name == CHANGED {
                if !rollback {
                    self.diags.push(
                        Diagnostic::error(
                            span.clone(),
                            format!("`{key} = \"{CHANGED}\"` is only for [[rollback]] steps"),
                        )
                        .help("`changed` means the hosts where anything ran, known once a rollback begins: name targets or roles here"),
                    );
                }
                continue;
            }
            let known = || {
                format!(
                    "targets: {}; roles: {}",
                    list_or_none(&targets),
                    list_or_none(&roles)
                )
            };
            let help = match did_you_mean(name, targets.iter().chain(&roles).copied()) {
                Some(near) => format!("did you mean `{near}`? ({})", known()),
                None if targets.is_empty() => {
                    "declare a target first, e.g. [targets.web-1] host = \"web-1.example.com\""
                        .to_string()
                }
                None => known(),
            };
            self.diags.push(
                Diagnostic::error(
                    span.clone(),
                    format!("`{key} = \"{name}\"` names no target and no role"),
                )
                .help(help),
            );
        }
    }

    fn warnings(&mut self, p: &Profile) {
        for (i, step) in p.steps.iter().enumerate() {
            if !step.irreversible || step.kind != StepKind::Run {
                continue;
            }
            let gated = p.steps[..i]
                .iter()
                .any(|s| s.phase == step.phase && s.kind == StepKind::Gate);
            if !gated {
                self.diags.push(
                    Diagnostic::warning(step.span.clone(), format!("irreversible step `{}` has no gate before it in phase {}", step.name.raw(), step.phase))
                        .help(format!("add a gate before it so a person decides: [[step]] phase = \"{}\" gate = \"Run {}?\"", step.phase, step.name.raw())),
                );
            }
        }
        let undoable = |s: &&super::schema::Step| s.kind == StepKind::Run && !s.irreversible;
        // An experienced operator objects to a production change nothing can reverse.
        let unreversed: Vec<_> = p
            .steps
            .iter()
            .filter(undoable)
            .filter(|s| s.undo.is_none())
            .collect();
        if p.rollback.is_empty() && p.release.is_production() && !unreversed.is_empty() {
            for step in unreversed {
                self.diags.push(
                    Diagnostic::warning(step.span.clone(), format!("production step `{}` has no `undo` and the release has no [[rollback]]: a rollback cannot restore it", step.name.raw()))
                        .help("add `undo = \"…\"` with the command that reverses it on a host where it ran, or [[rollback]] steps that restore the previous release"),
                );
            }
        } else if p.rollback.is_empty()
            && !p.steps.iter().any(|s| s.undo.is_some())
            && let Some(first_run) = p.steps.iter().find(|s| s.kind == StepKind::Run)
        {
            self.diags.push(
                Diagnostic::warning(first_run.span.clone(), "the release changes things but has no [[rollback]] steps")
                    .help("add [[rollback]] steps that restore the previous release, so rollback is one decision away"),
            );
        }
        self.session_budget(p);
        self.baseline_in_time(p);
        if p.release.is_production() && !p.steps.iter().any(|s| s.kind == StepKind::Gate) {
            self.diags.push(
                Diagnostic::warning(p.release.environment_span.clone(), "a production release with no gate")
                    .help("add at least one [[step]] gate = \"Go for production?\" before the first change"),
            );
        }
    }
}

/// OpenSSH's default `MaxSessions`: channels one connection may have open at once.
const MAX_SESSIONS: usize = 10;
/// Channels a step needs on its target at once: its attach, and a stop or a status query.
const STEP_SESSIONS: usize = 2;

impl Loader<'_> {
    /// Log tails, steps and gonogo's scripts share each target's one SSH connection; sshd
    /// refuses channels past its `MaxSessions`, and a step refused a channel cannot run.
    fn session_budget(&mut self, p: &Profile) {
        for target in p.targets.iter().filter(|t| t.transport == Transport::Ssh) {
            let on_it: Vec<_> = p
                .logs
                .iter()
                .filter(|l| {
                    l.on.resolve(&p.targets)
                        .iter()
                        .any(|t| t.name == target.name)
                })
                .collect();
            let needed = on_it.len() + STEP_SESSIONS;
            if needed <= MAX_SESSIONS {
                continue;
            }
            let span = on_it
                .get(MAX_SESSIONS - STEP_SESSIONS)
                .and_then(|l| l.on.spans.first().cloned());
            self.diags.push(
                Diagnostic::warning(
                    span,
                    format!(
                        "target `{}` runs {} log tails: with a step's {STEP_SESSIONS} channels that is {needed} sessions on one SSH connection, more than sshd allows by default (MaxSessions {MAX_SESSIONS})",
                        target.name,
                        on_it.len()
                    ),
                )
                .help("follow several files with one command (tail -F a.log b.log), or raise MaxSessions in the host's sshd_config"),
            );
        }
    }
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

impl Loader<'_> {
    /// An `x baseline` rule needs two readings before the first change; the first change waits
    /// for them only so long: a source scraped more rarely leaves the rule without one.
    fn baseline_in_time(&mut self, p: &Profile) {
        use crate::engine::watch_rule::{Condition, Threshold};
        let Some(watch) = &p.watch else {
            return;
        };
        let Some(rule) = watch.rollback_on.iter().find(|r| {
            matches!(
                r.condition,
                Condition::Compare {
                    threshold: Threshold::TimesBaseline(_),
                    ..
                }
            )
        }) else {
            return;
        };
        if p.metrics.is_empty() {
            self.diags.push(
                Diagnostic::warning(None, format!("rule `{}` compares with a baseline, but no [metrics] source is scraped", rule.text))
                    .help("add a [metrics.NAME] table with the signal's series, or the rule can never judge"),
            );
            return;
        }
        let wait = crate::engine::baseline::BASELINE_WAIT_MS.max(
            watch
                .baseline
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .saturating_mul(2),
        );
        for source in &p.metrics {
            let every = u64::try_from(source.every.as_millis()).unwrap_or(u64::MAX);
            let needed = every.saturating_mul(crate::engine::baseline::BASELINE_READINGS as u64);
            if needed > wait {
                self.diags.push(
                    Diagnostic::warning(None, format!(
                        "[metrics.{}] is scraped every {}s: two readings take {}s, longer than the first change waits for a baseline ({}s)",
                        source.name,
                        every / 1000,
                        needed / 1000,
                        wait / 1000
                    ))
                    .help(format!("scrape more often (every = \"10s\") so `{}` has a baseline", rule.text)),
                );
            }
        }
    }
}
