//! A journal's records folded in order: the release its events make (through the engine's one
//! `Fold`), the operator's view as its view records say, and where the fold stands. Replay's
//! player (and its keyframes), export and follow all read a journal through it.

use crate::engine::{Effect, Fold, Millis, Release};
use crate::journal::{Entry, Line};

use crate::journal::RecordedView;

#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub fold: Fold,
    pub view: RecordedView,
    /// The last record applied (its `seq`; 0 before the first).
    pub seq: u64,
    /// The last event applied: its `t` (microseconds since the start) and its engine time.
    pub last_at: Option<(u64, Millis)>,
}

impl Recorded {
    /// The records of `lines`, folded from the beginning.
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a Line>) -> Self {
        let mut recorded = Recorded::default();
        for line in lines {
            recorded.line(line);
        }
        recorded
    }

    /// One record: an event applied to the release, a view change to the view. An event's
    /// effects come back (for drivers off; nothing here runs them).
    pub fn line(&mut self, line: &Line) -> Vec<Effect> {
        self.seq = line.seq;
        match &line.entry {
            Entry::Event(event) => {
                self.last_at = Some((line.t, event.at));
                self.fold.apply(event)
            }
            Entry::View(change) => {
                self.view.apply(change);
                Vec::new()
            }
        }
    }

    pub fn release(&self) -> &Release {
        &self.fold
    }
}
