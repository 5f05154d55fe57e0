//! The release as it happened: its events fed through the engine one by one, with what changed
//! at each (a step failed, a proposal opened, the watch began) noted as a moment, and the
//! health and metrics samples kept with their times. The report and the stats read it.

use std::collections::HashMap;

use serde::Serialize;

use super::words::{asked_at, decision_words, who};
use crate::engine::release::{RunStatus, StepStatus};
use crate::engine::watch::{HealthReading, MetricsReading};
use crate::engine::watch_rule::Signal;
use crate::engine::{
    Decision, Event, EventKind, Millis, Outcome, Question, Release, Stage, StepList, Timer,
};

/// One notable thing that happened, in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moment {
    /// RFC 3339, UTC.
    pub at: String,
    #[serde(skip)]
    pub at_ms: Millis,
    pub kind: MomentKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MomentKind {
    Started,
    Refused,
    Link,
    Lock,
    StepStarted,
    StepFailed,
    Retry,
    OutcomeUnknown,
    Gate,
    Decision,
    RollbackProposed,
    AutoRollback,
    WatchStarted,
    WatchEnded,
    RollingBack,
    Health,
    Shell,
    Ended,
}

/// The health checks and metrics as they stood when a gate was answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateHealth {
    /// The gate's question, or "the final gate".
    pub gate: String,
    pub at: String,
    #[serde(skip)]
    pub at_ms: Millis,
    pub by: String,
    pub answer: String,
    pub checks: Vec<CheckNow>,
    /// The worst error ratio across the metrics sources, as a fraction.
    pub error_ratio: Option<f64>,
    pub latency_p95_ms: Option<f64>,
}

/// One health check's last answer, from one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckNow {
    pub check: String,
    pub via: Option<String>,
    pub ok: bool,
    /// Why it is failing, in words.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthSample {
    pub at: Millis,
    pub check: String,
    pub via: Option<String>,
    pub reading: HealthReading,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSample {
    pub at: Millis,
    pub source: String,
    pub via: Option<String>,
    pub reading: MetricsReading,
}

/// A release's events, folded.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The state after the last event.
    pub release: Release,
    pub moments: Vec<Moment>,
    pub gates: Vec<GateHealth>,
    pub health: Vec<HealthSample>,
    pub metrics: Vec<MetricsSample>,
    pub first_at: Option<Millis>,
    pub last_at: Option<Millis>,
    pub watch_from: Option<Millis>,
    pub watch_to: Option<Millis>,
    /// When the outcome became known, and when the release ended (locks answered).
    pub outcome_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    /// The first run of the checklist that failed for good (no retry left).
    pub first_failure_at: Option<Millis>,
    pub first_proposal_at: Option<Millis>,
    /// The first decision to roll back (asked for, or confirmed).
    pub first_rollback_at: Option<Millis>,
    /// The rule whose proposal led to the rollback, if one did.
    pub proposal_rule: Option<String>,
}

type RunKey = (StepList, usize, String);

/// What a moment is detected from: the state just before and just after an event.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    stage: Stage,
    question: Option<Question>,
    outcome: Option<Outcome>,
    steps: Vec<(StepList, usize, StepStatus)>,
    runs: HashMap<RunKey, (RunStatus, u32)>,
}

impl Seen {
    fn of(release: &Release) -> Seen {
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
        }
    }
}

/// Feeds `events` to a fresh release, noting what happened along the way.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> History {
    let mut h = History::default();
    let mut before = Seen::of(&h.release);
    for event in events {
        h.first_at.get_or_insert(event.at);
        h.last_at = Some(h.last_at.map_or(event.at, |l| l.max(event.at)));
        h.before_event(event, &before);
        h.release.apply(event);
        h.after_event(event);
        // Output changes no state a moment is made of: skip the comparison for the flood.
        if matches!(event.kind, EventKind::Output { .. }) {
            continue;
        }
        let after = Seen::of(&h.release);
        h.changes(&before, &after);
        before = after;
    }
    h
}

impl History {
    fn note(&mut self, at: Millis, kind: MomentKind, text: String) {
        self.moments.push(Moment {
            at: crate::journal::timestamp(at),
            at_ms: at,
            kind,
            text,
        });
    }

    fn now(&self) -> Millis {
        self.release.now
    }

    /// What must be read before the engine applies the event: the question it answers.
    fn before_event(&mut self, event: &Event, before: &Seen) {
        let EventKind::Decided {
            by,
            decision,
            actor,
            ..
        } = &event.kind
        else {
            return;
        };
        let gate = match &before.question {
            Some(Question::Gate { step }) => self
                .release
                .plan
                .steps
                .get(*step)
                .map(|s| s.text.clone())
                .unwrap_or_default(),
            Some(Question::FinalGate) => "the final gate".into(),
            _ => return,
        };
        let checks = self
            .release
            .watch
            .health
            .iter()
            .map(|s| CheckNow {
                check: s.check.clone(),
                via: s.via.clone(),
                ok: s.last.ok,
                error: s.last.error.clone(),
            })
            .collect();
        self.gates.push(GateHealth {
            gate,
            at: crate::journal::timestamp(event.at),
            at_ms: event.at,
            by: who(by, *actor),
            answer: decision_words(decision),
            checks,
            error_ratio: self.release.signal_now(Signal::ErrorRatio),
            latency_p95_ms: self.release.signal_now(Signal::Latency { percentile: 95 }),
        });
    }

    /// Moments an event makes by itself, read after it was applied.
    fn after_event(&mut self, event: &Event) {
        let at = self.now();
        match &event.kind {
            EventKind::Started { operator, plan, .. } => {
                let version = plan
                    .version
                    .as_deref()
                    .map_or(String::new(), |v| format!(" {v}"));
                let mut text = format!(
                    "{operator} started {}{version} to {}",
                    plan.release, plan.environment
                );
                if let Some(why) = &plan.window_override {
                    text.push_str(&format!(", outside the release windows: {why}"));
                }
                self.note(at, MomentKind::Started, text);
            }
            EventKind::ConnectFailed { target, error } => {
                self.note(
                    at,
                    MomentKind::Link,
                    format!("cannot reach {target}: {error}"),
                );
            }
            EventKind::ConnectionLost { target, error } => {
                self.note(
                    at,
                    MomentKind::Link,
                    format!("link to {target} lost: {error}"),
                );
            }
            EventKind::Reconnected { target } => {
                self.note(at, MomentKind::Link, format!("link to {target} back"));
            }
            EventKind::LockTaken { target } => self.lock_taken(at, target),
            EventKind::LockFailed { target, error } => self.note(
                at,
                MomentKind::Lock,
                format!("cannot take the lock on {target}: {error}"),
            ),
            EventKind::LockRefused { target, holder } => self.note(
                at,
                MomentKind::Lock,
                format!("{target} is locked by {holder}"),
            ),
            EventKind::LockBroken {
                target,
                holder,
                reason,
                ..
            } => self.note(
                at,
                MomentKind::Lock,
                format!("broke the lock of {holder} on {target}: {reason}"),
            ),
            EventKind::LockLost { run, holder } => self.note(
                at,
                MomentKind::Lock,
                format!("the lock on {} was taken over by {holder}", run.target),
            ),
            EventKind::LocksReleased { released, kept } => {
                if !released.is_empty() {
                    let text = format!("locks released on {}", released.join(", "));
                    self.note(at, MomentKind::Lock, text);
                }
                for k in kept {
                    let text = format!(
                        "lock kept on {}: {} (remove with: {})",
                        k.target, k.why, k.remove
                    );
                    self.note(at, MomentKind::Lock, text);
                }
            }
            EventKind::Decided {
                by,
                decision,
                note,
                actor,
            } => {
                self.decided(at, by, decision, note.as_deref(), *actor);
            }
            EventKind::TimerFired {
                timer: Timer::AutoRollback,
            } => {
                self.note(
                    at,
                    MomentKind::AutoRollback,
                    "nobody answered the rollback proposal in time: auto_rollback rolls back"
                        .into(),
                );
            }
            EventKind::HealthSampled {
                check,
                via,
                reading,
            } => self.health_sampled(at, check, via.as_deref(), reading),
            EventKind::MetricsSampled {
                source,
                via,
                reading,
            } => self.metrics.push(MetricsSample {
                at,
                source: source.clone(),
                via: via.clone(),
                reading: reading.clone(),
            }),
            EventKind::ShellOpened { by, target } => {
                self.note(
                    at,
                    MomentKind::Shell,
                    format!("{by} opened a shell on {target}"),
                );
            }
            EventKind::ShellClosed { target, how } => {
                self.note(
                    at,
                    MomentKind::Shell,
                    format!("shell on {target} closed ({how})"),
                );
            }
            _ => {}
        }
    }

    /// Locks taken one after another make one moment.
    fn lock_taken(&mut self, at: Millis, target: &str) {
        if let Some(last) = self.moments.last_mut()
            && last.kind == MomentKind::Lock
            && last.text.starts_with("locks taken on ")
        {
            last.text.push_str(&format!(", {target}"));
            return;
        }
        self.note(at, MomentKind::Lock, format!("locks taken on {target}"));
    }

    fn decided(
        &mut self,
        at: Millis,
        by: &str,
        decision: &Decision,
        note: Option<&str>,
        actor: crate::engine::Actor,
    ) {
        let asked = self
            .release
            .decisions
            .last()
            .filter(|d| d.at == at)
            .and_then(|d| d.question.as_ref())
            .and_then(|q| asked_at(&self.release, q));
        let kind = if asked
            .as_deref()
            .is_some_and(|a| a.starts_with("gate ") || a == "the final gate")
        {
            MomentKind::Gate
        } else {
            MomentKind::Decision
        };
        let at_what = asked.map_or(String::new(), |a| format!(" at {a}"));
        let note = note.map_or(String::new(), |n| format!(" ({n})"));
        let text = format!(
            "{}: {}{at_what}{note}",
            who(by, actor),
            decision_words(decision)
        );
        self.note(at, kind, text);
        if matches!(
            decision,
            Decision::Rollback | Decision::ConfirmRollback { .. }
        ) {
            self.first_rollback_at.get_or_insert(at);
        }
    }

    fn health_sampled(
        &mut self,
        at: Millis,
        check: &str,
        via: Option<&str>,
        reading: &HealthReading,
    ) {
        let before = self
            .health
            .iter()
            .rev()
            .find(|s| s.check == check && s.via.as_deref() == via)
            .map(|s| s.reading.ok);
        self.health.push(HealthSample {
            at,
            check: check.to_string(),
            via: via.map(str::to_string),
            reading: reading.clone(),
        });
        let place = via.map_or(String::new(), |v| format!(" via {v}"));
        match (before, reading.ok) {
            (Some(true) | None, false) => {
                let why = reading.error.as_deref().unwrap_or("failing");
                self.note(
                    at,
                    MomentKind::Health,
                    format!("health {check}{place} failing: {why}"),
                );
            }
            (Some(false), true) => {
                self.note(
                    at,
                    MomentKind::Health,
                    format!("health {check}{place} passes again"),
                );
            }
            _ => {}
        }
    }

    /// Moments read from how the state changed.
    fn changes(&mut self, before: &Seen, after: &Seen) {
        let at = self.now();
        let release = &self.release;
        let mut notes: Vec<(MomentKind, String)> = Vec::new();
        // The watch began or ended; the rollback began.
        let watching = |s: &Stage| matches!(s, Stage::Watching { .. });
        if watching(&after.stage) && !watching(&before.stage) {
            self.watch_from = Some(at);
            let length = match after.stage {
                Stage::Watching { until } => super::words::took(until.saturating_sub(at)),
                _ => String::new(),
            };
            notes.push((
                MomentKind::WatchStarted,
                format!("watch window started ({length})"),
            ));
        }
        if watching(&before.stage) && !watching(&after.stage) {
            self.watch_to = Some(at);
            notes.push((MomentKind::WatchEnded, "watch window ended".into()));
        }
        let rolling = |s: &Stage| {
            matches!(
                s,
                Stage::Running {
                    list: StepList::Rollback,
                    ..
                }
            )
        };
        if rolling(&after.stage) && !rolling(&before.stage) {
            notes.push((MomentKind::RollingBack, "rolling back".into()));
        }
        // Steps that began.
        for &(list, i, status) in &after.steps {
            let was = before
                .steps
                .iter()
                .find(|(l, j, _)| *l == list && *j == i)
                .map(|(_, _, s)| *s);
            let Some(step) = release.list(list).get(i) else {
                continue;
            };
            let started =
                status == StepStatus::Running && matches!(was, None | Some(StepStatus::Pending));
            let changes =
                list == StepList::Rollback || step.kind == crate::engine::plan::StepKind::Run;
            if started && changes {
                let what = if list == StepList::Rollback {
                    "rollback step"
                } else {
                    "step"
                };
                notes.push((
                    MomentKind::StepStarted,
                    format!(
                        "{what} {}. {} started on {}",
                        i + 1,
                        step.name,
                        step.targets.join(", ")
                    ),
                ));
            }
        }
        // Runs that failed, retried or were lost.
        let mut keys: Vec<&RunKey> = after.runs.keys().collect();
        keys.sort_by_key(|(list, step, target)| {
            (*list == StepList::Rollback, *step, target.clone())
        });
        for key in keys {
            let (status, attempt) = after.runs[key];
            let was = before.runs.get(key).copied();
            if was == Some((status, attempt)) {
                continue;
            }
            let (list, i, target) = key;
            let Some(step) = release.list(*list).get(*i) else {
                continue;
            };
            let run = release.states(*list)[*i]
                .targets
                .iter()
                .find(|t| &t.target == target);
            let why = run
                .and_then(|r| r.failure.clone())
                .unwrap_or_else(|| "failed".into());
            let what = if *list == StepList::Rollback {
                "rollback step"
            } else {
                "step"
            };
            let name = format!("{what} {}. {}", i + 1, step.name);
            match status {
                RunStatus::Failed => {
                    if *list == StepList::Main {
                        self.first_failure_at.get_or_insert(at);
                    }
                    notes.push((
                        MomentKind::StepFailed,
                        format!("{name} failed on {target}: {why}"),
                    ));
                }
                RunStatus::RetryWaiting => notes.push((
                    MomentKind::StepFailed,
                    format!("{name} failed on {target}: {why}; retrying"),
                )),
                RunStatus::Unknown => notes.push((
                    MomentKind::OutcomeUnknown,
                    format!("{name} on {target}: outcome unknown: {why}"),
                )),
                RunStatus::Running if attempt > 1 => notes.push((
                    MomentKind::Retry,
                    format!("{name} on {target}: attempt {attempt}"),
                )),
                _ => {}
            }
        }
        // A rollback proposal opened.
        if after.question != before.question
            && let Some(Question::RollbackProposal { rule }) = &after.question
        {
            let text = release
                .plan
                .watch
                .as_ref()
                .and_then(|w| w.rollback_on.get(*rule))
                .map_or_else(|| "a watch rule".to_string(), |r| r.text.clone());
            let value = release
                .watch
                .rules
                .get(*rule)
                .and_then(|r| r.value)
                .map_or(String::new(), |v| {
                    format!(" (value {})", super::words::number(v))
                });
            self.first_proposal_at.get_or_insert(at);
            self.proposal_rule.get_or_insert(text.clone());
            notes.push((
                MomentKind::RollbackProposed,
                format!("rollback proposed: \"{text}\" held{value}"),
            ));
        }
        if after.outcome.is_some() && before.outcome.is_none() {
            self.outcome_at = Some(at);
            let (kind, text) = match after.outcome {
                Some(Outcome::Refused) => (
                    MomentKind::Refused,
                    format!("refused to start: {}", release.refusals.join("; ")),
                ),
                Some(o) => (
                    MomentKind::Ended,
                    super::words::outcome_words(o).to_string(),
                ),
                None => unreachable!("checked just above"),
            };
            notes.push((kind, text));
        }
        if after.stage == Stage::Finished && before.stage != Stage::Finished {
            self.finished_at = Some(at);
        }
        for (kind, text) in notes {
            self.note(at, kind, text);
        }
    }
}
