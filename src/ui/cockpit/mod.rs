//! The cockpit as a `Frontend` of the run loop: keys become actions, actions that are
//! decisions become events; it redraws at most ~30 times a second.

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui_textarea::TextArea;

use super::host_shell::HostShells;
use super::keymap::{self, Action, Choice, Mode};
use super::picker::{PICK_FROM, Picked, Picker};
use super::state::{Confirm, OnScreen, Pane, Source, UiState};
use super::theme::Theme;
use crate::engine::{
    Actor, Decision, EventKind, Millis, Question, Refusal, Release, Stage, StepList,
};

mod answer;
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
        self
    }

    /// A follower who may approve: GO at an open gate comes back from `input` as a decision
    /// (the follower sends it as a vote); nothing else does.
    pub fn approver(mut self) -> Self {
        self.may_approve = true;
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
        if let Some(input) = self.ui.filter_input.as_mut() {
            match key.code {
                KeyCode::Esc => {
                    self.ui.filter_input = None;
                    self.ui.filter = None;
                    self.ui.filter_error = None;
                }
                KeyCode::Enter => {
                    let text = input.lines().join("");
                    if text.is_empty() {
                        self.ui.filter = None;
                        self.ui.filter_input = None;
                    } else {
                        match regex::Regex::new(&text) {
                            Ok(r) => {
                                self.ui.filter = Some(r);
                                self.ui.filter_input = None;
                                self.ui.filter_error = None;
                            }
                            Err(_) => self.ui.filter_error = Some("not a valid regex".into()),
                        }
                    }
                }
                _ => {
                    input.input(key);
                }
            }
            return None;
        }
        if let Some(picker) = self.ui.picker.as_mut() {
            match picker.key(key, release) {
                Picked::Still => {}
                Picked::Cancelled => self.ui.picker = None,
                Picked::Chosen(target) => {
                    let for_shell = picker.for_shell;
                    self.ui.picker = None;
                    match target {
                        Some(target) if for_shell => return self.open_shell(target),
                        target => self.ui.target = target,
                    }
                }
            }
            return None;
        }
        let mode = self.ui.mode();
        if mode == Mode::Confirm && self.ui.confirm == Some(Confirm::EndWatch) {
            return self.end_watch_key(key);
        }
        if mode == Mode::Answer
            && let Some(a) = self.ui.answer.as_mut()
        {
            if a.editing && !matches!(key.code, KeyCode::Tab | KeyCode::Esc | KeyCode::Enter) {
                a.note.input(key);
                return None;
            }
            if a.editing && key.code == KeyCode::Esc {
                a.editing = false;
                return None;
            }
            // In production, GO is confirmed by typing `go`.
            if a.armed == Some(Choice::Go) && release.plan.production && !a.editing {
                match key.code {
                    KeyCode::Char(c) => {
                        a.typed.push(c);
                        return None;
                    }
                    KeyCode::Backspace => {
                        a.typed.pop();
                        return None;
                    }
                    KeyCode::Esc => {
                        a.armed = None;
                        a.typed.clear();
                        return None;
                    }
                    _ => {}
                }
            }
        }
        let action = keymap::resolve(mode, &key)?;
        // A follower decides nothing but an approver's GO, as the engine says (a gate of one
        // approval is the operator's alone: the approver is told, not armed).
        if self.read_only && action.decides() {
            let go = matches!(
                action,
                Action::Arm(Choice::Go) | Action::Confirm | Action::EditText
            );
            let asked = match go {
                true => release.may_answer(&Decision::Go, &self.answerer()),
                false => Err(Refusal::ReadOnly),
            };
            if let Err(refusal) = asked {
                self.ui.notice = Some(refusal.to_string());
                return None;
            }
        }
        self.act(action, release)
    }

    fn act(&mut self, action: Action, release: &Release) -> Option<EventKind> {
        let page = self.page();
        let ui = &mut self.ui;
        match action {
            Action::Up | Action::Down if ui.help => {
                ui.help_scroll = if action == Action::Down {
                    ui.help_scroll.saturating_add(1)
                } else {
                    ui.help_scroll.saturating_sub(1)
                };
            }
            Action::Up | Action::Down => {
                let down = action == Action::Down;
                match ui.focus {
                    Pane::Checklist => {
                        ui.track_current = false;
                        let last = UiState::rows(release).saturating_sub(1);
                        ui.cursor = if down {
                            (ui.cursor + 1).min(last)
                        } else {
                            ui.cursor.saturating_sub(1)
                        };
                    }
                    Pane::Output => {
                        if down {
                            ui.scroll = ui.scroll.saturating_sub(1);
                            if ui.scroll == 0 {
                                ui.resume_follow();
                            }
                        } else {
                            ui.pause_follow(release);
                            ui.scroll += 1;
                        }
                    }
                }
            }
            Action::ToggleExpand => {
                if let Some(step) = ui.cursor_step(release)
                    && !ui.expanded.remove(&step)
                {
                    ui.expanded.insert(step);
                }
            }
            Action::TickManual => {
                // Space arms `done` for the manual item that waits and shows its question:
                // Enter there confirms it. One key never ticks an item, hidden question or not.
                if let Some(Question::Manual { .. }) = release.question
                    && let Some(a) = ui.answer.as_mut()
                {
                    a.hidden = false;
                    return self.act(Action::Arm(Choice::Done), release);
                }
            }
            Action::FocusNext => {
                ui.focus = match ui.focus {
                    Pane::Checklist => Pane::Output,
                    Pane::Output => Pane::Checklist,
                }
            }
            Action::PageUp => {
                ui.pause_follow(release);
                ui.scroll += page;
            }
            Action::PageDown => {
                ui.scroll = ui.scroll.saturating_sub(page);
                if ui.scroll == 0 {
                    ui.resume_follow();
                }
            }
            Action::Follow => ui.resume_follow(),
            Action::Top => {
                ui.pause_follow(release);
                ui.scroll = ui.kept(release).saturating_sub(page);
            }
            Action::SwitchSource => {
                ui.source = match ui.source {
                    Source::Steps => Source::Logs,
                    Source::Logs | Source::Summary => Source::Steps,
                }
            }
            Action::Summary => {
                ui.source = match ui.source {
                    Source::Summary => Source::Steps,
                    _ => Source::Summary,
                }
            }
            Action::Filter => {
                let mut input = TextArea::default();
                if let Some(f) = &ui.filter {
                    input.insert_str(f.as_str());
                }
                ui.filter_input = Some(input);
            }
            Action::CycleTarget if release.plan.targets.len() >= PICK_FROM => {
                ui.picker = Some(Picker::default());
            }
            Action::CycleTarget => {
                let names: Vec<&String> = release.plan.targets.iter().map(|t| &t.name).collect();
                let next = match &ui.target {
                    None => names.first().map(|n| (*n).clone()),
                    Some(t) => names
                        .iter()
                        .position(|n| *n == t)
                        .and_then(|i| names.get(i + 1))
                        .map(|n| (*n).clone()),
                };
                ui.target = next;
            }
            Action::Wrap => ui.wrap = !ui.wrap,
            Action::Shell => {
                let only = match release.plan.targets.as_slice() {
                    [one] => Some(one.name.clone()),
                    _ => None,
                };
                match ui.target.clone().or(only) {
                    Some(target) => return self.open_shell(target),
                    None => {
                        ui.picker = Some(Picker {
                            for_shell: true,
                            ..Picker::default()
                        })
                    }
                }
            }
            Action::TrackCurrent => {
                ui.track_current = true;
                ui.sync_cursor(release);
            }
            Action::ShowQuestion => {
                if let Some(a) = ui.answer.as_mut() {
                    a.hidden = false;
                }
            }
            Action::RollbackNow => {
                let rolling_back = matches!(
                    release.stage,
                    Stage::Running {
                        list: StepList::Rollback,
                        ..
                    }
                );
                let under_way = matches!(
                    release.stage,
                    Stage::Running { .. } | Stage::Watching { .. }
                );
                if release.can_roll_back() && under_way && !rolling_back {
                    ui.confirm = Some(Confirm::RollbackNow);
                }
            }
            Action::EndWatch => {
                let watching = matches!(release.stage, Stage::Watching { .. });
                if watching && release.question.is_some() {
                    ui.notice = Some("answer the open question first (a shows it)".into());
                } else if watching && release.plan.production {
                    // In production leaving the watch early is a decision: the engine opens the
                    // final gate, where GO is typed out.
                    return Some(self.decided(Decision::EndWatch, None));
                } else if watching {
                    // The watch is why gonogo is open after a deploy: ending it takes a reason.
                    ui.confirm = Some(Confirm::EndWatch);
                    ui.end_note = TextArea::default();
                    ui.end_refusal = None;
                }
            }
            Action::ExtendWatch => {
                if matches!(release.stage, Stage::Watching { .. }) {
                    return Some(self.decided(Decision::ExtendWatch, None));
                }
            }
            Action::SkipBaseline => {
                if release.baseline_wait.is_some() {
                    let reason = "skipped at the cockpit (B)".to_string();
                    return Some(self.decided(Decision::SkipBaseline { reason }, None));
                }
            }
            Action::Help => {
                ui.help = true;
                ui.help_scroll = 0;
            }
            Action::Redraw => crate::ui::screen::redraw_whole(&mut self.terminal),
            Action::Quit | Action::Interrupt => {
                // The outcome is known (the locks may still be being released): nothing to
                // abort; gonogo leaves once the release has ended.
                if release.outcome.is_some() {
                    self.quitting = true;
                } else if release.is_running_commands() || !release.changes().is_empty() {
                    // The hosts have changed: leaving is never one key.
                    ui.confirm = Some(Confirm::Abort);
                } else {
                    self.quitting = true;
                    return Some(self.decided(Decision::Abort, Some("quit".into())));
                }
            }
            Action::Arm(choice) => {
                let a = ui.answer.as_mut()?;
                if release.too_soon(self.now) {
                    a.refusal = Some(Refusal::TooSoon.to_string().into());
                    return None;
                }
                if release.answers().contains(&choice) {
                    a.armed = Some(choice);
                    a.typed.clear();
                    a.refusal = None;
                    a.editing = matches!(choice, Choice::Skip | Choice::Keep);
                }
            }
            Action::EditText => {
                if let Some(a) = ui.answer.as_mut() {
                    a.editing = !a.editing;
                }
            }
            Action::Confirm => return self.confirm_answer(release),
            Action::Close => {
                if ui.help {
                    ui.help = false;
                } else if let Some(a) = ui.answer.as_mut() {
                    // Hiding gives the armed answer up: shown again, it is armed and
                    // confirmed anew.
                    a.hidden = true;
                    a.armed = None;
                    a.typed.clear();
                    a.refusal = None;
                }
            }
            Action::Yes => match ui.confirm.take() {
                Some(Confirm::RollbackNow) => {
                    // The operator saw the irreversible steps here: the decision carries them,
                    // and the engine asks again if more have run since.
                    let acknowledged = release.irreversible_done();
                    let decision = if acknowledged.is_empty() {
                        Decision::Rollback
                    } else {
                        Decision::ConfirmRollback { acknowledged }
                    };
                    return Some(self.decided(decision, None));
                }
                Some(Confirm::Abort) => {
                    self.quitting = true;
                    return Some(self.decided(Decision::Abort, Some("operator".into())));
                }
                // Its keys are read by `end_watch_key`: a reason is typed first.
                Some(Confirm::EndWatch) | None => {}
            },
            Action::No => ui.confirm = None,
        }
        None
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
