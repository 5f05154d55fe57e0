//! `[[step]]` and `[[rollback]]` entries: exactly one of check / run / manual / gate, and only
//! the keys that mean something for that kind.

use std::time::Duration;

use toml::Spanned;

use super::builtin::BuiltinCheck;
use super::diag::Diagnostic;
use super::load::Loader;
use super::read::{Fields, wrong_type};
use super::schema::{DEFAULT_RETRY_DELAY, DEFAULT_STEP_TIMEOUT, Step, StepKind};
use super::template::Template;

const STEP_KEYS: &[&str] = &[
    "phase",
    "name",
    "on",
    "check",
    "run",
    "manual",
    "gate",
    "serial",
    "timeout",
    "retries",
    "retry_delay",
    "expect",
    "irreversible",
    "approvals",
    "undo",
];

/// Keys that only make sense on steps that run commands on targets.
const TARGET_KEYS: &[&str] = &["on", "serial", "timeout", "expect"];

impl Loader<'_> {
    pub(crate) fn steps(&mut self, top: &Fields<'_, '_>, key: &str, place: &str) -> Vec<Step> {
        let Some(value) = top.get(key) else {
            return Vec::new();
        };
        let Some(items) = value.get_ref().as_array() else {
            self.diags.push(wrong_type(
                key,
                value,
                "an array of tables",
                &format!("[[{key}]]"),
            ));
            return Vec::new();
        };
        let mut phase = match key {
            "rollback" => "Rollback",
            "after" => "After",
            _ => "Release",
        }
        .to_string();
        let mut out = Vec::new();
        for item in items.iter() {
            let Some(table) = item.get_ref().as_table() else {
                self.diags
                    .push(wrong_type(key, item, "a table", &format!("[[{key}]]")));
                continue;
            };
            let f = Fields::new(table, item.span(), place, STEP_KEYS, &mut self.diags);
            if let Some(p) = f.str("phase", &mut self.diags) {
                phase = p.into_inner();
            }
            if let Some(mut step) = self.step(&f, place, &phase, key == "rollback") {
                step.after_watch = key == "after";
                if step.after_watch && step.kind == StepKind::Gate {
                    self.diags.push(
                        Diagnostic::error(f.key_span("gate").unwrap_or(f.span.clone()), "an [[after]] step cannot be a gate")
                            .help("the final gate is the decision these steps follow; use `manual` for a person's part"),
                    );
                    continue;
                }
                out.push(step);
            }
        }
        out
    }

    fn step(
        &mut self,
        f: &Fields<'_, '_>,
        place: &str,
        phase: &str,
        in_rollback: bool,
    ) -> Option<Step> {
        let kind = self.step_kind(f, place, in_rollback)?;
        let (text_template, builtin) = self.step_text(f, kind, place)?;
        let name = match f.str("name", &mut self.diags) {
            Some(n) => self.template(&n),
            None => text_template.clone(),
        };
        self.reject_keys(f, &kind);
        let on = if kind.runs_command() {
            self.selector(f, "on", place)
        } else {
            None
        };
        let limits = self.step_limits(f);
        let expect = self.regex(f, "expect");
        let undo = self.undo(f, kind, limits.irreversible, in_rollback, place);
        Some(Step {
            builtin,
            phase: phase.to_string(),
            name,
            kind,
            text: text_template,
            on,
            serial: limits.serial,
            timeout: limits.timeout,
            retries: limits.retries,
            retry_delay: limits.retry_delay,
            expect,
            irreversible: limits.irreversible,
            approvals: limits.approvals,
            undo,
            after_watch: false,
            span: f.span.clone(),
        })
    }

    /// Exactly one of check / run / manual / gate, and no gate in a rollback.
    fn step_kind(
        &mut self,
        f: &Fields<'_, '_>,
        place: &str,
        in_rollback: bool,
    ) -> Option<StepKind> {
        let present: Vec<&str> = StepKind::KEYS.into_iter().filter(|k| f.has(k)).collect();
        let kind = match present.as_slice() {
            [] => {
                self.diags.push(
                    Diagnostic::error(f.span.clone(), format!("{place} has none of check, run, manual, gate"))
                        .help("give it exactly one: check = \"…\" (verifies), run = \"…\" (changes things),\nmanual = \"…\" (a person does it), gate = \"…?\" (a go / no-go question)"),
                );
                return None;
            }
            [one] => kind_of(one),
            [first, second, ..] => {
                self.diags.push(
                    Diagnostic::error(
                        f.key_span(second).unwrap_or(f.span.clone()),
                        format!("{place} has both `{first}` and `{second}`"),
                    )
                    .help("a step does exactly one thing: split it into two steps"),
                );
                return None;
            }
        };
        if in_rollback && kind == StepKind::Gate {
            self.diags.push(
                Diagnostic::error(f.key_span("gate").unwrap_or(f.span.clone()), "a rollback step cannot be a gate")
                    .help("the decision to roll back is the gate; use `manual` for a person's part of the rollback"),
            );
            return None;
        }
        Some(kind)
    }

    /// The step's text: a built-in check's description (`check = { … }`) or the string of its kind's key.
    fn step_text(
        &mut self,
        f: &Fields<'_, '_>,
        kind: StepKind,
        place: &str,
    ) -> Option<(Template, Option<BuiltinCheck>)> {
        let check_table = f
            .get("check")
            .filter(|v| kind == StepKind::Check && v.get_ref().as_table().is_some());
        match check_table {
            Some(table) => {
                let builtin = self.builtin_check(table, place)?;
                Some((Template::parse(&builtin.describe()), Some(builtin)))
            }
            None => {
                let text = self.required_str(f, kind.key(), place, "\"…\"")?;
                Some((self.template(&text), None))
            }
        }
    }

    /// serial, timeout, retries, retry_delay, irreversible and approvals, with their defaults.
    fn step_limits(&mut self, f: &Fields<'_, '_>) -> StepLimits {
        let d = &mut self.diags;
        let serial = f
            .count("serial", 1..=i64::from(u32::MAX), d)
            .map(Spanned::into_inner);
        let timeout = f
            .duration("timeout", d)
            .map_or(DEFAULT_STEP_TIMEOUT, Spanned::into_inner);
        let retries = f
            .count("retries", 0..=100, d)
            .map_or(0, Spanned::into_inner);
        let retry_delay = f
            .duration("retry_delay", d)
            .map_or(DEFAULT_RETRY_DELAY, Spanned::into_inner);
        let irreversible = f.bool("irreversible", d).unwrap_or(false);
        let approvals = f
            .count("approvals", 1..=10, d)
            .map_or(1, Spanned::into_inner);
        if timeout == Duration::ZERO {
            let span = f.get("timeout").map_or(f.span.clone(), |v| v.span());
            self.diags.push(
                Diagnostic::error(span, "a zero timeout would fail every target at once")
                    .help("e.g. timeout = \"10m\""),
            );
        }
        StepLimits {
            serial,
            timeout,
            retries,
            retry_delay,
            irreversible,
            approvals,
        }
    }

    /// `undo = "COMMAND"`: only on a `run` step of the checklist that can be reversed.
    fn undo(
        &mut self,
        f: &Fields<'_, '_>,
        kind: StepKind,
        irreversible: bool,
        in_rollback: bool,
        place: &str,
    ) -> Option<Template> {
        let span = f.key_span("undo")?;
        let refuse =
            |why: String, help: &str| Diagnostic::error(span.clone(), why).help(help.to_string());
        let refusal = if in_rollback {
            Some(refuse(
                format!("{place}: a rollback step has no `undo`"),
                "the rollback is what undoes: remove it",
            ))
        } else if kind != StepKind::Run {
            Some(refuse(
                format!("`undo` has no meaning on a `{}` step", kind.key()),
                "only a `run` step changes things, so only it can be undone: remove it",
            ))
        } else if irreversible {
            Some(refuse(
                "an `irreversible` step cannot have an `undo`".to_string(),
                "if a command reverses it, it is not irreversible: remove `irreversible = true`;\notherwise remove `undo` and say in a [[rollback]] manual item what the rollback cannot undo",
            ))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            self.diags.push(refusal);
            return None;
        }
        let text = self.required_str(f, "undo", place, "\"COMMAND\"")?;
        Some(self.template(&text))
    }

    /// Keys that mean nothing for this kind of step are errors, not silently ignored.
    fn reject_keys(&mut self, f: &Fields<'_, '_>, kind: &StepKind) {
        let mut reject = |key: &str, why: &str| {
            if let Some(span) = f.key_span(key) {
                self.diags.push(
                    Diagnostic::error(
                        span,
                        format!("`{key}` has no meaning on a `{}` step", kind.key()),
                    )
                    .help(why.to_string()),
                );
            }
        };
        if !kind.runs_command() {
            for key in TARGET_KEYS {
                reject(key, "only check and run steps run on targets: remove it");
            }
            reject(
                "retries",
                "only checks are retried automatically: remove it",
            );
            reject(
                "retry_delay",
                "only checks are retried automatically: remove it",
            );
            reject(
                "irreversible",
                "only a `run` step changes things: remove it",
            );
        }
        match kind {
            StepKind::Run => {
                reject(
                    "retries",
                    "a `run` step changes things, so only the operator retries it: remove it",
                );
                reject(
                    "retry_delay",
                    "a `run` step changes things, so only the operator retries it: remove it",
                );
            }
            StepKind::Check => reject(
                "irreversible",
                "a check changes nothing, so it is never irreversible",
            ),
            StepKind::Manual | StepKind::Gate | StepKind::Analysis => {}
        }
        if *kind != StepKind::Gate {
            reject(
                "approvals",
                "approvals are counted on gates: move it to the gate that decides",
            );
        }
    }
}

fn kind_of(key: &str) -> StepKind {
    match key {
        "check" => StepKind::Check,
        "run" => StepKind::Run,
        "manual" => StepKind::Manual,
        _ => StepKind::Gate,
    }
}

/// What [`Loader::step_limits`] reads: how a step runs, retries and is approved.
struct StepLimits {
    serial: Option<u32>,
    timeout: Duration,
    retries: u32,
    retry_delay: Duration,
    irreversible: bool,
    approvals: u32,
}
