//! Every event type survives the journal; a journal cut off, damaged or from a newer gonogo is
//! read as far as it can be, and nothing in it makes the reader panic.

use std::os::unix::fs::PermissionsExt as _;

use proptest::prelude::*;

use super::*;
use crate::engine::event::{RunId, StepList, Stream};
use crate::engine::{Event, EventKind};

#[path = "every_kind.rs"]
mod every_kind;
pub(super) use every_kind::every_kind;

pub(super) fn run() -> RunId {
    RunId {
        list: StepList::Main,
        step: 2,
        target: "web-1".into(),
        attempt: 1,
    }
}

/// Which type an event is, by an exhaustive match: a new event type does not compile until it
/// is in `every_kind` and in docs/recording.md.
fn index(kind: &EventKind) -> usize {
    match kind {
        EventKind::Started { .. } => 0,
        EventKind::Connected { .. } => 1,
        EventKind::ConnectFailed { .. } => 2,
        EventKind::ConnectionLost { .. } => 3,
        EventKind::Reconnected { .. } => 4,
        EventKind::LockTaken { .. } => 5,
        EventKind::LockFailed { .. } => 6,
        EventKind::LockRefused { .. } => 7,
        EventKind::LockBroken { .. } => 8,
        EventKind::Output { .. } => 9,
        EventKind::Exited { .. } => 10,
        EventKind::RunFailed { .. } => 11,
        EventKind::RunLost { .. } => 12,
        EventKind::RunStopped { .. } => 13,
        EventKind::StopFailed { .. } => 14,
        EventKind::LockLost { .. } => 15,
        EventKind::LocksReleased { .. } => 16,
        EventKind::TimerFired { .. } => 17,
        EventKind::HealthSampled { .. } => 18,
        EventKind::MetricsSampled { .. } => 19,
        EventKind::ShellOpened { .. } => 20,
        EventKind::ShellClosed { .. } => 21,
        EventKind::Decided { .. } => 22,
        EventKind::LogLines { .. } => 23,
        EventKind::LogsDropped { .. } => 24,
        EventKind::TailDown { .. } => 25,
        EventKind::TailUp { .. } => 26,
        EventKind::HostKeyTrusted { .. } => 27,
        EventKind::Resumed { .. } => 28,
        EventKind::Joined { .. } => 29,
        EventKind::Left { .. } => 30,
        EventKind::Voted { .. } => 31,
        EventKind::NotifyFailed { .. } => 32,
        EventKind::JournalFailed { .. } => 33,
        EventKind::BatchStarted { .. } => 34,
        EventKind::BatchJudged { .. } => 35,
        EventKind::BatchPromoted { .. } => 36,
        EventKind::VersionFound { .. } => 37,
        EventKind::ChangesFound { .. } => 38,
        EventKind::PendingFound { .. } => 39,
        EventKind::Refused { .. } => 40,
    }
}
const KINDS: usize = 41;

fn header() -> Header {
    Header {
        format: FORMAT.into(),
        version: VERSION,
        gonogo: "0.1.0".into(),
        session: "s1".into(),
        profile: "profiles/web.toml".into(),
        profile_sha256: "ab".repeat(32),
        release: "shop".into(),
        environment: "production".into(),
        operator: "ana@laptop".into(),
        login: String::new(),
        terminal: Some((80, 24)),
        started: "2026-11-23T12:00:00.000Z".into(),
        targets: vec![HeaderTarget {
            name: "web-1".into(),
            address: "deploy@web-1".into(),
        }],
        present: None,
    }
}

/// A journal written by the real writer into a temp dir, and its text.
fn written(
    events: &[Event],
    views: &[ViewChange],
) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions/j.jsonl");
    let mut writer = Writer::create(&path, &header()).unwrap();
    for event in events {
        writer.event(event);
    }
    for view in views {
        writer.view(view, 1_800_000_000_000);
    }
    drop(writer);
    let text = std::fs::read_to_string(&path).unwrap();
    (dir, path, text)
}

fn events() -> Vec<Event> {
    every_kind()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Event::new(1_800_000_000_000 + i as u64 * 1500, kind))
        .collect()
}

#[test]
fn every_event_type_comes_back_as_it_was_written() {
    let kinds = every_kind();
    let mut seen = vec![false; KINDS];
    for kind in &kinds {
        seen[index(kind)] = true;
    }
    assert!(
        seen.iter().all(|s| *s),
        "every_kind misses a type: {seen:?}"
    );

    let views = vec![
        ViewChange::Focus {
            pane: "output".into(),
            shows: "logs".into(),
            zoomed: false,
        },
        ViewChange::Focus {
            pane: "health".into(),
            shows: "logs".into(),
            zoomed: true,
        },
        ViewChange::Filter {
            text: "ERROR".into(),
        },
        ViewChange::Scroll {
            pane: "output".into(),
            back: 40,
            paused_at: 120,
        },
        ViewChange::Modal {
            modal: Some("gate".into()),
        },
        ViewChange::Resize {
            cols: 120,
            rows: 36,
        },
    ];
    let (_dir, path, text) = written(&events(), &views);
    let journal = read(&path).unwrap();
    assert_eq!(journal.header(), &header());
    assert!(journal.warnings.is_empty(), "{:?}", journal.warnings);
    let back: Vec<Event> = journal.events().cloned().collect();
    assert_eq!(back, events());
    let viewed: Vec<&ViewChange> = journal
        .lines
        .iter()
        .filter_map(|l| match &l.entry {
            Entry::View(v) => Some(v),
            Entry::Event(_) => None,
        })
        .collect();
    assert_eq!(viewed, views.iter().collect::<Vec<_>>());

    // Numbered without gaps, time never going back, the decision's actor named.
    let seqs: Vec<u64> = journal.lines.iter().map(|l| l.seq).collect();
    assert_eq!(seqs, (1..=(KINDS + views.len()) as u64).collect::<Vec<_>>());
    assert!(journal.lines.windows(2).all(|w| w[0].t <= w[1].t));
    let decided = text
        .lines()
        .find(|l| l.contains(r#""type":"decided""#))
        .unwrap();
    assert!(decided.contains(r#""actor":"ana""#), "{decided}");
    assert!(
        decided.contains(r#""ts":"2027-01-15T08:00:36.000Z""#),
        "{decided}"
    );
}

#[test]
fn the_journal_and_its_directory_are_the_operators_alone() {
    let (dir, path, _) = written(&events()[..2], &[]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("sessions")), 0o700);
    // Never over an existing journal.
    assert!(Writer::create(&path, &header()).is_err());
}

/// A writer dropped has let go of its journal: the lock its background sync thread shared is
/// gone when the drop returns, so the same process may go on with the journal at once.
#[test]
fn a_dropped_writer_lets_go_of_its_journal_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    drop(Writer::create(&path, &header()).unwrap());
    for _ in 0..50 {
        let writer = Writer::append(&path, 0, 0);
        assert!(writer.is_ok(), "{:?}", writer.err());
    }
}

#[test]
fn a_journal_cut_off_mid_line_is_read_to_its_last_whole_line() {
    let (_dir, _, text) = written(&events(), &[]);
    let cut = &text[..text.len() - 20];
    let journal = read_str(cut).unwrap();
    assert_eq!(journal.events().count(), KINDS - 1);
    assert_eq!(journal.warnings.len(), 1, "{:?}", journal.warnings);
    assert!(
        journal.warnings[0].contains("ends mid-line"),
        "{:?}",
        journal.warnings
    );
}

#[test]
fn unknown_types_are_skipped_and_damaged_lines_said() {
    let (_dir, _, text) = written(&events()[..3], &[]);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.insert(
        2,
        r#"{"seq":2,"t":5,"ts":"2027-01-15T08:00:00.000Z","type":"vote_cast","data":{"by":"bo"}}"#
            .into(),
    );
    lines[3] = lines[3].replace(r#""seq":2"#, r#""seq":3"#);
    lines.insert(4, "{not json".into());
    let renumbered: Vec<String> = lines
        .iter()
        .map(|l| l.replace(r#""seq":3,"t""#, r#""seq":4,"t""#))
        .collect();
    let journal = read_str(&(renumbered.join("\n") + "\n")).unwrap();
    assert_eq!(journal.unknown, 1);
    assert_eq!(journal.events().count(), 3);
    assert!(
        journal
            .warnings
            .iter()
            .any(|w| w.contains("1 damaged line(s) skipped (line 5)")),
        "{:?}",
        journal.warnings
    );
}

/// Read a piece at a time, of any size, a journal gives the records and warnings a read of the
/// whole gives (damaged lines told per piece), and its end before any piece: a damaged line, an unknown type and a cut-off
/// end included.
#[test]
fn a_journal_read_in_pieces_is_the_journal_read_whole() {
    let (dir, _, text) = written(&events(), &[ViewChange::Filter { text: "x".into() }]);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[5] = "{not json".into();
    lines[9] = lines[9].replace(r#""type":"#, r#""type":"from_a_newer_gonogo","was":"#);
    let text = lines.join("\n") + "\n";
    let cut = &text[..text.len() - 20];
    for (case, text) in [("whole", text.as_str()), ("cut off", cut)] {
        let path = dir.path().join("pieces.jsonl");
        std::fs::write(&path, text).unwrap();
        let whole = read_str(text).unwrap();
        for sizes in [(1, 7), (100, 300), (4096, 4096), (FIRST_PIECE, PIECE)] {
            let pieces = Pieces::open_with(&path, sizes).unwrap();
            assert_eq!(pieces.header(), whole.header());
            assert_eq!(pieces.end(), whole.last().1, "{case} {sizes:?}");
            let mut read = Journal::default();
            for piece in pieces {
                read.lines.extend(piece.lines);
                read.warnings.extend(piece.warnings);
                read.unknown += piece.unknown;
            }
            assert_eq!(read.lines, whole.lines, "{case} {sizes:?}");
            // Each piece tells its own damaged lines, after what else it read.
            let sorted = |mut w: Vec<String>| {
                w.sort();
                w
            };
            assert_eq!(
                sorted(read.warnings),
                sorted(whole.warnings.clone()),
                "{case} {sizes:?}"
            );
            assert_eq!(read.unknown, whole.unknown, "{case} {sizes:?}");
        }
        assert_eq!(whole.unknown, 1);
        assert!(!whole.warnings.is_empty());
    }
}

/// Log tails were called followers: their records keep that name, both ways, so older
/// journals read and newer ones are read by older gonogos.
#[test]
fn log_tail_records_keep_their_journal_names() {
    let (_dir, _path, text) = written(&events(), &[]);
    let record = |kind: &str| {
        text.lines()
            .find(|l| l.contains(&format!(r#""type":"{kind}""#)))
            .unwrap_or_else(|| panic!("no {kind} record in {text}"))
            .to_string()
    };
    for kind in ["log_lines", "logs_dropped", "follower_down", "follower_up"] {
        let line = record(kind);
        assert!(line.contains(r#""follower":"app""#), "{line}");
        assert!(!line.contains("tail"), "{line}");
    }

    let mut old = serde_json::to_string(&header()).unwrap();
    for (seq, (kind, data)) in [
        (
            "log_lines",
            r#"{"target":"web-1","follower":"app","lines":["x"]}"#,
        ),
        (
            "logs_dropped",
            r#"{"target":"web-1","follower":"app","count":2}"#,
        ),
        (
            "follower_down",
            r#"{"target":"web-1","follower":"app","error":"eof"}"#,
        ),
        (
            "follower_up",
            r#"{"target":"web-1","follower":"app","gap_ms":null}"#,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        old.push_str(&format!(
            "\n{{\"seq\":{},\"t\":5,\"ts\":\"2027-01-15T08:00:00.000Z\",\"type\":\"{kind}\",\"data\":{data}}}",
            seq + 1
        ));
    }
    old.push('\n');
    let journal = read_str(&old).unwrap();
    assert!(journal.warnings.is_empty(), "{:?}", journal.warnings);
    let kinds: Vec<&EventKind> = journal.events().map(|e| &e.kind).collect();
    assert_eq!(
        kinds,
        [
            &EventKind::LogLines {
                target: "web-1".into(),
                tail: "app".into(),
                lines: vec!["x".into()],
            },
            &EventKind::LogsDropped {
                target: "web-1".into(),
                tail: "app".into(),
                count: 2,
            },
            &EventKind::TailDown {
                target: "web-1".into(),
                tail: "app".into(),
                error: "eof".into(),
            },
            &EventKind::TailUp {
                target: "web-1".into(),
                tail: "app".into(),
                gap_ms: None,
            },
        ]
    );
}

#[test]
fn a_resume_recorded_before_it_said_what_was_lost_still_reads() {
    let mut text = serde_json::to_string(&header()).unwrap();
    text.push('\n');
    text.push_str(
        r#"{"seq":1,"t":5,"ts":"2027-01-15T08:00:00.000Z","type":"resumed","data":{"by":"ana"}}"#,
    );
    text.push('\n');
    let journal = read_str(&text).unwrap();
    let kinds: Vec<&EventKind> = journal.events().map(|e| &e.kind).collect();
    assert_eq!(
        kinds,
        [&EventKind::Resumed {
            by: "ana".into(),
            unattended: None,
            stopped_at: None,
            stopped_t: None,
        }]
    );
}

#[test]
fn a_newer_format_or_another_file_is_refused_with_the_reason() {
    let newer = serde_json::to_string(&Header {
        version: VERSION + 1,
        ..header()
    })
    .unwrap();
    let said = |text: &str| read_str(text).unwrap_err().to_string();
    assert!(said(&newer).contains("update gonogo"));
    assert!(said("").contains("not a gonogo journal"));
    assert!(said("[release]\nname = 'x'\n").contains("header"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the bytes after a good header, reading never panics and keeps only whole,
    /// well-formed records.
    #[test]
    fn the_reader_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut text = serde_json::to_string(&header()).unwrap();
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&tail));
        let _ = read_str(&text);
    }

    /// A journal cut anywhere reads as a prefix of what was written.
    #[test]
    fn a_journal_cut_anywhere_reads_as_a_prefix(cut in 0usize..4000) {
        let (_dir, _, text) = written(&events(), &[]);
        let mut at = cut.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        if let Ok(journal) = read_str(&text[..at]) {
            let back: Vec<Event> = journal.events().cloned().collect();
            prop_assert_eq!(&back[..], &events()[..back.len()]);
        }
    }

    /// An output record written by the fast path is the text serde's own path writes, whatever
    /// the lines hold (quotes, backslashes, control bytes, DEL, unicode).
    #[test]
    fn output_records_are_written_as_serde_writes_them(
        lines in proptest::collection::vec(any::<String>(), 0..8),
        stream in prop_oneof![Just(Stream::Stdout), Just(Stream::Stderr)],
    ) {
        let mut lines = lines;
        lines.extend(["plain".into(), "q\"b\\t\tn\u{1}\u{7f}é".into(), String::new()]);
        let kind = EventKind::Output { run: run(), stream, lines: lines.clone() };
        let text = serde_json::to_string(&kind).unwrap();
        let (name, data) = writer::untag(&text).unwrap();
        let slow = writer::tagged_line((7, 12, "2026-11-23T10:00:00.000Z"), name, &data, &kind);
        let mut fast = String::new();
        writer::output_line(&mut fast, (7, 12, "2026-11-23T10:00:00.000Z"), &run(), stream, &lines);
        prop_assert_eq!(fast, slow);
    }
}
