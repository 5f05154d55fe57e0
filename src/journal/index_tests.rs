//! The index: a journal opened from its nearest snapshot gives the release and the screen a
//! read of the whole journal gives, and an index that is missing, of another version, damaged,
//! stale or of a journal that changed is never trusted: the journal is read whole instead and
//! the index written again.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use super::*;
use crate::engine::event::{Decision, RunId, StepList, Stream};
use crate::engine::watch::HealthReading;
use crate::engine::{Actor, Event, EventKind, Fold, Release};
use crate::profile::{self, Diagnostics, Purpose, Source};

fn run_of(step: usize) -> RunId {
    RunId {
        list: StepList::Main,
        step,
        target: "web-1".into(),
        attempt: 1,
    }
}

const PROFILE: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"

[targets.web-1]
host = "web-1"

[logs.app]
on = "web-1"
command = "tail -F app.log"
errors = 'ERROR'

[health.app]
url = "http://127.0.0.1:8000/health"
via = "web-1"

[[step]]
name = "ready"
check = "status"
on = "web-1"
expect = "^ready$"

[[step]]
gate = "Go?"

[[step]]
name = "restart"
run = "restart"
on = "web-1"
"#;

/// The header of the journals these tests write (the replay's tests write them too).
pub(crate) fn header() -> Header {
    Header {
        format: FORMAT.into(),
        version: VERSION,
        gonogo: "0.1.0".into(),
        session: "s1".into(),
        profile: "t.toml".into(),
        profile_sha256: String::new(),
        release: "shop".into(),
        environment: "staging".into(),
        operator: "ana@laptop".into(),
        login: String::new(),
        terminal: Some((100, 30)),
        started: "2026-12-07T12:00:00.000Z".into(),
        targets: Vec::new(),
        present: None,
    }
}

/// A session: a check whose expected line comes late, logs with errors, health samples, a
/// gate, a restart, and the operator's view changing on the way.
fn session() -> Vec<Entry> {
    let (p, _) = profile::load(&Source::new("t.toml", PROFILE));
    let p = p.expect("profile");
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
    let mut kinds = vec![
        EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(profile::release_plan(&p, &vars)),
        },
        EventKind::Connected {
            target: "web-1".into(),
        },
        EventKind::LockTaken {
            target: "web-1".into(),
        },
    ];
    for i in 0..120 {
        let line = if i == 90 {
            "ready".into()
        } else {
            format!("waiting {i}")
        };
        kinds.push(EventKind::Output {
            run: run_of(0),
            stream: Stream::Stdout,
            lines: vec![line],
        });
        if i % 7 == 0 {
            kinds.push(EventKind::LogLines {
                target: "web-1".into(),
                tail: "app".into(),
                lines: vec![format!("ERROR {i} failed"), format!("ok {i}")],
            });
        }
        if i % 11 == 0 {
            kinds.push(EventKind::HealthSampled {
                check: "app".into(),
                via: Some("web-1".into()),
                reading: HealthReading {
                    ok: i % 22 == 0,
                    status: Some(200),
                    latency_ms: 10 + i,
                    error: None,
                    cert_days: None,
                },
            });
        }
    }
    kinds.extend([
        EventKind::Exited {
            run: run_of(0),
            status: 0,
        },
        EventKind::Decided {
            by: "ana".into(),
            decision: Decision::Go,
            note: Some("checked with bo".into()),
            actor: Actor::Person,
        },
        EventKind::Output {
            run: run_of(2),
            stream: Stream::Stderr,
            lines: vec!["restarting \"app\"".into()],
        },
    ]);
    let mut entries = Vec::new();
    for (i, kind) in kinds.into_iter().enumerate() {
        let at = 1_800_000_000_000 + i as u64 * 700;
        entries.push(Entry::Event(Event::new(at, kind)));
        if i % 40 == 5 {
            entries.push(Entry::View(ViewChange::Filter {
                text: format!("waiting {i}"),
            }));
        }
    }
    entries
}

/// Writes `entries` as the run loop does: each event journaled, applied, then the index told.
fn write(writer: &mut Writer, fold: &mut Fold, entries: &[Entry]) {
    for entry in entries {
        match entry {
            Entry::Event(event) => {
                writer.event(event);
                fold.apply(event);
                writer.applied(fold);
            }
            Entry::View(change) => writer.view(change, 1_800_000_000_000),
        }
    }
}

/// A session recorded with a snapshot every 2 kB, in a temp dir.
fn recorded() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let mut writer = Writer::create(&path, &header()).unwrap();
    writer.snapshots_every(2048);
    write(&mut writer, &mut Fold::default(), &session());
    drop(writer);
    (dir, path)
}

/// The release and the view a read of the whole journal gives.
fn read_whole(path: &Path) -> (Release, RecordedView) {
    let journal = read(path).unwrap();
    let release = Fold::from_events(journal.events()).into_release();
    (release, view_after(RecordedView::default(), &journal))
}

/// The cockpit as it draws `release`.
fn screen(release: &Release) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    let ui = crate::ui::state::UiState::default();
    let theme = crate::ui::theme::Theme { color: false };
    terminal
        .draw(|frame| {
            let area = frame.area();
            crate::ui::draw_in(frame, area, release, &ui, &theme, release.now);
        })
        .unwrap();
    format!("{:?}", terminal.backend().buffer())
}

/// Opening `path` through its index gives what a whole read gives: state, screen, view, and
/// where the journal ends.
fn opens_as_read_whole(path: &Path) -> Opened {
    let opened = open(path).unwrap();
    let (release, view) = read_whole(path);
    let from_index = opened.release();
    assert_eq!(
        serde_json::to_value(&from_index).unwrap(),
        serde_json::to_value(&release).unwrap()
    );
    assert_eq!(screen(&from_index), screen(&release));
    assert_eq!(view_after(opened.from.view.clone(), &opened.journal), view);
    assert_eq!(opened.last(), read(path).unwrap().last());
    opened
}

/// Snapshots in the index, and whether each is at a record's end.
pub(crate) fn snapshots(path: &Path) -> Vec<Snapshot> {
    let index = std::fs::read_to_string(index_path(path)).unwrap();
    index
        .lines()
        .skip(1)
        .map(|line| index::parse_snapshot(line).expect("a whole snapshot"))
        .collect()
}

#[test]
fn a_snapshot_read_back_is_the_release_it_was_taken_of_after_every_kind_of_event() {
    let mut fold = Fold::default();
    let events: Vec<Entry> = session()
        .into_iter()
        .chain(
            super::tests::every_kind()
                .into_iter()
                .map(|kind| Entry::Event(Event::new(1_800_000_100_000, kind))),
        )
        .collect();
    for entry in &events {
        let Entry::Event(event) = entry else { continue };
        fold.apply(event);
        let snapshot = Snapshot {
            release: fold.release().clone(),
            ..Snapshot::default()
        };
        let line = index::snapshot_line(&snapshot).expect("a snapshot line");
        let back = index::parse_snapshot(&line).expect("read back");
        assert_eq!(
            serde_json::to_value(&back.release).unwrap(),
            serde_json::to_value(fold.release()).unwrap(),
            "after {:?}",
            event.kind
        );
    }
}

#[test]
fn a_snapshot_streamed_to_the_index_is_the_line_built_whole() {
    let mut fold = Fold::default();
    for entry in session() {
        if let Entry::Event(event) = entry {
            fold.apply(&event);
        }
    }
    for kind in super::tests::every_kind() {
        fold.apply(&Event::new(1_800_000_100_000, kind));
    }
    let snapshot = Snapshot {
        seq: 42,
        offset: 4096,
        crc: 0xdead_beef,
        release: fold.release().clone(),
        ..Snapshot::default()
    };
    let mut streamed = Vec::new();
    index::write_snapshot(&mut streamed, &snapshot).expect("written");
    let whole = index::snapshot_line(&snapshot).expect("a snapshot line");
    assert_eq!(
        String::from_utf8(streamed).expect("utf-8"),
        format!("{whole}\n")
    );
}

#[test]
fn a_recording_writes_snapshots_that_open_to_the_state_of_a_whole_read() {
    let (_dir, path) = recorded();
    let taken = snapshots(&path);
    assert!(taken.len() >= 5, "{} snapshots", taken.len());
    let mode = std::fs::metadata(index_path(&path)).unwrap().permissions();
    assert_eq!(mode.mode() & 0o777, 0o600);
    let opened = opens_as_read_whole(&path);
    assert!(opened.indexed);
    assert_eq!(opened.from.seq, taken.last().unwrap().seq);
    assert!(opened.journal.lines.len() < 20, "parsed only what follows");
}

#[test]
fn every_length_of_the_journal_opens_to_its_own_state_whatever_the_index_says() {
    // The journal cut at each record, the index left as the whole recording wrote it: a
    // snapshot past the cut, or of other bytes, is never used.
    let (dir, path) = recorded();
    let text = std::fs::read_to_string(&path).unwrap();
    let index = std::fs::read(index_path(&path)).unwrap();
    let cut = dir.path().join("cut.jsonl");
    let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
    for (k, end) in ends.iter().enumerate().step_by(9) {
        std::fs::write(&cut, &text[..*end]).unwrap();
        std::fs::write(index_path(&cut), &index).unwrap();
        let opened = opens_as_read_whole(&cut);
        if k > 0 {
            assert!(opened.from.offset <= *end as u64);
        }
    }
    // Cut mid-line: read up to the last whole line, as the reader does.
    std::fs::write(&cut, &text[..text.len() - 7]).unwrap();
    std::fs::write(index_path(&cut), &index).unwrap();
    let opened = opens_as_read_whole(&cut);
    assert!(opened.journal.warnings[0].contains("ends mid-line"));
}

#[test]
fn a_journal_that_grew_after_its_last_snapshot_opens_from_it_and_reads_the_rest() {
    let (_dir, path) = recorded();
    let before = snapshots(&path).len();
    // Another writer appended without an index (a crash before its first snapshot).
    let last = read(&path).unwrap().last();
    let mut writer = Writer::append(&path, last.0, last.1).unwrap();
    for i in 0..30 {
        writer.event(&Event::new(
            1_800_000_900_000 + i,
            EventKind::Output {
                run: run_of(2),
                stream: Stream::Stdout,
                lines: vec![format!("after {i}")],
            },
        ));
    }
    drop(writer);
    let opened = opens_as_read_whole(&path);
    assert!(opened.indexed);
    assert_eq!(snapshots(&path).len(), before);
    assert!(opened.journal.lines.len() >= 30);
}

#[test]
fn a_resumed_recording_goes_on_with_the_index() {
    let (_dir, path) = recorded();
    let entries = session();
    let end = open(&path).unwrap();
    let (seq, t) = end.last();
    let mut fold = Fold::from_release(end.release());
    let mut writer = Writer::append(&path, seq, t).unwrap();
    writer.index_from(&end.end().unwrap());
    writer.snapshots_every(2048);
    write(&mut writer, &mut fold, &entries[3..]);
    drop(writer);
    let taken = snapshots(&path);
    let opened = opens_as_read_whole(&path);
    assert!(opened.indexed);
    assert!(opened.from.seq > seq, "a snapshot of the appended part");
    assert_eq!(opened.from.seq, taken.last().unwrap().seq);
}

#[test]
fn a_missing_index_is_rebuilt_and_the_next_open_starts_from_it() {
    let (_dir, path) = recorded();
    std::fs::remove_file(index_path(&path)).unwrap();
    let opened = opens_as_read_whole(&path);
    assert!(!opened.indexed);
    let mode = std::fs::metadata(index_path(&path)).unwrap().permissions();
    assert_eq!(mode.mode() & 0o777, 0o600);
    let again = opens_as_read_whole(&path);
    assert!(again.indexed);
    assert!(
        again.journal.lines.is_empty(),
        "rebuilt with a snapshot at the end"
    );
}

#[test]
fn an_index_of_another_version_is_not_read_but_rebuilt() {
    let (_dir, path) = recorded();
    let index = std::fs::read_to_string(index_path(&path)).unwrap();
    let newer = index.replacen("\"version\":1", "\"version\":2", 1);
    std::fs::write(index_path(&path), newer).unwrap();
    let opened = opens_as_read_whole(&path);
    assert!(!opened.indexed);
    assert!(
        std::fs::read_to_string(index_path(&path))
            .unwrap()
            .contains("\"version\":1")
    );
}

#[test]
fn a_damaged_snapshot_is_passed_over_and_an_index_of_nothing_but_damage_is_rebuilt() {
    let (_dir, path) = recorded();
    let index = std::fs::read_to_string(index_path(&path)).unwrap();
    let mut lines: Vec<String> = index.lines().map(str::to_string).collect();
    // A flipped digit inside the last snapshot's release: still JSON, wrong state.
    let last = lines.last_mut().unwrap();
    let at = last.find("\"output_dropped\":").unwrap() + 17;
    last.replace_range(at..=at, "7");
    std::fs::write(index_path(&path), lines.join("\n") + "\n").unwrap();
    let opened = opens_as_read_whole(&path);
    assert!(opened.indexed);
    let earlier = &lines[lines.len() - 2];
    assert_eq!(opened.from.seq, index::parse_snapshot(earlier).unwrap().seq);
    // Every snapshot damaged, and garbage at the end.
    let damaged: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.clone()
            } else {
                l.replacen('{', "[", 2)
            }
        })
        .collect();
    std::fs::write(index_path(&path), damaged.join("\n") + "\n\u{0}garbage").unwrap();
    let opened = opens_as_read_whole(&path);
    assert!(!opened.indexed);
    assert!(open(&path).unwrap().indexed, "rebuilt");
}

#[test]
fn a_journal_changed_before_a_snapshot_opens_from_no_snapshot_after_the_change() {
    let (_dir, path) = recorded();
    let text = std::fs::read_to_string(&path).unwrap();
    // The same length, another line: "waiting 30" became "waiting 80".
    let changed = text.find("waiting 30\"").unwrap();
    std::fs::write(&path, text.replacen("waiting 30\"", "waiting 80\"", 1)).unwrap();
    let opened = opens_as_read_whole(&path);
    assert!(opened.from.offset as usize <= changed);
    // Changed in the header's line: no snapshot holds.
    std::fs::write(&path, text.replacen("ana@laptop", "bob@laptop", 1)).unwrap();
    let opened = opens_as_read_whole(&path);
    assert!(!opened.indexed);
}

#[test]
fn a_release_from_a_snapshot_judges_what_follows_as_the_whole_read_does() {
    // The expected line and the log errors come after the first snapshots: a snapshot must
    // bring back the patterns it does not hold.
    let (_dir, path) = recorded();
    let index = std::fs::read_to_string(index_path(&path)).unwrap();
    let first_two: Vec<&str> = index.lines().take(2).collect();
    std::fs::write(index_path(&path), first_two.join("\n") + "\n").unwrap();
    let opened = opens_as_read_whole(&path);
    assert!(opened.indexed);
    let release = opened.release();
    assert!(release.logs.lines.iter().any(|l| l.error));
    assert!(release.steps[0].targets.iter().all(|t| t.expect_matched));
}
