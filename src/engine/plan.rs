//! The release as the engine runs it: every step resolved to its targets and its command as
//! shown to people (secrets masked). It travels in the first event of a session, so a replay or
//! a follower needs nothing but the journal.

use serde::{Deserialize, Serialize};

use super::watch_rule::WatchRule;
use crate::profile::{Profile, Quoting, Step, StepKind, Transport, VarValues};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleasePlan {
    pub release: String,
    pub environment: String,
    pub production: bool,
    pub version: Option<String>,
    pub targets: Vec<PlannedTarget>,
    pub steps: Vec<PlannedStep>,
    pub watch: Option<PlannedWatch>,
    pub rollback: Vec<PlannedStep>,
    /// Started outside every `[policy]` window: the reason the operator gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_override: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTarget {
    pub name: String,
    pub address: String,
    pub roles: Vec<String>,
    pub transport: Transport,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub phase: String,
    pub name: String,
    pub kind: StepKind,
    /// The command (check/run), the item (manual) or the question (gate), secrets masked.
    pub text: String,
    /// What `on` said, and the targets it resolved to, in profile order.
    pub on: Vec<String>,
    pub targets: Vec<String>,
    pub serial: Option<u32>,
    pub timeout_ms: u64,
    pub retries: u32,
    pub retry_delay_ms: u64,
    pub expect: Option<String>,
    pub irreversible: bool,
    pub approvals: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedWatch {
    pub duration_ms: u64,
    pub rollback_on: Vec<WatchRule>,
    pub auto_rollback: bool,
}

impl ReleasePlan {
    pub fn new(profile: &Profile, vars: &VarValues) -> Self {
        let planned = |s: &Step| PlannedStep::new(s, profile, vars);
        ReleasePlan {
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
                    address: t.address(vars),
                    roles: t.roles.clone(),
                    transport: t.transport,
                })
                .collect(),
            steps: profile.steps.iter().map(planned).collect(),
            watch: profile.watch.as_ref().map(|w| PlannedWatch {
                duration_ms: millis(w.duration),
                rollback_on: w.rollback_on.clone(),
                auto_rollback: w.auto_rollback,
            }),
            rollback: profile.rollback.iter().map(planned).collect(),
            window_override: None,
        }
    }
}

impl PlannedStep {
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
            approvals: step.approvals,
        }
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
