//! What an action does, by family: the view (navigation, panes, filters, targets), help,
//! the watch and rollback, the cockpit's yes / no, leaving. Answering is in `answer.rs`.

use ratatui::backend::Backend;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use super::Cockpit;
use crate::engine::{Decision, EventKind, Release, Stage, StepList};
use crate::ui::keymap::Action;
use crate::ui::picker::{PICK_FROM, Picker};
use crate::ui::state::{Confirm, FilterBox, Modal, Pane, Reason, Source, UiState};

impl<B: Backend> Cockpit<B> {
    /// One action of the keymap (or the loop's interrupt), handed to its family.
    pub(super) fn act(&mut self, action: Action, release: &Release) -> Option<EventKind> {
        use Action as A;
        match action {
            A::Redraw => crate::ui::screen::redraw_whole(&mut self.terminal),
            A::Quit | A::Interrupt => return self.act_leave(release),
            A::Yes | A::No => return self.act_confirm(action, release),
            A::RollbackNow | A::EndWatch | A::ExtendWatch | A::SkipBaseline => {
                return self.act_watch(action, release);
            }
            A::Arm(_) | A::Confirm | A::EditText | A::TickManual | A::ShowQuestion => {
                return self.act_answer(action, release);
            }
            A::Help => self.ui.modal = Modal::help(&self.ui.modal),
            A::Up | A::Down | A::Close if matches!(self.ui.modal, Modal::Help { .. }) => {
                self.act_help(action);
            }
            A::Up | A::Down | A::PageUp | A::PageDown
                if self.ui.mode() == crate::ui::keymap::Mode::Answer =>
            {
                self.scroll_ships(action, release);
            }
            A::Close => self.hide_question(),
            A::Shell => return self.shell(release),
            A::Up
            | A::Down
            | A::ToggleExpand
            | A::FocusNext
            | A::Zoom
            | A::PageUp
            | A::PageDown
            | A::Follow
            | A::Top
            | A::SwitchSource
            | A::Summary
            | A::Filter
            | A::CycleTarget
            | A::Wrap
            | A::TrackCurrent => self.act_normal(action, release),
            // The replay's keys: its player takes them, never a cockpit.
            A::PlayPause
            | A::Faster
            | A::Slower
            | A::SeekBack
            | A::SeekForward
            | A::PreviousMark
            | A::NextMark
            | A::ToStart
            | A::ToEnd => {}
        }
        None
    }

    /// What the panes show and where: nothing here changes the release.
    fn act_normal(&mut self, action: Action, release: &Release) {
        let page = self.page();
        let ui = &mut self.ui;
        // The health pane is about half the page unless it has the whole screen.
        let health_page = if ui.zoomed { page } else { (page / 2).max(1) };
        if ui.focus == Pane::Health && scroll_health(ui, action, release, health_page) {
            return;
        }
        match action {
            Action::Up | Action::Down => move_or_scroll(ui, action == Action::Down, release),
            Action::ToggleExpand => {
                if let Some(step) = ui.cursor_step(release)
                    && !ui.expanded.remove(&step)
                {
                    ui.expanded.insert(step);
                }
            }
            Action::FocusNext => ui.focus = ui.focus.next(),
            Action::Zoom => ui.zoomed = !ui.zoomed,
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
                ui.modal = Modal::Filter(FilterBox { input, error: None });
            }
            Action::CycleTarget if release.plan.targets.len() >= PICK_FROM => {
                ui.modal = Modal::Picker(Picker::default());
            }
            Action::CycleTarget => ui.target = next_target(release, ui.target.as_deref()),
            Action::Wrap => ui.wrap = !ui.wrap,
            Action::TrackCurrent => {
                ui.track_current = true;
                ui.sync_cursor(release);
            }
            // The other families' actions: `act` does not send them here.
            _ => {}
        }
    }

    /// The first gate's What ships list scrolls, as far as its last row.
    fn scroll_ships(&mut self, action: Action, release: &Release) {
        let area = self.terminal.size().map(Rect::from).unwrap_or_default();
        let room = crate::ui::modal::ships_scroll_room(area, release, &self.ui);
        let page = (self.page() / 2).max(1);
        let Some(a) = self.ui.answer.as_mut() else {
            return;
        };
        a.scroll = match action {
            Action::Down => a.scroll + 1,
            Action::Up => a.scroll.saturating_sub(1),
            Action::PageDown => a.scroll + page,
            _ => a.scroll.saturating_sub(page),
        }
        .min(room);
    }

    /// Help scrolls, and closes back to the confirmation it was opened from, if any.
    fn act_help(&mut self, action: Action) {
        let Modal::Help { scroll, over } = &mut self.ui.modal else {
            return;
        };
        match action {
            Action::Down => *scroll = scroll.saturating_add(1),
            Action::Up => *scroll = scroll.saturating_sub(1),
            _ => {
                let back = over.map_or(Modal::None, Modal::Confirm);
                self.ui.modal = back;
            }
        }
    }

    /// `s`: a shell on the chosen target, or on the only one; else the picker chooses.
    fn shell(&mut self, release: &Release) -> Option<EventKind> {
        let only = match release.plan.targets.as_slice() {
            [one] => Some(one.name.clone()),
            _ => None,
        };
        match self.ui.target.clone().or(only) {
            Some(target) => self.open_shell(target),
            None => {
                self.ui.modal = Modal::Picker(Picker {
                    for_shell: true,
                    ..Picker::default()
                });
                None
            }
        }
    }

    /// A yes / no of the cockpit's own opens; over help, it waits under it (help closes to it).
    fn ask(&mut self, which: Confirm) {
        match &mut self.ui.modal {
            Modal::Help { over, .. } => *over = Some(which),
            modal => *modal = Modal::Confirm(which),
        }
    }

    /// Rolling back from anywhere, and the watch: end it, extend it, skip the baseline.
    fn act_watch(&mut self, action: Action, release: &Release) -> Option<EventKind> {
        let watching = matches!(release.stage, Stage::Watching { .. });
        match action {
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
                    self.ask(Confirm::RollbackNow);
                }
            }
            Action::EndWatch if watching && release.question.is_some() => {
                self.ui.notice = Some("answer the open question first (a shows it)".into());
            }
            // In production leaving the watch early is a decision: the engine opens the final
            // gate, where GO is typed out.
            Action::EndWatch if watching && release.plan.production => {
                return Some(self.decided(Decision::EndWatch, None));
            }
            // The watch is why gonogo is open after a deploy: ending it takes a reason.
            Action::EndWatch if watching => self.ui.modal = Modal::EndWatch(Reason::default()),
            Action::ExtendWatch if watching => {
                return Some(self.decided(Decision::ExtendWatch, None));
            }
            Action::SkipBaseline if release.baseline_wait.is_some() => {
                let reason = "skipped at the cockpit (B)".to_string();
                return Some(self.decided(Decision::SkipBaseline { reason }, None));
            }
            _ => {}
        }
        None
    }

    /// `y` / `n` of a rollback or an abort the cockpit asked about.
    fn act_confirm(&mut self, action: Action, release: &Release) -> Option<EventKind> {
        // `E`'s confirmation reads its own keys (`end_watch_key`): a reason is typed first.
        let Modal::Confirm(which) = self.ui.modal else {
            return None;
        };
        self.ui.modal = Modal::None;
        if action != Action::Yes {
            return None;
        }
        match which {
            Confirm::RollbackNow => {
                // The operator saw the irreversible steps here: the decision carries them,
                // and the engine asks again if more have run since.
                let acknowledged = release.irreversible_done();
                let decision = if acknowledged.is_empty() {
                    Decision::Rollback
                } else {
                    Decision::ConfirmRollback { acknowledged }
                };
                Some(self.decided(decision, None))
            }
            Confirm::Abort => {
                self.quitting = true;
                Some(self.decided(Decision::Abort, Some("operator".into())))
            }
        }
    }

    /// `q`, Ctrl-C: leave at once when nothing changed the hosts, else ask first.
    fn act_leave(&mut self, release: &Release) -> Option<EventKind> {
        // The outcome is known (the locks may still be being released): nothing to abort;
        // gonogo leaves once the release has ended.
        if release.outcome.is_some() {
            self.quitting = true;
        } else if release.is_running_commands() || !release.changes().is_empty() {
            // The hosts have changed: leaving is never one key.
            self.ask(Confirm::Abort);
        } else {
            self.quitting = true;
            return Some(self.decided(Decision::Abort, Some("quit".into())));
        }
        None
    }
}

/// ↑↓: the cursor in the checklist, the scroll in the output (back at the bottom, it follows).
fn move_or_scroll(ui: &mut UiState, down: bool, release: &Release) {
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
        // `scroll_health` reads the health pane's keys first.
        Pane::Health => {}
        Pane::Output if down => {
            ui.scroll = ui.scroll.saturating_sub(1);
            if ui.scroll == 0 {
                ui.resume_follow();
            }
        }
        Pane::Output => {
            ui.pause_follow(release);
            ui.scroll += 1;
        }
    }
}

/// ↑↓ PgUp PgDn Home End in the health pane: it reads from its top (the rules come first), so
/// it scrolls down from there. Whether the key was the health pane's.
fn scroll_health(ui: &mut UiState, action: Action, release: &Release, page: usize) -> bool {
    let last = crate::ui::health::row_count(release).saturating_sub(1);
    let down = &mut ui.health_down;
    *down = match action {
        Action::Up => down.saturating_sub(1),
        Action::Down => *down + 1,
        Action::PageUp => down.saturating_sub(page),
        Action::PageDown => *down + page,
        Action::Top => 0,
        Action::Follow => last,
        _ => return false,
    }
    .min(last);
    true
}

/// `t` with few targets: all, then each in turn, then all again.
fn next_target(release: &Release, now: Option<&str>) -> Option<String> {
    let mut names = release.plan.targets.iter().map(|t| &t.name);
    match now {
        None => names.next().cloned(),
        Some(t) => names.skip_while(|n| *n != t).nth(1).cloned(),
    }
}
