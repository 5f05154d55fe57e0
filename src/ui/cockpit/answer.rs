//! Answering the open question from the cockpit: who answers, at the loop's time, asked of
//! the engine (`Release::may_answer`); ending the watch early with a reason.

use ratatui::backend::Backend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::Cockpit;
use crate::engine::{Answerer, Decision, EventKind, Millis, Refusal, Release};
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

    /// Ending the watch early takes a reason: typed in the confirmation, Enter ends the watch.
    pub(super) fn end_watch_key(&mut self, key: KeyEvent) -> Option<EventKind> {
        let ui = &mut self.ui;
        match key.code {
            KeyCode::Esc => {
                ui.confirm = None;
                ui.end_refusal = None;
            }
            KeyCode::Enter => {
                let note = ui.end_note.lines().join(" ").trim().to_string();
                if note.is_empty() {
                    ui.end_refusal = Some("Ending the watch early needs a reason: type it first.");
                    return None;
                }
                ui.confirm = None;
                ui.end_refusal = None;
                ui.end_note = TextArea::default();
                return Some(self.decided(Decision::EndWatch, Some(note)));
            }
            _ => {
                ui.end_refusal = None;
                ui.end_note.input(key);
            }
        }
        None
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
        if matches!(choice, Choice::Skip | Choice::Keep) {
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
