//! The typed release profile (schema v1), as the loader builds it from a validated file.

use std::ops::Range;
use std::time::Duration;

use serde::Serialize;

use super::template::Template;
pub use crate::engine::plan::{StepKind, Transport};
use crate::engine::watch_rule::WatchRule;

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub release: ReleaseInfo,
    pub vars: Vec<VarDecl>,
    pub ssh: SshSettings,
    pub targets: Vec<Target>,
    pub logs: Vec<LogSource>,
    pub health: Vec<HealthCheck>,
    pub metrics: Vec<MetricSource>,
    pub steps: Vec<Step>,
    pub watch: Option<Watch>,
    pub rollback: Vec<Step>,
    pub notify: Option<Notify>,
    pub policy: Option<Policy>,
    /// `[phases.NAME]`: phases rolled out in batches.
    pub phases: Vec<super::phases::PhaseRollout>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseInfo {
    pub name: String,
    pub environment: String,
    pub version: Option<Template>,
    /// Where the deploy lock lives on the hosts (`~/…` or absolute); accounts that share it
    /// share the lock.
    pub lock_dir: Option<String>,
    /// Prints the version running on a host (its first line), run on every target first.
    pub current: Option<Template>,
    /// Prints the changes about to ship, run here in the profile's directory.
    pub changes: Option<Template>,
    /// Prints what the release will change in the database, run on `pending_on`.
    pub pending: Option<Template>,
    pub pending_on: Option<String>,
    #[serde(skip)]
    pub pending_on_span: Range<usize>,
    #[serde(skip)]
    pub environment_span: Range<usize>,
}

impl ReleaseInfo {
    /// Production (or prod) stands out everywhere and asks for stronger confirmations.
    pub fn is_production(&self) -> bool {
        matches!(
            self.environment.to_ascii_lowercase().as_str(),
            "production" | "prod"
        )
    }
}

/// One `[vars]` entry. Its value comes from `--set`, else `env`, else `default`.
#[derive(Debug, Clone, Serialize)]
pub struct VarDecl {
    pub name: String,
    pub default: Option<String>,
    pub required: bool,
    pub description: Option<String>,
    pub env: Option<String>,
    pub secret: bool,
    #[serde(skip)]
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SshSettings {
    pub config: Option<String>,
    pub known_hosts: Option<String>,
    pub identity: Option<String>,
    pub keepalive: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    /// How long a dropped link is retried before its steps' outcome is called unknown.
    pub reconnect_budget: Option<Duration>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    /// Hostname, address or `~/.ssh/config` alias; the target's name when not given.
    pub host: Option<Template>,
    pub user: Option<Template>,
    pub port: Option<u16>,
    pub identity: Option<String>,
    pub roles: Vec<String>,
    pub transport: Transport,
    /// `vars = { app_port = "8001" }`: this target's own values for variables declared in
    /// `[vars]` (never a secret), used in everything run on or for it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<VarOverride>,
    #[serde(skip)]
    pub span: Range<usize>,
}

/// One entry of a target's `vars`: a declared, non-secret variable's value on that target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VarOverride {
    pub name: String,
    pub value: String,
    /// The key's place in the file.
    #[serde(skip)]
    pub span: Range<usize>,
}

impl Target {
    /// What an operator would type after `ssh`: `user@host:port` without the parts not set.
    pub fn address(&self, vars: &super::template::VarValues) -> String {
        use super::template::Quoting;
        if self.transport == Transport::Local {
            return "local".into();
        }
        let host = self
            .host
            .as_ref()
            .map_or(self.name.clone(), |t| t.display(vars, Quoting::Plain));
        let user = self.user.as_ref().map(|u| u.display(vars, Quoting::Plain));
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        match user {
            Some(user) => format!("{user}@{host}{port}"),
            None => format!("{host}{port}"),
        }
    }
}

/// `on = "web"` or `on = ["web-1", "db"]`: target names and roles, resolved against `[targets]`.
#[derive(Debug, Clone, Serialize)]
pub struct Selector {
    pub names: Vec<String>,
    #[serde(skip)]
    pub spans: Vec<Range<usize>>,
}

impl Selector {
    /// The targets named, directly or by role, in profile order, each once. `changed` (only
    /// in `[[rollback]]`) may be any target: the engine narrows it to where anything ran.
    pub fn resolve<'p>(&self, targets: &'p [Target]) -> Vec<&'p Target> {
        targets
            .iter()
            .filter(|t| {
                self.names.iter().any(|n| {
                    *n == t.name
                        || t.roles.iter().any(|r| r == n)
                        || n == crate::engine::plan::CHANGED
                })
            })
            .collect()
    }

    pub fn label(&self) -> String {
        self.names.join(", ")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LogSource {
    pub name: String,
    pub on: Selector,
    pub command: Template,
    pub errors: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthCheck {
    pub name: String,
    pub url: Template,
    pub via: Option<Selector>,
    pub expect: u16,
    pub every: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricSource {
    pub name: String,
    pub url: Template,
    pub via: Option<Selector>,
    pub errors: Option<String>,
    pub requests: Option<String>,
    pub latency: Option<String>,
    pub every: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub phase: String,
    pub name: Template,
    pub kind: StepKind,
    /// The command (check/run), the item (manual) or the question (gate); for a built-in
    /// check, what it checks in words.
    pub text: Template,
    /// `check = { http = … }` and the like: run by gonogo itself, not as a shell command.
    pub builtin: Option<super::builtin::BuiltinCheck>,
    pub on: Option<Selector>,
    pub serial: Option<u32>,
    pub timeout: Duration,
    pub retries: u32,
    pub retry_delay: Duration,
    pub expect: Option<String>,
    pub irreversible: bool,
    pub approvals: u32,
    /// A `run` step's `undo`: what reverses it on a host where it ran.
    pub undo: Option<Template>,
    /// An `[[after]]` step: runs once the watch's verdict was GO.
    pub after_watch: bool,
    #[serde(skip)]
    pub span: Range<usize>,
}

pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(5 * 60);
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Serialize)]
pub struct Watch {
    pub duration: Duration,
    pub rollback_on: Vec<WatchRule>,
    /// How long a rollback proposal waits for a person before gonogo rolls back by itself.
    pub auto_rollback: Option<Duration>,
    /// A rule that could not judge during the whole watch is a doubt at the final gate
    /// (`None`: in production).
    pub require_judgement: Option<bool>,
    /// How long the samples before the first change must span (`None`: two readings).
    pub baseline: Option<Duration>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Notify {
    /// Where messages are posted: a URL, usually from a secret variable. Never shown.
    #[serde(skip)]
    pub webhook: Template,
    pub format: NotifyFormat,
    /// How often a status update is posted while the release runs.
    pub every: Option<Duration>,
}

/// What a `[notify]` message looks like on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyFormat {
    /// `{"text": "…"}`: Slack's incoming webhooks, and the many services that read it.
    #[default]
    Slack,
    /// A generic object: event kind, release, version, environment, operator, text, time.
    Json,
}

#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub windows: Vec<super::policy::Window>,
    pub freezes: Vec<super::policy::Freeze>,
    /// Every gate of this environment needs this many people's GO (a gate's own `approvals`
    /// may ask more).
    pub approvals: u32,
    /// What is decided when nobody can answer a question.
    pub unattended: crate::engine::Unattended,
}
