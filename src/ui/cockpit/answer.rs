//! Answering the open question from the cockpit: who answers, at the loop's time, asked of
//! the engine (`Release::may_answer`); arming, confirming, hiding the question.

use ratatui::backend::Backend;

use super::Cockpit;
use crate::engine::{Answerer, Decision, EventKind, Millis, Question, Refusal, Release};
use crate::ui::keymap::{Action, Choice};

impl<B: Backend> Cockpit<B> {
    /// The loop's time now: the next keys are pressed at it (the run loop tells it with every
    /// input; a test tells it itself).
    pub fn set_now(&mut self, now: Millis) {
        self.now = now;
    }

    /// Who answers from this cockpit: the operator, or a follower (who may approve or not; how
    /// they came, the session judges).
    pub(super) fn answerer(&self) -> Answerer<'_> {
        let who = if self.read_only {
            Answerer::follower(&self.operator, self.may_approve, None)
        } else {
            Answerer::operator(&self.operator)
        };
        who.at_keys(self.now)
    }

    /// A follower decides nothing but an approver's GO, as the engine says (a gate of one
    /// approval is the operator's alone: the approver is told, not armed).
    pub(super) fn follower_may(&self, action: Action, release: &Release) -> Result<(), Refusal> {
        let go = matches!(
            action,
            Action::Arm(Choice::Go) | Action::Confirm | Action::EditText
        );
        match go {
            true => release.may_answer(&Decision::Go, &self.answerer()),
            false => Err(Refusal::ReadOnly),
        }
    }

    /// Arming, confirming, the note; Space on a manual item; `a` shows the question again.
    pub(super) fn act_answer(&mut self, action: Action, release: &Release) -> Option<EventKind> {
        let too_soon = release.too_soon(self.now);
        let a = self.ui.answer.as_mut()?;
        match action {
            // Space arms `done` for the manual item that waits and shows its question: Enter
            // there confirms it. One key never ticks an item, hidden question or not.
            Action::TickManual => {
                if let Some(Question::Manual { .. }) = release.question {
                    a.hidden = false;
                    return self.act_answer(Action::Arm(Choice::Done), release);
                }
            }
            Action::ShowQuestion => a.hidden = false,
            Action::Arm(_) if too_soon => a.refusal = Some(Refusal::TooSoon.to_string().into()),
            Action::Arm(choice) if release.answers().contains(&choice) => {
                a.armed = Some(choice);
                a.typed.clear();
                a.refusal = None;
                a.editing = choice.needs_reason();
            }
            Action::EditText => a.editing = !a.editing,
            Action::Confirm => return self.confirm_answer(release),
            _ => {}
        }
        None
    }

    /// Esc in the question: hidden, and the armed answer given up (shown again, it is armed
    /// and confirmed anew); the note stays.
    pub(super) fn hide_question(&mut self) {
        if let Some(a) = self.ui.answer.as_mut() {
            a.hidden = true;
            a.armed = None;
            a.typed.clear();
            a.refusal = None;
        }
    }

    pub(super) fn confirm_answer(&mut self, release: &Release) -> Option<EventKind> {
        let open = self.ui.answer.as_ref()?;
        let asked = open.armed.map(|choice| {
            let decision = choice.decision(open.text(), release);
            release.may_answer(&decision, &self.answerer())
        });
        let a = self.ui.answer.as_mut()?;
        let (Some(choice), Some(asked)) = (a.armed, asked) else {
            a.refusal = Some("Arm an answer with its letter first.".into());
            return None;
        };
        match asked {
            Err(Refusal::AlreadyApproved { .. }) => {
                a.armed = None;
                a.refusal = Some(
                    "Not counted: you already approved this gate; it needs another person.".into(),
                );
                return None;
            }
            // Said below, in the box's own words.
            Ok(()) | Err(Refusal::NeedsReason) => {}
            Err(refusal) => {
                a.refusal = Some(refusal.to_string().into());
                return None;
            }
        }
        if choice == Choice::Go && release.plan.production && a.typed.trim() != "go" {
            a.refusal = Some("Production: type go, then Enter.".into());
            return None;
        }
        if choice == Choice::Rollback {
            // One way to confirm a rollback, from a question as from R: the same confirmation,
            // which names what it cannot undo.
            a.armed = None;
            return self.act(Action::RollbackNow, release);
        }
        let text = a.text();
        let note = (!text.is_empty()).then(|| text.clone());
        if choice.needs_reason() {
            if text.is_empty() {
                a.refusal = Some("This answer needs a reason: type it in the box.".into());
                a.editing = true;
                return None;
            }
            return Some(self.decided(choice.decision(text, release), None));
        }
        let decision = choice.decision(String::new(), release);
        Some(self.decided(decision, note))
    }
}
