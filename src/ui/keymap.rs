//! Keys as data: mode → key → action. The same table answers key presses and writes the help
//! overlay, so the two never disagree.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Which keys apply: modals and overlays take keys before the panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// A question is open in its modal (gate, manual item, failure, rollback confirmation).
    Answer,
    /// A yes / no confirmation (rollback from anywhere, abort).
    Confirm,
    Help,
    /// `gonogo replay`: the player's keys; nothing decides.
    Replay,
}

/// An answer that is armed by its key and confirmed with Enter: the engine's list.
pub use crate::engine::Answer as Choice;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    ToggleExpand,
    TickManual,
    FocusNext,
    /// The focused pane to the whole screen, and back.
    Zoom,
    PageUp,
    PageDown,
    Follow,
    Top,
    SwitchSource,
    Shell,
    Summary,
    Filter,
    CycleTarget,
    Wrap,
    TrackCurrent,
    ShowQuestion,
    RollbackNow,
    EndWatch,
    ExtendWatch,
    SkipBaseline,
    Help,
    Redraw,
    Quit,
    Interrupt,
    Arm(Choice),
    Confirm,
    EditText,
    Close,
    Yes,
    No,
    /// Replay: play or pause (at the end: from the start).
    PlayPause,
    Faster,
    Slower,
    SeekBack,
    SeekForward,
    PreviousMark,
    NextMark,
    ToStart,
    ToEnd,
}

impl Action {
    /// What changes the release or leaves it, not only the view: not for a follower.
    pub fn decides(self) -> bool {
        matches!(
            self,
            Action::TickManual
                | Action::Shell
                | Action::RollbackNow
                | Action::EndWatch
                | Action::ExtendWatch
                | Action::SkipBaseline
                | Action::Quit
                | Action::Interrupt
                | Action::Arm(_)
                | Action::Confirm
                | Action::EditText
                | Action::Yes
                | Action::No
        )
    }
}

pub struct Binding {
    pub mode: Mode,
    pub code: KeyCode,
    pub ctrl: bool,
    pub keys: &'static str,
    pub action: Action,
    pub help: &'static str,
}

const fn bind(
    mode: Mode,
    code: KeyCode,
    keys: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        mode,
        code,
        ctrl: false,
        keys,
        action,
        help,
    }
}

use Action as A;
use KeyCode as K;
use Mode as M;

pub const BINDINGS: &[Binding] = &[
    bind(
        M::Normal,
        K::Up,
        "↑/k",
        A::Up,
        "move up (checklist) / scroll up (output, health)",
    ),
    bind(M::Normal, K::Char('k'), "", A::Up, ""),
    bind(
        M::Normal,
        K::Down,
        "↓/j",
        A::Down,
        "move down / scroll down",
    ),
    bind(M::Normal, K::Char('j'), "", A::Down, ""),
    bind(
        M::Normal,
        K::Enter,
        "Enter",
        A::ToggleExpand,
        "show / hide a step's targets",
    ),
    bind(
        M::Normal,
        K::Char(' '),
        "Space",
        A::TickManual,
        "arm done for the manual item that waits (Enter confirms)",
    ),
    bind(
        M::Normal,
        K::Tab,
        "Tab",
        A::FocusNext,
        "focus the next pane: checklist, output, health",
    ),
    bind(
        M::Normal,
        K::Char('z'),
        "z",
        A::Zoom,
        "zoom the focused pane to the full screen, and back",
    ),
    bind(
        M::Normal,
        K::PageUp,
        "PgUp",
        A::PageUp,
        "scroll the focused pane up (the output pauses follow)",
    ),
    bind(
        M::Normal,
        K::PageDown,
        "PgDn",
        A::PageDown,
        "scroll the focused pane down",
    ),
    bind(
        M::Normal,
        K::End,
        "End",
        A::Follow,
        "follow the output again (health: its last rows)",
    ),
    bind(
        M::Normal,
        K::Home,
        "Home",
        A::Top,
        "oldest output kept (health: the rules, its top)",
    ),
    bind(
        M::Normal,
        K::Char('l'),
        "l",
        A::SwitchSource,
        "switch step output / the log tails' lines",
    ),
    bind(
        M::Normal,
        K::Char('s'),
        "s",
        A::Shell,
        "a shell on a target (the release keeps running; exit to come back)",
    ),
    bind(
        M::Normal,
        K::Char('i'),
        "i",
        A::Summary,
        "the release summary: decisions, retries, skips, hosts (i again: output)",
    ),
    bind(
        M::Normal,
        K::Char('/'),
        "/",
        A::Filter,
        "filter output by regex (Esc clears)",
    ),
    bind(
        M::Normal,
        K::Char('t'),
        "t",
        A::CycleTarget,
        "show one target's lines / all (a list to pick from with 5+ targets)",
    ),
    bind(
        M::Normal,
        K::Char('w'),
        "w",
        A::Wrap,
        "wrap long lines on / off",
    ),
    bind(
        M::Normal,
        K::Char('.'),
        ".",
        A::TrackCurrent,
        "jump to the current step and follow it",
    ),
    bind(
        M::Normal,
        K::Char('a'),
        "a",
        A::ShowQuestion,
        "answer the open question",
    ),
    bind(
        M::Normal,
        K::Char('R'),
        "R",
        A::RollbackNow,
        "roll back now (asks to confirm)",
    ),
    bind(
        M::Normal,
        K::Char('E'),
        "E",
        A::EndWatch,
        "end the watch now: asks why (production: the final gate, go typed)",
    ),
    bind(
        M::Normal,
        K::Char('+'),
        "+",
        A::ExtendWatch,
        "hold the watch window 5 minutes longer",
    ),
    bind(
        M::Normal,
        K::Char('B'),
        "B",
        A::SkipBaseline,
        "start the first change without waiting for the baseline (its rules then cannot judge)",
    ),
    bind(M::Normal, K::Char('?'), "?", A::Help, "this help"),
    Binding {
        mode: M::Normal,
        code: K::Char('l'),
        ctrl: true,
        keys: "Ctrl-L",
        action: A::Redraw,
        help: "draw the screen whole again (in every mode)",
    },
    bind(
        M::Normal,
        K::Char('q'),
        "q",
        A::Quit,
        "quit (asks once a step changed the hosts or runs)",
    ),
    Binding {
        mode: M::Normal,
        code: K::Char('c'),
        ctrl: true,
        keys: "Ctrl-C",
        action: A::Interrupt,
        help: "abort (asks once a step changed the hosts or runs)",
    },
    bind(
        M::Answer,
        K::Char('g'),
        "g",
        A::Arm(Choice::Go),
        "arm GO (gate)",
    ),
    bind(
        M::Answer,
        K::Char('n'),
        "n",
        A::Arm(Choice::NoGo),
        "arm NO-GO: aborts the release (gate)",
    ),
    bind(
        M::Answer,
        K::Char('d'),
        "d",
        A::Arm(Choice::Done),
        "arm done (manual item)",
    ),
    bind(
        M::Answer,
        K::Char('s'),
        "s",
        A::Arm(Choice::Skip),
        "arm skip: type the reason (required)",
    ),
    bind(
        M::Answer,
        K::Char('t'),
        "t",
        A::Arm(Choice::Retry),
        "arm retry the failed targets",
    ),
    bind(
        M::Answer,
        K::Char('r'),
        "r",
        A::Arm(Choice::Rollback),
        "arm rollback",
    ),
    bind(
        M::Answer,
        K::Char('x'),
        "x",
        A::Arm(Choice::Abort),
        "arm abort",
    ),
    bind(
        M::Answer,
        K::Char('y'),
        "y",
        A::Arm(Choice::RollbackAnyway),
        "arm roll back anyway (after irreversible steps)",
    ),
    bind(
        M::Answer,
        K::Char('c'),
        "c",
        A::Arm(Choice::Cancel),
        "arm cancel (back to the question)",
    ),
    bind(
        M::Answer,
        K::Char('k'),
        "k",
        A::Arm(Choice::Keep),
        "arm keep watching (rollback proposal): type the reason (required)",
    ),
    bind(
        M::Answer,
        K::Char('e'),
        "e",
        A::Arm(Choice::Redeploy),
        "arm deploy again (already deployed): type the reason (required)",
    ),
    bind(
        M::Answer,
        K::Enter,
        "Enter",
        A::Confirm,
        "confirm the armed answer",
    ),
    bind(
        M::Answer,
        K::Tab,
        "Tab",
        A::EditText,
        "write a note (or the skip reason); Tab again leaves it",
    ),
    bind(
        M::Answer,
        K::Esc,
        "Esc",
        A::Close,
        "hide the question, unarmed (a shows it again)",
    ),
    Binding {
        mode: M::Answer,
        code: K::Char('c'),
        ctrl: true,
        keys: "Ctrl-C",
        action: A::Interrupt,
        help: "abort (asks first)",
    },
    bind(
        M::Answer,
        K::Char('R'),
        "R",
        A::RollbackNow,
        "roll back now, from any question (asks to confirm)",
    ),
    bind(M::Answer, K::Char('?'), "?", A::Help, "this help"),
    bind(
        M::Answer,
        K::Down,
        "↑↓",
        A::Down,
        "scroll what ships at the first gate (PgUp PgDn: a page)",
    ),
    bind(M::Answer, K::Up, "", A::Up, ""),
    bind(M::Answer, K::PageDown, "", A::PageDown, ""),
    bind(M::Answer, K::PageUp, "", A::PageUp, ""),
    bind(
        M::Answer,
        K::Char('q'),
        "q",
        A::Quit,
        "quit (asks once a step changed the hosts or runs)",
    ),
    bind(M::Confirm, K::Char('y'), "y", A::Yes, "yes"),
    bind(
        M::Confirm,
        K::Char('r'),
        "r",
        A::RollbackNow,
        "roll back instead (asks first)",
    ),
    bind(M::Confirm, K::Char('n'), "n/Esc", A::No, "no"),
    bind(M::Confirm, K::Esc, "", A::No, ""),
    bind(M::Confirm, K::Char('?'), "?", A::Help, "this help"),
    bind(M::Help, K::Esc, "Esc/?/q", A::Close, "close the help"),
    bind(M::Help, K::Down, "↑↓/j k", A::Down, "scroll the help"),
    bind(M::Help, K::Up, "", A::Up, ""),
    bind(M::Help, K::Char('j'), "", A::Down, ""),
    bind(M::Help, K::Char('k'), "", A::Up, ""),
    bind(M::Help, K::Char('?'), "", A::Close, ""),
    bind(M::Help, K::Char('q'), "", A::Close, ""),
    bind(
        M::Replay,
        K::Char(' '),
        "Space",
        A::PlayPause,
        "play / pause (at the end: from the start)",
    ),
    bind(
        M::Replay,
        K::Char('+'),
        "+ -",
        A::Faster,
        "faster / slower (¼× to 64×)",
    ),
    bind(M::Replay, K::Char('='), "", A::Faster, ""),
    bind(M::Replay, K::Char('-'), "", A::Slower, ""),
    bind(
        M::Replay,
        K::Left,
        "← →",
        A::SeekBack,
        "10 seconds back / on",
    ),
    bind(M::Replay, K::Right, "", A::SeekForward, ""),
    bind(
        M::Replay,
        K::Char('['),
        "[ ]",
        A::PreviousMark,
        "the previous / next gate, failure, proposal, rollback or resume",
    ),
    bind(M::Replay, K::Char(']'), "", A::NextMark, ""),
    bind(
        M::Replay,
        K::Char('g'),
        "g G",
        A::ToStart,
        "the start / the end",
    ),
    bind(M::Replay, K::Home, "", A::ToStart, ""),
    bind(M::Replay, K::Char('G'), "", A::ToEnd, ""),
    bind(M::Replay, K::End, "", A::ToEnd, ""),
    bind(
        M::Replay,
        K::Char('z'),
        "z",
        A::Zoom,
        "zoom the operator's focused pane to the whole screen, and back",
    ),
    bind(M::Replay, K::Char('?'), "?", A::Help, "this help"),
    bind(M::Replay, K::Char('q'), "q", A::Quit, "leave the replay"),
    Binding {
        mode: M::Replay,
        code: K::Char('c'),
        ctrl: true,
        keys: "Ctrl-C",
        action: A::Quit,
        help: "leave the replay",
    },
    Binding {
        mode: M::Replay,
        code: K::Char('l'),
        ctrl: true,
        keys: "Ctrl-L",
        action: A::Redraw,
        help: "draw the screen whole again",
    },
];

pub fn resolve(mode: Mode, key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    BINDINGS
        .iter()
        .find(|b| b.mode == mode && b.code == key.code && b.ctrl == ctrl)
        .map(|b| b.action)
}

/// The help lines of a mode: keys and what they do, in table order.
pub fn help(mode: Mode) -> impl Iterator<Item = (&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(move |b| b.mode == mode && !b.help.is_empty())
        .map(|b| (b.keys, b.help))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventKind;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: ratatui::crossterm::event::KeyEventState::NONE,
        }
    }

    #[test]
    fn keys_resolve_by_mode() {
        assert_eq!(
            resolve(Mode::Normal, &key(K::Char('R'), KeyModifiers::SHIFT)),
            Some(A::RollbackNow)
        );
        assert_eq!(
            resolve(Mode::Answer, &key(K::Char('g'), KeyModifiers::NONE)),
            Some(A::Arm(Choice::Go))
        );
        assert_eq!(
            resolve(Mode::Normal, &key(K::Char('g'), KeyModifiers::NONE)),
            None,
            "no gate key outside its modal"
        );
        assert_eq!(
            resolve(Mode::Normal, &key(K::Char('c'), KeyModifiers::CONTROL)),
            Some(A::Interrupt)
        );
    }

    #[test]
    fn every_mode_has_help_and_no_key_is_bound_twice() {
        for mode in [Mode::Normal, Mode::Answer, Mode::Confirm, Mode::Help] {
            assert!(help(mode).count() > 0);
        }
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                assert!(
                    !(a.mode == b.mode && a.code == b.code && a.ctrl == b.ctrl),
                    "{:?} {:?} twice",
                    a.mode,
                    a.code
                );
            }
        }
    }
}
