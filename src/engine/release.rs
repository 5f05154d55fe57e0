//! The state of one release, derived from its events alone.

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::event::{Actor, Decision, KeptLock, Millis, Outcome, RunId, StepList, Stream};
use super::plan::{PlannedStep, ReleasePlan};

/// Output lines kept for the cockpit; older lines are dropped (the journal keeps them all).
pub const OUTPUT_LINES_KEPT: usize = 10_000;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Release {
    pub session: String,
    pub operator: String,
    pub plan: ReleasePlan,
    pub started_at: Option<Millis>,
    pub now: Millis,
    pub stage: Stage,
    pub steps: Vec<StepState>,
    /// The rollback as planned from what ran so far (`planned_rollback`): it follows the
    /// release until the rollback begins, then it is what runs.
    pub rollback_plan: Vec<PlannedStep>,
    pub rollback: Vec<StepState>,
    /// The rollback has begun: its plan no longer changes.
    pub rollback_begun: bool,
    /// The watch's verdict was GO: the `[[after]]` steps may run.
    pub verdict_go: bool,
    /// The first change waits for the baseline (`engine::baseline`).
    pub baseline_wait: Option<super::baseline::BaselineWait>,
    /// The wait is over (whatever ended it): it is not waited for again.
    pub baseline_waited: bool,
    /// Why the first change started without a whole baseline: the wait ran out, or a person
    /// skipped it.
    pub baseline_short: Option<String>,
    pub targets: Vec<TargetState>,
    pub question: Option<Question>,
    /// When the open question opened (the time of the event that opened it): keys pressed
    /// within the stray-key guard after it are not answers (`Release::too_soon`).
    pub question_opened_at: Millis,
    pub outcome: Option<Outcome>,
    pub output: super::scrollback::Scrollback<OutputLine>,
    /// Lines dropped from `output` so far, so views can number lines stably.
    pub output_dropped: u64,
    /// Every decision with who took it and why, for the report.
    pub decisions: Vec<DecisionRecord>,
    /// Why the release could not start, in words (a target unreachable, a lock held).
    pub refusals: Vec<String>,
    /// Locks broken with `--break-lock`: target, previous holder, reason.
    pub broken_locks: Vec<(String, String, String)>,
    /// Locks the end of the release left in place, with why and how to remove them.
    pub kept_locks: Vec<KeptLock>,
    /// What happens once every run being stopped has confirmed it stopped.
    pub after_stop: Option<AfterStop>,
    /// The watch window's evidence: health and metrics samples, rules and where they stand.
    pub watch: super::watch::WatchState,
    /// Interactive shells opened on targets: when, by whom, where.
    pub shells: Vec<ShellRecord>,
    /// Who follows the session live now (`gonogo follow`), in the order they joined.
    pub followers: Vec<Follower>,
    /// Followers' votes, as the engine judged them, in order.
    pub votes: Vec<super::vote::VoteRecord>,
    /// Why the release stopped on its own (a lock taken over by another session).
    pub halted: Option<String>,
    /// The hosts' logs: lines, error counts, tails (see `engine::logs`).
    pub logs: super::logs::Logs,
    /// Error signatures from the logs' error lines, new or known before the deploy.
    pub signatures: super::signature::ErrorSignatures,
    /// `gonogo resume` is confirming the locks before anything goes on.
    pub resuming: bool,
    /// The locks that resume is confirming and has no answer for yet.
    pub confirming: Vec<String>,
    /// Every time gonogo died mid-release and a resume went on with it, in order.
    pub interruptions: Vec<super::resume::Interruption>,
    /// `[notify]` messages the webhook did not take: the last few, and how many in all.
    pub notify_failures: Vec<NotifyFailure>,
    pub notify_failed: u64,
    /// The journal stopped being written (the first failure): what follows is not recorded.
    pub journal_failed: Option<JournalFailure>,
    /// Phases rolled out in batches: the analysis under way and each batch's verdict.
    pub rollout: super::rollout::Rollout,
    /// What ships: each host's version now, the changes, the pending migrations.
    pub ships: super::ships::Ships,
    /// Compiled from the plan, and again when a snapshot is read back ([`Release::restored`]).
    #[serde(skip)]
    pub(crate) expect: Vec<Option<Regex>>,
    #[serde(skip)]
    pub(crate) rollback_expect: Vec<Option<Regex>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Before the `Started` event.
    #[default]
    Idle,
    Connecting,
    Locking,
    /// Every lock held: the version running on each host is being found (`[release] current`).
    Finding,
    Running {
        list: StepList,
        step: usize,
    },
    Watching {
        until: Millis,
    },
    /// The outcome is known; the locks are being released.
    Closing,
    Finished,
}

/// A decision that waits until the runs it cancelled have stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterStop {
    Abort,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    #[default]
    Pending,
    Running,
    /// A gate or manual item, or a failure, waits for the operator.
    Waiting,
    Passed,
    Failed,
    Skipped,
    /// Passed, then undone by the rollback.
    RolledBack,
    /// Was running when the operator aborted or rolled back.
    Cancelled,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct StepState {
    pub status: StepStatus,
    pub targets: Vec<TargetRun>,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    /// Who said go (gates count distinct people against `approvals`).
    pub approved_by: Vec<String>,
    /// The operator's own GO came (a gate never passes on followers' votes alone).
    pub operator_go: bool,
    pub skip_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    #[default]
    Pending,
    Running,
    /// Failed, another attempt is scheduled.
    RetryWaiting,
    Passed,
    Failed,
    Cancelled,
    /// A cancel was sent; not yet confirmed.
    Stopping,
    /// The link was lost past its budget: the step may still be running on the host.
    Unknown,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TargetRun {
    pub target: String,
    pub status: RunStatus,
    pub attempt: u32,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    pub exit: Option<i32>,
    pub expect_matched: bool,
    /// Why it failed, in words: "exit 2", "timed out after 5m", "expected /ok/ not seen".
    pub failure: Option<String>,
    /// How a cancelled or timed-out run was stopped, once the host confirmed it.
    pub stopped: Option<String>,
    /// The attempts before this one that failed, oldest first: what a retry's failure is told
    /// beside.
    pub earlier: Vec<EarlierAttempt>,
}

/// An attempt of a run that failed before the one now on the target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EarlierAttempt {
    pub attempt: u32,
    /// Why it failed, in words, as the run's `failure` said.
    pub failure: String,
    /// When it ended.
    pub at: Option<Millis>,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TargetState {
    pub name: String,
    pub link: LinkState,
    pub lock: LockState,
    /// The fingerprint of the host key trusted when it connected.
    pub host_key: Option<String>,
}

/// This session's deploy lock on one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockState {
    #[default]
    None,
    Held,
    /// Another session holds it: the release did not start.
    Refused,
    /// The lock script failed.
    Failed,
    /// Another session took it over while this one ran.
    Lost,
    Released,
    /// Left in place at the end (a step may still run there, or the host was unreachable).
    Kept,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum LinkState {
    #[default]
    Connecting,
    Up,
    /// Dropped mid-release, reconnecting.
    Down {
        since: Millis,
        error: String,
    },
    /// Not back within the reconnect budget; a retry tries again.
    Lost {
        since: Millis,
        error: String,
    },
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "question", rename_all = "snake_case")]
pub enum Question {
    Gate {
        step: usize,
    },
    Manual {
        list: StepList,
        step: usize,
    },
    Failure {
        list: StepList,
        step: usize,
    },
    /// The watch window ran its whole duration: is the release good? Go releases it.
    FinalGate,
    /// A watch rule held for its duration: roll back, or keep watching (with a reason).
    RollbackProposal {
        rule: usize,
    },
    /// Rolling back cannot undo these steps: say so and ask again.
    ConfirmRollback {
        irreversible: Vec<IrreversibleDone>,
        then: Option<Box<Question>>,
    },
    /// Every host already runs the version to deploy: deploy it again (with a reason), or
    /// stop before anything runs.
    Redeploy {
        version: String,
    },
}

/// A `run` step that started on a target, and how it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub step: String,
    pub target: String,
    pub status: RunStatus,
    pub irreversible: bool,
}

/// An irreversible step that ran, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IrreversibleDone {
    pub step: String,
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OutputLine {
    pub at: Millis,
    /// Shared by the lines of one output event.
    pub run: std::sync::Arc<RunId>,
    pub stream: Stream,
    pub mark: Mark,
    pub line: String,
}

/// What an output line is: printed by a step, or one of the release's own marks between the
/// steps' lines (their run's target is empty when they are about the whole step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Mark {
    /// A line the step printed on its stream.
    Printed,
    /// A check or action begins: its place, name and targets.
    Step,
    /// The command the step runs, secrets masked.
    Command,
    /// Another attempt begins on a target (a retry, or a re-attach).
    Attempt,
    /// The link to a target dropped, came back, or was given up.
    Link,
    /// The operator opened or left a shell on a target.
    Shell,
    /// A follower's GO at a gate, counted or refused with why.
    Vote { counted: bool },
    /// A target's run ended, with how.
    Ended(RunStatus),
}

/// A person following the session live.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Follower {
    pub name: String,
    /// How they reached it: this machine, or SSH from an address.
    pub via: super::policy::Via,
    /// May approve gates that need more than one person.
    pub approver: bool,
    pub since: Millis,
}

impl Follower {
    /// Whether their GO can count, in words: an approver on the operator's own machine cannot
    /// approve (their GO is the operator's own). `None` for a follower who only looks.
    pub fn approval_said(&self) -> Option<&'static str> {
        match (self.approver, &self.via) {
            (true, super::policy::Via::Local) => Some("same machine: cannot approve"),
            (true, _) => Some("may approve"),
            (false, _) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShellRecord {
    pub at: Millis,
    pub by: String,
    pub target: String,
}

/// A `[notify]` message that was not delivered: the release went on without it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NotifyFailure {
    pub at: Millis,
    pub message: String,
    pub error: String,
    pub attempts: u32,
}

/// The journal could not be written from `at` on: the session is no longer recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalFailure {
    pub at: Millis,
    pub path: String,
    pub error: String,
}

impl JournalFailure {
    /// In words, the same on every surface.
    pub fn said(&self) -> String {
        format!(
            "journal not written: {}: this session is no longer recorded ({})",
            self.error, self.path
        )
    }
}

/// Notification failures kept in the state (all are in the journal).
pub const NOTIFY_FAILURES_KEPT: usize = 20;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecisionRecord {
    pub at: Millis,
    pub by: String,
    pub actor: Actor,
    pub decision: Decision,
    pub note: Option<String>,
    pub question: Option<Question>,
}

impl Release {
    /// A release read back from a snapshot (`journal::index`): the patterns it compiled from
    /// its plan, which a snapshot does not hold, compiled again.
    pub fn restored(mut self) -> Release {
        let compile = |s: &PlannedStep| s.expect.as_deref().and_then(|p| Regex::new(p).ok());
        self.expect = self.plan.steps.iter().map(compile).collect();
        self.rollback_expect = self.rollback_plan.iter().map(compile).collect();
        self.logs.compile(&self.plan);
        self
    }

    pub fn list(&self, list: StepList) -> &[PlannedStep] {
        match list {
            StepList::Main => &self.plan.steps,
            StepList::Rollback => &self.rollback_plan,
        }
    }

    pub fn states(&self, list: StepList) -> &[StepState] {
        match list {
            StepList::Main => &self.steps,
            StepList::Rollback => &self.rollback,
        }
    }

    pub(crate) fn states_mut(&mut self, list: StepList) -> &mut Vec<StepState> {
        match list {
            StepList::Main => &mut self.steps,
            StepList::Rollback => &mut self.rollback,
        }
    }

    pub fn run_state(&self, run: &RunId) -> Option<&TargetRun> {
        self.states(run.list)
            .get(run.step)?
            .targets
            .iter()
            .find(|t| t.target == run.target)
    }

    /// Irreversible steps that have run (on at least one target), for the rollback offer.
    pub fn irreversible_done(&self) -> Vec<IrreversibleDone> {
        self.started_where(|plan| plan.irreversible)
    }

    /// The checklist's steps that `which` picks and that started somewhere, each with the hosts
    /// where it started.
    pub(crate) fn started_where(
        &self,
        which: impl Fn(&PlannedStep) -> bool,
    ) -> Vec<IrreversibleDone> {
        self.plan
            .steps
            .iter()
            .zip(&self.steps)
            .filter(|(plan, _)| which(plan))
            .filter_map(|(plan, state)| {
                let targets: Vec<String> = state
                    .targets
                    .iter()
                    .filter(|t| t.started_at.is_some())
                    .map(|t| t.target.clone())
                    .collect();
                (!targets.is_empty()).then(|| IrreversibleDone {
                    step: plan.name.clone(),
                    targets,
                })
            })
            .collect()
    }

    /// What the release changed on the hosts so far: each `run` step of the checklist that
    /// started somewhere, with each target's state (a check changes nothing).
    pub fn changes(&self) -> Vec<Change> {
        self.plan
            .steps
            .iter()
            .zip(&self.steps)
            .filter(|(plan, _)| plan.kind == super::plan::StepKind::Run)
            .flat_map(|(plan, state)| {
                state
                    .targets
                    .iter()
                    .filter(|t| t.started_at.is_some())
                    .map(|t| Change {
                        step: plan.name.clone(),
                        target: t.target.clone(),
                        status: t.status,
                        irreversible: plan.irreversible,
                    })
            })
            .collect()
    }

    /// The step the release is on, if any.
    pub fn current(&self) -> Option<(StepList, usize)> {
        match self.stage {
            Stage::Running { list, step } => Some((list, step)),
            _ => None,
        }
    }

    /// The targets whose deploy lock this session holds.
    pub fn held_locks(&self) -> Vec<String> {
        self.targets
            .iter()
            .filter(|t| t.lock == LockState::Held)
            .map(|t| t.name.clone())
            .collect()
    }

    /// A notification that was not delivered, kept for the cockpit and the summary.
    pub(crate) fn notify_failed(&mut self, at: Millis, message: &str, error: &str, attempts: u32) {
        self.notify_failed += 1;
        if self.notify_failures.len() == NOTIFY_FAILURES_KEPT {
            self.notify_failures.remove(0);
        }
        self.notify_failures.push(NotifyFailure {
            at,
            message: message.to_string(),
            error: error.to_string(),
            attempts,
        });
    }

    pub fn is_finished(&self) -> bool {
        self.stage == Stage::Finished
    }

    /// Whether anything is executing on a host right now (or is being stopped).
    pub fn is_running_commands(&self) -> bool {
        self.runs()
            .any(|(_, _, t)| matches!(t.status, RunStatus::Running | RunStatus::Stopping))
    }

    /// Every target run of both lists, with its list and step index.
    pub fn runs(&self) -> impl Iterator<Item = (StepList, usize, &TargetRun)> {
        [StepList::Main, StepList::Rollback]
            .into_iter()
            .flat_map(move |list| {
                self.states(list)
                    .iter()
                    .enumerate()
                    .flat_map(move |(i, s)| s.targets.iter().map(move |t| (list, i, t)))
            })
    }
}
