//! The one fold: a release made from its events. The run loop applies every event through a
//! `Fold`, and so do a resume's rebuild, the report, replay, follow and export, so a journal
//! means one thing wherever it is read. A `Fold` reads as the `Release` it holds (`Deref`), and
//! nothing but an event changes it.

use std::ops::Deref;

use super::event::{Effect, Event};
use super::release::Release;

/// A `Release` changed only by the events applied to it, in order.
#[derive(Debug, Clone, Default)]
pub struct Fold {
    release: Release,
}

impl Fold {
    /// Goes on from `release` as it stands (a keyframe, a resumed session's state).
    pub fn from_release(release: Release) -> Self {
        Fold { release }
    }

    /// The release `events` make, from the beginning.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut fold = Fold::default();
        for event in events {
            fold.apply(event);
        }
        fold
    }

    /// Applies one event; what the drivers must do next comes back.
    pub fn apply(&mut self, event: &Event) -> Vec<Effect> {
        self.release.apply(event)
    }

    pub fn release(&self) -> &Release {
        &self.release
    }

    pub fn into_release(self) -> Release {
        self.release
    }
}

impl Deref for Fold {
    type Target = Release;

    fn deref(&self) -> &Release {
        &self.release
    }
}

impl From<Release> for Fold {
    fn from(release: Release) -> Self {
        Fold::from_release(release)
    }
}
