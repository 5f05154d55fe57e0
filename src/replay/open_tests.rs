//! A replay opened from its first piece, the rest read in the background, shows the screens a
//! replay of the journal read whole shows: its first frame before the rest is read, then every
//! seek and step the same, on a session long enough that its kept lines roll over and its
//! keyframes share them. A jump past what has been read lands through the journal's index.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{Player, Replaying, open_with, play_records};
use crate::engine::event::{Decision, RunId, StepList, Stream};
use crate::engine::{Actor, Event, EventKind, Fold};
use crate::journal::{Pieces, ViewChange, Writer};
use crate::profile::{self, Diagnostics, Purpose, Source};
use crate::runtime::Record;
use crate::ui::theme::Theme;

const PROFILE: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"
[targets.web-1]
host = "web-1"
[targets.web-2]
host = "web-2"
[[step]]
name = "flood"
check = "yes"
on = ["web-1", "web-2"]
[[step]]
gate = "Go?"
"#;

/// More output lines than a release keeps, so the oldest roll off between keyframes.
const OUTPUTS: u64 = 12_500;

/// A session recorded by the writer as the loop records it: both targets reached and locked,
/// a flood of output with the operator's filter changing on the way, the step's end, the gate
/// answered; its index with a snapshot every 768 kB (three).
fn recorded() -> (tempfile::TempDir, PathBuf) {
    let (p, _) = profile::load(&Source::new("t.toml", PROFILE));
    let p = p.expect("profile");
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let mut writer = Writer::create(&path, &crate::journal::index_tests::header()).unwrap();
    writer.snapshots_every(768 * 1024);
    let mut fold = Fold::default();
    let mut at = 1_800_000_000_000;
    let mut event = |kind: EventKind, writer: &mut Writer| {
        at += 40;
        let event = Event::new(at, kind);
        writer.event(&event);
        fold.apply(&event);
        writer.applied(&fold);
    };
    event(
        EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(profile::release_plan(&p, &vars)),
        },
        &mut writer,
    );
    for kind in ["Connected", "LockTaken"] {
        for target in ["web-1", "web-2"] {
            let target = target.to_string();
            let kind = match kind {
                "Connected" => EventKind::Connected { target },
                _ => EventKind::LockTaken { target },
            };
            event(kind, &mut writer);
        }
    }
    let run = |target: &str| RunId {
        list: StepList::Main,
        step: 0,
        target: target.into(),
        attempt: 1,
    };
    for i in 0..OUTPUTS {
        let target = if i % 2 == 0 { "web-1" } else { "web-2" };
        let lines = vec![format!("line {i} of the flood")];
        let (run, stream) = (run(target), Stream::Stdout);
        event(EventKind::Output { run, stream, lines }, &mut writer);
        if i % 3_000 == 1_500 {
            let text = format!("flood {}", i % 7);
            writer.view(
                &ViewChange::Filter { text },
                1_800_000_000_000 + (i + 5) * 40,
            );
        }
    }
    for target in ["web-1", "web-2"] {
        let run = run(target);
        event(EventKind::Exited { run, status: 0 }, &mut writer);
    }
    let decided = EventKind::Decided {
        by: "ana".into(),
        decision: Decision::Go,
        note: None,
        actor: Actor::Person,
    };
    event(decided, &mut writer);
    drop(writer);
    (dir, path)
}

/// A replay on a test terminal, and the records its loop holds since the last rewind (a loop
/// is started for each look, as `play_records` does).
struct Viewer {
    replay: Replaying<TestBackend>,
    since: Vec<Record>,
}

impl Viewer {
    fn of(player: Arc<Mutex<Player>>) -> Self {
        let terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
        Viewer {
            replay: Replaying::new(terminal, player, Theme { color: false }),
            since: Vec::new(),
        }
    }

    /// A replay of the journal at `path` read whole, as before it was read in pieces.
    fn read_whole(path: &Path) -> Self {
        let journal = crate::journal::read(path).unwrap();
        Viewer::of(Arc::new(Mutex::new(Player::read(journal))))
    }

    fn player(&self) -> std::sync::MutexGuard<'_, Player> {
        self.replay.player()
    }

    /// The screen after the player is moved to `to` and the loop handed its records.
    fn at(&mut self, to: u64) -> String {
        self.player().seek(to);
        self.shown()
    }

    /// The screen (and the release) once the loop has the player's records so far.
    fn shown(&mut self) -> String {
        let taken = self.player().take();
        if let Some(rewind) = taken.iter().rposition(|r| matches!(r, Record::Rewind(_))) {
            self.since.clear();
            self.since.extend_from_slice(&taken[rewind..]);
        } else {
            self.since.extend(taken);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let release = rt.block_on(play_records(&mut self.replay, self.since.clone()));
        let state = serde_json::to_string(&release).expect("state");
        format!("{:?}\n{state}", self.replay.backend().buffer())
    }
}

/// A screen without the replay's bar (its last row, and that row's styles).
fn without_bar(screen: &str) -> String {
    screen
        .lines()
        .filter(|l| !l.contains(" REPLAY ") && !l.contains("y: 29,"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_replay_read_a_piece_at_a_time_seeks_to_the_screens_of_one_read_whole() {
    let (_dir, path) = recorded();
    let mut whole = Viewer::read_whole(&path);
    let opening = open_with(&path, None, (4096, 64 * 1024)).unwrap();
    opening.reading.join().expect("read whole");
    let mut pieces = Viewer::of(opening.player);
    {
        let (a, b) = (whole.player(), pieces.player());
        assert!(b.read_whole());
        assert_eq!(a.end(), b.end());
        assert_eq!(a.times(), b.times());
        assert_eq!(a.marks, b.marks);
        assert!(!b.marks.is_empty(), "the gate is on the timeline");
    }
    let end = whole.player().end();
    assert_eq!(whole.at(0), pieces.at(0));
    // Back and forth, across keyframes and between them, to the end and back to the start.
    for k in [9, 1, 7, 3, 10, 0, 5, 8, 2, 6, 4, 10] {
        let to = end / 10 * k + if k % 2 == 0 { 0 } else { end / 37 };
        assert_eq!(whole.at(to), pieces.at(to), "at {to} of {end}");
    }
    for viewer in [&mut whole, &mut pieces] {
        let mut player = viewer.player();
        player.seek(end / 3);
        player.paused = false;
        player.advance(std::time::Duration::from_millis(150));
    }
    assert_eq!(whole.shown(), pieces.shown(), "played on");
}

#[test]
fn the_first_frame_waits_for_the_first_piece_only_and_play_goes_on_as_the_rest_comes() {
    let (_dir, path) = recorded();
    let mut whole = Viewer::read_whole(&path);
    let end = whole.player().end();
    let mut pieces = Pieces::open_with(&path, (4096, 64 * 1024)).unwrap();
    let player = Arc::new(Mutex::new(Player::opening(pieces.end())));
    let (more, first_read, reading) = reading_in_background(player.clone());
    more.send(pieces.next().expect("a first piece")).unwrap();
    first_read.recv().unwrap();
    let mut opening = Viewer::of(player);
    {
        let player = opening.player();
        assert!(!player.read_whole(), "only the first piece is read");
        assert_eq!(
            player.end(),
            end,
            "the end is known before the rest is read"
        );
    }
    // The cockpit and the release at the start are the whole read's; the timeline below it
    // shows the marks read so far.
    let (first, read_whole) = (opening.at(0), whole.at(0));
    assert_eq!(without_bar(&first), without_bar(&read_whole));
    // To the end before it is read, the index never answering: once the reading has caught up,
    // the jump goes there as over what was read.
    opening.player().seek(end);
    opening.shown();
    assert!(!opening.player().at_end());
    for piece in pieces {
        more.send(piece).unwrap();
    }
    drop(more);
    reading.join().unwrap();
    opening.player().paused = true;
    assert!(opening.player().advance(std::time::Duration::ZERO));
    assert!(opening.player().at_end());
    assert_eq!(opening.shown(), whole.at(end));
}

/// Playback reached all that had been read, then the reading ended: one more beat shows it (the
/// bar's "reading…" goes and "■ end" shows), though no record is left to play. Without it the
/// screen kept "reading…" until the viewer pressed a key.
#[test]
fn the_reading_that_ends_after_playback_caught_up_is_shown() {
    let (_dir, path) = recorded();
    let mut pieces = Pieces::open_with(&path, (1 << 30, 1 << 30)).unwrap();
    let player = Arc::new(Mutex::new(Player::opening(pieces.end())));
    let (more, first_read, reading) = reading_in_background(player.clone());
    more.send(pieces.next().expect("the whole journal"))
        .unwrap();
    first_read.recv().unwrap();
    let mut viewer = Viewer::of(player);
    let end = viewer.player().end();
    let caught_up = viewer.at(end);
    assert!(caught_up.contains("reading…"), "{caught_up}");
    drop(more);
    reading.join().unwrap();
    assert!(
        viewer
            .player()
            .advance(std::time::Duration::from_millis(33))
    );
    let shown = viewer.shown();
    assert!(
        shown.contains("■ end") && !shown.contains("reading…"),
        "{shown}"
    );
    assert!(
        !viewer
            .player()
            .advance(std::time::Duration::from_millis(33))
    );
}

/// A thread that reads the pieces sent to it into `player`, as a replay's reading does: the
/// sender of pieces, a receiver told when each piece is in the player, and the thread.
fn reading_in_background(
    player: Arc<Mutex<Player>>,
) -> (
    std::sync::mpsc::Sender<crate::journal::Journal>,
    std::sync::mpsc::Receiver<()>,
    std::thread::JoinHandle<()>,
) {
    let (more, rest) = std::sync::mpsc::channel();
    let (told, first_read) = std::sync::mpsc::channel();
    let reading = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(super::index::read_through(
            &player,
            rest.into_iter(),
            || {
                let _ = told.send(());
            },
        ));
    });
    (more, first_read, reading)
}

/// A replay whose first piece (4 kB) only is read, with the rest of the journal's pieces to
/// send to its reading thread, and that thread.
type Reading = (
    Viewer,
    Arc<Mutex<Player>>,
    Pieces,
    std::sync::mpsc::Sender<crate::journal::Journal>,
    std::thread::JoinHandle<()>,
);

fn first_piece_read(path: &Path) -> Reading {
    let mut pieces = Pieces::open_with(path, (4096, 64 * 1024)).unwrap();
    let player = Arc::new(Mutex::new(Player::opening(pieces.end())));
    let (more, first_read, reading) = reading_in_background(player.clone());
    more.send(pieces.next().expect("a first piece")).unwrap();
    first_read.recv().unwrap();
    let mut viewer = Viewer::of(player.clone());
    viewer.at(0);
    (viewer, player, pieces, more, reading)
}

/// `G` before the reading is done: the index's last snapshot and the records after it show the
/// last frame a whole read shows, at once; the reading goes on, and once it ends the end and
/// every seek back are the whole read's. Without the index's landing the jump played what had
/// been read (the first piece) and waited for the rest.
#[test]
fn a_jump_to_the_end_before_the_reading_is_done_lands_through_the_index() {
    let (_dir, path) = recorded();
    assert!(crate::journal::index_tests::snapshots(&path).len() >= 3);
    let mut whole = Viewer::read_whole(&path);
    let end = whole.player().end();
    // The viewer's cursor is where the start put it, as on the replay's.
    whole.at(0);
    let (mut viewer, player, pieces, more, reading) = first_piece_read(&path);
    viewer.player().act(crate::ui::keymap::Action::ToEnd);
    assert!(super::jump(&player, &path), "the jump waited for the index");
    let landed = viewer.shown();
    {
        let player = viewer.player();
        assert!(!player.read_whole() && player.landed() && player.at_end());
    }
    assert!(landed.contains("shown from the index"), "{landed}");
    assert_eq!(without_bar(&landed), without_bar(&whole.at(end)));
    for piece in pieces {
        more.send(piece).unwrap();
    }
    drop(more);
    reading.join().unwrap();
    assert!(viewer.player().advance(std::time::Duration::ZERO));
    assert!(!viewer.player().landed(), "played on from what was read");
    assert_eq!(viewer.shown(), whole.at(end));
    for k in [3, 9, 0, 6, 10] {
        let to = end / 10 * k + end / 41;
        assert_eq!(viewer.at(to), whole.at(to), "at {to} of {end}");
    }
}

/// A journal changed under its index: before every snapshot (none is trusted: the jump plays as
/// read, and the bar says so), and between the first and the last (the jump lands on the first).
/// Either way the end is the changed journal's own.
#[test]
fn a_jump_through_a_stale_index_still_ends_on_the_journals_last_frame() {
    let (_dir, path) = recorded();
    let text = std::fs::read_to_string(&path).unwrap();
    let taken = crate::journal::index_tests::snapshots(&path);
    let (first, last) = (
        taken[0].offset as usize,
        taken[taken.len() - 1].offset as usize,
    );
    let index = std::fs::read(crate::journal::index_path(&path)).unwrap();
    for (from, trusted) in [(0, false), (first + 100, true)] {
        // A digit of a line's number changed: the same length, other bytes.
        let at = from + text[from..].find("\"line ").unwrap() + 6;
        assert!(at < last);
        let digit = if &text[at..=at] == "7" { "3" } else { "7" };
        let mut changed = text.clone();
        changed.replace_range(at..=at, digit);
        std::fs::write(&path, &changed).unwrap();
        std::fs::write(crate::journal::index_path(&path), &index).unwrap();
        let mut whole = Viewer::read_whole(&path);
        let end = whole.player().end();
        whole.at(0);
        let (mut viewer, player, pieces, more, reading) = first_piece_read(&path);
        viewer.player().act(crate::ui::keymap::Action::ToEnd);
        assert!(super::jump(&player, &path));
        let shown = viewer.shown();
        assert_eq!(viewer.player().landed(), trusted, "{shown}");
        if trusted {
            assert_eq!(without_bar(&shown), without_bar(&whole.at(end)));
        } else {
            assert!(shown.contains("no usable index: plays as read"), "{shown}");
        }
        for piece in pieces {
            more.send(piece).unwrap();
        }
        drop(more);
        reading.join().unwrap();
        viewer.player().advance(std::time::Duration::ZERO);
        assert!(viewer.player().at_end());
        assert_eq!(viewer.shown(), whole.at(end), "changed at {at}");
    }
}

/// A seek past what has been read, between two snapshots, lands on the earlier one and shows
/// the whole read's screen there; playing on goes through the landing's records, and once the
/// reading ends, on through what it read, as the whole read does.
#[test]
fn a_seek_past_what_has_been_read_lands_on_the_snapshot_before_it_and_plays_on() {
    let (_dir, path) = recorded();
    let taken = crate::journal::index_tests::snapshots(&path);
    let mut whole = Viewer::read_whole(&path);
    whole.at(0);
    let (mut viewer, player, pieces, more, reading) = first_piece_read(&path);
    let to = (taken[1].t + taken[2].t) / 2;
    viewer.player().seek(to);
    assert!(super::jump(&player, &path));
    let landed = viewer.shown();
    assert!(viewer.player().landed(), "{landed}");
    assert_eq!(without_bar(&landed), without_bar(&whole.at(to)));
    for viewer in [&mut whole, &mut viewer] {
        let mut player = viewer.player();
        player.paused = false;
        player.advance(std::time::Duration::from_millis(150));
    }
    assert_eq!(without_bar(&viewer.shown()), without_bar(&whole.shown()));
    for piece in pieces {
        more.send(piece).unwrap();
    }
    drop(more);
    reading.join().unwrap();
    for viewer in [&mut whole, &mut viewer] {
        viewer
            .player()
            .advance(std::time::Duration::from_millis(2_000));
    }
    assert!(!viewer.player().landed());
    assert_eq!(viewer.shown(), whole.shown());
    let back = taken[0].t / 2;
    assert_eq!(viewer.at(back), whole.at(back));
}
