//! What the operator had on screen, rebuilt from the journal's view records (`ui.*`): a replay
//! and a follower's mirror show it.

use super::ViewChange;

/// What the operator had on screen, as the view records say.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordedView {
    /// `checklist`, `output` or `health`, and what the right side shows: `output`, `logs`,
    /// `summary`.
    pub focus: Option<(String, String)>,
    /// The focused pane had the whole screen (`z`).
    pub zoomed: bool,
    pub filter: String,
    /// Rows back from the end (0: following), and the lines seen when it stopped following.
    pub back: usize,
    pub paused_at: u64,
    /// The health pane's rows scrolled past at its top.
    pub health_down: usize,
    pub modal: Option<String>,
}

impl RecordedView {
    pub fn apply(&mut self, change: &ViewChange) {
        match change {
            ViewChange::Focus {
                pane,
                shows,
                zoomed,
            } => {
                self.focus = Some((pane.clone(), shows.clone()));
                self.zoomed = *zoomed;
            }
            ViewChange::Filter { text } => self.filter = text.clone(),
            ViewChange::Scroll { pane, back, .. } if pane == "health" => self.health_down = *back,
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
