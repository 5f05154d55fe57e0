//! Replaying a one-hour session at 64× (target: under one core). The session is built in
//! memory as its journal would read back: a release whose step prints 200 lines a second for an
//! hour on two targets, with health samples every 5 s. The replay advances at 64× and draws
//! every frame (30 a second) on a 120×36 `TestBackend`, as `gonogo replay` does on a terminal;
//! the CPU time it takes is set against the wall time the replay would last.

use std::time::{Duration, Instant};

use gonogo::engine::watch::HealthReading;
use gonogo::engine::{Event, EventKind, RunId, StepList, Stream};
use gonogo::journal::{Entry, Journal, Line};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::replay::{Player, Replaying};
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PROFILE: &str = r#"version = 1
[release]
name = "shop"
environment = "production"
[targets.a]
host = "a"
[targets.b]
host = "b"
[health.app]
url = "http://127.0.0.1:8000/health"
[[step]]
name = "Watch the batch"
run = "run-batch"
on = ["a", "b"]
timeout = "2h"
"#;

const HOUR_S: u64 = 3600;
const LINES_PER_S: u64 = 200;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn main() {
    let (p, _) = profile::load(&Source::new("t.toml", PROFILE));
    let p = p.expect("profile");
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
    let start_ms = 1_800_000_000_000u64;
    let mut lines = Vec::new();
    let mut push = |t_us: u64, kind: EventKind| {
        lines.push(Line {
            seq: lines.len() as u64 + 1,
            t: t_us,
            actor: None,
            entry: Entry::Event(Event::new(start_ms + t_us / 1000, kind)),
        })
    };
    push(
        0,
        EventKind::Started {
            session: "s".into(),
            operator: "ana".into(),
            plan: Box::new(profile::release_plan(&p, &vars)),
        },
    );
    for (i, t) in ["a", "b"].into_iter().enumerate() {
        push(1000 + i as u64, EventKind::Connected { target: t.into() });
        push(2000 + i as u64, EventKind::LockTaken { target: t.into() });
    }
    let batches_per_s = 20;
    for tick in 0..HOUR_S * batches_per_s {
        let t = 10_000 + tick * 1_000_000 / batches_per_s;
        let target = if tick % 2 == 0 { "a" } else { "b" };
        let n = LINES_PER_S / batches_per_s;
        push(
            t,
            EventKind::Output {
                run: RunId {
                    list: StepList::Main,
                    step: 0,
                    target: target.into(),
                    attempt: 1,
                },
                stream: Stream::Stdout,
                lines: (0..n)
                    .map(|k| format!("batch {tick} item {k}: processed 42 records in 17 ms"))
                    .collect(),
            },
        );
        if tick % (5 * batches_per_s) == 0 {
            push(
                t + 1,
                EventKind::HealthSampled {
                    check: "app".into(),
                    via: None,
                    reading: HealthReading {
                        ok: true,
                        status: Some(200),
                        latency_ms: 12,
                        error: None,
                        cert_days: None,
                    },
                },
            );
        }
    }
    let records = lines.len();
    let journal = Journal {
        lines,
        ..Journal::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let frame = Duration::from_millis(33);
    let cpu0 = cpu_seconds();
    let wall0 = Instant::now();
    // Read once through the loop (marks, keyframes), then played frame by frame: each frame's
    // records and its beat through the loop, which draws at every beat.
    let mut player = rt.block_on(Player::index(journal));
    player.speed = 64.0;
    let mut played = Vec::new();
    let mut frames = 0u64;
    while !player.at_end() {
        player.advance(frame);
        played.extend(player.take());
        frames += 1;
    }
    let mut replay = Replaying::new(
        Terminal::new(TestBackend::new(120, 36)).expect("terminal"),
        std::sync::Arc::new(std::sync::Mutex::new(player)),
        Theme { color: true },
    );
    rt.block_on(gonogo::replay::play_records(&mut replay, played));
    let cpu = cpu_seconds() - cpu0;
    let replay_lasts = frames as f64 * frame.as_secs_f64();
    println!(
        "a one-hour session ({records} records, {} lines) at 64×: {frames} frames, lasting {replay_lasts:.1} s on screen",
        HOUR_S * LINES_PER_S
    );
    println!(
        "CPU {cpu:.2} s for them (computed in {:.2} s): {:.1}% of one core while it plays",
        wall0.elapsed().as_secs_f64(),
        cpu / replay_lasts * 100.0
    );
}
