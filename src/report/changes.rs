//! The report's timeline: what the narrator told, as moments (locks taken one after another
//! make one), and the times the report keeps (the watch, the first failure, the outcome).

use super::history::{History, MomentKind};
use crate::engine::{Event, Question, Stage, StepList};
use crate::narrate::{Seen, Severity, Subject, Told, Topic};

impl History {
    /// One thing told, as a moment of the timeline (or none: a pass, a link made, a log tail's
    /// lines are not the report's).
    pub(super) fn told(&mut self, event: &Event, told: Told) {
        let at = self.now();
        let kind = match told.topic {
            Topic::Started => MomentKind::Started,
            Topic::Interrupted => MomentKind::Resumed,
            Topic::Link if told.severity == Severity::Info => return,
            Topic::Link => MomentKind::Link,
            Topic::LockTaken { confirmed } => return self.lock_taken(at, confirmed, &told),
            Topic::Lock | Topic::LockKept | Topic::Halted => MomentKind::Lock,
            Topic::StepStarted => MomentKind::StepStarted,
            Topic::RunFailed | Topic::RunRetrying => {
                if told.step().is_some_and(|(list, _)| list == StepList::Main)
                    && told.topic == Topic::RunFailed
                {
                    self.first_failure_at.get_or_insert(at);
                }
                MomentKind::StepFailed
            }
            Topic::RunUnknown => MomentKind::OutcomeUnknown,
            Topic::Attempt => MomentKind::Retry,
            Topic::Decision { rolls_back } => {
                if rolls_back {
                    self.first_rollback_at.get_or_insert(at);
                }
                match told.subject {
                    Some(Subject::Question(
                        Question::Gate { .. } | Question::FinalGate | Question::Redeploy { .. },
                    )) => MomentKind::Gate,
                    _ => MomentKind::Decision,
                }
            }
            Topic::RollbackProposed => {
                self.first_proposal_at.get_or_insert(at);
                if let Some(Subject::Question(Question::RollbackProposal { rule })) = told.subject {
                    let planned = self
                        .release
                        .plan
                        .watch
                        .as_ref()
                        .and_then(|w| w.rollback_on.get(rule));
                    if let Some(planned) = planned {
                        self.proposal_rule.get_or_insert(planned.text.clone());
                    }
                }
                MomentKind::RollbackProposed
            }
            Topic::AutoRollback => MomentKind::AutoRollback,
            Topic::WatchStarted | Topic::Overtime => MomentKind::WatchStarted,
            Topic::WatchEnded => MomentKind::WatchEnded,
            Topic::Batch => MomentKind::Batch,
            Topic::Ships => MomentKind::Ships,
            Topic::RollingBack => MomentKind::RollingBack,
            Topic::Health | Topic::Baseline => MomentKind::Health,
            Topic::Shell => MomentKind::Shell,
            Topic::Follower | Topic::Vote => MomentKind::Follower,
            // The time the webhook gave up is the event's, not the loop's.
            Topic::Notify => return self.note(event.at, MomentKind::Notify, told.text),
            Topic::Outcome(crate::engine::Outcome::Refused) => MomentKind::Refused,
            Topic::Outcome(_) => MomentKind::Ended,
            Topic::Resumed
            | Topic::RunPassed
            | Topic::RunStopping
            | Topic::RunStopped
            | Topic::Logs => return,
        };
        let mut text = told.text;
        if !told.detail.is_empty() && kind != MomentKind::RollingBack {
            text.push_str(&format!(" ({})", told.detail.join("; ")));
        }
        self.note(at, kind, text);
    }

    /// Locks taken one after another make one moment; a resume's are confirmed, not taken.
    fn lock_taken(&mut self, at: crate::engine::Millis, confirmed: bool, told: &Told) {
        let said = if confirmed {
            "locks confirmed on "
        } else {
            "locks taken on "
        };
        let Some(Subject::Target(target)) = &told.subject else {
            return;
        };
        let target = crate::text::printable(target);
        if let Some(last) = self.moments.last_mut()
            && last.kind == MomentKind::Lock
            && last.text.starts_with(said)
        {
            last.text.push_str(&format!(", {target}"));
            return;
        }
        self.note(at, MomentKind::Lock, format!("{said}{target}"));
    }

    /// When the watch began and ended, the outcome became known, the release finished.
    pub(super) fn stages(&mut self, before: &Seen, after: &Seen) {
        let at = self.now();
        let watching = |s: &Stage| matches!(s, Stage::Watching { .. });
        if watching(&after.stage) && !watching(&before.stage) {
            self.watch_from = Some(at);
        }
        if watching(&before.stage) && !watching(&after.stage) {
            self.watch_to = Some(at);
        }
        if after.outcome.is_some() && before.outcome.is_none() {
            self.outcome_at = Some(at);
        }
        if after.stage == Stage::Finished && before.stage != Stage::Finished {
            self.finished_at = Some(at);
        }
    }
}
