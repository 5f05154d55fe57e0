//! The cockpit as the run loop sees it: events shown, inputs turned into decisions, a redraw
//! per batch at most every frame, the view changes for the journal.

use std::time::Duration;

use ratatui::backend::Backend;

use super::{Cockpit, FRAME, PRESENT_FRAME};
use crate::engine::{Event, EventKind, Millis, Release};
use crate::journal::ViewChange;
use crate::runtime::{Frontend, Input};
use crate::ui::keymap::Action;

impl<B: Backend> Frontend for Cockpit<B> {
    fn show(&mut self, _event: &Event, release: &Release) {
        self.refresh(release);
    }

    fn input(&mut self, input: Input, release: &Release, now: Millis) -> Option<EventKind> {
        self.now = self.now.max(now);
        match input {
            Input::Key(key) => self.key(key, release),
            Input::Asked => {
                self.ui.sync_question(release);
                self.dirty = true;
                None
            }
            Input::Resize => {
                self.dirty = true;
                let _ = self.terminal.autoresize();
                self.resized = self.terminal.size().ok().map(|s| (s.width, s.height));
                None
            }
            Input::Tick => {
                // The clock and countdowns move once a second.
                if self
                    .last_draw
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
                {
                    self.dirty = true;
                }
                None
            }
            Input::Interrupt => self.act(Action::Interrupt, release),
            Input::ShellEnded { target, how } => {
                // Back from the shell: the screen is the cockpit's again, redrawn whole.
                self.stepped_aside = false;
                crate::ui::screen::redraw_whole(&mut self.terminal);
                self.dirty = true;
                self.urgent = true;
                Some(EventKind::ShellClosed { target, how })
            }
            Input::Line(_) | Input::Closed | Input::Terminate(_) | Input::Vote(_) => None,
        }
    }

    fn flush(&mut self, release: &Release, now: Millis) {
        self.now = self.now.max(now);
        if self.stepped_aside {
            return;
        }
        let frame = if self.ui.present.is_some() {
            PRESENT_FRAME
        } else {
            FRAME
        };
        if self.dirty && (self.urgent || self.last_draw.is_none_or(|t| t.elapsed() >= frame)) {
            self.draw(release, now);
        }
    }

    fn keep_open(&self) -> bool {
        !self.quitting
    }

    fn view_changes(&mut self) -> Vec<ViewChange> {
        let now = self.ui.on_screen();
        let mut changes = now.changes_since(&self.journaled);
        self.journaled = now;
        if let Some((cols, rows)) = self.resized.take() {
            changes.push(ViewChange::Resize { cols, rows });
        }
        changes
    }
}
