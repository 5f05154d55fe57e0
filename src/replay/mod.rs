//! `gonogo replay FILE`: the cockpit, read-only, as the operator saw it. The journal's events go
//! through the same engine and the same drawing as the live run, with no driver at all: a
//! replay opens no connection and runs no command. The operator's focus, filter and scroll come
//! from the journal's view records; the viewer's terminal gives the size.

mod bar;
pub mod export;
mod player;
mod recorded;

use std::path::Path;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{
    self, Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use ratatui::layout::Rect;

pub use crate::journal::RecordedView;
pub use player::{Mark, MarkKind, Player, SPEEDS};
pub use recorded::Recorded;

use crate::ui::state::UiState;
use crate::ui::theme::Theme;

/// The replay on a terminal: the player, and the cockpit's drawing of where it stands.
pub struct Replay<B: Backend> {
    terminal: Terminal<B>,
    pub player: Player,
    ui: UiState,
    theme: Theme,
}

impl<B: Backend> Replay<B> {
    pub fn new(terminal: Terminal<B>, player: Player, theme: Theme) -> Self {
        Replay {
            terminal,
            player,
            ui: UiState::default(),
            theme,
        }
    }

    pub fn backend(&self) -> &B {
        self.terminal.backend()
    }

    /// Draws where playback stands: the cockpit over all rows but the last, the replay bar
    /// on the last.
    pub fn draw(&mut self) {
        let release = self.player.release();
        self.ui.sync_question(release);
        self.ui.sync_cursor(release);
        self.ui.show_recorded(self.player.view());
        let now = self.player.now();
        let (ui, theme, player) = (&self.ui, &self.theme, &self.player);
        let _ = self.terminal.draw(|frame| {
            let area = frame.area();
            let cockpit = Rect {
                height: area.height.saturating_sub(1),
                ..area
            };
            crate::ui::draw_in(frame, cockpit, player.release(), ui, theme, now);
            let last = Rect {
                y: area.bottom().saturating_sub(1),
                height: 1.min(area.height),
                ..area
            };
            bar::render(frame, last, player, theme);
        });
    }

    /// One key; true when the viewer leaves.
    pub fn key(&mut self, key: KeyEvent) -> bool {
        if key.kind != KeyEventKind::Press {
            return false;
        }
        let p = &mut self.player;
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return true,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => return true,
            KeyCode::Char('l') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                crate::ui::screen::redraw_whole(&mut self.terminal);
            }
            KeyCode::Char(' ') => {
                if p.at_end() {
                    p.seek(0);
                }
                p.paused = !p.paused;
            }
            KeyCode::Char('+' | '=') => p.faster(true),
            KeyCode::Char('-') => p.faster(false),
            KeyCode::Left => p.skip(-10_000_000),
            KeyCode::Right => p.skip(10_000_000),
            KeyCode::Char('[') => p.jump(false),
            KeyCode::Char(']') => p.jump(true),
            KeyCode::Char('g') | KeyCode::Home => p.seek(0),
            KeyCode::Char('G') | KeyCode::End => p.seek(p.end()),
            _ => {}
        }
        false
    }
}

/// Why a replay could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Read(#[from] crate::journal::ReadError),
    /// The terminal could not be read.
    #[error("{0}")]
    Terminal(#[from] std::io::Error),
}

/// Replays the journal at `path` on this terminal until the viewer leaves.
pub fn run(path: &Path, speed: f64) -> Result<(), ReplayError> {
    let journal = crate::journal::read(path)?;
    for warning in &journal.warnings {
        eprintln!("gonogo: {}: {warning}", path.display());
    }
    if journal.unknown > 0 {
        eprintln!(
            "gonogo: {}: {} records of types this gonogo does not know were skipped (written by a newer gonogo?)",
            path.display(),
            journal.unknown
        );
    }
    let mut player = Player::new(journal);
    player.speed = speed;
    let (terminal, screen) = crate::ui::screen::Screen::take();
    let mut replay = Replay::new(terminal, player, Theme::from_env());
    let result = play(&mut replay);
    drop(replay);
    screen.give_back();
    result
}

fn play<B: Backend>(replay: &mut Replay<B>) -> Result<(), ReplayError> {
    let frame = Duration::from_millis(33);
    let mut last = Instant::now();
    replay.draw();
    loop {
        if event::poll(frame)? {
            match event::read()? {
                TermEvent::Key(key) if replay.key(key) => return Ok(()),
                TermEvent::Resize(..) => {
                    let _ = replay.terminal.autoresize();
                }
                _ => {}
            }
        }
        let now = Instant::now();
        replay.player.advance(now - last);
        last = now;
        replay.draw();
    }
}

#[cfg(test)]
mod tests;
