//! The cockpit as a `Frontend` of the run loop: keys become actions, actions that are
//! decisions become events; it redraws at most ~30 times a second.

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::host_shell::HostShells;
use super::keymap::{self, Action, Mode};
use super::state::{Modal, OnScreen, Source, UiState};
use super::theme::Theme;
use crate::engine::{Actor, Decision, EventKind, Millis, Release};

mod act;
mod answer;
mod boxes;
mod frontend;

const FRAME: Duration = Duration::from_millis(33);
/// Presenting (`--present`): a screen share shows a calm screen, redrawn at most 5 times a
/// second unless a key was pressed.
const PRESENT_FRAME: Duration = Duration::from_millis(200);

pub struct Cockpit<B: Backend> {
    terminal: Terminal<B>,
    pub ui: UiState,
    theme: Theme,
    operator: String,
    dirty: bool,
    /// A key was pressed: draw now, whatever the frame budget says.
    urgent: bool,
    last_draw: Option<Instant>,
    /// The operator asked to leave: close once the release has ended.
    quitting: bool,
    /// How to open a shell on a target (none in tests and replays).
    shells: Option<HostShells>,
    /// A shell has the terminal: nothing is drawn until it ends.
    stepped_aside: bool,
    /// The view as last journaled, and a new terminal size not yet journaled.
    journaled: OnScreen,
    resized: Option<(u16, u16)>,
    /// `gonogo follow`: everything but answering, rolling back or opening a shell.
    read_only: bool,
    /// `gonogo follow --approver`: GO at a gate that needs more than one person.
    may_approve: bool,
    /// The loop's time, as it last told it (with an input or a flush): keys are judged at it.
    now: Millis,
}

impl<B: Backend> Cockpit<B> {
    /// The terminal's backend: what is on screen (a test reads a `TestBackend` from it).
    pub fn backend(&self) -> &B {
        self.terminal.backend()
    }

    pub fn new(terminal: Terminal<B>, operator: &str, theme: Theme) -> Self {
        Cockpit {
            terminal,
            ui: UiState::default(),
            theme,
            operator: operator.to_string(),
            dirty: true,
            urgent: false,
            last_draw: None,
            quitting: false,
            shells: None,
            stepped_aside: false,
            journaled: OnScreen::default(),
            resized: None,
            read_only: false,
            may_approve: false,
            now: 0,
        }
    }

    /// A follower's cockpit: it looks, scrolls and filters; only the operator decides.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self.ui.seat = crate::ui::state::Seat::ReadOnly;
        self
    }

    /// A follower who may approve: GO at an open gate comes back from `input` as a decision
    /// (the follower sends it as a vote); nothing else does.
    pub fn approver(mut self) -> Self {
        self.may_approve = true;
        self.ui.seat = crate::ui::state::Seat::Approver;
        self
    }

    /// Lets `s` open shells on the targets.
    pub fn with_shells(mut self, shells: HostShells) -> Self {
        self.shells = Some(shells);
        self
    }

    /// Hands the terminal to a shell on `target`; the release goes on underneath.
    fn open_shell(&mut self, target: String) -> Option<EventKind> {
        let Some(shells) = self.shells.as_ref().filter(|s| s.reaches(&target)) else {
            self.ui.notice = Some(format!("no shell to open on {target} from here"));
            return None;
        };
        shells.open(&target);
        self.stepped_aside = true;
        Some(EventKind::ShellOpened {
            by: self.operator.clone(),
            target,
        })
    }

    pub fn draw(&mut self, release: &Release, now: u64) {
        #[cfg(debug_assertions)]
        if std::env::var_os("GONOGO_TEST_PANIC").is_some() {
            panic!("injected panic (GONOGO_TEST_PANIC) to test terminal restore");
        }
        let (ui, theme) = (&self.ui, &self.theme);
        let _ = self
            .terminal
            .draw(|frame| super::draw(frame, release, ui, theme, now));
        self.last_draw = Some(Instant::now());
        self.dirty = false;
        self.urgent = false;
    }

    fn decided(&self, decision: Decision, note: Option<String>) -> EventKind {
        EventKind::Decided {
            by: self.operator.clone(),
            decision,
            note,
            actor: Actor::Person,
        }
    }

    fn page(&self) -> usize {
        self.terminal
            .size()
            .map_or(10, |s| (s.height as usize).saturating_sub(8).max(1))
    }

    /// One key: text boxes first, then the keymap of the current mode.
    pub fn key(&mut self, key: KeyEvent, release: &Release) -> Option<EventKind> {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        self.dirty = true;
        self.urgent = true;
        // Ctrl-L, in every mode and text box: the screen drawn whole again.
        if key.code == KeyCode::Char('l') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return self.act(Action::Redraw, release);
        }
        match self.ui.modal {
            Modal::Filter(_) => {
                self.filter_key(key);
                return None;
            }
            Modal::Picker(_) => return self.picker_key(key, release),
            Modal::EndWatch(_) => return self.end_watch_key(key),
            Modal::None | Modal::Confirm(_) | Modal::Help { .. } => {}
        }
        let mode = self.ui.mode();
        if mode == Mode::Answer && self.answer_text_key(key, release) {
            return None;
        }
        let action = keymap::resolve(mode, &key)?;
        if self.read_only
            && action.decides()
            && let Err(refusal) = self.follower_may(action, release)
        {
            self.ui.notice = Some(refusal.to_string());
            return None;
        }
        self.act(action, release)
    }
}

impl<B: Backend> Cockpit<B> {
    /// The release changed: the open question's modal, the cursor, the end screen follow it.
    pub fn refresh(&mut self, release: &Release) {
        self.ui.sync_question(release);
        self.ui.sync_cursor(release);
        // The end screen opens on the summary, once: after that, `i` goes back and forth.
        if release.is_finished() && !self.ui.ended_shown {
            self.ui.ended_shown = true;
            self.ui.source = Source::Summary;
        }
        self.dirty = true;
    }
}
