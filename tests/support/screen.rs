//! The cockpit drawn on a TestBackend, as the snapshot tests read it.

#![allow(dead_code)]

use gonogo::engine::Release;
use gonogo::ui::state::UiState;
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The whole screen at `width` × `height`, 0.7 s after the release's last event.
pub fn screen(release: &Release, ui: &UiState, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    let theme = Theme { color: true };
    terminal
        .draw(|f| gonogo::ui::draw(f, release, ui, &theme, release.now + 700))
        .expect("draw");
    terminal.backend().to_string()
}

/// The view a cockpit would have of `release`: its question and cursor in step.
pub fn ui_for(release: &Release) -> UiState {
    let mut ui = UiState::default();
    ui.sync_question(release);
    ui.sync_cursor(release);
    ui
}
