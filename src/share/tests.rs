//! A follower's state against the journal file: records in order, a gap filled from the file,
//! a resync rebuilding from it, a record of an unknown type still counted; and a follow through
//! the run loop reaching the journal's fold.

use super::follow::Sequence;
use crate::engine::{Event, EventKind, Release};
use crate::journal::{FORMAT, Header, VERSION, Writer};
use crate::runtime::Record;

fn header() -> Header {
    Header {
        format: FORMAT.into(),
        version: VERSION,
        gonogo: "0.1.0".into(),
        session: "s1".into(),
        profile: "p.toml".into(),
        profile_sha256: String::new(),
        release: "shop".into(),
        environment: "staging".into(),
        operator: "ana@laptop".into(),
        login: String::new(),
        terminal: None,
        started: "2026-11-23T12:00:00.000Z".into(),
        targets: Vec::new(),
        present: None,
    }
}

fn joined(name: &str) -> Event {
    Event::new(
        1_000,
        EventKind::Joined {
            name: name.into(),
            via: "this machine".into(),
            approver: false,
        },
    )
}

/// A follower's records, folded the way the loop folds them (a rewind starts over).
#[derive(Default)]
struct Followed {
    fold: crate::engine::Fold,
    /// Every record given, in order, for the loop.
    given: Vec<Record>,
}

impl Followed {
    fn take(&mut self, records: Vec<Record>) {
        for record in &records {
            match record {
                Record::Rewind(rewind) => self.fold = rewind.release.clone().into(),
                Record::Line(line) => {
                    if let crate::journal::Entry::Event(event) = &line.entry {
                        self.fold.apply(event);
                    }
                }
                Record::Beat(_) => {}
            }
        }
        self.given.extend(records);
    }
}

fn names(f: &Followed) -> Vec<&str> {
    f.fold.followers.iter().map(|w| w.name.as_str()).collect()
}

#[test]
fn a_follower_fills_gaps_and_resyncs_from_the_journal_file() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("s.jsonl");
    let mut writer = Writer::create(&path, &header()).expect("create");
    let (tx, mut rx) = tokio::sync::broadcast::channel(16);
    writer.tap(tx);
    writer.event(&joined("bob"));
    writer.sync();
    let (mut sequence, so_far) = Sequence::load(&path).expect("load");
    let mut followed = Followed::default();
    followed.take(so_far);
    assert_eq!((sequence.seq(), names(&followed)), (1, vec!["bob"]));
    let first = rx.try_recv().expect("the tap has record 1");
    followed.take(sequence.record(&first).expect("a record seen already"));
    assert_eq!((sequence.seq(), followed.given.len()), (1, 1), "given once");

    // Records 2 and 3 written; only 3 comes over the socket (2 was lost): 2 is read from the file.
    writer.event(&joined("cy"));
    writer.event(&Event::new(
        2_000,
        EventKind::Left {
            name: "bob".into(),
            why: None,
        },
    ));
    writer.sync();
    let _second = rx.try_recv().expect("record 2");
    let third = rx.try_recv().expect("record 3");
    followed.take(sequence.record(&third).expect("gap filled"));
    assert_eq!((sequence.seq(), names(&followed)), (3, vec!["cy"]));

    // A record of a type from a newer gonogo: skipped, its number counted.
    let future = r#"{"seq":4,"t":9,"ts":"2026-11-23T12:00:09.000Z","type":"hologram","data":{}}"#;
    followed.take(sequence.record(future).expect("unknown type"));
    assert_eq!(sequence.seq(), 4);

    // Told to resync: the state is rebuilt from the file as it stands.
    followed.take(sequence.record(super::socket::RESYNC).expect("resync"));
    assert_eq!((sequence.seq(), names(&followed)), (3, vec!["cy"]));

    // The same records through the run loop (drivers off), as `gonogo follow` plays them: the
    // release the journal's fold makes.
    let folded =
        crate::launch::resume::rebuild(crate::journal::read(&path).expect("read").events());
    let followed_loop = through_the_loop(followed.given);
    assert_eq!(format!("{followed_loop:?}"), format!("{folded:?}"));
    assert_eq!(format!("{:?}", *followed.fold), format!("{folded:?}"));
}

/// A front end that shows nothing and leaves when the records end.
struct Nobody;

impl crate::runtime::Frontend for Nobody {
    fn show(&mut self, _event: &Event, _release: &Release) {}

    fn input(
        &mut self,
        _input: crate::runtime::Input,
        _release: &Release,
        _now: crate::engine::Millis,
    ) -> Option<EventKind> {
        None
    }

    fn flush(&mut self, _release: &Release, _now: crate::engine::Millis) {}
}

fn through_the_loop(given: Vec<Record>) -> Release {
    use crate::runtime::{Clock, Source};
    let (records_tx, records) = tokio::sync::mpsc::channel(given.len() + 1);
    for record in given {
        records_tx.try_send(record).expect("room");
    }
    drop(records_tx);
    let (_inputs_tx, inputs) = tokio::sync::mpsc::channel(1);
    let source = Source::Recorded { records, inputs };
    let drivers = crate::drivers::DriversOff::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(crate::runtime::play(
        drivers,
        &mut Nobody,
        source,
        Clock::recorded(),
    ))
}
