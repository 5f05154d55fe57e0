//! `gonogo replay FILE`: the cockpit, read-only, as the operator saw it. The journal's records
//! go through the same run loop, engine and drawing as the live run, with the drivers off: a
//! replay opens no connection and runs no command. The player hands the loop the records at the
//! recorded pace times the speed (and a rewind when the viewer seeks back); the operator's focus,
//! filter and scroll come from the journal's view records; the viewer's terminal gives the size.

mod bar;
pub mod export;
mod index;
mod player;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{Event as TermEvent, EventStream, KeyEvent, KeyEventKind};
use ratatui::layout::Rect;
use tokio::sync::{Notify, mpsc};

pub use crate::journal::RecordedView;
pub use player::{Mark, MarkKind, Player, SPEEDS};

use crate::drivers::DriversOff;
use crate::engine::{Event, EventKind, Millis, Release};
use crate::journal::NoLanding;
use crate::runtime::{self, Clock, Frontend, Input, Record, Source};
use crate::ui::state::{Modal, UiState};
use crate::ui::theme::Theme;

/// The replay's front end: the cockpit's drawing of the release the loop holds, with the
/// replay's bar on the last row; the viewer's keys move the player.
pub struct Replaying<B: Backend> {
    terminal: Terminal<B>,
    player: Arc<Mutex<Player>>,
    /// Tells the player's feed that the viewer moved it.
    moved: Arc<Notify>,
    /// The loop's own inputs: leaving is a `Terminate` on them.
    leave: Option<mpsc::Sender<Input>>,
    ui: UiState,
    view: RecordedView,
    theme: Theme,
    /// `z`: the viewer zoomed the operator's focused pane (or unzoomed the one they zoomed).
    zoom_flip: bool,
    /// Something changed since the last frame.
    dirty: bool,
    /// The journal played, whose index a jump past what has been read goes through.
    journal: Option<PathBuf>,
}

impl<B: Backend> Replaying<B> {
    pub fn new(terminal: Terminal<B>, player: Arc<Mutex<Player>>, theme: Theme) -> Self {
        Replaying {
            terminal,
            player,
            moved: Arc::new(Notify::new()),
            leave: None,
            ui: UiState {
                replaying: true,
                seat: crate::ui::state::Seat::ReadOnly,
                ..UiState::default()
            },
            view: RecordedView::default(),
            theme,
            zoom_flip: false,
            dirty: true,
            journal: None,
        }
    }

    /// Jumps past what has been read go through the index of the journal at `path`.
    pub fn jumps_through(&mut self, path: &Path) {
        self.journal = Some(path.to_path_buf());
    }

    pub fn backend(&self) -> &B {
        self.terminal.backend()
    }

    /// The player, to move it (its records are the loop's next).
    pub fn player(&self) -> MutexGuard<'_, Player> {
        self.player.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Draws where playback stands: the cockpit over all rows but the last, the replay bar
    /// on the last.
    fn draw(&mut self, release: &Release, now: Millis) {
        self.ui.sync_question(release);
        self.ui.sync_cursor(release);
        // The operator's view as recorded, under the viewer's own help when it is open.
        let help = matches!(self.ui.modal, Modal::Help { .. }).then(|| self.ui.modal.clone());
        self.ui.show_recorded(&self.view);
        if let Some(help) = help {
            self.ui.modal = help;
        }
        self.ui.zoomed = self.view.zoomed != self.zoom_flip;
        let player = self.player.lock().unwrap_or_else(|e| e.into_inner());
        let (ui, theme) = (&self.ui, &self.theme);
        let _ = self.terminal.draw(|frame| {
            let area = frame.area();
            let cockpit = Rect {
                height: area.height.saturating_sub(1),
                ..area
            };
            crate::ui::draw_in(frame, cockpit, release, ui, theme, now);
            let last = Rect {
                y: area.bottom().saturating_sub(1),
                height: 1.min(area.height),
                ..area
            };
            bar::render(frame, last, &player, theme);
            // The marks' words on the bar are masked like the cockpit above them.
            if let Some(present) = &ui.present {
                present.mask(frame.buffer_mut(), last);
            }
        });
    }

    /// One key, through the keymap's replay keys (help's, while help is open): the player
    /// moved (its feed is told), help opened, scrolled or closed, or the viewer leaves. `Esc`
    /// closes help and otherwise does nothing: it never leaves.
    fn key(&mut self, key: KeyEvent) {
        use crate::ui::keymap::{self, Action as A};
        if key.kind != KeyEventKind::Press {
            return;
        }
        self.dirty = true;
        let Some(action) = keymap::resolve(self.ui.mode(), &key) else {
            return;
        };
        match action {
            A::Quit | A::Interrupt => self.leave(),
            A::Redraw => crate::ui::screen::redraw_whole(&mut self.terminal),
            A::Help => self.ui.modal = Modal::help(&Modal::None),
            A::Close => self.ui.modal = Modal::None,
            // Only the view: the operator's focused pane to the whole screen, and back.
            A::Zoom => self.zoom_flip = !self.zoom_flip,
            A::Up | A::Down => {
                if let Modal::Help { scroll, .. } = &mut self.ui.modal {
                    *scroll = if action == A::Down {
                        scroll.saturating_add(1)
                    } else {
                        scroll.saturating_sub(1)
                    };
                }
            }
            action => {
                self.player().act(action);
                self.moved.notify_one();
            }
        }
    }

    fn leave(&mut self) {
        if let Some(leave) = &self.leave {
            let _ = leave.try_send(Input::Terminate("the viewer left".into()));
        }
    }
}

impl<B: Backend> Frontend for Replaying<B> {
    fn show(&mut self, _event: &Event, _release: &Release) {}

    /// The viewer's keys move the player; nothing they do is an event of the session.
    fn input(&mut self, input: Input, _release: &Release, _now: Millis) -> Option<EventKind> {
        match input {
            Input::Key(key) => self.key(key),
            Input::Resize => {
                let _ = self.terminal.autoresize();
                self.dirty = true;
            }
            // The player's beat: the records up to it were handled.
            Input::Tick => self.dirty = true,
            _ => {}
        }
        None
    }

    /// A frame per beat (or key), never one per record.
    fn flush(&mut self, release: &Release, now: Millis) {
        if std::mem::take(&mut self.dirty) {
            self.draw(release, now);
        }
    }

    /// Until the viewer leaves.
    fn keep_open(&self) -> bool {
        true
    }

    fn recorded_view(&mut self, view: &RecordedView) {
        self.view = view.clone();
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
    #[error(transparent)]
    Mask(#[from] crate::ui::present::MaskError),
}

/// Replays the journal at `path` on this terminal until the viewer leaves; `present`: masked
/// for a screen share (a session recorded with `--present` is, whatever is asked).
pub fn run(path: &Path, speed: f64, present: Option<Vec<String>>) -> Result<(), ReplayError> {
    let opening = open(path, present.as_deref())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    lock(&opening.player).speed = speed;
    let (terminal, screen) = crate::ui::screen::Screen::take();
    let mut replaying = Replaying::new(terminal, opening.player.clone(), Theme::from_env());
    replaying.ui.present = opening.presenter;
    replaying.jumps_through(path);
    rt.block_on(play(&mut replaying));
    drop(replaying);
    screen.give_back();
    // What reading warned of, as far as it got: a viewer who leaves early does not wait for it.
    let player = lock(&opening.player);
    for warning in &player.warnings {
        eprintln!("gonogo: {}: {warning}", path.display());
    }
    if player.unknown > 0 {
        eprintln!(
            "gonogo: {}: {} records of types this gonogo does not know were skipped (written by a newer gonogo?)",
            path.display(),
            player.unknown
        );
    }
    Ok(())
}

/// A journal opened for a replay: a player that plays what has been read (its first piece at
/// least), while a thread of its own reads the rest through the loop.
pub struct Opening {
    pub player: Arc<Mutex<Player>>,
    /// Masks for a screen share, from the header and the plan (`None`: not presented).
    pub presenter: Option<crate::ui::present::Presenter>,
    /// Reading the rest: the player holds every record, keyframe and mark once it has ended.
    pub reading: std::thread::JoinHandle<()>,
}

/// Opens the journal at `path` for a replay: its header, its end and its first piece read,
/// the rest read in the background (a 1,000,000-record journal shows its first frame long
/// before it is all parsed). Seeks and steps are exact over what has been read; playback that
/// reaches further plays the records as they come.
pub fn open(path: &Path, present: Option<&[String]>) -> Result<Opening, ReplayError> {
    let pieces = (crate::journal::FIRST_PIECE, crate::journal::PIECE);
    open_with(path, present, pieces)
}

/// [`open`], the journal read in pieces of these sizes: the first, and every later one.
pub fn open_with(
    path: &Path,
    present: Option<&[String]>,
    sizes: (usize, usize),
) -> Result<Opening, ReplayError> {
    let mut pieces = crate::journal::Pieces::open_with(path, sizes)?;
    let piece = pieces.next().unwrap_or_default();
    // The masks need the plan, which the first event carries.
    let head = crate::journal::Journal {
        header: Some(pieces.header().clone()),
        lines: piece.lines.clone(),
        ..crate::journal::Journal::default()
    };
    let presenter = crate::ui::present::Presenter::of_recording(&head, present)?;
    let player = Arc::new(Mutex::new(Player::opening(pieces.end())));
    let (told, first_read) = std::sync::mpsc::channel();
    let reader = player.clone();
    let reading = std::thread::Builder::new()
        .name("replay-read".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for reading the journal");
            let pieces = std::iter::once(piece).chain(pieces);
            rt.block_on(index::read_through(&reader, pieces, || {
                let _ = told.send(());
            }));
        })?;
    // The first frame waits for the first piece, and for nothing more.
    let _ = first_read.recv();
    Ok(Opening {
        player,
        presenter,
        reading,
    })
}

/// A jump past what has been read, through the index of the journal at `journal`: the player
/// shows its landing (or plays as read). False when no jump was waiting.
pub fn jump(player: &Mutex<Player>, journal: &Path) -> bool {
    let Some(jump) = lock(player).ask_jump() else {
        return false;
    };
    land(player, Some(journal), jump);
    true
}

/// Where the journal's index lands a jump `(to, read)` (see [`Player::ask_jump`]), handed to
/// the player; with no journal to read, it plays as read.
fn land(player: &Mutex<Player>, journal: Option<&Path>, (to, read): (u64, u64)) {
    let found = journal.map_or(Err(NoLanding::NoIndex), |journal| {
        crate::journal::land(journal, to, read)
    });
    lock(player).land(to, found);
}

fn lock(player: &Mutex<Player>) -> MutexGuard<'_, Player> {
    player.lock().unwrap_or_else(|e| e.into_inner())
}

/// The replay through the run loop: the player's feed and the viewer's terminal are its
/// sources, the drivers are off, until the viewer leaves.
async fn play<B: Backend>(replaying: &mut Replaying<B>) -> Release {
    let (records_tx, records) = mpsc::channel(1024);
    let (inputs_tx, inputs) = mpsc::channel(256);
    replaying.leave = Some(inputs_tx.clone());
    let feed = tokio::spawn(feed(
        replaying.player.clone(),
        replaying.journal.clone(),
        replaying.moved.clone(),
        records_tx,
    ));
    let keys = tokio::spawn(read_keys(inputs_tx));
    let source = Source::Recorded { records, inputs };
    let release = runtime::play(DriversOff::default(), replaying, source, Clock::manual(0)).await;
    feed.abort();
    keys.abort();
    release
}

/// `records` (what the player was moved to, taken) through the loop into `replaying`, with no
/// terminal: the release the loop holds after the last of them, drawn at the last beat.
pub async fn play_records<B: Backend>(
    replaying: &mut Replaying<B>,
    records: Vec<Record>,
) -> Release {
    let (records_tx, queued) = mpsc::channel(records.len().max(1));
    for record in records {
        let _ = records_tx.try_send(record);
    }
    drop(records_tx);
    let (_, inputs) = mpsc::channel(1);
    let source = Source::Recorded {
        records: queued,
        inputs,
    };
    runtime::play(DriversOff::default(), replaying, source, Clock::manual(0)).await
}

/// The player's records into the loop: a frame's worth at each frame, and at once when the
/// viewer moved it (or a jump landed: the index is read off the loop's thread).
async fn feed(
    player: Arc<Mutex<Player>>,
    journal: Option<PathBuf>,
    moved: Arc<Notify>,
    records: mpsc::Sender<Record>,
) {
    let mut frame = tokio::time::interval(Duration::from_millis(33));
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = tokio::time::Instant::now();
    // The first frame, whatever the journal holds.
    let first = {
        let mut player = player.lock().unwrap_or_else(|e| e.into_inner());
        let at = player.position;
        player.play_to(at);
        player.take()
    };
    for record in first {
        if records.send(record).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            _ = frame.tick() => {}
            () = moved.notified() => {}
        }
        let now = tokio::time::Instant::now();
        let (batch, jump) = {
            let mut player = player.lock().unwrap_or_else(|e| e.into_inner());
            player.advance(now - last);
            (player.take(), player.ask_jump())
        };
        if let Some(jump) = jump {
            let (player, moved, journal) = (player.clone(), moved.clone(), journal.clone());
            tokio::task::spawn_blocking(move || {
                land(&player, journal.as_deref(), jump);
                moved.notify_one();
            });
        }
        last = now;
        for record in batch {
            if records.send(record).await.is_err() {
                return;
            }
        }
    }
}

/// Keys and resizes from the viewer's terminal into the loop.
async fn read_keys(inputs: mpsc::Sender<Input>) {
    let mut keys = EventStream::new();
    while let Some(key) = keys.next().await {
        let input = match key {
            Ok(TermEvent::Key(key)) => Input::Key(key),
            Ok(TermEvent::Resize(..)) => Input::Resize,
            Ok(_) => continue,
            Err(_) => Input::Terminate("the terminal went away".into()),
        };
        let last = matches!(input, Input::Terminate(_));
        if inputs.send(input).await.is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod open_tests;
#[cfg(test)]
mod tests;
