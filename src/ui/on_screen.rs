//! What the operator has on screen, as the journal records it (`ui.*`), compared after each
//! key; and a recorded view shown again (a replay, a follower's mirror).

use regex::Regex;

use super::state::{Modal, Pane, Source, UiState};
use crate::journal::{RecordedView, ViewChange};

/// What a replay needs of the screen, compared after each key: each change is journaled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OnScreen {
    focus: (String, String),
    zoomed: bool,
    filter: String,
    back: usize,
    paused_at: u64,
    health_down: usize,
    pub(super) modal: Option<String>,
}

impl OnScreen {
    /// The view changes from `before` to `self`, as the journal records them.
    pub fn changes_since(&self, before: &OnScreen) -> Vec<ViewChange> {
        let mut out = Vec::new();
        if self.focus != before.focus || self.zoomed != before.zoomed {
            out.push(ViewChange::Focus {
                pane: self.focus.0.clone(),
                shows: self.focus.1.clone(),
                zoomed: self.zoomed,
            });
        }
        if self.filter != before.filter {
            out.push(ViewChange::Filter {
                text: self.filter.clone(),
            });
        }
        if self.back != before.back
            || self.paused_at != before.paused_at
            || self.focus.1 != before.focus.1
        {
            out.push(ViewChange::Scroll {
                pane: self.focus.1.clone(),
                back: self.back,
                paused_at: self.paused_at,
            });
        }
        if self.health_down != before.health_down {
            out.push(ViewChange::Scroll {
                pane: "health".into(),
                back: self.health_down,
                paused_at: 0,
            });
        }
        if self.modal != before.modal {
            out.push(ViewChange::Modal {
                modal: self.modal.clone(),
            });
        }
        out
    }
}

impl UiState {
    /// Focus, what the right side shows, filter, scroll and the modal on screen.
    pub fn on_screen(&self) -> OnScreen {
        let pane = self.focus.name();
        let shows = match self.source {
            Source::Steps => "output",
            Source::Logs => "logs",
            Source::Summary => "summary",
        };
        let modal = match self.modal {
            Modal::Help { .. } => Some("help"),
            Modal::Confirm(_) | Modal::EndWatch(_) => Some("confirm"),
            _ if self.question_shown() => Some("question"),
            Modal::Filter(_) => Some("filter"),
            Modal::Picker(_) => Some("targets"),
            Modal::None => None,
        };
        OnScreen {
            focus: (pane.into(), shows.into()),
            zoomed: self.zoomed,
            health_down: self.health_down,
            filter: self
                .filter
                .as_ref()
                .map_or(String::new(), |r| r.as_str().to_string()),
            back: if self.follow { 0 } else { self.scroll },
            paused_at: if self.follow { 0 } else { self.paused_at },
            modal: modal.map(str::to_string),
        }
    }

    /// Shows what a journal says the operator had on screen (a replay).
    pub fn show_recorded(&mut self, view: &RecordedView) {
        if let Some((pane, shows)) = &view.focus {
            self.focus = match pane.as_str() {
                "checklist" => Pane::Checklist,
                "health" => Pane::Health,
                _ => Pane::Output,
            };
            self.source = match shows.as_str() {
                "logs" => Source::Logs,
                "summary" => Source::Summary,
                _ => Source::Steps,
            };
        }
        self.filter = (!view.filter.is_empty())
            .then(|| Regex::new(&view.filter).ok())
            .flatten();
        self.zoomed = view.zoomed;
        self.follow = view.back == 0;
        self.scroll = view.back;
        self.paused_at = view.paused_at;
        self.health_down = view.health_down;
        let help = view.modal.as_deref() == Some("help");
        match &self.modal {
            Modal::Help { over, .. } if !help => {
                self.modal = over.map_or(Modal::None, Modal::Confirm)
            }
            Modal::Help { .. } => {}
            _ if help => self.modal = Modal::help(&self.modal),
            _ => {}
        }
    }
}
