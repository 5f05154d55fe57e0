//! One full cockpit frame at 200×60 with 10,000 lines in the scrollback (target: under 2 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use gonogo::engine::{Event, EventKind, Release, RunId, StepList, Stream};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::ui::state::UiState;
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn release_with_scrollback() -> Release {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/profiles/example.toml"
    ))
    .expect("example");
    let (p, _) = profile::load(&Source::new("example.toml", text));
    let p = p.expect("valid example");
    let vars = profile::resolve(
        &p,
        &[("version".into(), "v1.2.1".into())],
        |_| Some("x".into()),
        Purpose::Run,
        &mut Diagnostics::default(),
    );
    let plan = profile::release_plan(&p, &vars);
    let mut release = Release::default();
    let mut at = 1_790_000_000_000;
    let mut send = |r: &mut Release, kind| {
        at += 10;
        r.apply(&Event::new(at, kind));
    };
    send(
        &mut release,
        EventKind::Started {
            session: "bench".into(),
            operator: "ana".into(),
            plan: Box::new(plan),
        },
    );
    for t in ["web-1", "web-2"] {
        send(&mut release, EventKind::Connected { target: t.into() });
    }
    for t in ["web-1", "web-2"] {
        send(&mut release, EventKind::LockTaken { target: t.into() });
    }
    for chunk in 0..100 {
        for target in ["web-1", "web-2"] {
            let lines = (0..50)
                .map(|i| format!("2026-11-22T03:00:{:02}Z gunicorn[812]: GET /api/orders/{chunk}{i} 200 12ms ERROR maybe", i % 60))
                .collect();
            let run = RunId {
                list: StepList::Main,
                step: 0,
                target: target.into(),
                attempt: 1,
            };
            send(
                &mut release,
                EventKind::Output {
                    run,
                    stream: Stream::Stdout,
                    lines,
                },
            );
        }
    }
    assert_eq!(release.output.len(), 10_000);
    release
}

fn render(c: &mut Criterion) {
    let release = release_with_scrollback();
    let mut ui = UiState::default();
    ui.sync_cursor(&release);
    let theme = Theme { color: true };
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    c.bench_function("frame 200x60, 10k lines, following", |b| {
        b.iter(|| {
            terminal
                .draw(|f| gonogo::ui::draw(f, &release, &ui, &theme, release.now))
                .expect("draw");
        });
    });
    ui.wrap = true;
    ui.filter = Some(regex::Regex::new("orders/5").expect("regex"));
    ui.pause_follow(&release);
    ui.scroll = 200;
    c.bench_function(
        "frame 200x60, 10k lines, wrapped, filtered, scrolled",
        |b| {
            b.iter(|| {
                terminal
                    .draw(|f| gonogo::ui::draw(f, &release, &ui, &theme, release.now))
                    .expect("draw");
            });
        },
    );
}

criterion_group!(benches, render);
criterion_main!(benches);
