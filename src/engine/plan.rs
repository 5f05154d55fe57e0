//! The release as the engine runs it: every step resolved to its targets and its command as
//! shown to people (secrets masked). It travels in the first event of a session, so a replay or
//! a follower needs nothing but the journal. It is made from a profile on the profile side
//! (`profile::release_plan`).

use serde::{Deserialize, Serialize};

use super::watch_rule::WatchRule;

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
    /// The health checks and metrics sources (`[health.*]`, `[metrics.*]`) by name: probed
    /// from the start, for a baseline before the first change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<String>,
    /// Started outside every `[policy]` window: the reason the operator gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_override: Option<String>,
    /// The log tails (`[logs.NAME]`), each with the targets it runs on.
    #[serde(default)]
    pub logs: Vec<PlannedTail>,
    /// `gonogo demo`: the scenario and what it rehearses, in one line; the targets are
    /// simulated. Shown at the top of the cockpit, in headless, replays and reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rehearsal: Option<String>,
    /// What is decided when nobody can answer (`[policy] unattended`, `--unattended`).
    #[serde(default)]
    pub unattended: Unattended,
    /// What ships: the commands that find it, as shown (`[release] current`, `changes`,
    /// `pending`), and the reasons given to go on with a mixed fleet or a redeploy.
    #[serde(default, skip_serializing_if = "PlannedShips::is_empty")]
    pub ships: PlannedShips,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlannedShips {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_on: Option<String>,
    /// `--allow-mixed`: why the release goes on although the hosts run different versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_mixed: Option<String>,
    /// `--redeploy`: why the release goes on although every host runs its version already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeploy: Option<String>,
}

impl PlannedShips {
    pub fn is_empty(&self) -> bool {
        *self == PlannedShips::default()
    }
}

/// `[policy] unattended`: what gonogo decides for a question nobody can answer (stdin closed,
/// or `--yes` meeting a failure, a rollback proposal or an unknown outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unattended {
    /// Once anything ran on a host, roll back (the plan made from what ran); before, abort.
    #[default]
    Rollback,
    /// Stop: nothing more runs; the hosts left changed are named.
    Abort,
}

impl Unattended {
    pub fn word(self) -> &'static str {
        match self {
            Unattended::Rollback => "rollback",
            Unattended::Abort => "abort",
        }
    }
}

/// `on = "changed"` in a `[[rollback]]` step: the hosts where anything ran.
pub const CHANGED: &str = "changed";

/// Where a step of the rollback comes from: a step's `undo` on the hosts where it started,
/// or one of the profile's release-wide `[[rollback]]` steps (its index there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Origin {
    Undo { step: usize },
    Rollback { index: usize },
}

/// A log tail as the engine knows it: where it runs, its command as shown to people
/// (secrets masked; drivers hold the real one), and the pattern that marks error lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTail {
    pub name: String,
    pub targets: Vec<String>,
    pub command: String,
    pub errors: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTarget {
    pub name: String,
    pub address: String,
    pub roles: Vec<String>,
    pub transport: Transport,
    /// The target's own values (`[targets.NAME] vars`), never a secret's, by variable name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub vars: std::collections::BTreeMap<String, String>,
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
    /// A built-in check (`http`, `tls_days_left`, `dns`, `disk_free`): `text` says what it
    /// checks in words, not a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
    /// A `run` step's `undo`: what reverses it on a host where it ran, secrets masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<String>,
    /// An `[[after]]` step: it runs once the watch's verdict was GO (the final gate), never
    /// after a rollback. These come last in the checklist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_watch: bool,
    /// In the rollback as planned from what ran: where this step comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// A step of a phase rolled out in batches (`[phases.NAME]`): the batch it runs in. An
    /// `analysis` step holds its batch against the control before the next batch starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Batch>,
}

/// One batch of a phase rolled out in batches: its hosts (new in it), the hosts changed
/// through it (this batch and the ones before), and the control (the phase's hosts not yet
/// deployed), all in profile order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub phase: String,
    /// 1, 2, … of `of`.
    pub number: u32,
    pub of: u32,
    pub hosts: Vec<String>,
    pub changed: Vec<String>,
    pub control: Vec<String>,
    /// How long the batch is watched against the control before the next one.
    pub analysis_ms: u64,
    pub promote: Promote,
}

impl Batch {
    /// "batch 1/3".
    pub fn label(&self) -> String {
        format!("batch {}/{}", self.number, self.of)
    }
}

/// After a clean analysis: go on with the next batch by itself, or ask (a gate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Promote {
    #[default]
    Auto,
    Gate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedWatch {
    pub duration_ms: u64,
    pub rollback_on: Vec<WatchRule>,
    /// A rollback proposal unanswered this long rolls back by itself (`auto_rollback`).
    #[serde(default)]
    pub auto_rollback_ms: Option<u64>,
    /// `[watch] require_judgement`: a rule that could not judge for the whole watch is a doubt
    /// the final gate names (and `--yes` does not answer).
    #[serde(default)]
    pub require_judgement: bool,
    /// `[watch] baseline`: how long the samples before the first change must span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_ms: Option<u64>,
}

/// A step's kind: `check` verifies and changes nothing, `run` changes things, `manual` is a
/// person's item, `gate` a go / no-go question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Check,
    Run,
    Manual,
    Gate,
    /// A batch watched against the control (`[phases.NAME] analysis`): made by the plan, never
    /// written in a profile.
    Analysis,
}

impl StepKind {
    pub const KEYS: [&'static str; 4] = ["check", "run", "manual", "gate"];

    pub fn key(&self) -> &'static str {
        match self {
            StepKind::Check => "check",
            StepKind::Run => "run",
            StepKind::Manual => "manual",
            StepKind::Gate => "gate",
            StepKind::Analysis => "analysis",
        }
    }

    /// Checks and actions run commands on targets; manual items and gates wait for a person.
    pub fn runs_command(&self) -> bool {
        matches!(self, StepKind::Check | StepKind::Run)
    }
}

/// How gonogo reaches a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Ssh,
    Local,
}
