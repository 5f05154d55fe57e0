//! Opening and seeking a 1,000,000-event journal (targets: open to the last frame ≤ 300 ms, a
//! replay's first frame ≤ 300 ms, `G` before the reading ends ≤ 300 ms, any seek under 1 ms). The journal is written by gonogo's own
//! writer as the run loop drives it (each event written, applied, the index told): a release
//! whose one step prints a million batches of output on two targets, with a gate, as a long
//! session would.

use std::time::{Duration, Instant};

use gonogo::engine::{Event, EventKind, Fold, RunId, StepList, Stream};
use gonogo::journal::{FORMAT, Header, VERSION, Writer};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::replay::{Player, Replaying};
use gonogo::runtime::{Record, Rewind};
use ratatui::backend::TestBackend;

const EVENTS: u64 = 1_000_000;

const PROFILE: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"
[targets.a]
host = "a"
[targets.b]
host = "b"
[[step]]
name = "flood"
check = "yes"
on = ["a", "b"]
[[step]]
gate = "Go?"
"#;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.jsonl");
    write(&path);
    // A copy to try by hand (`gonogo replay COPY`), its index as the recording wrote it.
    if let Some(keep) = std::env::var_os("JOURNAL_SEEK_KEEP") {
        let keep = std::path::PathBuf::from(keep);
        std::fs::copy(&path, &keep).expect("journal kept");
        let index = gonogo::journal::index_path(&path);
        std::fs::copy(index, gonogo::journal::index_path(&keep)).expect("index kept");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The index as the recording wrote it (no snapshot at the end), before it is rebuilt.
    jump_before_the_read_ends(&rt, &path);
    let indexed = open_to_last_frame(&rt, &path);
    let index = gonogo::journal::index_path(&path);
    let index_size = std::fs::metadata(&index).expect("index").len();
    println!(
        "open to the last frame from the index ({:.0} MB): {:.0} ms",
        index_size as f64 / 1e6,
        indexed.as_secs_f64() * 1e3
    );
    std::fs::remove_file(&index).expect("index removed");
    let rebuilt = open_to_last_frame(&rt, &path);
    println!(
        "open to the last frame with no index (read whole, index rebuilt): {:.0} ms",
        rebuilt.as_secs_f64() * 1e3
    );
    let again = open_to_last_frame(&rt, &path);
    println!(
        "open to the last frame from the rebuilt index (a snapshot at the end): {:.0} ms",
        again.as_secs_f64() * 1e3
    );
    drop(open_whole(&rt, &path));
    let mut replay = replay_first_frame(&rt, &path);
    seek(&rt, &mut replay);
}

/// A release of one step flooding output on two targets, recorded as the loop records it.
fn write(path: &std::path::Path) {
    let (p, _) = profile::load(&Source::new("t.toml", PROFILE));
    let p = p.expect("profile");
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        gonogo: "bench".into(),
        session: "s".into(),
        profile: "t.toml".into(),
        profile_sha256: String::new(),
        release: "shop".into(),
        environment: "staging".into(),
        operator: "bench".into(),
        login: String::new(),
        terminal: None,
        started: "2026-11-23T12:00:00.000Z".into(),
        targets: Vec::new(),
        present: None,
    };
    let written = Instant::now();
    let mut writer = Writer::create(path, &header).expect("journal");
    let mut fold = Fold::default();
    let mut indexing = Duration::ZERO;
    let mut event = |i: u64, kind: EventKind| {
        let event = Event::new(1_800_000_000_000 + i, kind);
        writer.event(&event);
        fold.apply(&event);
        let told = Instant::now();
        writer.applied(&fold);
        indexing += told.elapsed();
    };
    event(
        0,
        EventKind::Started {
            session: "s".into(),
            operator: "bench".into(),
            plan: Box::new(profile::release_plan(&p, &vars)),
        },
    );
    // Both reached, then both locked: the step starts and its output is the release's.
    for (i, t) in ["a", "b"].into_iter().enumerate() {
        event(1 + i as u64, EventKind::Connected { target: t.into() });
    }
    for (i, t) in ["a", "b"].into_iter().enumerate() {
        event(3 + i as u64, EventKind::LockTaken { target: t.into() });
    }
    for i in 5..EVENTS {
        let target = if i % 2 == 0 { "a" } else { "b" };
        let run = RunId {
            list: StepList::Main,
            step: 0,
            target: target.into(),
            attempt: 1,
        };
        let lines = vec![format!("line {i} of the flood, as a service would log it")];
        let stream = Stream::Stdout;
        event(i, EventKind::Output { run, stream, lines });
    }
    drop(writer);
    let size = std::fs::metadata(path).expect("size").len();
    println!(
        "wrote {EVENTS} events ({:.0} MB) in {:.2} s, of which the index's snapshots {:.0} ms \
         (the loop's apply not counted)",
        size as f64 / 1e6,
        written.elapsed().as_secs_f64(),
        indexing.as_secs_f64() * 1e3
    );
}

/// A replay's cockpit on a 120×36 test terminal, playing `player`.
fn replaying(player: Player) -> Replaying<TestBackend> {
    Replaying::new(
        ratatui::Terminal::new(TestBackend::new(120, 36)).expect("terminal"),
        std::sync::Arc::new(std::sync::Mutex::new(player)),
        gonogo::ui::theme::Theme { color: true },
    )
}

/// Opens the journal through its index (rebuilding it when it is missing) and draws its last
/// frame: the snapshot's release and view as the loop's rewind, the records after it through
/// the loop, the frame drawn at the beat.
fn open_to_last_frame(rt: &tokio::runtime::Runtime, path: &std::path::Path) -> Duration {
    let open = Instant::now();
    let opened = gonogo::journal::open(path).expect("open");
    let parsed = open.elapsed();
    let mut records = vec![Record::Rewind(Box::new(Rewind {
        release: opened.from.release.clone(),
        view: opened.from.view.clone(),
        at: opened.from.last.map(|(_, at)| at),
    }))];
    let after = opened.journal.lines.len();
    let beat = opened.last_event().map_or(0, |(_, at)| at);
    records.extend(
        opened
            .journal
            .lines
            .into_iter()
            .map(|l| Record::Line(l.into())),
    );
    records.push(Record::Beat(beat));
    let mut replay = replaying(Player::read(gonogo::journal::Journal::default()));
    let release = rt.block_on(gonogo::replay::play_records(&mut replay, records));
    let shown = open.elapsed();
    println!(
        "  opened: {} records after the snapshot, read and restored in {:.0} ms, {} output lines on screen",
        after,
        parsed.as_secs_f64() * 1e3,
        release.output.len()
    );
    shown
}

/// Opens the journal as `gonogo replay` did before it read in the background: read whole,
/// through the loop once for marks and keyframes; then to its last frame.
fn open_whole(rt: &tokio::runtime::Runtime, path: &std::path::Path) -> Replaying<TestBackend> {
    let open = Instant::now();
    let journal = gonogo::journal::read(path).expect("read");
    let read = open.elapsed();
    let player = rt.block_on(Player::index(journal));
    let opened = open.elapsed();
    println!(
        "replay's open, the journal read whole: {:.0} ms (read and parse {:.0} ms, read through the loop for marks and keyframes {:.0} ms)",
        opened.as_secs_f64() * 1e3,
        read.as_secs_f64() * 1e3,
        (opened - read).as_secs_f64() * 1e3
    );
    let end = player.end();
    let mut replay = replaying(player);
    replay.player().seek(end);
    let records = replay.player().take();
    rt.block_on(gonogo::replay::play_records(&mut replay, records));
    println!(
        "  and to its last frame: {:.0} ms",
        open.elapsed().as_secs_f64() * 1e3
    );
    replay
}

/// A replay of `player` drawn at the session's start, as `gonogo replay` first shows it, and
/// how many records that took.
fn at_the_start(
    rt: &tokio::runtime::Runtime,
    player: std::sync::Arc<std::sync::Mutex<Player>>,
) -> (Replaying<TestBackend>, usize) {
    let mut replay = Replaying::new(
        ratatui::Terminal::new(TestBackend::new(120, 36)).expect("terminal"),
        player,
        gonogo::ui::theme::Theme { color: true },
    );
    let records = {
        let mut player = replay.player();
        let at = player.position;
        player.play_to(at);
        player.take()
    };
    let shown = records.len();
    rt.block_on(gonogo::replay::play_records(&mut replay, records));
    (replay, shown)
}

/// Opens the journal as `gonogo replay` does: its header, end and first piece read, the frame
/// at the session's start drawn while the rest is read (and through the loop) on the reading
/// thread; then waits for the whole timeline.
fn replay_first_frame(
    rt: &tokio::runtime::Runtime,
    path: &std::path::Path,
) -> Replaying<TestBackend> {
    let open = Instant::now();
    let opening = gonogo::replay::open(path, None).expect("open");
    let (replay, shown) = at_the_start(rt, opening.player);
    let first = open.elapsed();
    opening.reading.join().expect("read whole");
    let whole = open.elapsed();
    println!(
        "replay's first frame (the session's start, {shown} records; the rest read in the background): {:.0} ms",
        first.as_secs_f64() * 1e3
    );
    println!(
        "  its timeline read whole (every record parsed and through the loop for marks and keyframes) after {:.0} ms",
        whole.as_secs_f64() * 1e3
    );
    replay
}

/// `gonogo replay` opened, its first frame drawn, then `G` pressed while the rest is read: the
/// key to the last frame drawn (the index's nearest snapshot checked against the journal and
/// read back, the records after it parsed, all through the loop), the reading thread going on
/// beside it.
fn jump_before_the_read_ends(rt: &tokio::runtime::Runtime, path: &std::path::Path) {
    let opening = gonogo::replay::open(path, None).expect("open");
    let player = opening.player.clone();
    let (mut replay, _) = at_the_start(rt, opening.player);
    let pressed = Instant::now();
    replay.player().act(gonogo::ui::keymap::Action::ToEnd);
    let asked = gonogo::replay::jump(&player, path);
    let landed_in = pressed.elapsed();
    let records = replay.player().take();
    let count = records.len();
    let release = rt.block_on(gonogo::replay::play_records(&mut replay, records));
    let shown = pressed.elapsed();
    let (landed, still_reading) = {
        let player = replay.player();
        (player.landed(), !player.read_whole())
    };
    opening.reading.join().expect("read whole");
    println!(
        "G before the read ends: key press to the last frame drawn: {:.0} ms (through the index: {}, \
         the snapshot checked, read back and the records after it read in {:.0} ms; \
         {count} records to the loop, the reading still going: {still_reading}, {} output lines on screen)",
        shown.as_secs_f64() * 1e3,
        asked && landed,
        landed_in.as_secs_f64() * 1e3,
        release.output.len()
    );
}

/// Ten seeks back and forth, five times over, each its records through the loop and the frame
/// drawn: the median and the worst, and where the time of the worst went.
fn seek(rt: &tokio::runtime::Runtime, replay: &mut Replaying<TestBackend>) {
    let end = replay.player().end();
    let rounds: usize = std::env::var("SEEK_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let mut seeks = Vec::new();
    for _ in 0..rounds {
        for k in [9u64, 1, 7, 3, 5, 0, 8, 2, 6, 4] {
            let to = end / 10 * k + end / 17;
            let seek = Instant::now();
            replay.player().seek(to);
            let records = replay.player().take();
            let moved = seek.elapsed();
            let count = records.len();
            rt.block_on(gonogo::replay::play_records(replay, records));
            seeks.push((seek.elapsed(), moved, count));
        }
    }
    seeks.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (median, worst) = (seeks[seeks.len() / 2], seeks[seeks.len() - 1]);
    println!(
        "seek ({} seeks: 10 positions back and forth, {rounds} times): median {:.2} ms, worst {:.2} ms \
         (the player {:.2} ms, {} records through the loop and the frame {:.2} ms)",
        seeks.len(),
        ms(median.0),
        ms(worst.0),
        ms(worst.1),
        worst.2,
        ms(worst.0 - worst.1)
    );
}
