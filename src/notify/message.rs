//! What the team is told, decided from each event and the release as it stands after it: pure,
//! no I/O, no clock (the loop passes the time). The start, each gate decision, a step failing
//! for good, the rollback starting, the end; and the status update (seed 003) on its period.

use super::place::{what, what_where, where_now};
use serde::Serialize;

use crate::engine::{Decision, Event, EventKind, Millis, Question, Release, RunId, Stage};
use crate::engine::{Outcome, StepList};
use crate::narrate::{self, Seen, Subject, Told, Topic, asked_at, decision_words};
use crate::report::history::{HealthSample, History, MetricsSample};
use crate::text::printable;

/// One message for the team's channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub kind: MessageKind,
    /// What it is in a few words, to name it when it could not be delivered.
    pub title: String,
    /// The message itself, plain text, one value per line.
    pub text: String,
    pub at: Millis,
    pub release: String,
    pub version: Option<String>,
    pub environment: String,
    pub operator: String,
    pub session: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Started,
    Resumed,
    GateDecided,
    StepFailed,
    RollingBack,
    Ended,
    Status,
}

/// What has been said already, and what the end message needs that the release state does not
/// keep (the samples across the watch, when it began and ended, the rule that held).
#[derive(Debug, Clone, Default)]
pub struct Herald {
    failed_runs: Vec<RunId>,
    rolling_back: bool,
    ended: bool,
    watch_from: Option<Millis>,
    watch_to: Option<Millis>,
    proposal_rule: Option<String>,
    /// Each host's latest value of that rule when it proposed, in the rule's unit.
    proposal_values: Option<String>,
    /// Where the proposal's rule held: "the watch", or a batch's analysis.
    proposal_during: String,
    /// Health answers during the watch; metrics from the start (the baseline is before the
    /// first change).
    health: Vec<HealthSample>,
    metrics: Vec<MetricsSample>,
    first_at: Option<Millis>,
    /// The release as it stood after the last event: what the narrator compares with.
    seen: Option<Seen>,
    /// The release started and the start message waits for what ships ([`start_due`]).
    start_held: bool,
}

/// Samples kept for the end message; older ones go first (the report has them all).
const SAMPLES_KEPT: usize = 20_000;

impl Herald {
    /// The messages `event` makes, read from the release after it was applied.
    pub fn on_event(&mut self, event: &Event, release: &Release) -> Vec<Message> {
        let at = release.now;
        self.first_at.get_or_insert(event.at);
        self.keep_evidence(event, release);
        let mut out = Vec::new();
        let say = |kind, title: String, text: String| message(release, kind, title, text, at);
        if let EventKind::Started { .. } = &event.kind {
            self.start_held = true;
        }
        if self.start_held && start_due(release) {
            self.start_held = false;
            out.push(say(
                MessageKind::Started,
                "release started".into(),
                started_text(release),
            ));
        }
        if let EventKind::Resumed { by, .. } = &event.kind {
            // What the session said before gonogo died was said then.
            self.rolling_back = rolling_back(release);
            self.ended = release.outcome.is_some();
            let lost = release.interruptions.last().map_or(String::new(), |i| {
                format!(" ({})", narrate::interruption_said(i))
            });
            out.push(say(
                MessageKind::Resumed,
                "release resumed".into(),
                format!(
                    "🔁 {} resumed {}: {}{lost}",
                    printable(by),
                    what(release),
                    where_now(release, at)
                ),
            ));
        }
        let told = if narrate::changes_state(event) {
            let before = self.seen.take().unwrap_or_else(|| Seen::of(release));
            let told = narrate::tell(event, &before, release);
            self.seen = Some(Seen::of(release));
            told
        } else {
            Vec::new()
        };
        for told in told {
            if let Some((kind, title, text)) = self.told(release, told) {
                out.push(say(kind, title, text));
            }
        }
        if rolling_back(release) && !self.rolling_back {
            self.rolling_back = true;
            let why = self.rollback_reason(release);
            let mut text = format!(
                "⚠️ {} rollback starting: {}\nReason: {why}",
                release.plan.environment,
                what(release)
            );
            // What it will run, host by host, and what it cannot undo.
            for line in narrate::rollback_plan(release) {
                text.push_str(&format!("\n- {line}"));
            }
            out.push(say(MessageKind::RollingBack, "rolling back".into(), text));
        }
        if release.outcome.is_some() && !self.ended {
            self.ended = true;
            let outcome = release
                .outcome
                .map_or("ended", crate::report::words::outcome_words);
            out.push(say(
                MessageKind::Ended,
                format!("release ended ({outcome})"),
                self.end_text(release, at),
            ));
        }
        out
    }

    /// The status update: where the release stands, what it changed, its health against the
    /// baseline. `None` before it started and once it ended (the end message says it all).
    pub fn status(&self, release: &Release, now: Millis) -> Option<Message> {
        if release.started_at.is_none() || release.outcome.is_some() {
            return None;
        }
        Some(message(
            release,
            MessageKind::Status,
            "status update".into(),
            super::status::text(release, now),
            now,
        ))
    }

    fn keep_evidence(&mut self, event: &Event, release: &Release) {
        let at = release.now;
        let watching = matches!(release.stage, Stage::Watching { .. });
        if watching && self.watch_from.is_none() {
            self.watch_from = Some(at);
        }
        if !watching && self.watch_from.is_some() && self.watch_to.is_none() {
            self.watch_to = Some(at);
        }
        if let Some(Question::RollbackProposal { rule }) = &release.question
            && self.proposal_rule.is_none()
        {
            let planned = release
                .plan
                .watch
                .as_ref()
                .and_then(|w| w.rollback_on.get(*rule));
            self.proposal_rule = planned.map(|r| r.text.clone());
            self.proposal_during = match release.analysing() {
                Some(batch) => format!(
                    "the analysis of {} ({})",
                    batch.label(),
                    batch.changed.join(", ")
                ),
                None => "the watch".into(),
            };
            self.proposal_values = planned
                .zip(release.watch.rules.get(*rule))
                .map(|(planned, state)| crate::measure::latest_values(planned, state))
                .filter(|values| !values.is_empty());
        }
        match &event.kind {
            EventKind::HealthSampled {
                check,
                via,
                reading,
            } if watching => {
                if self.health.len() == SAMPLES_KEPT {
                    self.health.remove(0);
                }
                self.health.push(HealthSample {
                    at,
                    check: check.clone(),
                    via: via.clone(),
                    reading: reading.clone(),
                });
            }
            EventKind::MetricsSampled {
                source,
                via,
                reading,
            } => {
                if self.metrics.len() == SAMPLES_KEPT {
                    self.metrics.remove(0);
                }
                self.metrics.push(MetricsSample {
                    at,
                    source: source.clone(),
                    via: via.clone(),
                    reading: reading.clone(),
                });
            }
            _ => {}
        }
    }

    /// What the team is told of one thing the narrator told: a gate, the final gate or a
    /// rollback proposal answered, a run failed for good or whose outcome became unknown.
    fn told(&mut self, release: &Release, told: Told) -> Option<(MessageKind, String, String)> {
        let mark = match (told.topic, &told.subject) {
            (Topic::RunFailed, Some(Subject::Run(run))) => {
                (!self.failed_runs.contains(run)).then_some(())?;
                self.failed_runs.push(run.clone());
                "❌"
            }
            (Topic::RunUnknown, Some(Subject::Run(run))) => {
                (!self.failed_runs.contains(run)).then_some(())?;
                self.failed_runs.push(run.clone());
                "❓"
            }
            (Topic::Decision { .. }, Some(Subject::Question(q))) => {
                return gate_decision(release, q, &told.text);
            }
            _ => return None,
        };
        let Some(Subject::Run(run)) = &told.subject else {
            return None;
        };
        let name = crate::report::step_label(release, run.list, run.step);
        let title = if told.topic == Topic::RunUnknown {
            format!("{name} on {}: outcome unknown", run.target)
        } else {
            format!("{name} failed on {}", run.target)
        };
        let text = format!("{mark} {}: {}", what_where(release), told.text);
        Some((MessageKind::StepFailed, title, text))
    }

    /// Why the rollback: the rule that held, the decision that asked for it, or both.
    fn rollback_reason(&self, release: &Release) -> String {
        let decided = release
            .decisions
            .iter()
            .rev()
            .find(|d| {
                matches!(
                    d.decision,
                    Decision::Rollback | Decision::ConfirmRollback { .. }
                )
            })
            .map(|d| narrate::decision_said(release, d));
        let held = self
            .proposal_rule
            .as_ref()
            .map(|rule| match &self.proposal_values {
                Some(values) => {
                    format!("\"{rule}\" held during {} ({values})", self.proposal_during)
                }
                None => format!("\"{rule}\" held during {}", self.proposal_during),
            });
        match (held, decided) {
            (Some(held), Some(decided)) => format!("{held}; {decided}"),
            (held, decided) => held.or(decided).unwrap_or_else(|| "not recorded".into()),
        }
    }

    /// The end, as the report's status message says it (seed 003), from what was kept.
    fn end_text(&self, release: &Release, at: Millis) -> String {
        let history = History {
            release: release.clone().into(),
            health: self.health.clone(),
            metrics: self.metrics.clone(),
            first_at: self.first_at,
            last_at: Some(at),
            watch_from: self.watch_from,
            watch_to: self.watch_to.or(self.watch_from.map(|_| at)),
            outcome_at: Some(at),
            proposal_rule: self.proposal_rule.clone(),
            ..History::default()
        };
        crate::report::status_message(&history)
            .trim_end()
            .to_string()
    }
}

fn message(
    release: &Release,
    kind: MessageKind,
    title: String,
    text: String,
    at: Millis,
) -> Message {
    Message {
        kind,
        title,
        text,
        at,
        release: release.plan.release.clone(),
        version: release.plan.version.clone(),
        environment: release.plan.environment.clone(),
        operator: release.operator.clone(),
        session: release.session.clone(),
    }
}

/// The rollback steps run, or the release was rolled back (with none to run).
fn rolling_back(release: &Release) -> bool {
    matches!(
        release.stage,
        Stage::Running {
            list: StepList::Rollback,
            ..
        }
    ) || release.outcome == Some(Outcome::RolledBack)
}

/// Whether the start message goes now. A plan that finds what ships (`[release] current`)
/// learns it only after the release started: the versions once the locks are held, the change
/// and migration lists a moment later. A start message sent at once would tell the team
/// nothing of what ships, and a second message would say it apart from the start. So the
/// start is held until what ships is known (every host's version, and the change and
/// migration lists when the plan has them, found or failed), but never past the first thing
/// the team must hear after it: a question asked (a gate, a failure), a step that changes a
/// host (a `run`, the rollback, the watch; read-only checks may run meanwhile), or the end (a
/// refused mixed fleet is told as started, then refused, with the versions it found).
fn start_due(release: &Release) -> bool {
    let ships = &release.plan.ships;
    if ships.current.is_none() || release.outcome.is_some() || release.question.is_some() {
        return true;
    }
    let known = release.ships.found.len() == release.targets.len()
        && (ships.changes.is_none() || release.ships.changes.is_some())
        && (ships.pending.is_none() || release.ships.pending.is_some());
    let only_looking = match release.stage {
        Stage::Idle | Stage::Connecting | Stage::Locking | Stage::Finding => true,
        Stage::Running {
            list: StepList::Main,
            step,
        } => (release.plan.steps.get(step))
            .is_some_and(|s| s.kind == crate::engine::plan::StepKind::Check),
        _ => false,
    };
    known || !only_looking
}

fn started_text(release: &Release) -> String {
    let plan = &release.plan;
    let gates = plan
        .steps
        .iter()
        .filter(|s| s.kind == crate::engine::plan::StepKind::Gate)
        .count();
    let targets: Vec<&str> = plan.targets.iter().map(|t| t.name.as_str()).collect();
    let mut text = format!(
        "🚀 {} started {}\nPlan: {} steps, {gates} gate{}, on {}",
        release.operator,
        what_where(release),
        plan.steps.len(),
        if gates == 1 { "" } else { "s" },
        targets.join(", ")
    );
    if let Some(watch) = &plan.watch {
        text.push_str(&format!(
            "; then a {} watch window",
            crate::report::words::took(watch.duration_ms)
        ));
    }
    if let Some(why) = &plan.window_override {
        text.push_str(&format!("\nOutside the release windows: {why}"));
    }
    if let Some(rehearsal) = &plan.rehearsal {
        text.push_str(&format!("\nRehearsal on simulated hosts: {rehearsal}"));
    }
    if let Some(said) = release.ships_said() {
        text.push_str(&format!("\nWhat ships: {}", printable(&said)));
    }
    let changes = crate::report::ships::change_list_lines(release);
    if !changes.is_empty() {
        text.push_str("\nChanges:");
        for line in changes {
            text.push_str(&format!("\n{line}"));
        }
    }
    text
}

/// A gate, the final gate or a rollback proposal answered, as the narrator said it.
fn gate_decision(
    release: &Release,
    question: &Question,
    said: &str,
) -> Option<(MessageKind, String, String)> {
    if !matches!(
        question,
        Question::Gate { .. }
            | Question::FinalGate
            | Question::RollbackProposal { .. }
            | Question::Redeploy { .. }
    ) {
        return None;
    }
    let d = release.decisions.last()?;
    let subject = asked_at(release, question)?;
    let answer = decision_words(&d.decision);
    let mark = match d.decision {
        Decision::Go => "🟢",
        Decision::NoGo | Decision::Abort | Decision::Rollback => "🔴",
        _ => "🟡",
    };
    Some((
        MessageKind::GateDecided,
        format!("{subject}: {answer}"),
        format!("{mark} {}: {said}", what_where(release)),
    ))
}
