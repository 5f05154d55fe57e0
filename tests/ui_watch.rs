//! The watch window on a small terminal: three hosts, two rules, a health check and metrics on
//! each. The rules come first, then what fails, then the metrics, then what passes; rows in the
//! profile's order; the health pane takes the focus with Tab, scrolls and zooms (`z`); the
//! status bar and the key line drop whole parts, never cut one; the end screen keeps the pane.

use gonogo::engine::watch::{HealthReading, MetricsReading};
use gonogo::engine::{Decision, Event, EventKind, Release, RunId, StepList};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::ui::cockpit::Cockpit;
use gonogo::ui::panels::StatusPart;
use gonogo::ui::state::{Pane, UiState};
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const PROFILE: &str = r#"version = 1
[release]
name = "acme-shop"
environment = "staging"
version = "v1.5.0"

[targets.web-1]
host = "web-1.example.com"
roles = ["web"]
[targets.web-2]
host = "web-2.example.com"
roles = ["web"]
[targets.web-3]
host = "web-3.example.com"
roles = ["web"]

[health.app]
url = "http://127.0.0.1:8000/health"
via = "web"

[metrics.app]
url = "http://127.0.0.1:8000/metrics"
via = "web"
errors = 'http_requests_total{status=~"5.."}'
requests = "http_requests_total"
latency = "http_request_duration_seconds"

[[step]]
phase = "Preflight"
name = "The app answers"
check = "true"
on = "web"

[[step]]
gate = "Go for staging deploy of v1.5.0?"

[[step]]
phase = "Deploy"
name = "Restart gunicorn"
run = "sudo systemctl restart gunicorn"
on = "web"

[watch]
duration = "10m"
rollback_on = ["error_ratio > 5% for 1m", "latency_p95 > 2x baseline for 30s"]

[[rollback]]
name = "Check out the previous release"
run = "git checkout v1.4.2"
on = "web"
"#;

const T0: u64 = 1_790_000_000_000;
const HOSTS: [&str; 3] = ["web-1", "web-2", "web-3"];

struct Scene {
    release: Release,
    at: u64,
}

impl Scene {
    fn send(&mut self, kind: EventKind) {
        self.at += 1500;
        self.release.apply(&Event::new(self.at, kind));
    }

    fn exit(&mut self, step: usize, target: &str) {
        let run = RunId {
            list: StepList::Main,
            step,
            target: target.into(),
            attempt: 1,
        };
        self.send(EventKind::Exited { run, status: 0 });
    }

    fn decide(&mut self, decision: Decision) {
        self.send(EventKind::Decided {
            by: "ana".into(),
            decision,
            note: None,
            actor: gonogo::engine::Actor::Person,
        });
    }

    /// One round of probes, answered in an order of their own (web-3 first): the pane must
    /// show them in the profile's.
    fn probes(&mut self, ratio: [f64; 3], p95: [f64; 3], health: [bool; 3]) {
        for i in [2, 0, 1] {
            self.send(EventKind::MetricsSampled {
                source: "app".into(),
                via: Some(HOSTS[i].into()),
                reading: MetricsReading {
                    error_ratio: Some(ratio[i]),
                    request_rate: Some(30.0 + i as f64),
                    latency_p95_ms: Some(p95[i]),
                    ..MetricsReading::default()
                },
            });
            self.send(EventKind::HealthSampled {
                check: "app".into(),
                via: Some(HOSTS[i].into()),
                reading: HealthReading {
                    ok: health[i],
                    status: Some(if health[i] { 200 } else { 503 }),
                    latency_ms: 4 + i as u64,
                    error: (!health[i]).then(|| "answered 503, expected 200".to_string()),
                    cert_days: None,
                },
            });
        }
    }

    /// Deployed on three hosts and watching: web-2's errors and latency are up and hold,
    /// web-3's health check fails.
    fn watching() -> Scene {
        let text = PROFILE.to_string();
        let (p, diags) = profile::load(&Source::new("t.toml", text));
        let p = p.unwrap_or_else(|| panic!("{diags:?}"));
        let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
        let mut s = Scene {
            release: Release::default(),
            at: T0,
        };
        s.send(EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(profile::release_plan(&p, &vars)),
        });
        for t in HOSTS {
            s.send(EventKind::Connected { target: t.into() });
        }
        for t in HOSTS {
            s.send(EventKind::LockTaken { target: t.into() });
        }
        for _ in 0..4 {
            s.probes([0.001; 3], [80.0; 3], [true; 3]);
        }
        for t in HOSTS {
            s.exit(0, t);
        }
        s.decide(Decision::Go);
        for t in HOSTS {
            s.exit(2, t);
        }
        assert!(
            matches!(s.release.stage, gonogo::engine::Stage::Watching { .. }),
            "{:?}",
            s.release.stage
        );
        for _ in 0..3 {
            s.probes(
                [0.002, 0.12, 0.003],
                [84.0, 219.0, 88.0],
                [true, true, false],
            );
        }
        s
    }
}

fn screen(release: &Release, ui: &UiState, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    let theme = Theme { color: true };
    terminal
        .draw(|f| gonogo::ui::draw(f, release, ui, &theme, release.now + 700))
        .expect("draw");
    terminal.backend().to_string()
}

/// The rows of the screen as text, without the quotes the backend puts around them.
fn rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(|l| l.trim_matches('"').to_string())
        .collect()
}

fn ui_for(release: &Release) -> UiState {
    let mut ui = UiState::default();
    ui.sync_question(release);
    ui.sync_cursor(release);
    ui
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn cockpit(width: u16, height: u16) -> Cockpit<TestBackend> {
    Cockpit::new(
        Terminal::new(TestBackend::new(width, height)).expect("terminal"),
        "ana",
        Theme { color: false },
    )
}

/// The health pane's rows, top to bottom, as drawn (the cells inside its borders).
fn health_rows(screen: &str) -> Vec<String> {
    let rows: Vec<Vec<char>> = rows(screen).iter().map(|r| r.chars().collect()).collect();
    let title: Vec<char> = "┌ Health".chars().collect();
    let (top, left) = rows
        .iter()
        .enumerate()
        .find_map(|(y, r)| {
            r.windows(title.len())
                .position(|w| w == title.as_slice())
                .map(|x| (y, x))
        })
        .expect("a health pane");
    rows[top + 1..]
        .iter()
        .take_while(|r| r[left] != '└')
        .map(|r| {
            let right = r[left + 1..]
                .iter()
                .position(|c| *c == '│')
                .expect("its right border");
            let cells: String = r[left + 1..left + 1 + right].iter().collect();
            cells.trim_end().to_string()
        })
        .collect()
}

#[test]
fn the_watch_on_80x24_and_160x48() {
    let s = Scene::watching();
    let ui = ui_for(&s.release);
    insta::assert_snapshot!("watch_80x24", screen(&s.release, &ui, 80, 24));
    insta::assert_snapshot!("watch_160x48", screen(&s.release, &ui, 160, 48));
}

/// The rules decide: they come first, then what fails, then the metrics in the profile's order
/// (web-1, web-2, web-3, though web-3 answered first), then what passes, the links in one row.
#[test]
fn the_health_pane_puts_the_rules_first_and_rows_in_profile_order() {
    let s = Scene::watching();
    let ui = ui_for(&s.release);
    let pane = health_rows(&screen(&s.release, &ui, 160, 48));
    let expected = [
        "▲ error_ratio > 5% for 1m  holding",
        "▲ latency_p95 > 2x baseline for 30s  holding",
        "✗ app via web-3  answered 503, expected 200 · failing",
        "≈ app via web-1  errors 0.20% (base 0.10%)  p95 84ms (base 80ms)  30.0 req/s",
        "≈ app via web-2  errors 12.00% (base 0.10%)  p95 219ms (base 80ms)  31.0 req/s",
        "≈ app via web-3  errors 0.30% (base 0.10%)  p95 88ms (base 80ms)  32.0 req/s",
        "✓ app  passing 2/3 · 200 · 4–5ms",
        "● 3/3 ssh connected",
    ];
    assert_eq!(pane.len(), expected.len(), "{pane:#?}");
    for (row, start) in pane.iter().zip(expected) {
        assert!(
            row.starts_with(start),
            "{start:?} is not {row:?}\n{pane:#?}"
        );
    }
}

/// A link that is down stays on its own row, with the failures; the others stay counted.
#[test]
fn a_link_down_has_its_own_row() {
    let mut s = Scene::watching();
    s.send(EventKind::ConnectionLost {
        target: "web-2".into(),
        error: "broken pipe".into(),
    });
    let pane = health_rows(&screen(&s.release, &ui_for(&s.release), 160, 48));
    let down = pane
        .iter()
        .position(|r| r.starts_with("◌ web-2     ssh down"))
        .expect("web-2's own row");
    let metrics = pane
        .iter()
        .position(|r| r.starts_with("≈ "))
        .expect("metrics");
    assert!(down < metrics, "failures before metrics: {pane:#?}");
    assert_eq!(pane.last().map(String::as_str), Some("● 2/3 ssh connected"));
}

/// At 80 and 160 columns a metrics row is shortened, never cut: the sparklines go whole, then
/// the baselines; every row ends inside the pane.
#[test]
fn metric_rows_are_abbreviated_never_cut() {
    let s = Scene::watching();
    let ui = ui_for(&s.release);
    let narrow = health_rows(&screen(&s.release, &ui, 80, 24));
    assert!(
        narrow.contains(&"≈ app via web-2  errors 12.00%  p95 219ms".to_string()),
        "{narrow:#?}"
    );
    let mut ui = ui_for(&s.release);
    ui.focus = Pane::Health;
    ui.zoomed = true;
    let wide = health_rows(&screen(&s.release, &ui, 160, 48));
    let web2 = wide
        .iter()
        .find(|r| r.starts_with("≈ app via web-2"))
        .expect("web-2's metrics");
    assert!(
        web2.contains("errors 12.00% (base 0.10%)  p95 219ms (base 80ms)  31.0 req/s  err "),
        "{web2}"
    );
    // Each sparkline whole: as many bars as samples kept (7), or none.
    let bars = |after: &str| {
        web2.rsplit(after)
            .next()
            .map(|s| s.chars().take_while(|c| ('▁'..='█').contains(c)).count())
    };
    assert_eq!(bars("  err "), Some(7), "{web2}");
    assert_eq!(bars("  p95 "), Some(7), "{web2}");
}

/// At 80 columns the status bar keeps the stage, the time left and the links, and drops whole
/// parts (the time elapsed, the release's name, its version, the locks first), never cutting
/// one; who watches is said, shortened between words before it goes.
#[test]
fn the_status_bar_at_80_columns_keeps_stage_time_left_and_links() {
    let mut s = Scene::watching();
    let ui = ui_for(&s.release);
    let now = s.release.now + 700;
    let all = gonogo::ui::panels::status_kept(&s.release, &ui, now, 80);
    assert_eq!(
        all.len(),
        8,
        "everything fits before anyone follows: {all:?}"
    );
    // Over SSH: an approver on the operator's own machine could not approve.
    s.send(EventKind::Joined {
        name: "carol".into(),
        approver: true,
        via: gonogo::engine::Via::Ssh {
            from: "10.0.0.7".into(),
        },
    });
    let now = s.release.now + 700;
    let kept = gonogo::ui::panels::status_kept(&s.release, &ui, now, 80);
    assert_eq!(
        kept,
        [
            StatusPart::Environment,
            StatusPart::Stage,
            StatusPart::TimeLeft,
            StatusPart::Followers,
            StatusPart::Links,
        ]
    );
    let top = |width| rows(&screen(&s.release, &ui, width, 24)).remove(0);
    assert_eq!(
        top(80).trim_end(),
        " STAGING   watch 9m30s left  watching: carol (may approve)  connected 3/3",
        "whole parts, none cut"
    );
    assert_eq!(
        top(60).trim_end(),
        "  watch 9m30s left  watching: carol (may…  connected 3/3"
    );
    let narrow = gonogo::ui::panels::status_kept(&s.release, &ui, now, 40);
    assert_eq!(
        narrow,
        [StatusPart::Stage, StatusPart::TimeLeft, StatusPart::Links]
    );
}

/// The key line drops its least important keys first, never cutting one: at 80 columns while
/// watching, the watch's own keys, help and quit stay.
#[test]
fn the_key_line_at_80_columns_keeps_whole_keys() {
    let s = Scene::watching();
    let mut ui = ui_for(&s.release);
    let bottom = |ui: &UiState| rows(&screen(&s.release, ui, 80, 24)).pop().expect("a row");
    assert_eq!(
        bottom(&ui).trim_end(),
        " WATCHING   R rolls back  E ends the watch  ? help  q quit  Tab output"
    );
    ui.focus = Pane::Health;
    assert_eq!(
        bottom(&ui).trim_end(),
        " WATCHING   R rolls back  E ends the watch  ? help  q quit  Tab checklist"
    );
    let theme = Theme { color: false };
    let parts = gonogo::ui::keyline::key_parts(&s.release, &ui, &theme);
    let said = bottom(&ui);
    for part in gonogo::ui::fit::fit(parts, 80, 2) {
        assert!(
            said.contains(&part.text),
            "{:?} whole in {said:?}",
            part.text
        );
    }
}

/// Tab moves the focus to the health pane, ↓ and PgDn scroll it from its top, Home goes back;
/// `z` gives it the whole screen and `z` again gives it back.
#[test]
fn tab_focuses_the_health_pane_which_scrolls_and_zooms() {
    let s = Scene::watching();
    let mut c = cockpit(80, 24);
    c.refresh(&s.release);
    for _ in 0..2 {
        c.key(key(KeyCode::Tab), &s.release);
    }
    assert_eq!(c.ui.focus, Pane::Health);
    let first =
        |c: &Cockpit<TestBackend>| health_rows(&screen(&s.release, &c.ui, 80, 24))[0].clone();
    assert!(
        first(&c).starts_with("▲ error_ratio > 5% for 1m"),
        "{}",
        first(&c)
    );
    c.key(key(KeyCode::Down), &s.release);
    c.key(key(KeyCode::Down), &s.release);
    assert!(first(&c).starts_with("▲ latency_p95"), "{}", first(&c));
    c.key(key(KeyCode::PageDown), &s.release);
    let text = screen(&s.release, &c.ui, 80, 24);
    assert!(
        text.contains("● 3/3 ssh connected"),
        "the last row reached:\n{text}"
    );
    c.key(key(KeyCode::Home), &s.release);
    assert_eq!(c.ui.health_down, 0);
    c.key(key(KeyCode::Char('z')), &s.release);
    let zoomed = screen(&s.release, &c.ui, 80, 24);
    assert!(
        !zoomed.contains("Checklist") && !zoomed.contains("Output"),
        "{zoomed}"
    );
    assert!(rows(&zoomed)[1].starts_with("┌ Health"), "{zoomed}");
    // Every row fits: the rules, the failure, the metrics, what passes, the links.
    assert!(zoomed.contains("● 3/3 ssh connected"), "{zoomed}");
    c.key(key(KeyCode::Char('z')), &s.release);
    let back = screen(&s.release, &c.ui, 80, 24);
    assert!(
        back.contains("Checklist") && back.contains("┌ Health"),
        "{back}"
    );
    // The output zooms the same way; Tab moves on round to the checklist.
    c.key(key(KeyCode::Tab), &s.release);
    assert_eq!(c.ui.focus, Pane::Checklist);
}

/// `z` only changes the view: a follower's read-only cockpit zooms too.
#[test]
fn a_follower_zooms_too() {
    let s = Scene::watching();
    let mut c = cockpit(80, 24).read_only();
    c.refresh(&s.release);
    assert_eq!(c.key(key(KeyCode::Char('z')), &s.release), None);
    assert!(c.ui.zoomed);
    assert_eq!(c.ui.notice, None, "not refused");
    assert!(rows(&screen(&s.release, &c.ui, 80, 24))[1].starts_with("┌ Checklist"));
}

/// The end screen keeps the health pane, with its last readings, under the summary.
#[test]
fn the_end_screen_keeps_the_health_pane() {
    let mut s = Scene::watching();
    s.decide(Decision::EndWatch);
    let end = EventKind::LocksReleased {
        released: HOSTS.iter().map(|h| h.to_string()).collect(),
        kept: Vec::new(),
    };
    s.send(end.clone());
    let mut c = cockpit(80, 24);
    gonogo::runtime::Frontend::show(&mut c, &Event::new(s.at, end), &s.release);
    let text = screen(&s.release, &c.ui, 80, 24);
    assert!(text.contains("Summary (i: output)"), "{text}");
    let pane = health_rows(&text);
    assert!(
        pane.iter()
            .any(|r| r.starts_with("≈ app via web-2  errors 12.00%")),
        "{pane:#?}"
    );
    insta::assert_snapshot!("end_80x24", text);
    insta::assert_snapshot!("end_160x48", screen(&s.release, &c.ui, 160, 48));
}
