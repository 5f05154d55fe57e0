//! A phase rolled out in batches, on a TestBackend (insta snapshots at 80×24 and 120×40): the
//! checklist grouped by batch, the analysis's time left in the status bar, the batch's hosts
//! against the control in the health pane, the promote gate, and `R` during an analysis.

mod support;

use gonogo::engine::watch::MetricsReading;
use gonogo::engine::{Decision, Event, EventKind, Question, Release, RunId, StepList, Timer};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::ui::cockpit::Cockpit;
use gonogo::ui::state::{Confirm, UiState};
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::screen::{screen, ui_for};

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
phase = "Deploy"
name = "Stage the release"
run = "stage v1.5.0"
undo = "unstage v1.5.0"
on = "web"

[[step]]
phase = "Deploy"
name = "Restart gunicorn"
run = "sudo systemctl restart gunicorn"
undo = "sudo systemctl restart gunicorn-old"
on = "web"

[phases.Deploy]
batches = [1, "50%", "100%"]
analysis = "2m"
promote = "PROMOTE"

[watch]
duration = "10m"
rollback_on = ["error_ratio > control + 2% for 20s", "latency_p95 > 1.5x control for 30s"]

[[rollback]]
name = "Tell the team"
run = "echo rolled back"
on = "web"
"#;

const T0: u64 = 1_790_000_000_000;
const HOSTS: [&str; 3] = ["web-1", "web-2", "web-3"];

struct Scene {
    release: Release,
    at: u64,
}

impl Scene {
    fn new(promote: &str) -> Scene {
        let text = PROFILE.replace("PROMOTE", promote);
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
        s
    }

    fn send(&mut self, kind: EventKind) {
        self.at += 1500;
        self.release.apply(&Event::new(self.at, kind));
    }

    fn decide(&mut self, decision: Decision) {
        self.send(EventKind::Decided {
            by: "ana".into(),
            decision,
            note: None,
            actor: gonogo::engine::Actor::Person,
        });
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

    /// A metrics sample from each host that answers (`None`: that host says nothing).
    fn samples(&mut self, ratio: [Option<f64>; 3], p95: f64) {
        for (i, host) in HOSTS.iter().enumerate() {
            let Some(ratio) = ratio[i] else { continue };
            self.send(EventKind::MetricsSampled {
                source: "app".into(),
                via: Some(host.to_string()),
                reading: MetricsReading {
                    error_ratio: Some(ratio),
                    request_rate: Some(30.0),
                    latency_p95_ms: Some(p95 + i as f64),
                    ..MetricsReading::default()
                },
            });
        }
    }

    /// Preflight passed on every host, batch 1's steps on web-1: its analysis is under way,
    /// every host sampled once.
    fn analysing(promote: &str) -> Scene {
        let mut s = Scene::new(promote);
        s.samples([Some(0.001); 3], 80.0);
        for t in HOSTS {
            s.exit(0, t);
        }
        s.exit(1, "web-1");
        s.exit(2, "web-1");
        assert!(s.release.analysing().is_some(), "{:?}", s.release.stage);
        s
    }

    /// Into batch 1's analysis: web-1's errors are up and hold, the control's are not.
    fn holding() -> Scene {
        let mut s = Scene::analysing("gate");
        for _ in 0..2 {
            s.at += 7_500;
            s.samples([Some(0.075), Some(0.004), Some(0.003)], 80.0);
        }
        assert!(s.release.question.is_none(), "{:?}", s.release.question);
        s
    }

    /// web-1's errors held past the control for the rule's 20 s: a rollback is proposed.
    fn breached() -> Scene {
        let mut s = Scene::holding();
        for _ in 0..2 {
            s.at += 7_500;
            s.samples([Some(0.075), Some(0.004), Some(0.003)], 80.0);
        }
        assert!(
            matches!(s.release.question, Some(Question::RollbackProposal { .. })),
            "{:?}",
            s.release.question
        );
        s
    }

    /// Batch 1's analysis has had its time: the promote gate asks.
    fn at_promote_gate() -> Scene {
        let mut s = Scene::analysing("gate");
        for _ in 0..4 {
            s.at += 7_500;
            s.samples([Some(0.002), Some(0.001), Some(0.001)], 80.0);
        }
        s.send(EventKind::TimerFired {
            timer: Timer::Analysis { step: 3 },
        });
        assert_eq!(s.release.question, Some(Question::Gate { step: 3 }));
        s
    }
}

fn snapshots(name: &str, release: &Release, ui: &UiState) {
    insta::assert_snapshot!(format!("{name}_80x24"), screen(release, ui, 80, 24));
    insta::assert_snapshot!(format!("{name}_120x40"), screen(release, ui, 120, 40));
}

fn key(code: KeyCode) -> KeyEvent {
    let shift = matches!(code, KeyCode::Char(c) if c.is_ascii_uppercase());
    let modifiers = if shift {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    KeyEvent::new(code, modifiers)
}

fn cockpit(width: u16, height: u16) -> Cockpit<TestBackend> {
    Cockpit::new(
        Terminal::new(TestBackend::new(width, height)).expect("terminal"),
        "ana",
        Theme { color: false },
    )
}

/// The checklist grouped by batch, the analysis's time left in the status bar, web-1 beside
/// the control under each rule.
#[test]
fn an_analysis_under_way_on_80x24_and_120x40() {
    let s = Scene::holding();
    snapshots("analysis", &s.release, &ui_for(&s.release));
    let small = screen(&s.release, &ui_for(&s.release), 80, 24);
    assert!(small.contains("analysis 1m"), "{small}");
    assert!(small.contains("left · batch 1/3"), "{small}");
    assert!(small.contains("Deploy · batch 1/3 · web-1"), "{small}");
    assert!(
        small.contains("web-1 7.50% | control web-2 0.40%, web-3 0.30%"),
        "{small}"
    );
}

/// The breach's proposal says the rollback undoes web-1 alone.
#[test]
fn a_breach_during_an_analysis_proposes_rolling_back_the_batch() {
    let s = Scene::breached();
    snapshots("analysis_breached", &s.release, &ui_for(&s.release));
}

/// Only the batch's host answers: the control has nothing, and the pane says so.
#[test]
fn a_control_with_no_data_is_said_never_shown_as_ok() {
    let mut s = Scene::analysing("auto");
    for _ in 0..6 {
        s.at += 7_500;
        s.samples([Some(0.002), None, None], 80.0);
    }
    let shown = screen(&s.release, &ui_for(&s.release), 120, 40);
    assert!(shown.contains("cannot judge: no control data"), "{shown}");
    assert!(shown.contains("web-1 0.20% | no control data"), "{shown}");
    assert!(!shown.contains("for 20s  ok"), "{shown}");
}

#[test]
fn the_promote_gate_on_80x24_and_120x40() {
    let s = Scene::at_promote_gate();
    snapshots("promote_gate", &s.release, &ui_for(&s.release));
}

#[test]
fn batch_two_after_a_healthy_batch_one() {
    let mut s = Scene::analysing("auto");
    for _ in 0..4 {
        s.at += 7_500;
        s.samples([Some(0.002), Some(0.001), Some(0.001)], 80.0);
    }
    s.send(EventKind::TimerFired {
        timer: Timer::Analysis { step: 3 },
    });
    s.exit(4, "web-2");
    snapshots("batch_two", &s.release, &ui_for(&s.release));
}

#[test]
fn r_during_an_analysis_rolls_back_the_changed_hosts_only() {
    let mut s = Scene::breached();
    let mut c = cockpit(120, 40);
    c.refresh(&s.release);
    c.set_now(s.release.now);
    let asked = c.key(key(KeyCode::Char('R')), &s.release);
    assert!(asked.is_none(), "R asks first: {asked:?}");
    assert_eq!(c.ui.modal.confirm(), Some(Confirm::RollbackNow));
    let shown = screen(&s.release, &c.ui, 120, 40);
    insta::assert_snapshot!("analysis_rollback_now_120x40", shown);
    let Some(EventKind::Decided { decision, .. }) = c.key(key(KeyCode::Char('y')), &s.release)
    else {
        panic!("y confirms the rollback");
    };
    assert!(
        matches!(
            decision,
            Decision::Rollback | Decision::ConfirmRollback { .. }
        ),
        "{decision:?}"
    );
    s.decide(decision);
    let touched: Vec<&String> = (s.release.rollback_plan.iter())
        .flat_map(|step| &step.targets)
        .collect();
    assert!(!touched.is_empty());
    assert!(touched.iter().all(|t| *t == "web-1"), "{touched:?}");
    assert!(matches!(
        s.release.stage,
        gonogo::engine::Stage::Running {
            list: StepList::Rollback,
            ..
        }
    ));
}
