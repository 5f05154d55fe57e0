//! A follower's state against the journal file: records in order, a gap filled from the file,
//! a resync rebuilding from it, a record of an unknown type still counted.

use super::follow::Followed;
use crate::engine::{Event, EventKind};
use crate::journal::{FORMAT, Header, VERSION, Writer};

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

fn names(f: &Followed) -> Vec<&str> {
    f.release()
        .watchers
        .iter()
        .map(|w| w.name.as_str())
        .collect()
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
    let mut followed = Followed::load(&path).expect("load");
    assert_eq!((followed.seq(), names(&followed)), (1, vec!["bob"]));
    let first = rx.try_recv().expect("the tap has record 1");
    followed.record(&first).expect("a record seen already");
    assert_eq!(followed.seq(), 1, "applied once");

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
    followed.record(&third).expect("gap filled");
    assert_eq!((followed.seq(), names(&followed)), (3, vec!["cy"]));

    // A record of a type from a newer gonogo: skipped, its number counted.
    let future = r#"{"seq":4,"t":9,"ts":"2026-11-23T12:00:09.000Z","type":"hologram","data":{}}"#;
    followed.record(future).expect("unknown type");
    assert_eq!(followed.seq(), 4);

    // Told to resync: the state is rebuilt from the file as it stands.
    followed.record(super::socket::RESYNC).expect("resync");
    assert_eq!((followed.seq(), names(&followed)), (3, vec!["cy"]));
}
