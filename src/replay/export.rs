//! `gonogo export JOURNAL --asciicast OUT.cast`: the session re-rendered into an asciicast v2
//! file (`asciinema play` plays it): the cockpit drawn at the size asked for, as the operator's
//! view records say, one "o" event per changed frame (only what changed is written, as on a
//! terminal), and "m" markers at gates, failures, rollbacks and resumes. The journal holds no secret, so
//! neither does the cast.

use std::io::Write;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{TerminalOptions, Viewport};

use super::player::Player;
use crate::journal::Journal;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;

/// At most this many frames a second of the session; the clock on screen moves once a second.
const FRAME_US: u64 = 1_000_000 / 15;
const TICK_US: u64 = 1_000_000;

/// Writes the cast of `journal` at `width`×`height` to `out`.
pub fn asciicast(
    journal: Journal,
    width: u16,
    height: u16,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let header = journal.header.clone();
    // Shown by players in a window title: made printable (no OSC 52 from a release name).
    let title = header.as_ref().map_or("gonogo session".to_string(), |h| {
        crate::text::printable(&format!("gonogo: {} to {}", h.release, h.environment)).into_owned()
    });
    let timestamp = header
        .as_ref()
        .and_then(|h| chrono::DateTime::parse_from_rfc3339(&h.started).ok())
        .map_or(0, |t| t.timestamp());
    let head = serde_json::json!({
        "version": 2,
        "width": width,
        "height": height,
        "timestamp": timestamp,
        "title": title,
        "env": {"TERM": "xterm-256color"},
    });
    writeln!(
        out,
        "{}",
        crate::text::json_escape_controls(head.to_string())
    )?;

    let mut player = Player::new(journal);
    player.paused = true;
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, width, height)),
    };
    let mut terminal = Terminal::with_options(CrosstermBackend::new(Vec::<u8>::new()), options)?;
    let _ = terminal.hide_cursor();
    let theme = Theme { color: true };
    let mut ui = UiState::default();
    let times: Vec<u64> = player.times();
    let mut marks = player.marks.clone().into_iter().peekable();
    let mut next_event = times.into_iter().peekable();
    let mut at = 0u64;
    let end = player.end();
    loop {
        player.seek(at);
        ui.sync_question(player.release());
        ui.sync_cursor(player.release());
        ui.show_recorded(player.view());
        let now = player.now();
        terminal.draw(|frame| crate::ui::draw(frame, player.release(), &ui, &theme, now))?;
        let bytes = std::mem::take(terminal.backend_mut().writer_mut());
        let secs = at as f64 / 1e6;
        while let Some(mark) = marks.next_if(|m| m.t <= at) {
            let line = serde_json::json!([mark.t as f64 / 1e6, "m", mark.label]);
            writeln!(out, "{line}")?;
        }
        if !bytes.is_empty() {
            let line = serde_json::json!([secs, "o", String::from_utf8_lossy(&bytes)]);
            writeln!(out, "{line}")?;
        }
        if at >= end {
            break;
        }
        // The next event's time, but not sooner than a frame and not later than a tick.
        while next_event.next_if(|t| *t <= at).is_some() {}
        let next = next_event.peek().copied().unwrap_or(end);
        at = next.max(at + FRAME_US).min(at + TICK_US).min(end);
    }
    out.flush()
}
