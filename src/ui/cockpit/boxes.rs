//! Keys typed into a box, read before the keymap: the filter's regex, the target picker, the
//! reason to end the watch, the note and the production `go` of an answer.

use ratatui::backend::Backend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::Cockpit;
use crate::engine::{Decision, EventKind, Release};
use crate::ui::keymap::Choice;
use crate::ui::picker::Picked;
use crate::ui::state::Modal;

impl<B: Backend> Cockpit<B> {
    /// `/`: Enter applies the regex (an empty one clears it), Esc clears the filter.
    pub(super) fn filter_key(&mut self, key: KeyEvent) {
        let ui = &mut self.ui;
        let Modal::Filter(filter) = &mut ui.modal else {
            return;
        };
        match key.code {
            KeyCode::Esc => {
                ui.modal = Modal::None;
                ui.filter = None;
            }
            KeyCode::Enter => {
                let text = filter.input.lines().join("");
                if text.is_empty() {
                    ui.filter = None;
                    ui.modal = Modal::None;
                } else {
                    match regex::Regex::new(&text) {
                        Ok(r) => {
                            ui.filter = Some(r);
                            ui.modal = Modal::None;
                        }
                        Err(_) => filter.error = Some("not a valid regex".into()),
                    }
                }
            }
            _ => {
                filter.input.input(key);
            }
        }
    }

    /// The picker: a target's lines shown, or a shell opened on it.
    pub(super) fn picker_key(&mut self, key: KeyEvent, release: &Release) -> Option<EventKind> {
        let Modal::Picker(picker) = &mut self.ui.modal else {
            return None;
        };
        let for_shell = picker.for_shell;
        match picker.key(key, release) {
            Picked::Still => None,
            Picked::Cancelled => {
                self.ui.modal = Modal::None;
                None
            }
            Picked::Chosen(target) => {
                self.ui.modal = Modal::None;
                match target {
                    Some(target) if for_shell => self.open_shell(target),
                    target => {
                        self.ui.target = target;
                        None
                    }
                }
            }
        }
    }

    /// Ending the watch early takes a reason: typed in the confirmation, Enter ends the watch.
    pub(super) fn end_watch_key(&mut self, key: KeyEvent) -> Option<EventKind> {
        let Modal::EndWatch(reason) = &mut self.ui.modal else {
            return None;
        };
        match key.code {
            KeyCode::Esc => self.ui.modal = Modal::None,
            KeyCode::Enter => {
                let note = reason.note.lines().join(" ").trim().to_string();
                if note.is_empty() {
                    reason.refusal = Some("Ending the watch early needs a reason: type it first.");
                    return None;
                }
                self.ui.modal = Modal::None;
                return Some(self.decided(Decision::EndWatch, Some(note)));
            }
            _ => {
                reason.refusal = None;
                reason.note.input(key);
            }
        }
        None
    }

    /// The question's note while it is edited, and `go` typed out at a production gate: true
    /// when the key was typed, not a command.
    pub(super) fn answer_text_key(&mut self, key: KeyEvent, release: &Release) -> bool {
        let Some(a) = self.ui.answer.as_mut() else {
            return false;
        };
        if a.editing && !matches!(key.code, KeyCode::Tab | KeyCode::Esc | KeyCode::Enter) {
            a.note.input(key);
            return true;
        }
        if a.editing && key.code == KeyCode::Esc {
            a.editing = false;
            return true;
        }
        // In production, GO is confirmed by typing `go`.
        if a.armed == Some(Choice::Go) && release.plan.production && !a.editing {
            match key.code {
                KeyCode::Char(c) => a.typed.push(c),
                KeyCode::Backspace => {
                    a.typed.pop();
                }
                KeyCode::Esc => {
                    a.armed = None;
                    a.typed.clear();
                }
                _ => return false,
            }
            return true;
        }
        false
    }
}
