//! Opening and seeking a 1,000,000-event journal (targets: open under 1 s, any seek under
//! 200 ms). The journal is written by gonogo's own writer: a release whose one step prints a
//! million batches of output on two targets, with a gate, as a long session would.

use std::time::Instant;

use gonogo::engine::{Event, EventKind, RunId, StepList, Stream};
use gonogo::journal::{FORMAT, Header, VERSION, Writer};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::replay::Player;

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
    let mut writer = Writer::create(&path, &header).expect("journal");
    let at = |i: u64| 1_800_000_000_000 + i;
    let mut event = |i: u64, kind: EventKind| writer.event(&Event::new(at(i), kind));
    event(
        0,
        EventKind::Started {
            session: "s".into(),
            operator: "bench".into(),
            plan: Box::new(profile::release_plan(&p, &vars)),
        },
    );
    for (i, t) in ["a", "b"].into_iter().enumerate() {
        event(1 + i as u64 * 2, EventKind::Connected { target: t.into() });
        event(2 + i as u64 * 2, EventKind::LockTaken { target: t.into() });
    }
    for i in 5..EVENTS {
        let target = if i % 2 == 0 { "a" } else { "b" };
        event(
            i,
            EventKind::Output {
                run: RunId {
                    list: StepList::Main,
                    step: 0,
                    target: target.into(),
                    attempt: 1,
                },
                stream: Stream::Stdout,
                lines: vec![format!("line {i} of the flood, as a service would log it")],
            },
        );
    }
    drop(writer);
    let size = std::fs::metadata(&path).expect("size").len();
    println!(
        "wrote {EVENTS} events ({:.0} MB) in {:.2} s",
        size as f64 / 1e6,
        written.elapsed().as_secs_f64()
    );

    let open = Instant::now();
    let journal = gonogo::journal::read(&path).expect("read");
    let read = open.elapsed();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let player = rt.block_on(Player::index(journal));
    let opened = open.elapsed();
    println!(
        "open: {:.0} ms (read and parse {:.0} ms, read through the loop for marks and keyframes {:.0} ms)",
        opened.as_secs_f64() * 1e3,
        read.as_secs_f64() * 1e3,
        (opened - read).as_secs_f64() * 1e3
    );
    let end = player.end();
    let mut replay = gonogo::replay::Replaying::new(
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 36)).expect("terminal"),
        std::sync::Arc::new(std::sync::Mutex::new(player)),
        gonogo::ui::theme::Theme { color: true },
    );
    let mut worst = 0f64;
    for k in [9u64, 1, 7, 3, 5, 0, 8, 2, 6, 4] {
        let to = end / 10 * k + end / 17;
        let seek = Instant::now();
        // The seek's records (a rewind to a keyframe, the records from there) through the
        // loop, and the frame drawn at its beat.
        replay.player().seek(to);
        let records = replay.player().take();
        rt.block_on(gonogo::replay::play_records(&mut replay, records));
        worst = worst.max(seek.elapsed().as_secs_f64() * 1e3);
    }
    println!("seek (10 positions, back and forth): worst {worst:.1} ms");
}
