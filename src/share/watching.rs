//! The follower's front end: the read-only cockpit as the run loop sees it when it plays a
//! followed session (a recorded `Source`, drivers off). Keys scroll, filter and switch panes;
//! `m` mirrors what the operator has on screen; an approver's GO goes back to the session as a
//! vote (the session's engine judges it); `q` leaves.

use std::path::PathBuf;

use ratatui::backend::Backend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;

use super::socket;
use crate::engine::{Decision, Event, EventKind, Millis, Release, VoteRecord};
use crate::journal::RecordedView;
use crate::runtime::{Frontend, Input};
use crate::ui::cockpit::Cockpit;

pub struct Watching<B: Backend> {
    pub cockpit: Cockpit<B>,
    /// Whose session it is, and its journal (named once the session ends).
    pub operator: String,
    pub journal: PathBuf,
    /// Showing the operator's view rather than the follower's own.
    mirror: bool,
    view: RecordedView,
    /// Lines for the session's socket (votes).
    votes: mpsc::UnboundedSender<String>,
    /// The loop's own inputs: leaving is a `Terminate` on them.
    leave: mpsc::Sender<Input>,
}

impl<B: Backend> Watching<B> {
    pub fn new(
        cockpit: Cockpit<B>,
        (operator, journal): (String, PathBuf),
        votes: mpsc::UnboundedSender<String>,
        leave: mpsc::Sender<Input>,
    ) -> Self {
        Watching {
            cockpit,
            operator,
            journal,
            mirror: false,
            view: RecordedView::default(),
            votes,
            leave,
        }
    }

    fn key(&mut self, key: KeyEvent, release: &Release, now: Millis) {
        let ui = &self.cockpit.ui;
        let typing = ui.typing();
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c || (!typing && key.code == KeyCode::Char('q')) {
            let _ = self
                .leave
                .try_send(Input::Terminate("the follower left".into()));
        } else if !typing && key.code == KeyCode::Char('m') {
            self.mirror = !self.mirror;
            self.cockpit.ui.notice = Some(if self.mirror {
                format!("mirroring {}'s view (m: your own)", self.operator)
            } else {
                "your own view (m: mirror the operator's)".to_string()
            });
            if self.mirror {
                self.cockpit.ui.show_recorded(&self.view);
            }
            self.cockpit.refresh(release);
        } else if let Some(EventKind::Decided {
            decision: Decision::Go,
            note,
            ..
        }) = self.cockpit.input(Input::Key(key), release, now)
        {
            if let Some(line) = vote_line(release, note) {
                let _ = self.votes.send(line);
            }
            self.cockpit.ui.notice = Some("GO sent: the session judges it".into());
        }
    }
}

impl<B: Backend> Frontend for Watching<B> {
    fn show(&mut self, event: &Event, release: &Release) {
        // A vote's judgement: the engine's, made as it applied the vote.
        if matches!(event.kind, EventKind::Voted { .. })
            && let Some(vote) = release.votes.last()
        {
            self.cockpit.ui.notice = Some(vote_said(vote));
        }
        self.cockpit.show(event, release);
        if self.mirror {
            self.cockpit.ui.show_recorded(&self.view);
        }
    }

    /// Nothing a follower does becomes an event of the session.
    fn input(&mut self, input: Input, release: &Release, now: Millis) -> Option<EventKind> {
        match input {
            Input::Key(key) if key.kind == KeyEventKind::Press => self.key(key, release, now),
            Input::Key(_) => {}
            Input::Closed => {
                self.cockpit.ui.notice = Some(format!(
                    "the session ended; q leaves (gonogo replay {})",
                    self.journal.display()
                ));
                self.cockpit.refresh(release);
            }
            input => {
                self.cockpit.input(input, release, now);
            }
        }
        None
    }

    fn flush(&mut self, release: &Release, now: Millis) {
        self.cockpit.flush(release, now);
    }

    /// Until the follower leaves.
    fn keep_open(&self) -> bool {
        true
    }

    fn recorded_view(&mut self, view: &RecordedView) {
        self.view = view.clone();
        if self.mirror {
            self.cockpit.ui.show_recorded(&self.view);
        }
    }
}

/// What this follower is told of a vote.
fn vote_said(vote: &VoteRecord) -> String {
    match &vote.refused {
        None => format!("GO from {} counted", vote.name),
        Some(why) => format!("GO from {} refused: {why}", vote.name),
    }
}

/// This follower's GO at the open gate, bound to the digest of what it has on screen.
fn vote_line(release: &Release, note: Option<String>) -> Option<String> {
    let Some(crate::engine::Question::Gate { step }) = release.question else {
        return None;
    };
    let vote = socket::VoteLine {
        vote: socket::VoteAt {
            step,
            digest: release.screen_digest(step),
            note,
        },
    };
    Some(format!(
        "{}\n",
        serde_json::to_string(&vote).expect("plain data")
    ))
}
