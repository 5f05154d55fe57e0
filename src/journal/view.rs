//! What the operator had on screen, rebuilt from the journal's view records (`ui.*`): a replay
//! and a follower's mirror show it.

use super::ViewChange;

/// What the operator had on screen, as the view records say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordedView {
    /// `checklist` or `output`, and what the right side shows: `output`, `logs`, `summary`.
    pub focus: Option<(String, String)>,
    pub filter: String,
    /// Rows back from the end (0: following), and the lines seen when it stopped following.
    pub back: usize,
    pub paused_at: u64,
    pub modal: Option<String>,
}

impl RecordedView {
    pub fn apply(&mut self, change: &ViewChange) {
        match change {
            ViewChange::Focus { pane, shows } => self.focus = Some((pane.clone(), shows.clone())),
            ViewChange::Filter { text } => self.filter = text.clone(),
            ViewChange::Scroll {
                back, paused_at, ..
            } => {
                self.back = *back;
                self.paused_at = *paused_at;
            }
            ViewChange::Modal { modal } => self.modal = modal.clone(),
            ViewChange::Resize { .. } => {}
        }
    }
}
