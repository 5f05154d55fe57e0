//! The release as it happened: its events fed through the engine one by one, with what changed
//! at each (a step failed, a proposal opened, the watch began) noted as a moment, and the
//! health and metrics samples kept with their times. The report and the stats read it.

use serde::Serialize;

use super::words::{asked_at, decision_words, who};
use crate::engine::watch::{HealthReading, MetricsReading};
use crate::engine::watch_rule::Signal;
use crate::engine::{Decision, Event, EventKind, Millis, Question, Release, Timer};

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
    /// Someone followed live, left, or voted at a gate.
    Follower,
    /// A `[notify]` message the team's channel did not get.
    Notify,
    /// gonogo died mid-release and a resume went on with it.
    Resumed,
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
    /// A resume is confirming the session's locks: they were taken before.
    pub confirming: bool,
}

/// Feeds `events` to a fresh release, noting what happened along the way.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> History {
    let mut h = History::default();
    let mut before = super::changes::Seen::of(&h.release);
    for event in events {
        h.first_at.get_or_insert(event.at);
        h.last_at = Some(h.last_at.map_or(event.at, |l| l.max(event.at)));
        h.before_event(event, before.question.as_ref());
        h.release.apply(event);
        h.after_event(event);
        // Output changes no state a moment is made of: skip the comparison for the flood.
        if matches!(event.kind, EventKind::Output { .. }) {
            continue;
        }
        let after = super::changes::Seen::of(&h.release);
        h.changes(&before, &after);
        before = after;
    }
    h
}

impl History {
    pub(super) fn note(&mut self, at: Millis, kind: MomentKind, text: String) {
        self.moments.push(Moment {
            at: crate::journal::timestamp(at),
            at_ms: at,
            kind,
            text,
        });
    }

    pub(super) fn now(&self) -> Millis {
        self.release.now
    }

    /// What must be read before the engine applies the event: the question it answers.
    fn before_event(&mut self, event: &Event, asked: Option<&Question>) {
        let EventKind::Decided {
            by,
            decision,
            actor,
            ..
        } = &event.kind
        else {
            return;
        };
        let gate = match asked {
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
            EventKind::Resumed { .. } => {
                if let Some(lost) = self.release.interruptions.last() {
                    let said = crate::summary::interruption_said(lost);
                    self.note(at, MomentKind::Resumed, said);
                    self.confirming = self.release.resuming;
                }
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
            EventKind::NotifyFailed { message, error, .. } => self.note(
                event.at,
                MomentKind::Notify,
                format!("notification not delivered: {message}: {error}"),
            ),
            EventKind::ShellClosed { target, how } => {
                self.note(
                    at,
                    MomentKind::Shell,
                    format!("shell on {target} closed ({how})"),
                );
            }
            EventKind::Joined {
                name,
                via,
                approver,
            } => {
                let approves = if *approver { ", may approve" } else { "" };
                let said = format!("{name} started following ({via}{approves})");
                self.note(at, MomentKind::Follower, said);
            }
            EventKind::Left { name, why } => {
                self.note(
                    at,
                    MomentKind::Follower,
                    crate::engine::left_said(name, why.as_deref()),
                );
            }
            // The engine's judgement of the vote, made as it applied it.
            EventKind::Voted { .. } => {
                if let Some(vote) = self.release.votes.last() {
                    let (name, via) = (&vote.name, &vote.via);
                    let said = match &vote.refused {
                        None => format!("GO from {name} ({via}) counted"),
                        Some(why) => format!("GO from {name} ({via}) refused: {why}"),
                    };
                    self.note(at, MomentKind::Follower, said);
                }
            }
            _ => {}
        }
    }

    /// Locks taken one after another make one moment; a resume's are confirmed, not taken.
    fn lock_taken(&mut self, at: Millis, target: &str) {
        let said = if self.confirming {
            "locks confirmed on "
        } else {
            "locks taken on "
        };
        self.confirming &= self.release.resuming;
        if let Some(last) = self.moments.last_mut()
            && last.kind == MomentKind::Lock
            && last.text.starts_with(said)
        {
            last.text.push_str(&format!(", {target}"));
            return;
        }
        self.note(at, MomentKind::Lock, format!("{said}{target}"));
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
}
