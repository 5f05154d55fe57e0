//! What ships, on a TestBackend (insta snapshots at 80×24 and 120×40): the first gate's What
//! ships part (the versions, the change list and the migrations to run, scrolled with ↑↓), the
//! status bar's `v1.4.2 → v1.5.0`, each host's version in the health pane, a mixed fleet let go
//! on with its reason, a list that could not be made, presenter mode's masks on the changes, and
//! a gate that waits for the lists before it is asked.

mod support;

use gonogo::engine::ships::Found;
use gonogo::engine::{Event, EventKind, Question, Release, RunId, StepList};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::ui::cockpit::Cockpit;
use gonogo::ui::present::Presenter;
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::screen::{screen, ui_for};

const PROFILE: &str = r#"version = 1
[release]
name = "acme-shop"
environment = "staging"
version = "{{version}}"
current = "cat /srv/shop/VERSION"
changes = "git log --oneline {{previous}}..{{version}}"
pending = "alembic history -r current:head"
pending_on = "web-1"

[vars]
version = "v1.5.0"

[targets.web-1]
host = "web-1.example.com"
roles = ["web"]
[targets.web-2]
host = "web-2.example.com"
roles = ["web"]

[[step]]
phase = "Preflight"
name = "The app answers"
check = "true"
on = "web"

[[step]]
phase = "Preflight"
gate = "Go for staging deploy of v1.5.0?"

[[step]]
phase = "Deploy"
name = "Restart gunicorn"
run = "sudo systemctl restart gunicorn"
undo = "sudo systemctl restart gunicorn-old"
on = "web"

[[step]]
phase = "Deploy"
gate = "Restarted. Go on?"
"#;

const T0: u64 = 1_790_000_000_000;
const HOSTS: [&str; 2] = ["web-1", "web-2"];

/// Fourteen commits, one of them by a person named with an e-mail address.
fn changes() -> Found {
    let mut lines: Vec<String> = (1..=13)
        .map(|i| format!("a1b2c{i:02} shop: change number {i} of the cart and the checkout"))
        .collect();
    lines.insert(
        2,
        "9f8e7d6 Merge pull request #88 from ana@acme.io/fix-tax".into(),
    );
    Found {
        total: lines.len(),
        lines,
        error: None,
    }
}

fn pending() -> Found {
    Found {
        lines: vec![
            "1a2b3c4d -> 5e6f7a8b (head), add the orders.discount column".into(),
            "0f1e2d3c -> 1a2b3c4d, index orders by customer".into(),
        ],
        total: 2,
        error: None,
    }
}

struct Scene {
    release: Release,
    at: u64,
}

impl Scene {
    /// Connected and locked, `allow_mixed` given or not: the versions are being found.
    fn new(profile: &str, allow_mixed: Option<&str>) -> Scene {
        let (p, diags) = profile::load(&Source::new("t.toml", profile.to_string()));
        let p = p.unwrap_or_else(|| panic!("{diags:?}"));
        let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
        let mut plan = profile::release_plan(&p, &vars);
        plan.ships.allow_mixed = allow_mixed.map(str::to_string);
        let mut s = Scene {
            release: Release::default(),
            at: T0,
        };
        s.send(EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(plan),
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

    /// Each host said its version, the lists were found, the preflight passed: the first gate.
    fn at_first_gate(versions: [&str; 2], changes: Found, allow_mixed: Option<&str>) -> Scene {
        let mut s = Scene::new(PROFILE, allow_mixed);
        s.versions(versions);
        s.send(EventKind::ChangesFound { found: changes });
        s.send(EventKind::PendingFound {
            target: "web-1".into(),
            found: pending(),
        });
        s.preflight_passed();
        assert_eq!(s.release.question, Some(Question::Gate { step: 1 }));
        s
    }

    /// Each host says the version it runs.
    fn versions(&mut self, versions: [&str; 2]) {
        for (t, v) in HOSTS.iter().zip(versions) {
            self.send(EventKind::VersionFound {
                target: t.to_string(),
                version: Some(v.into()),
                error: None,
            });
        }
    }

    /// The preflight check passed on both hosts.
    fn preflight_passed(&mut self) {
        for t in HOSTS {
            let run = RunId {
                list: StepList::Main,
                step: 0,
                target: t.into(),
                attempt: 1,
            };
            self.send(EventKind::Exited { run, status: 0 });
        }
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// The first gate says what ships, and its lists fit under it with the question's keys in
/// view, at 80×24 as at 120×40; the status bar and the health pane say the versions too.
#[test]
fn the_first_gate_says_what_ships_at_80x24_and_120x40() {
    let s = Scene::at_first_gate(["v1.4.2", "v1.4.2"], changes(), None);
    let ui = ui_for(&s.release);
    insta::assert_snapshot!("first_gate_80x24", screen(&s.release, &ui, 80, 24));
    insta::assert_snapshot!("first_gate_120x40", screen(&s.release, &ui, 120, 40));
    let small = screen(&s.release, &ui, 80, 24);
    assert!(
        small.contains("What ships: v1.4.2 → v1.5.0 · 14 changes · 2 migrations"),
        "{small}"
    );
    assert!(small.contains("↑↓ 1–10 of 18"), "{small}");
    assert!(small.contains("[g] GO"), "{small}");
    assert!(small.contains("note (optional, recorded)"), "{small}");
    let big = screen(&s.release, &ui, 120, 40);
    assert!(big.contains("v1.4.2 → v1.5.0"), "the status bar: {big}");
    assert!(big.contains("Migrations to run on web-1 (2):"), "{big}");
    assert!(big.contains("now: web-1 v1.4.2, web-2 v1.4.2"), "{big}");
}

/// ↑↓ scroll the lists as far as their last row, and no further.
#[test]
fn the_lists_scroll_to_their_end_and_no_further() {
    let s = Scene::at_first_gate(["v1.4.2", "v1.4.2"], changes(), None);
    let mut c = Cockpit::new(
        Terminal::new(TestBackend::new(80, 24)).expect("terminal"),
        "ana",
        Theme { color: false },
    );
    c.refresh(&s.release);
    for _ in 0..40 {
        assert_eq!(c.key(key(KeyCode::Down), &s.release), None);
    }
    let end = screen(&s.release, &c.ui, 80, 24);
    assert!(end.contains("index orders by customer"), "{end}");
    assert!(end.contains("↑↓ 9–18 of 18"), "{end}");
    let at_end = c.ui.answer.as_ref().expect("the gate").scroll;
    c.key(key(KeyCode::Up), &s.release);
    assert_eq!(c.ui.answer.as_ref().expect("the gate").scroll, at_end - 1);
    c.key(key(KeyCode::PageUp), &s.release);
    c.key(key(KeyCode::PageUp), &s.release);
    assert_eq!(c.ui.answer.as_ref().expect("the gate").scroll, 0);
}

/// A mixed fleet let go on says so, with its reason, at the gate and in the health pane.
#[test]
fn a_mixed_fleet_allowed_says_its_reason() {
    let s = Scene::at_first_gate(["v1.4.2", "v1.4.1"], changes(), Some("web-2 was held back"));
    let ui = ui_for(&s.release);
    insta::assert_snapshot!("mixed_120x40", screen(&s.release, &ui, 120, 40));
    let big = screen(&s.release, &ui, 120, 40);
    assert!(big.contains("v1.4.2 / v1.4.1 → v1.5.0"), "{big}");
    assert!(
        big.contains("mixed: allowed: web-2 was held back (v1.4.2 on web-1; v1.4.1 on web-2)"),
        "{big}"
    );
    assert!(
        big.contains("mixed: allowed: web-2 was held back · now: web-1 v1.4.2, web-2 v1.4.1"),
        "{big}"
    );
}

/// A change list that could not be made is said in its place, and fails nothing.
#[test]
fn a_list_that_could_not_be_made_says_why() {
    let failed = Found {
        lines: Vec::new(),
        total: 0,
        error: Some("git exited 128: unknown revision v1.4.2".into()),
    };
    let s = Scene::at_first_gate(["v1.4.2", "v1.4.2"], failed, None);
    let small = screen(&s.release, &ui_for(&s.release), 80, 24);
    assert!(
        small.contains("changes: not found (git exited 128: unknown revision"),
        "{small}"
    );
    assert!(
        small.contains("What ships: v1.4.2 → v1.5.0 · 2 migrations"),
        "{small}"
    );
}

/// Only the first gate shows it.
#[test]
fn the_later_gates_do_not_say_what_ships() {
    let mut s = Scene::at_first_gate(["v1.4.2", "v1.4.2"], changes(), None);
    s.send(EventKind::Decided {
        by: "ana".into(),
        decision: gonogo::engine::Decision::Go,
        note: None,
        actor: gonogo::engine::Actor::Person,
    });
    for t in HOSTS {
        let run = RunId {
            list: StepList::Main,
            step: 2,
            target: t.into(),
            attempt: 1,
        };
        s.send(EventKind::Exited { run, status: 0 });
    }
    assert_eq!(s.release.question, Some(Question::Gate { step: 3 }));
    let big = screen(&s.release, &ui_for(&s.release), 120, 40);
    assert!(!big.contains("What ships"), "{big}");
    assert!(big.contains("before: web-1 v1.4.2, web-2 v1.4.2"), "{big}");
}

/// Presenting, the e-mail address in a change line is masked, whole, even when the line is
/// cut to the modal's width.
#[test]
fn presenting_masks_the_change_lines() {
    let s = Scene::at_first_gate(["v1.4.2", "v1.4.2"], changes(), None);
    let mut ui = ui_for(&s.release);
    ui.present = Some(Presenter::new(&s.release.plan, &[]).expect("presenter"));
    for (w, h) in [(80, 24), (120, 40)] {
        let shown = screen(&s.release, &ui, w, h);
        assert!(shown.contains("Merge pull request #88 from •"), "{shown}");
        assert!(!shown.contains("ana@"), "{shown}");
        assert!(!shown.contains("acme.io"), "{shown}");
    }
}

/// Every host runs the version already: the cockpit asks, in a modal of its own, whether to
/// deploy it again (a reason typed, recorded) or stop; nothing ran yet.
#[test]
fn a_version_already_running_asks_to_deploy_it_again_or_stop() {
    let mut s = Scene::new(PROFILE, None);
    s.versions(["v1.5.0", "v1.5.0"]);
    assert_eq!(
        s.release.question,
        Some(Question::Redeploy {
            version: "v1.5.0".into()
        })
    );
    let ui = ui_for(&s.release);
    insta::assert_snapshot!("redeploy_80x24", screen(&s.release, &ui, 80, 24));
    let small = screen(&s.release, &ui, 80, 24);
    assert!(small.contains("ALREADY DEPLOYED"), "{small}");
    assert!(small.contains("Every host runs v1.5.0 already"), "{small}");
    assert!(small.contains("[e] DEPLOY AGAIN"), "{small}");
    assert!(small.contains("[x] STOP"), "{small}");
    let mut c = Cockpit::new(
        Terminal::new(TestBackend::new(80, 24)).expect("terminal"),
        "ana",
        Theme { color: false },
    );
    c.refresh(&s.release);
    c.set_now(s.at + 1000);
    c.key(key(KeyCode::Char('e')), &s.release);
    assert_eq!(
        c.key(key(KeyCode::Enter), &s.release),
        None,
        "no reason yet"
    );
    let armed = screen(&s.release, &c.ui, 80, 24);
    assert!(armed.contains("reason (required)"), "{armed}");
    for ch in "config only".chars() {
        c.key(key(KeyCode::Char(ch)), &s.release);
    }
    match c.key(key(KeyCode::Enter), &s.release) {
        Some(EventKind::Decided {
            decision: gonogo::engine::Decision::Redeploy { reason },
            ..
        }) => assert_eq!(reason, "config only"),
        other => panic!("expected a redeploy with its reason, got {other:?}"),
    }
}

/// The preflight passed before the lists came: no question yet, the status bar says the gate
/// waits for what ships; once the lists come, the gate opens with them.
#[test]
fn a_gate_waiting_for_the_lists_says_so_then_opens_with_them() {
    let mut s = Scene::new(PROFILE, None);
    s.versions(["v1.4.2", "v1.4.2"]);
    s.preflight_passed();
    assert_eq!(s.release.question, None);
    let ui = ui_for(&s.release);
    let waiting = screen(&s.release, &ui, 80, 24);
    assert!(waiting.contains("listing what ships"), "{waiting}");
    assert!(!waiting.contains("[g] GO"), "{waiting}");
    s.send(EventKind::ChangesFound { found: changes() });
    assert_eq!(
        s.release.question, None,
        "the pending list is still looked for"
    );
    s.send(EventKind::PendingFound {
        target: "web-1".into(),
        found: pending(),
    });
    assert_eq!(s.release.question, Some(Question::Gate { step: 1 }));
    let asked = screen(&s.release, &ui_for(&s.release), 80, 24);
    assert!(
        asked.contains("What ships: v1.4.2 → v1.5.0 · 14 changes · 2 migrations"),
        "{asked}"
    );
}
