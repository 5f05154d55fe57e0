//! The one narrator: what an event means, in words and a severity, told the same way by every
//! surface (headless lines, notifications, the replay's timeline, the report, the summary).
//! Pure: no I/O, no clock; the time is the event's. A surface only formats what is told here:
//! a mark for the severity, a CI annotation, a Slack emoji, Markdown, a cockpit span.

mod batches;
mod events;
mod links;
mod people;
mod runs;
mod ships;
pub mod words;

use std::collections::HashMap;

use crate::engine::release::{RunStatus, StepStatus};
use crate::engine::{Event, EventKind, Outcome, Question, Release, RunId, Stage, StepList};

pub use batches::figure_said;
pub use runs::{attempts_said, rollback_plan};
pub use words::{
    asked_at, clock, decision_said, decision_words, gap, interruption_said, outcome_parts,
    outcome_said, outcome_words, question_subject, step_label, took, who, who_for,
};

/// How what was told weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Worth knowing, neither good nor bad.
    Info,
    /// Went as it should: a run passed, a health check passes, a vote counted.
    Good,
    /// Needs an eye: a link lost, a retry, a lock kept, an interruption.
    Warn,
    /// Went wrong: a run failed, a health check fails, a rollback proposed.
    Bad,
    /// A person decided (or was asked to).
    Ask,
}

/// What kind of thing was told, so a surface picks what it shows and how, without reading
/// the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Started,
    /// gonogo died and the session went on: the interruption sentence.
    Interrupted,
    Resumed,
    Link,
    /// A lock taken (or, on a resume, confirmed) on the subject's target.
    LockTaken {
        confirmed: bool,
    },
    Lock,
    /// A lock the end did not remove: the detail says how to remove it.
    LockKept,
    StepStarted,
    RunPassed,
    RunFailed,
    RunRetrying,
    RunUnknown,
    RunStopping,
    RunStopped,
    /// A run's next attempt began.
    Attempt,
    /// A decision; its subject is the question it answered, when there was one.
    Decision {
        rolls_back: bool,
    },
    RollbackProposed,
    AutoRollback,
    WatchStarted,
    WatchEnded,
    /// The watch's time ran out with a rule in doubt.
    Overtime,
    Baseline,
    RollingBack,
    Health,
    Shell,
    Follower,
    Vote,
    Logs,
    Notify,
    /// The release stopped short of its outcome (a lock lost): why.
    Halted,
    /// A batch of a phase rolled out in batches began, was judged, or the next was promoted.
    Batch,
    /// What ships: a host's version now, the changes, the migrations to run.
    Ships,
    Outcome(Outcome),
}

/// Who or what it was about.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    Target(String),
    Run(RunId),
    Step(StepList, usize),
    /// The question a decision answered.
    Question(Question),
}

/// One thing told: the sentence every surface shows, and what lets it format.
#[derive(Debug, Clone, PartialEq)]
pub struct Told {
    pub severity: Severity,
    pub topic: Topic,
    pub subject: Option<Subject>,
    /// The sentence, every value in it made printable.
    pub text: String,
    /// Lines that belong under it (a lock's remove command, a rollback's plan host by host).
    pub detail: Vec<String>,
}

impl Told {
    pub(crate) fn new(severity: Severity, topic: Topic, text: String) -> Told {
        Told {
            severity,
            topic,
            subject: None,
            text,
            detail: Vec::new(),
        }
    }

    pub(crate) fn about(mut self, subject: Subject) -> Told {
        self.subject = Some(subject);
        self
    }

    pub(crate) fn with(mut self, detail: Vec<String>) -> Told {
        self.detail = detail;
        self
    }

    /// The step it was about, if any (a run's, a step's, a gate's).
    pub fn step(&self) -> Option<(StepList, usize)> {
        match &self.subject {
            Some(Subject::Run(run)) => Some((run.list, run.step)),
            Some(Subject::Step(list, step)) => Some((*list, *step)),
            Some(Subject::Question(Question::Gate { step })) => Some((StepList::Main, *step)),
            _ => None,
        }
    }
}

type RunKey = (StepList, usize, String);

/// What the narrator compares across an event: the release's state just before it, kept small
/// (the stage, the question, each step's and run's status) so a surface can hold one per event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Seen {
    pub stage: Stage,
    pub question: Option<Question>,
    pub outcome: Option<Outcome>,
    steps: Vec<(StepList, usize, StepStatus)>,
    runs: HashMap<RunKey, (RunStatus, u32)>,
    overtime: Option<String>,
    baseline_waited: bool,
    gate_held: Option<usize>,
    resuming: bool,
    halted: bool,
}

impl Seen {
    pub fn of(release: &Release) -> Seen {
        let mut steps = Vec::new();
        let mut runs = HashMap::new();
        for list in [StepList::Main, StepList::Rollback] {
            for (i, state) in release.states(list).iter().enumerate() {
                steps.push((list, i, state.status));
                for t in &state.targets {
                    runs.insert((list, i, t.target.clone()), (t.status, t.attempt));
                }
            }
        }
        Seen {
            stage: release.stage,
            question: release.question.clone(),
            outcome: release.outcome,
            steps,
            runs,
            overtime: release.watch.overtime.clone(),
            baseline_waited: release.baseline_waited,
            gate_held: release.ships.gate_held,
            resuming: release.resuming,
            halted: release.halted.is_some(),
        }
    }
}

/// Whether an event can change what [`Seen`] holds: a step's output cannot, and there are
/// millions of those.
pub fn changes_state(event: &Event) -> bool {
    !matches!(event.kind, EventKind::Output { .. })
}

/// What `event` means, told from the state `before` it and the release `after` it was applied:
/// first what the event says by itself, then what changed because of it.
pub fn tell(event: &Event, before: &Seen, after: &Release) -> Vec<Told> {
    let mut told = events::said(event, before, after);
    if changes_state(event) {
        runs::changed(before, after, &mut told);
    }
    told
}
