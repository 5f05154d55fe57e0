//! Everything that happens in a release is an [`Event`]; what the engine asks the world to do is
//! an [`Effect`]. Both are plain serde data: the journal writes events, followers receive them.

use serde::{Deserialize, Serialize};

use super::plan::ReleasePlan;

/// Milliseconds since the Unix epoch. Time enters the engine only inside events.
pub type Millis = u64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: Millis,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    pub fn new(at: Millis, kind: EventKind) -> Self {
        Self { at, kind }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// The session begins: who runs it, from where, and the plan as shown (no secrets).
    Started {
        session: String,
        operator: String,
        /// Boxed: every event is as big as the biggest kind, and this one comes once.
        plan: Box<ReleasePlan>,
    },
    /// gonogo came back after it died mid-release (`gonogo resume`): the journal rebuilt the
    /// release; its locks are confirmed and its runs attached again.
    Resumed {
        by: String,
        /// `--unattended` given to the resume: the policy from now on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unattended: Option<super::plan::Unattended>,
        /// When the gonogo that died wrote its last record (its `ts`), as the resume read the
        /// journal; the event's own time is when it was resumed. Absent in older journals: the
        /// last event before this one says it then.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stopped_at: Option<Millis>,
        /// That last record's `t` (microseconds since the session started).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stopped_t: Option<u64>,
    },
    /// The host key a target showed was found in known_hosts (or added with
    /// `--accept-new-host-keys`): its fingerprint, for the record.
    HostKeyTrusted {
        target: String,
        fingerprint: String,
    },
    Connected {
        target: String,
    },
    /// Could not reach a target before the release began.
    ConnectFailed {
        target: String,
        error: String,
    },
    /// A link dropped mid-release; the transport is reconnecting.
    ConnectionLost {
        target: String,
        error: String,
    },
    Reconnected {
        target: String,
    },
    LockTaken {
        target: String,
    },
    /// The lock script could not run on a target (not a connection problem).
    LockFailed {
        target: String,
        error: String,
    },
    /// Another session holds the deploy lock; `holder` says who, from where, since when.
    LockRefused {
        target: String,
        holder: String,
    },
    /// `--break-lock`: the previous holder's lock was overridden, with the operator's reason.
    LockBroken {
        target: String,
        holder: String,
        reason: String,
        /// What the previous session left on the host: its runs, ended or stopped.
        #[serde(default)]
        leftovers: Vec<String>,
    },
    /// Lines of a step's output on one target, as they arrived together; control sequences
    /// stripped, secrets masked.
    Output {
        run: RunId,
        stream: Stream,
        lines: Vec<String>,
    },
    Exited {
        run: RunId,
        status: i32,
    },
    /// The command could not be started or its result collected; nothing of it runs.
    RunFailed {
        run: RunId,
        error: String,
    },
    /// The attach gave up (the link did not come back within its budget, or the watcher on the
    /// host died): the step may still be running there. Its outcome is unknown, not failed.
    RunLost {
        run: RunId,
        error: String,
    },
    /// A cancel confirmed that nothing the run started is left on the host; `how` says how it
    /// ended ("stopped with TERM", "killed after 5s", "had already ended").
    RunStopped {
        run: RunId,
        how: String,
    },
    /// A cancel could not confirm that the run stopped: it may still be running.
    StopFailed {
        run: RunId,
        error: String,
    },
    /// The run did not start: the target's deploy lock is no longer this session's.
    LockLost {
        run: RunId,
        holder: String,
    },
    /// At the end: which targets' locks were released, and which were kept and why.
    LocksReleased {
        released: Vec<String>,
        kept: Vec<KeptLock>,
    },
    TimerFired {
        timer: Timer,
    },
    /// A health check's answer, reached from the laptop (`via` none) or through a target.
    HealthSampled {
        check: String,
        via: Option<String>,
        reading: super::watch::HealthReading,
    },
    /// A metrics scrape, derived against the previous one from the same place.
    MetricsSampled {
        source: String,
        via: Option<String>,
        reading: super::watch::MetricsReading,
    },
    /// The operator opened an interactive shell on a target (its keystrokes are not recorded).
    ShellOpened {
        by: String,
        target: String,
    },
    /// A person started following the session live (`gonogo follow`), read-only; `via` says how
    /// they reached it (this machine, or SSH from an address).
    Joined {
        name: String,
        via: super::policy::Via,
        /// Started with `--approver`: may approve gates that need more than one person.
        #[serde(default)]
        approver: bool,
    },
    /// That follower left (or its connection ended), and why when the session dropped it (a
    /// protocol error: a line over 64 KB).
    Left {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        why: Option<String>,
    },
    /// A follower's GO at a gate of `approvals = 2` or more (`gonogo follow --approver`), as
    /// it came: `apply` judges it (see `engine::vote`), live and on every replay, and keeps the
    /// judgement in `Release::votes`.
    Voted {
        name: String,
        via: super::policy::Via,
        /// Started with `--approver`. Older journals did not record it: their votes say
        /// `counted`, and one recorded refused stays refused.
        #[serde(default = "older_approver")]
        approver: bool,
        step: usize,
        /// What the follower had on screen (`Release::screen_digest`); absent in older
        /// journals.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        note: Option<String>,
        /// Older journals recorded the loop's judgement; it is never trusted (the vote is judged
        /// again) and only read for a vote whose screen cannot be checked. Never written.
        #[serde(default, skip_serializing)]
        counted: Option<bool>,
    },
    /// That shell ended; `how` says how ("exit 0", "could not start ssh: ...").
    ShellClosed {
        target: String,
        how: String,
    },
    /// A person's decision, with who made it and an optional note.
    Decided {
        by: String,
        decision: Decision,
        note: Option<String>,
        /// Who acted: the person named in `by`, `--yes` on their behalf, or gonogo itself.
        #[serde(default)]
        actor: Actor,
    },
    /// Lines a log tail read on a target, as they arrived together: split, control
    /// sequences stripped, capped and secrets masked where they were read.
    LogLines {
        target: String,
        #[serde(rename = "follower")]
        tail: String,
        lines: Vec<String>,
    },
    /// A log tail's lines came faster than gonogo could take them: the oldest waiting ones
    /// were dropped, so the release itself was never slowed.
    LogsDropped {
        target: String,
        #[serde(rename = "follower")]
        tail: String,
        count: u64,
    },
    /// A log tail stopped reading: its link dropped, or its command ended or never started.
    /// Journaled as `follower_down`, as before the rename.
    #[serde(rename = "follower_down")]
    TailDown {
        target: String,
        #[serde(rename = "follower")]
        tail: String,
        error: String,
    },
    /// A log tail is reading; `gap_ms` is how long it was down (`None` the first time).
    /// Journaled as `follower_up`, as before the rename.
    #[serde(rename = "follower_up")]
    TailUp {
        target: String,
        #[serde(rename = "follower")]
        tail: String,
        gap_ms: Option<u64>,
    },
    /// A `[notify]` message the webhook did not take after its attempts (or that was dropped
    /// unsent): the release goes on without it. `message` names it; `error` never holds the
    /// webhook's URL.
    NotifyFailed {
        message: String,
        error: String,
        attempts: u32,
    },
    /// The journal could not be written (disk full, an I/O error, a size limit): from here on
    /// the session is not recorded. Never in the journal it is about (nothing more reaches it);
    /// the release goes on and the operator decides.
    JournalFailed {
        path: String,
        /// The system's words (`No space left on device (os error 28)`).
        error: String,
    },
    /// A target answered `[release] current`: the version it runs now (first line, trimmed),
    /// or why there is none.
    VersionFound {
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// `[release] changes` printed the changes about to ship (on the operator's machine).
    ChangesFound {
        found: super::ships::Found,
    },
    /// `[release] pending` printed what the release will change in the database.
    PendingFound {
        target: String,
        found: super::ships::Found,
    },
    /// The release refused to start over what `[release] current` found (hosts that cannot say,
    /// a mixed fleet, the version already running): why, in the words shown. Stated by the
    /// engine (`Effect::Record`) for the record; it changes nothing.
    Refused {
        why: Vec<String>,
    },
    /// A batch of a phase rolled out in batches began: its new hosts. Stated by the engine
    /// (`Effect::Record`) for the record; it changes nothing.
    BatchStarted {
        phase: String,
        batch: u32,
        of: u32,
        hosts: Vec<String>,
    },
    /// A batch's analysis against the control reached its verdict, with the figures compared.
    BatchJudged {
        phase: String,
        batch: u32,
        of: u32,
        verdict: BatchVerdict,
        figures: Vec<BatchFigure>,
    },
    /// The next batch was promoted: by a person at the promote gate, or by gonogo after a
    /// clean analysis (`promote = "auto"`).
    BatchPromoted {
        phase: String,
        batch: u32,
        of: u32,
        by: String,
    },
}

/// One rule as a batch's analysis compared it: each changed host's value and the control's,
/// in the rule's unit (as `RuleState::value`), and where the rule stood, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchFigure {
    /// The rule's index in `[watch] rollback_on`.
    pub rule: usize,
    pub hosts: Vec<(String, f64)>,
    pub control: Option<f64>,
    pub stand: String,
}

/// What a batch's analysis concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchVerdict {
    /// Every rule judged and held within its limit.
    Healthy,
    /// A rule was holding or could not judge when the analysis ended: a person decides.
    InDoubt,
    /// A rule held its duration: a rollback of the changed hosts is proposed.
    Breached,
}

impl BatchVerdict {
    pub fn word(self) -> &'static str {
        match self {
            BatchVerdict::Healthy => "healthy",
            BatchVerdict::InDoubt => "in doubt",
            BatchVerdict::Breached => "breached",
        }
    }
}

/// An older journal's vote did not say whether its follower may approve: it is judged as if
/// so, and counts only if it counted then.
fn older_approver() -> bool {
    true
}

/// Who made a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The person in `by`, at the cockpit, a terminal or a follower.
    #[default]
    Person,
    /// `--yes`, answering gates and manual items for the person in `by`.
    Yes,
    /// gonogo itself, for safety: stdin closed, the terminal gone, SIGTERM.
    Gonogo,
    /// The watch window's rollback rules.
    AutoRollback,
    /// `[policy] unattended` (or `--unattended`), answering a question nobody could answer.
    Policy,
    /// `gonogo demo --headless --yes`: the rehearsal answers the failure its scenario stages
    /// (retry, rollback) for the person in `by`. Never in a real release.
    Demo,
}

/// The main checklist or the rollback steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepList {
    Main,
    Rollback,
}

/// One attempt of one step on one target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunId {
    pub list: StepList,
    pub step: usize,
    pub target: String,
    pub attempt: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A lock the end of the release did not remove, why, and the command that removes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptLock {
    pub target: String,
    pub why: String,
    pub remove: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "timer", rename_all = "snake_case")]
pub enum Timer {
    /// The run has had its `timeout`.
    Timeout { run: RunId },
    /// A failed check's next attempt is due.
    Retry { run: RunId },
    /// The watch window is over.
    WatchEnd,
    /// The rollback proposal has waited `auto_rollback` for a person.
    AutoRollback,
    /// The first change has waited its longest for the baseline.
    Baseline,
    /// Log lines held to know whether a stack trace goes on are due to be judged (see
    /// `engine::trace`): nothing came for them since.
    LogsSettle,
    /// A batch's analysis (plan step `step`) has had its time.
    Analysis { step: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Gate: go.
    Go,
    /// Gate: no-go, which aborts the release.
    NoGo,
    /// Manual item done.
    Done,
    /// Skip a manual item or a failed step; the reason is required and recorded.
    Skip { reason: String },
    /// Run the failed targets of the failed step again.
    Retry,
    /// Roll back: offered at gates, failures, during the watch, and from anywhere.
    Rollback,
    /// Confirms a rollback after being told which irreversible steps already ran: the ones the
    /// person saw travel with it, and the engine asks again if more have run since.
    ConfirmRollback {
        #[serde(default)]
        acknowledged: Vec<super::release::IrreversibleDone>,
    },
    /// Goes back to the question asked before a rollback confirmation.
    Cancel,
    /// Stop now: nothing more runs, locks are released.
    Abort,
    /// End the watch window early and call the release done.
    EndWatch,
    /// A rollback proposal answered "keep watching", with the person's reason.
    KeepWatching { reason: String },
    /// Start the first change without waiting for the baseline; the rules that compare with
    /// one then say they have none. The reason is recorded.
    SkipBaseline { reason: String },
    /// Five more minutes of watch.
    ExtendWatch,
    /// Every host already runs the version: deploy it again anyway, for this reason.
    Redeploy { reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Released,
    /// A step failed or the operator aborted (no-go included).
    Aborted,
    RolledBack,
    /// Refused to start: a lock held, a host key, an unreachable target.
    Refused,
}

impl Outcome {
    /// The process exit code documented in the README.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Released => 0,
            Outcome::Aborted => 1,
            Outcome::RolledBack => 3,
            Outcome::Refused => 4,
        }
    }
}

/// What the engine asks drivers to do. Commands are named by run, never carried: the runtime
/// holds the real (unmasked) commands, so no secret is in an effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    Connect {
        target: String,
    },
    TakeLock {
        target: String,
    },
    /// A resumed session's lock: still its own? Never taken anew (`LockTaken` if it is,
    /// `LockRefused` with who has it or broke it).
    ConfirmLock {
        target: String,
    },
    /// Release the deploy locks this session holds on these targets (and remove its run
    /// directories there, keeping those of steps still running).
    ReleaseLocks {
        targets: Vec<String>,
    },
    /// The rollback begins with this plan: where each of its steps comes from (a step's
    /// `undo`, or a `[[rollback]]` step), so the drivers know each one's real command. Said
    /// again on a resume.
    RollbackPlanned {
        origins: Vec<super::plan::Origin>,
    },
    /// Start a run, or attach again to the same attempt (the host never starts it twice).
    StartRun {
        run: RunId,
        /// The journal shows this attempt started: attach only, never start it (if its run
        /// directory is gone, its outcome is unknown).
        #[serde(default)]
        started: bool,
    },
    /// Stop everything the run started on its host (TERM, a grace period, KILL of its process
    /// group and session), then report `RunStopped` or `StopFailed`.
    CancelRun {
        run: RunId,
    },
    StartTimer {
        timer: Timer,
        after_ms: u64,
    },
    /// Start the health checks and metrics scrapes: before the first change, for a baseline.
    StartProbes,
    /// The release has ended: stop probing.
    StopProbes,
    /// The timer is no longer needed (its run ended): it must not fire.
    CancelTimer {
        timer: Timer,
    },
    /// A question is open: prompt the operator (the question itself is in the state).
    Ask,
    Finish {
        outcome: Outcome,
    },
    /// Start every log tail of the plan on its targets (the drivers hold the commands).
    FollowLogs,
    /// Stop every log tail, leaving nothing running on the hosts.
    #[serde(rename = "stop_followers")]
    StopTails,
    /// Run `[release] current` on every target (read-only), each answering `VersionFound`.
    FindVersions,
    /// Run `[release] changes` on this machine, with `{{previous}}` and `{{version}}`.
    FindChanges,
    /// Run `[release] pending` on its target (`pending_on`).
    FindPending,
    /// Each host's version before the release: what `{{previous}}` is on it from now on.
    UsePrevious {
        previous: Vec<(String, String)>,
    },
    /// A fact the engine states for the record (a batch began, its verdict, a promotion): the
    /// live drivers send it back as an event, so it is journaled and told; replayed, the
    /// journal has it.
    Record {
        event: Box<EventKind>,
    },
}

/// A follower leaving, in words: the one sentence the headless output, the cockpit's notice and
/// the report say.
pub fn left_said(name: &str, why: Option<&str>) -> String {
    match why {
        Some(why) => format!("{name} was dropped: {why}"),
        None => format!("{name} stopped following"),
    }
}
