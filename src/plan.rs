//! `gonogo plan`: the release checklist a profile describes, as Markdown for people and JSON
//! for tools. Variables are interpolated; secrets are shown as `••••`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::profile::{Profile, Quoting, Step, StepKind, VarValues};

#[derive(Debug, Serialize)]
pub struct Plan {
    pub release: String,
    pub environment: String,
    pub version: Option<String>,
    pub targets: Vec<PlanTarget>,
    pub phases: Vec<PlanPhase>,
    pub watch: Option<PlanWatch>,
    pub rollback: Vec<PlanItem>,
}

#[derive(Debug, Serialize)]
pub struct PlanTarget {
    pub name: String,
    pub address: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PlanPhase {
    pub name: String,
    pub items: Vec<PlanItem>,
}

#[derive(Debug, Serialize)]
pub struct PlanItem {
    pub kind: StepKind,
    pub name: String,
    /// The command (check/run), the item (manual) or the question (gate).
    pub text: String,
    pub on: Vec<String>,
    pub targets: Vec<String>,
    pub serial: Option<u32>,
    pub timeout: Option<String>,
    pub retries: u32,
    pub irreversible: bool,
    pub approvals: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct PlanWatch {
    pub duration: String,
    pub rollback_on: Vec<String>,
    pub auto_rollback: bool,
}

impl Plan {
    pub fn new(profile: &Profile, vars: &VarValues) -> Self {
        let mut phases: Vec<PlanPhase> = Vec::new();
        for step in &profile.steps {
            let item = PlanItem::new(step, profile, vars);
            match phases.last_mut() {
                Some(phase) if phase.name == step.phase => phase.items.push(item),
                _ => phases.push(PlanPhase {
                    name: step.phase.clone(),
                    items: vec![item],
                }),
            }
        }
        Plan {
            release: profile.release.name.clone(),
            environment: profile.release.environment.clone(),
            version: profile
                .release
                .version
                .as_ref()
                .map(|v| v.display(vars, Quoting::Plain)),
            targets: profile
                .targets
                .iter()
                .map(|t| PlanTarget {
                    name: t.name.clone(),
                    address: t.address(),
                    roles: t.roles.clone(),
                })
                .collect(),
            phases,
            watch: profile.watch.as_ref().map(|w| PlanWatch {
                duration: humantime::format_duration(w.duration).to_string(),
                rollback_on: w.rollback_on.iter().map(|r| r.text.clone()).collect(),
                auto_rollback: w.auto_rollback,
            }),
            rollback: profile
                .rollback
                .iter()
                .map(|s| PlanItem::new(s, profile, vars))
                .collect(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan is plain data") + "\n"
    }

    /// The checklist in the form operators keep in their runbooks: `- [ ]` items per phase.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let version = self
            .version
            .as_deref()
            .map_or(String::new(), |v| format!(" {v}"));
        let _ = writeln!(
            out,
            "# Release {}{version} to {}\n",
            self.release, self.environment
        );
        if !self.targets.is_empty() {
            let targets: Vec<String> = self
                .targets
                .iter()
                .map(|t| {
                    let roles = if t.roles.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", t.roles.join(", "))
                    };
                    format!("{} `{}`{roles}", t.name, t.address)
                })
                .collect();
            let _ = writeln!(out, "Targets: {}\n", targets.join(", "));
        }
        for phase in &self.phases {
            let _ = writeln!(out, "## {}\n", phase.name);
            for item in &phase.items {
                item.write_markdown(&mut out);
            }
            out.push('\n');
        }
        if let Some(watch) = &self.watch {
            let _ = writeln!(out, "## Watch window ({})\n", watch.duration);
            let then = if watch.auto_rollback {
                "roll back automatically"
            } else {
                "ask the operator to roll back"
            };
            let _ = writeln!(
                out,
                "Hold the release under watch for {}; when a rule holds, {then}:\n",
                watch.duration
            );
            for rule in &watch.rollback_on {
                let _ = writeln!(out, "- [ ] `{rule}`");
            }
            if watch.rollback_on.is_empty() {
                let _ = writeln!(
                    out,
                    "- [ ] No rollback rules: watch the logs and health by eye"
                );
            }
            out.push('\n');
        }
        let _ = writeln!(out, "## Rollback\n");
        if self.rollback.is_empty() {
            let _ = writeln!(out, "No rollback steps are defined.");
        }
        for item in &self.rollback {
            item.write_markdown(&mut out);
        }
        out
    }
}

impl PlanItem {
    fn new(step: &Step, profile: &Profile, vars: &VarValues) -> Self {
        let quoting = if step.kind.runs_command() {
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
        PlanItem {
            kind: step.kind.clone(),
            name: step.name.display(vars, Quoting::Plain),
            text: step.text.display(vars, quoting),
            on,
            targets,
            serial: step.serial,
            timeout: step
                .kind
                .runs_command()
                .then(|| humantime::format_duration(step.timeout).to_string()),
            retries: step.retries,
            irreversible: step.irreversible,
            approvals: (step.kind == StepKind::Gate).then_some(step.approvals),
        }
    }

    fn write_markdown(&self, out: &mut String) {
        match self.kind {
            StepKind::Manual => {
                let _ = writeln!(out, "- [ ] {}", self.text);
            }
            StepKind::Gate => {
                let approvals = match self.approvals {
                    Some(n) if n > 1 => format!("{n} approvals"),
                    _ => "1 approval".into(),
                };
                let _ = writeln!(
                    out,
                    "- [ ] **Gate: {}** (go / no-go, {approvals})",
                    self.text
                );
            }
            StepKind::Check | StepKind::Run => {
                let mut how = vec![format!(
                    "{} on {}",
                    self.kind.key(),
                    self.targets.join(", ")
                )];
                match self.serial {
                    Some(1) => how.push("one host at a time".into()),
                    Some(n) => how.push(format!("{n} hosts at a time")),
                    None => {}
                }
                if self.retries > 0 {
                    how.push(format!("up to {} retries", self.retries));
                }
                if self.irreversible {
                    how.push("**irreversible**".into());
                }
                let title = if self.name == self.text {
                    String::new()
                } else {
                    format!("{}: ", self.name)
                };
                let _ = writeln!(out, "- [ ] {title}{}", how.join(", "));
                let _ = writeln!(out, "  {}", code(&self.text));
            }
        }
    }
}

/// Inline code that survives backticks in the command; a block when it spans lines.
fn code(text: &str) -> String {
    if text.contains('\n') {
        let body = text.trim_end().replace('\n', "\n  ");
        return format!("```sh\n  {body}\n  ```");
    }
    let fence = if text.contains('`') { "``" } else { "`" };
    format!("{fence}{text}{fence}")
}
