//! `gonogo report` of a session gonogo died in and a resume finished: written as the two
//! processes would, the first with `Writer::create` until it stops mid-step (no end record),
//! the resume with `Writer::append` from the journal's last record, 2m35s later. The headline,
//! the timeline and the JSON say it was interrupted and resumed, and by whom.

use std::path::Path;
use std::process::Command;

use gonogo::engine::{Actor, Decision, Event, EventKind, RunId, StepList};
use gonogo::journal::{FORMAT, Header, HeaderTarget, VERSION, Writer};
use gonogo::profile::{self, Purpose, Source};

const PROFILE: &str = r#"version = 1
[release]
name = "acme-web"
environment = "production"

[targets.web-1]
host = "web-1.example.com"
roles = ["web"]

[[step]]
name = "Ready"
on = "web"
check = "true"

[[step]]
gate = "Go?"

[[step]]
name = "Migrate"
on = "web"
run = "./migrate"
"#;

/// 2026-11-23T03:10:00Z.
const T0: u64 = 1_795_403_400_000;

fn plan() -> gonogo::engine::ReleasePlan {
    let (p, diags) = profile::load(&Source::new("profiles/web.toml", PROFILE));
    let p = p.unwrap_or_else(|| panic!("profile invalid: {diags:?}"));
    let mut diags = profile::Diagnostics::default();
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut diags);
    profile::release_plan(&p, &vars)
}

fn header() -> Header {
    Header {
        format: FORMAT.into(),
        version: VERSION,
        gonogo: "0.1.0".into(),
        session: "20261123T031000Z-1".into(),
        profile: "profiles/web.toml".into(),
        profile_sha256: "ab".repeat(32),
        release: "acme-web".into(),
        environment: "production".into(),
        operator: "ana@laptop".into(),
        login: "ana".into(),
        terminal: None,
        started: "2026-11-23T03:10:00.000Z".into(),
        targets: vec![HeaderTarget {
            name: "web-1".into(),
            address: "web-1.example.com".into(),
        }],
        present: None,
    }
}

fn run(step: usize) -> RunId {
    RunId {
        list: StepList::Main,
        step,
        target: "web-1".into(),
        attempt: 1,
    }
}

/// The session: gonogo stops at 03:12:05Z while Migrate runs; bo resumes it at 03:14:40Z.
fn write(path: &Path) {
    let mut writer = Writer::create(path, &header()).expect("journal");
    let first = [
        (
            0,
            EventKind::Started {
                session: "20261123T031000Z-1".into(),
                operator: "ana".into(),
                plan: Box::new(plan()),
            },
        ),
        (
            1_000,
            EventKind::Connected {
                target: "web-1".into(),
            },
        ),
        (
            1_500,
            EventKind::LockTaken {
                target: "web-1".into(),
            },
        ),
        (
            3_000,
            EventKind::Exited {
                run: run(0),
                status: 0,
            },
        ),
        (
            125_000,
            EventKind::Decided {
                by: "ana".into(),
                decision: Decision::Go,
                note: None,
                actor: Actor::Person,
            },
        ),
    ];
    for (after, kind) in first {
        writer.event(&Event::new(T0 + after, kind));
    }
    // kill -9: no end record.
    drop(writer);
    let read = gonogo::journal::read(path).expect("read back");
    let (seq, t) = read.last();
    let stopped = T0 + 125_000;
    let resumed = stopped + 155_000;
    let mut writer = append(path, seq, t);
    let then = [
        (
            0,
            EventKind::Resumed {
                by: "bo@desk".into(),
                unattended: None,
                stopped_at: Some(stopped),
                stopped_t: Some(t),
            },
        ),
        (
            200,
            EventKind::LockTaken {
                target: "web-1".into(),
            },
        ),
        (
            30_000,
            EventKind::Exited {
                run: run(2),
                status: 0,
            },
        ),
        (
            30_500,
            EventKind::LocksReleased {
                released: vec!["web-1".into()],
                kept: Vec::new(),
            },
        ),
    ];
    for (after, kind) in then {
        writer.event(&Event::new(resumed + after, kind));
    }
}

/// The journal reopened: a dropped writer has let go of its lock when its drop returns, but
/// a child another test of this process forks at that moment shares the lock until it execs
/// (the descriptor is close-on-exec): held for a moment, then free.
fn append(path: &Path, seq: u64, t: u64) -> Writer {
    let mut tries = 0;
    loop {
        match Writer::append(path, seq, t) {
            Ok(writer) => return writer,
            Err(e) if tries < 50 => {
                tries += 1;
                eprintln!("the journal is still held ({e}); trying again");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("append: {e:?}"),
        }
    }
}

fn report(path: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .arg("report")
        .arg(path)
        .args(args)
        .output()
        .expect("gonogo report runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SAID: &str = "gonogo stopped at 03:12:05Z (no end record), resumed at 03:14:40Z by bo@desk, \
                    2m35s later";

#[test]
fn a_resumed_session_is_reported_interrupted_and_resumed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("resumed.jsonl");
    write(&path);

    let md = report(&path, &[]);
    assert!(
        md.contains("✅ **released** (interrupted and resumed once)"),
        "{md}"
    );
    // Markdown escapes what could be read as markup: `@` is a mention on GitHub.
    let said = SAID.replace('@', "\\@");
    assert!(md.contains(&format!("| Interrupted | {said} |")), "{md}");
    assert!(md.contains(&format!("- 03:14:40Z {said}\n")), "{md}");
    // The resume's lock is a confirmation, said so: no unexplained second take.
    assert_eq!(md.matches("locks taken on web-1").count(), 1, "{md}");
    assert!(
        md.contains("- 03:14:40Z locks confirmed on web-1\n"),
        "{md}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&report(&path, &["--format", "json"])).expect("the JSON report");
    let summary = &json["summary"];
    assert_eq!(
        summary["headline"],
        "released (interrupted and resumed once)"
    );
    assert_eq!(summary["outcome"], "released");
    let lost = &summary["interruptions"][0];
    assert_eq!(lost["stopped_at"], "2026-11-23T03:12:05.000Z");
    assert_eq!(lost["resumed_at"], "2026-11-23T03:14:40.000Z");
    assert_eq!(lost["by"], "bo@desk");
    assert_eq!(lost["gap_ms"], 155_000);
    assert!(lost["stopped_t"].is_u64(), "{lost}");
    assert_eq!(lost["text"], SAID);
    let moments = json["timeline"].as_array().expect("a timeline");
    let resumed: Vec<&serde_json::Value> =
        moments.iter().filter(|m| m["kind"] == "resumed").collect();
    assert_eq!(resumed.len(), 1, "{moments:?}");
    assert_eq!(resumed[0]["text"], SAID);
    assert_eq!(resumed[0]["at"], "2026-11-23T03:14:40.000Z");
}

#[test]
fn a_session_never_interrupted_says_nothing_of_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("whole.jsonl");
    let mut writer = Writer::create(&path, &header()).expect("journal");
    writer.event(&Event::new(
        T0,
        EventKind::Started {
            session: "s".into(),
            operator: "ana".into(),
            plan: Box::new(plan()),
        },
    ));
    drop(writer);
    let json: serde_json::Value =
        serde_json::from_str(&report(&path, &["--format", "json"])).expect("the JSON report");
    assert_eq!(json["summary"]["headline"], "outcome unknown");
    assert_eq!(json["summary"]["interruptions"], serde_json::json!([]));
    assert!(!report(&path, &[]).contains("interrupted"));
}
