//! The release as it happened: its events fed through the engine one by one, with what the
//! narrator tells of each (a step failed, a proposal opened, the watch began) noted as a
//! moment, and the health and metrics samples kept with their times. The report and the stats
//! read it.

use serde::Serialize;

use super::words::{decision_words, who};
use crate::engine::watch::{HealthReading, MetricsReading};
use crate::engine::watch_rule::Signal;
use crate::engine::{Event, EventKind, Fold, Millis, Question};
use crate::narrate::{self, Seen};

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
    /// A batch of a phase rolled out in batches began, was judged, or the next was promoted.
    Batch,
    /// What ships: the versions found, the changes, the migrations to run.
    Ships,
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
    /// The state after the last event (a `Release` to read).
    pub release: Fold,
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

/// Feeds `events` to a fresh release, noting what the narrator tells along the way.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> History {
    let mut h = History::default();
    let mut before = Seen::of(&h.release);
    for event in events {
        h.first_at.get_or_insert(event.at);
        h.last_at = Some(h.last_at.map_or(event.at, |l| l.max(event.at)));
        h.before_event(event, before.question.as_ref());
        h.release.apply(event);
        h.samples(event);
        // Output changes no state a moment is made of: skip the comparison for the flood.
        if !narrate::changes_state(event) {
            continue;
        }
        for told in narrate::tell(event, &before, &h.release) {
            h.told(event, told);
        }
        let after = Seen::of(&h.release);
        h.stages(&before, &after);
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

    /// The health and metrics samples, with their times.
    fn samples(&mut self, event: &Event) {
        let at = self.now();
        match &event.kind {
            EventKind::HealthSampled {
                check,
                via,
                reading,
            } => self.health.push(HealthSample {
                at,
                check: check.clone(),
                via: via.clone(),
                reading: reading.clone(),
            }),
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
            _ => {}
        }
    }
}
