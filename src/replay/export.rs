//! `gonogo export JOURNAL --asciicast OUT.cast`: the session re-rendered into an asciicast v2
//! file (`asciinema play` plays it): the journal played through the run loop (drivers off) into
//! a front end that draws the cockpit at the size asked for, as the operator's view records
//! say, one "o" event per changed frame (only what changed is written, as on a terminal), and
//! "m" markers at gates, failures, rollbacks and resumes. The journal holds no secret, so
//! neither does the cast.

use std::collections::VecDeque;
use std::io::Write;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{TerminalOptions, Viewport};
use tokio::sync::mpsc;

use super::player::{Mark, Player};
use crate::drivers::DriversOff;
use crate::engine::{Event, EventKind, Millis, Release};
use crate::journal::{Header, Journal, RecordedView};
use crate::runtime::{self, Clock, Frontend, Input, Source};
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
    writeln!(out, "{}", head(journal.header.as_ref(), width, height))?;
    // A session shown with `--present` is cast masked the same way.
    let present = crate::ui::present::Presenter::of_recording(&journal, None)
        .map_err(std::io::Error::other)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut player = rt.block_on(Player::index(journal));
    player.paused = true;
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, width, height)),
    };
    let mut terminal = Terminal::with_options(CrosstermBackend::new(Vec::<u8>::new()), options)?;
    let _ = terminal.hide_cursor();
    let frames = frames(&player.times(), player.end());
    let mut casting = Casting {
        terminal,
        ui: UiState {
            present,
            ..UiState::default()
        },
        view: RecordedView::default(),
        theme: Theme { color: true },
        frames: frames.iter().copied().collect(),
        marks: player.marks.clone().into(),
        beat: false,
        out,
        failed: None,
    };
    let (records_tx, records) = mpsc::channel(1024);
    let (_viewer, inputs) = mpsc::channel(1);
    let feed = async {
        for at in frames {
            player.play_to(at);
            for record in player.take() {
                if records_tx.send(record).await.is_err() {
                    return;
                }
            }
        }
        drop(records_tx);
    };
    let source = Source::Recorded { records, inputs };
    let play = runtime::play(
        DriversOff::default(),
        &mut casting,
        source,
        Clock::manual(0),
    );
    rt.block_on(async { tokio::join!(feed, play) });
    match casting.failed {
        Some(e) => Err(e),
        None => casting.out.flush(),
    }
}

/// The cast's header; its title is shown by players in a window title, so it is made printable
/// (no OSC 52 from a release name).
fn head(header: Option<&Header>, width: u16, height: u16) -> String {
    let title = header.map_or("gonogo session".to_string(), |h| {
        crate::text::printable(&format!("gonogo: {} to {}", h.release, h.environment)).into_owned()
    });
    let timestamp = header
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
    crate::text::json_escape_controls(head.to_string())
}

/// When a frame is drawn (microseconds since the start): at each record's time, but not sooner
/// than a frame after the last and not later than a tick, to the end.
fn frames(times: &[u64], end: u64) -> Vec<u64> {
    let mut frames = Vec::new();
    let mut next_event = times.iter().copied().peekable();
    let mut at = 0u64;
    loop {
        frames.push(at);
        if at >= end {
            return frames;
        }
        while next_event.next_if(|t| *t <= at).is_some() {}
        let next = next_event.peek().copied().unwrap_or(end);
        at = next.max(at + FRAME_US).min(at + TICK_US).min(end);
    }
}

/// The cast's front end: at each of the player's beats, the frame drawn and what changed on
/// screen written, after the marks passed.
struct Casting<'w, W: Write> {
    terminal: Terminal<CrosstermBackend<Vec<u8>>>,
    ui: UiState,
    view: RecordedView,
    theme: Theme,
    /// The frames still to draw, in order.
    frames: VecDeque<u64>,
    marks: VecDeque<Mark>,
    /// A beat came: the next frame is due.
    beat: bool,
    out: &'w mut W,
    /// The first write that failed; nothing more is written after it.
    failed: Option<std::io::Error>,
}

impl<W: Write> Casting<'_, W> {
    fn frame(&mut self, release: &Release, now: Millis) -> std::io::Result<()> {
        let Some(at) = self.frames.pop_front() else {
            return Ok(());
        };
        self.ui.sync_question(release);
        self.ui.sync_cursor(release);
        self.ui.show_recorded(&self.view);
        let (ui, theme) = (&self.ui, &self.theme);
        self.terminal
            .draw(|frame| crate::ui::draw(frame, release, ui, theme, now))?;
        let bytes = std::mem::take(self.terminal.backend_mut().writer_mut());
        while let Some(mark) = self.marks.pop_front() {
            if mark.t > at {
                self.marks.push_front(mark);
                break;
            }
            let line = serde_json::json!([mark.t as f64 / 1e6, "m", mark.label]);
            writeln!(self.out, "{line}")?;
        }
        if !bytes.is_empty() {
            let line = serde_json::json!([at as f64 / 1e6, "o", String::from_utf8_lossy(&bytes)]);
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }
}

impl<W: Write> Frontend for Casting<'_, W> {
    fn show(&mut self, _event: &Event, _release: &Release) {}

    fn input(&mut self, input: Input, _release: &Release, _now: Millis) -> Option<EventKind> {
        if input == Input::Tick {
            self.beat = true;
        }
        None
    }

    /// A frame per beat: the records up to it were handled, the clock shows its time.
    fn flush(&mut self, release: &Release, now: Millis) {
        if !std::mem::take(&mut self.beat) || self.failed.is_some() {
            return;
        }
        if let Err(e) = self.frame(release, now) {
            self.failed = Some(e);
        }
    }

    fn recorded_view(&mut self, view: &RecordedView) {
        self.view = view.clone();
    }
}
