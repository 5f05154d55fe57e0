//! The cockpit's screens on a TestBackend (insta snapshots at 80×24 and 160×48) and its key
//! handling: what an operator sees and what their keys decide.

use gonogo::engine::{Decision, Event, EventKind, Release, RunId, StepList, Stream};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::ui::cockpit::Cockpit;
use gonogo::ui::state::{Confirm, Modal, Pane, Source as Shown, UiState};
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const PROFILE: &str = r#"version = 1
[release]
name = "acme-web"
environment = "ENV"
version = "v1.2.1"

[targets.web-1]
host = "web-1.example.com"
roles = ["web", "migrate"]
[targets.web-2]
host = "web-2.example.com"
roles = ["web"]

[[step]]
phase = "Preflight"
name = "Required env vars present"
check = "test -n \"$DATABASE_URL\""
on = "web"

[[step]]
manual = "Database backup completed and restore command documented"

[[step]]
gate = "Go for ENV deploy of v1.2.1?"

[[step]]
phase = "Deploy"
name = "Migrate"
run = "./venv/bin/alembic upgrade head"
on = "migrate"
irreversible = true

[[step]]
name = "Restart app servers"
run = "sudo systemctl restart gunicorn"
on = "web"
serial = 1

[watch]
duration = "10m"
rollback_on = ["error_ratio > 5% for 1m", "health failing for 30s"]

[[rollback]]
name = "Check out the previous release"
run = "git checkout $(cat PREVIOUS_REVISION)"
on = "web"
"#;

const T0: u64 = 1_790_000_000_000;

struct Scene {
    release: Release,
    at: u64,
}

impl Scene {
    fn new(environment: &str) -> Scene {
        Scene::of(PROFILE.replace("ENV", environment))
    }

    /// The scene of a profile's `text`, its two targets connected and locked.
    fn of(text: String) -> Scene {
        let (p, diags) = profile::load(&Source::new("t.toml", text));
        let p = p.unwrap_or_else(|| panic!("{diags:?}"));
        let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
        let plan = profile::release_plan(&p, &vars);
        let mut scene = Scene {
            release: Release::default(),
            at: T0,
        };
        scene.send(EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(plan),
        });
        for t in ["web-1", "web-2"] {
            scene.send(EventKind::Connected { target: t.into() });
        }
        for t in ["web-1", "web-2"] {
            scene.send(EventKind::LockTaken { target: t.into() });
        }
        scene
    }

    fn send(&mut self, kind: EventKind) {
        self.at += 1500;
        self.release.apply(&Event::new(self.at, kind));
    }

    fn output(&mut self, step: usize, target: &str, stream: Stream, lines: &[&str]) {
        let run = RunId {
            list: StepList::Main,
            step,
            target: target.into(),
            attempt: 1,
        };
        self.send(EventKind::Output {
            run,
            stream,
            lines: lines.iter().map(|l| l.to_string()).collect(),
        });
    }

    fn exit(&mut self, list: StepList, step: usize, target: &str, status: i32) {
        let run = RunId {
            list,
            step,
            target: target.into(),
            attempt: 1,
        };
        self.send(EventKind::Exited { run, status });
    }

    fn decide(&mut self, decision: Decision) {
        self.send(EventKind::Decided {
            by: "ana".into(),
            decision,
            note: None,
            actor: gonogo::engine::Actor::Person,
        });
    }

    /// Preflight passed, manual item done: the gate is open.
    fn at_gate(environment: &str) -> Scene {
        let mut s = Scene::new(environment);
        s.output(0, "web-1", Stream::Stdout, &["DATABASE_URL is set"]);
        s.output(0, "web-2", Stream::Stdout, &["DATABASE_URL is set"]);
        s.exit(StepList::Main, 0, "web-1", 0);
        s.exit(StepList::Main, 0, "web-2", 0);
        s.decide(Decision::Done);
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

fn ui_for(release: &Release) -> UiState {
    let mut ui = UiState::default();
    ui.sync_question(release);
    ui.sync_cursor(release);
    ui
}

fn snapshots(name: &str, release: &Release, ui: &UiState) {
    insta::assert_snapshot!(format!("{name}_80x24"), screen(release, ui, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x48"), screen(release, ui, 160, 48));
}

#[test]
fn running_step_with_output() {
    let mut s = Scene::new("staging");
    s.output(
        0,
        "web-1",
        Stream::Stdout,
        &["checking env", "DATABASE_URL is set"],
    );
    s.output(
        0,
        "web-2",
        Stream::Stderr,
        &["ERROR: DATABASE_URL is empty"],
    );
    s.exit(StepList::Main, 0, "web-1", 0);
    let ui = ui_for(&s.release);
    snapshots("running", &s.release, &ui);
}

#[test]
fn gate_modal() {
    let s = Scene::at_gate("staging");
    snapshots("gate", &s.release, &ui_for(&s.release));
}

/// A gate of two approvals after the operator's GO: the modal says the GO is in and how a
/// colleague approves; an approver on this machine is said unable to; each vote is a line.
#[test]
fn a_two_person_gate_after_the_operators_go_says_how_the_second_approves() {
    let gate = "gate = \"Go for staging deploy of v1.2.1?\"";
    let mut s = Scene::of(
        PROFILE
            .replace("ENV", "staging")
            .replace(gate, &format!("{gate}\napprovals = 2")),
    );
    s.exit(StepList::Main, 0, "web-1", 0);
    s.exit(StepList::Main, 0, "web-2", 0);
    s.decide(Decision::Done);
    s.decide(Decision::Go);
    s.send(EventKind::Joined {
        name: "bob".into(),
        via: gonogo::engine::Via::Local,
        approver: true,
    });
    let digest = Some(s.release.screen_digest(2));
    s.send(
        gonogo::engine::Vote {
            name: "bob".into(),
            via: gonogo::engine::Via::Local,
            approver: true,
            step: 2,
            digest,
            note: None,
        }
        .into_event(),
    );
    let text = screen(&s.release, &ui_for(&s.release), 100, 30);
    for expected in [
        "Your GO is in. Waiting for 1 more approval",
        "a colleague runs gonogo follow",
        "--approver NAME over SSH (docs/follow.md)",
        "Approvers following: bob (same machine: cannot approve)",
        "watching: bob (same machine: cannot approve)",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    assert!(!text.contains("[g] GO"), "GO is not offered twice:\n{text}");
    let voted = s
        .release
        .output
        .iter()
        .any(|o| o.line.starts_with("GO from bob (this machine) refused: "));
    assert!(voted, "the refused vote is a line of the output");
}

/// A journal that stops being written is a red banner at the bottom that stays: the gate still
/// waits (the operator decides), and the banner is still there after the next events.
#[test]
fn a_journal_that_cannot_be_written_is_a_banner_that_stays() {
    let mut s = Scene::new("staging");
    s.send(EventKind::JournalFailed {
        path: "/data/s1.jsonl".into(),
        error: "File too large (os error 27)".into(),
    });
    s.output(0, "web-1", Stream::Stdout, &["DATABASE_URL is set"]);
    s.exit(StepList::Main, 0, "web-1", 0);
    let text = screen(&s.release, &ui_for(&s.release), 160, 48);
    let bottom = text.lines().last().expect("a bottom line");
    assert!(
        bottom.contains(
            "journal not written: File too large (os error 27): this session is no longer recorded"
        ),
        "{text}"
    );
    // The first failure is the one said.
    s.send(EventKind::JournalFailed {
        path: "/data/s1.jsonl".into(),
        error: "later".into(),
    });
    assert!(!screen(&s.release, &ui_for(&s.release), 160, 48).contains("later"));
}

#[test]
fn production_gate_modal_armed() {
    let s = Scene::at_gate("production");
    let mut ui = ui_for(&s.release);
    let a = ui.answer.as_mut().expect("a question");
    a.armed = Some(gonogo::ui::keymap::Choice::Go);
    a.typed = "g".into();
    snapshots("production_gate_armed", &s.release, &ui);
}

#[test]
fn manual_item_modal() {
    let mut s = Scene::new("staging");
    s.exit(StepList::Main, 0, "web-1", 0);
    s.exit(StepList::Main, 0, "web-2", 0);
    snapshots("manual", &s.release, &ui_for(&s.release));
}

#[test]
fn failure_modal() {
    let mut s = Scene::new("staging");
    s.output(
        0,
        "web-2",
        Stream::Stderr,
        &["DATABASE_URL: unbound variable"],
    );
    s.exit(StepList::Main, 0, "web-1", 0);
    s.exit(StepList::Main, 0, "web-2", 1);
    snapshots("failure", &s.release, &ui_for(&s.release));
}

/// A retry that failed again: the modal says which attempt and what the one before said.
#[test]
fn a_failure_after_a_retry_says_which_attempt() {
    let mut s = Scene::new("staging");
    s.exit(StepList::Main, 0, "web-1", 0);
    s.exit(StepList::Main, 0, "web-2", 1);
    s.decide(Decision::Retry);
    s.send(EventKind::Exited {
        run: RunId {
            list: StepList::Main,
            step: 0,
            target: "web-2".into(),
            attempt: 2,
        },
        status: 2,
    });
    let text = screen(&s.release, &ui_for(&s.release), 100, 30);
    assert!(
        text.contains("attempt 2 failed: exit 2 · attempt 1: exit 1 at "),
        "{text}"
    );
}

/// web-2's link did not come back within its budget: its step may still be running.
#[test]
fn unknown_outcome_in_the_failure_modal() {
    let mut s = Scene::new("staging");
    s.exit(StepList::Main, 0, "web-1", 0);
    s.send(EventKind::ConnectionLost {
        target: "web-2".into(),
        error: "connection lost".into(),
    });
    s.at += 120_000;
    let run = RunId {
        list: StepList::Main,
        step: 0,
        target: "web-2".into(),
        attempt: 1,
    };
    s.send(EventKind::RunLost {
        run,
        error: "not back after 2m".into(),
    });
    snapshots("unknown_outcome", &s.release, &ui_for(&s.release));
}

/// A rollback waits until the host confirms the running step stopped, and says so.
#[test]
fn stopping_before_the_rollback() {
    let mut s = Scene::new("staging");
    s.output(0, "web-1", Stream::Stdout, &["checking env"]);
    s.decide(Decision::Rollback);
    snapshots("stopping", &s.release, &ui_for(&s.release));
}

/// The migration ran, the restart failed: rolling back names what it cannot undo.
fn after_irreversible() -> Scene {
    let mut s = Scene::at_gate("staging");
    s.decide(Decision::Go);
    s.exit(StepList::Main, 3, "web-1", 0);
    s.exit(StepList::Main, 4, "web-1", 1);
    s
}

#[test]
fn rollback_confirmation_names_irreversible_steps() {
    let mut s = after_irreversible();
    s.decide(Decision::Rollback);
    snapshots("confirm_rollback", &s.release, &ui_for(&s.release));
}

#[test]
fn rollback_from_anywhere_confirmation() {
    let s = after_irreversible();
    let mut ui = ui_for(&s.release);
    ui.answer.as_mut().expect("failure question").hidden = true;
    ui.modal = Modal::Confirm(Confirm::RollbackNow);
    snapshots("rollback_now", &s.release, &ui);
}

#[test]
fn abort_confirmation() {
    let s = Scene::new("staging");
    let mut ui = ui_for(&s.release);
    ui.modal = Modal::Confirm(Confirm::Abort);
    snapshots("abort", &s.release, &ui);
}

#[test]
fn help_overlay() {
    let s = Scene::new("staging");
    let mut ui = ui_for(&s.release);
    ui.modal = Modal::help(&Modal::None);
    snapshots("help", &s.release, &ui);
}

#[test]
fn checklist_expanded_and_output_filtered_paused() {
    let mut s = Scene::new("staging");
    for i in 0..40 {
        s.output(
            0,
            if i % 2 == 0 { "web-1" } else { "web-2" },
            Stream::Stdout,
            &[&format!("line {i}")],
        );
    }
    s.exit(StepList::Main, 0, "web-1", 0);
    let mut ui = ui_for(&s.release);
    ui.expanded.insert((StepList::Main, 0));
    ui.focus = Pane::Output;
    ui.pause_follow(&s.release);
    ui.scroll = 5;
    ui.target = Some("web-1".into());
    ui.filter = Some(regex::Regex::new("line [0-9]*[02468]$").expect("regex"));
    s.output(0, "web-2", Stream::Stdout, &["a new line while paused"]);
    snapshots("expanded_filtered", &s.release, &ui);
}

#[test]
fn watch_window_and_the_end() {
    let mut s = Scene::at_gate("staging");
    s.decide(Decision::Go);
    s.exit(StepList::Main, 3, "web-1", 0);
    s.exit(StepList::Main, 4, "web-1", 0);
    s.exit(StepList::Main, 4, "web-2", 0);
    snapshots("watching", &s.release, &ui_for(&s.release));
    s.decide(Decision::EndWatch);
    let end = EventKind::LocksReleased {
        released: vec!["web-1".into(), "web-2".into()],
        kept: Vec::new(),
    };
    s.send(end.clone());
    // The end screen opens on the summary: outcome, decisions with who and when, each host.
    let mut c = cockpit();
    gonogo::runtime::Frontend::show(&mut c, &Event::new(s.at, end), &s.release);
    assert_eq!(c.ui.source, Shown::Summary);
    let text = screen(&s.release, &c.ui, 80, 24);
    for expected in [
        "summary: acme-web v1.2.1 to staging: released",
        "decided by ana at gate \"Go for",
        "web-1: Migrate done, Restart app servers done",
        "? help  q quit",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    snapshots("released", &s.release, &c.ui);
    // `i` goes back to the output, and back to the summary.
    c.key(key(KeyCode::Char('i')), &s.release);
    assert_eq!(c.ui.source, Shown::Steps);
}

// --- Keys: what the operator's keys decide -------------------------------------------------

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn cockpit() -> Cockpit<TestBackend> {
    Cockpit::new(
        Terminal::new(TestBackend::new(80, 24)).expect("terminal"),
        "ana",
        Theme { color: false },
    )
}

/// The question has been on screen for a while (the stray-key guard has passed): keys come
/// two seconds after it opened, on the loop's clock.
fn settled(c: &mut Cockpit<TestBackend>, release: &Release) {
    c.ui.sync_question(release);
    c.set_now(release.question_opened_at + 2000);
}

fn decision(kind: Option<EventKind>) -> Option<Decision> {
    match kind {
        Some(EventKind::Decided { decision, .. }) => Some(decision),
        _ => None,
    }
}

#[test]
fn a_stray_key_never_approves_a_gate() {
    let s = Scene::at_gate("staging");
    let mut c = cockpit();
    // The gate has just opened: keys come at the loop time it opened.
    c.ui.sync_question(&s.release);
    c.set_now(s.release.question_opened_at);
    // Keys typed just as the gate opens are ignored, and one key alone decides nothing.
    assert_eq!(decision(c.key(key(KeyCode::Char('g')), &s.release)), None);
    assert_eq!(decision(c.key(key(KeyCode::Enter), &s.release)), None);
    settled(&mut c, &s.release);
    assert_eq!(
        decision(c.key(key(KeyCode::Enter), &s.release)),
        None,
        "Enter alone approves nothing"
    );
    assert_eq!(
        decision(c.key(key(KeyCode::Char('g')), &s.release)),
        None,
        "g only arms"
    );
    assert_eq!(
        decision(c.key(key(KeyCode::Enter), &s.release)),
        Some(Decision::Go)
    );
}

#[test]
fn a_production_gate_needs_go_typed() {
    let s = Scene::at_gate("production");
    let mut c = cockpit();
    settled(&mut c, &s.release);
    c.key(key(KeyCode::Char('g')), &s.release);
    assert_eq!(
        decision(c.key(key(KeyCode::Enter), &s.release)),
        None,
        "armed is not enough"
    );
    c.key(key(KeyCode::Char('g')), &s.release);
    c.key(key(KeyCode::Char('o')), &s.release);
    assert_eq!(
        decision(c.key(key(KeyCode::Enter), &s.release)),
        Some(Decision::Go)
    );
}

#[test]
fn a_note_goes_with_the_decision() {
    let s = Scene::at_gate("staging");
    let mut c = cockpit();
    settled(&mut c, &s.release);
    c.key(key(KeyCode::Tab), &s.release);
    for ch in "dashboards green".chars() {
        c.key(key(KeyCode::Char(ch)), &s.release);
    }
    c.key(key(KeyCode::Tab), &s.release);
    c.key(key(KeyCode::Char('n')), &s.release);
    match c.key(key(KeyCode::Enter), &s.release) {
        Some(EventKind::Decided {
            decision: Decision::NoGo,
            note,
            ..
        }) => {
            assert_eq!(note.as_deref(), Some("dashboards green"));
        }
        other => panic!("expected a no-go with a note, got {other:?}"),
    }
}

#[test]
fn skipping_a_failure_needs_a_reason() {
    let mut s = Scene::new("staging");
    s.exit(StepList::Main, 0, "web-1", 0);
    s.exit(StepList::Main, 0, "web-2", 1);
    let mut c = cockpit();
    settled(&mut c, &s.release);
    c.key(key(KeyCode::Char('s')), &s.release);
    assert_eq!(
        decision(c.key(key(KeyCode::Enter), &s.release)),
        None,
        "no reason yet"
    );
    for ch in "known flaky".chars() {
        c.key(key(KeyCode::Char(ch)), &s.release);
    }
    assert_eq!(
        decision(c.key(key(KeyCode::Enter), &s.release)),
        Some(Decision::Skip {
            reason: "known flaky".into()
        })
    );
}

#[test]
fn rollback_from_anywhere_takes_one_key_and_one_confirmation() {
    let s = after_irreversible();
    let mut c = cockpit();
    settled(&mut c, &s.release);
    c.key(key(KeyCode::Esc), &s.release); // hide the failure question
    assert_eq!(
        decision(c.key(
            KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT),
            &s.release
        )),
        None
    );
    assert_eq!(c.ui.modal.confirm(), Some(Confirm::RollbackNow));
    // The one confirmation carries the irreversible step it showed: the engine asks no more.
    let decided = decision(c.key(key(KeyCode::Char('y')), &s.release));
    assert_eq!(
        decided,
        Some(Decision::ConfirmRollback {
            acknowledged: s.release.irreversible_done()
        })
    );
    let mut s = s;
    s.decide(decided.expect("a decision"));
    assert_eq!(s.release.question, None, "no second question");
    assert!(matches!(
        s.release.stage,
        gonogo::engine::Stage::Running {
            list: StepList::Rollback,
            ..
        }
    ));
}

#[test]
fn quit_asks_only_when_something_runs() {
    let s = Scene::new("staging"); // the first check runs
    let mut c = cockpit();
    assert_eq!(decision(c.key(key(KeyCode::Char('q')), &s.release)), None);
    assert_eq!(c.ui.modal.confirm(), Some(Confirm::Abort));
    assert_eq!(
        decision(c.key(key(KeyCode::Char('y')), &s.release)),
        Some(Decision::Abort)
    );

    let s = Scene::at_gate("staging"); // nothing runs at a gate
    let mut c = cockpit();
    settled(&mut c, &s.release);
    c.key(key(KeyCode::Esc), &s.release);
    assert_eq!(
        decision(c.key(key(KeyCode::Char('q')), &s.release)),
        Some(Decision::Abort)
    );
}

#[test]
fn scrolling_up_pauses_follow_and_end_resumes() {
    let mut s = Scene::new("staging");
    s.output(0, "web-1", Stream::Stdout, &["a", "b", "c"]);
    let mut c = cockpit();
    c.key(key(KeyCode::Tab), &s.release);
    c.key(key(KeyCode::Up), &s.release);
    assert!(!c.ui.follow);
    s.output(0, "web-1", Stream::Stdout, &["d", "e"]);
    assert_eq!(
        UiState::lines_seen(&s.release) - c.ui.paused_at,
        2,
        "two new lines counted"
    );
    c.key(key(KeyCode::End), &s.release);
    assert!(c.ui.follow);
}

#[test]
fn no_color_means_no_colour_and_states_still_read() {
    let mut s = Scene::new("production");
    s.output(0, "web-1", Stream::Stderr, &["ERROR: boom"]);
    s.exit(StepList::Main, 0, "web-1", 0);
    s.exit(StepList::Main, 0, "web-2", 1);
    let ui = ui_for(&s.release);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    let theme = Theme { color: false };
    terminal
        .draw(|f| gonogo::ui::draw(f, &s.release, &ui, &theme, s.release.now))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let coloured = buffer
        .content()
        .iter()
        .filter(|c| c.fg != ratatui::style::Color::Reset || c.bg != ratatui::style::Color::Reset)
        .count();
    assert_eq!(coloured, 0, "no cell is coloured under NO_COLOR");
    let text = terminal.backend().to_string();
    assert!(
        text.contains("✗ Required env vars"),
        "a failed step reads as failed without colour:\n{text}"
    );
    assert!(text.contains("PRODUCTION"), "{text}");
}

#[test]
fn refused_to_start_says_why_in_full() {
    let text = PROFILE.replace("ENV", "staging");
    let (p, _) = profile::load(&Source::new("t.toml", text));
    let p = p.expect("valid");
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
    let mut release = Release::default();
    release.apply(&Event::new(
        T0,
        EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(profile::release_plan(&p, &vars)),
        },
    ));
    release.apply(&Event::new(T0 + 900, EventKind::ConnectFailed {
        target: "web-2".into(),
        error: "web-2.example.com:22: HOST KEY CHANGED: the host now presents SHA256:abc, which does not match /home/ana/.ssh/known_hosts:12.".into(),
    }));
    snapshots("refused", &release, &ui_for(&release));
}

#[test]
fn help_scrolls_to_every_section_on_a_small_terminal() {
    let s = Scene::new("staging");
    let mut c = cockpit();
    c.key(key(KeyCode::Char('?')), &s.release);
    assert!(matches!(c.ui.modal, Modal::Help { .. }));
    for _ in 0..60 {
        c.key(key(KeyCode::Down), &s.release);
    }
    let text = screen(&s.release, &c.ui, 80, 24);
    // Scrolled to its end, wrapped lines counted as drawn: the legend's last row is in view.
    assert!(
        text.contains("This help") && text.contains("irreversible: no rollback undoes it"),
        "{text}"
    );
    insta::assert_snapshot!("help_scrolled_80x24", text);
}

/// The running step's time moves with the loop's clock, whether or not output arrives.
#[test]
fn a_running_step_is_timed_by_the_clock_not_by_its_last_output() {
    let s = Scene::new("staging");
    let ui = ui_for(&s.release);
    let frame = |now: u64| {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        terminal
            .draw(|f| gonogo::ui::draw(f, &s.release, &ui, &Theme { color: false }, now))
            .expect("draw");
        terminal.backend().to_string()
    };
    let row = |screen: String| {
        screen
            .lines()
            .find(|l| l.contains("▶ Required env vars"))
            .map(str::to_string)
            .expect("the running step")
    };
    assert!(row(frame(s.release.now + 2_000)).contains(" 2.0s"));
    assert!(row(frame(s.release.now + 65_000)).contains(" 1m05s"));
}

/// Once a step has changed the hosts, leaving is never one key: q asks, and offers rollback.
#[test]
fn leaving_after_the_hosts_changed_asks_and_offers_rollback() {
    // Before anything ran: q leaves at once.
    let s = Scene::at_gate("staging");
    let mut c = cockpit();
    assert_eq!(
        decision(c.key(key(KeyCode::Char('q')), &s.release)),
        Some(Decision::Abort)
    );

    let s = after_irreversible();
    let mut c = cockpit();
    settled(&mut c, &s.release);
    c.key(key(KeyCode::Esc), &s.release); // hide the failure question
    assert_eq!(decision(c.key(key(KeyCode::Char('q')), &s.release)), None);
    assert_eq!(c.ui.modal.confirm(), Some(Confirm::Abort));
    snapshots("leaving_after_changes", &s.release, &c.ui);
    // r: roll back instead, confirmed the same way as R.
    assert_eq!(decision(c.key(key(KeyCode::Char('r')), &s.release)), None);
    assert_eq!(c.ui.modal.confirm(), Some(Confirm::RollbackNow));
}

/// Ending the watch window early takes a reason, recorded with the decision (outside
/// production; there it is the final gate).
#[test]
fn ending_the_watch_asks_first() {
    let mut s = Scene::at_gate("staging");
    s.decide(Decision::Go);
    s.exit(StepList::Main, 3, "web-1", 0);
    s.exit(StepList::Main, 4, "web-1", 0);
    s.exit(StepList::Main, 4, "web-2", 0);
    let mut c = cockpit();
    let end = KeyEvent::new(KeyCode::Char('E'), KeyModifiers::SHIFT);
    assert_eq!(decision(c.key(end, &s.release)), None);
    assert!(matches!(c.ui.modal, Modal::EndWatch(_)));
    // Enter without a reason ends nothing, and says why.
    assert_eq!(c.key(key(KeyCode::Enter), &s.release), None);
    let text = screen(&s.release, &c.ui, 80, 24);
    assert!(text.contains("needs a reason"), "{text}");
    for ch in "y metrics flat".chars() {
        assert_eq!(c.key(key(KeyCode::Char(ch)), &s.release), None, "{ch}");
    }
    snapshots("end_watch_reason", &s.release, &c.ui);
    match c.key(key(KeyCode::Enter), &s.release) {
        Some(EventKind::Decided { decision, note, .. }) => {
            assert_eq!(decision, Decision::EndWatch);
            assert_eq!(note.as_deref(), Some("y metrics flat"));
        }
        other => panic!("{other:?}"),
    }
    // Esc keeps watching.
    c.key(end, &s.release);
    c.key(key(KeyCode::Esc), &s.release);
    assert!(matches!(c.ui.modal, Modal::None));
}

/// After a rollback, a step nothing undid reads "not undone", and a step that never ran
/// reads "not run"; while the rollback runs, a banner says so.
#[test]
fn the_end_of_a_rollback_tells_the_truth_about_each_step() {
    let mut s = after_irreversible();
    let acknowledged = s.release.irreversible_done();
    s.decide(Decision::ConfirmRollback { acknowledged });
    snapshots("rolling_back", &s.release, &ui_for(&s.release));
    for t in ["web-1", "web-2"] {
        s.exit(StepList::Rollback, 0, t, 0);
    }
    s.send(EventKind::LocksReleased {
        released: vec!["web-1".into(), "web-2".into()],
        kept: Vec::new(),
    });
    let screen = screen(&s.release, &ui_for(&s.release), 80, 24);
    // Nothing undid the migration (irreversible) nor the restart (no undo): neither is ↺.
    assert!(screen.contains("! Migrate      not undone"), "{screen}");
    assert!(screen.contains("Restart app …  not undone"), "{screen}");
    assert!(!screen.contains('↺'), "{screen}");
    snapshots("rolled_back", &s.release, &ui_for(&s.release));
}

/// The failure modal shows the evidence: the command, the failed host's last stderr lines, the
/// other hosts, and that hosts now differ; its keys stay on screen at 80×24.
#[test]
fn a_failure_shows_its_evidence_and_keeps_its_keys() {
    let mut s = Scene::at_gate("staging");
    s.decide(Decision::Go);
    s.exit(StepList::Main, 3, "web-1", 0);
    s.exit(StepList::Main, 4, "web-1", 0);
    s.output(4, "web-2", Stream::Stdout, &["stopping gunicorn"]);
    s.output(
        4,
        "web-2",
        Stream::Stderr,
        &[
            "Job for gunicorn.service failed.",
            "See \"systemctl status gunicorn.service\" for details.",
            "curl: (22) The requested URL returned error: 503",
            "Traceback (most recent call last): ImportError: cannot import name 'v2'",
        ],
    );
    s.exit(StepList::Main, 4, "web-2", 1);
    let ui = ui_for(&s.release);
    let small = screen(&s.release, &ui, 80, 24);
    for needle in [
        "$ sudo systemctl restart gunicorn",
        "ImportError",
        "returned error: 503",
        "others: ✓ web-1",
        "the hosts now differ",
        "[t] RETRY",
    ] {
        assert!(small.contains(needle), "{needle:?} not on screen:\n{small}");
    }
    assert!(
        !small.contains("stopping gunicorn"),
        "stderr comes first:\n{small}"
    );
    snapshots("failure_evidence", &s.release, &ui);
}

/// A rollback is confirmed one way, from a question as from R; R and ? work inside a question.
#[test]
fn rollback_from_a_question_is_confirmed_like_r_and_help_opens_over_it() {
    let s = after_irreversible();
    let mut c = cockpit();
    settled(&mut c, &s.release);
    assert_eq!(decision(c.key(key(KeyCode::Char('?')), &s.release)), None);
    assert!(
        matches!(c.ui.modal, Modal::Help { .. }),
        "? opens help over the failure"
    );
    c.key(key(KeyCode::Esc), &s.release);
    assert!(matches!(c.ui.modal, Modal::None));
    let shift_r = KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT);
    assert_eq!(decision(c.key(shift_r, &s.release)), None);
    assert_eq!(c.ui.modal.confirm(), Some(Confirm::RollbackNow));
    // Help over the confirmation closes back to it, the question still under both.
    c.key(key(KeyCode::Char('?')), &s.release);
    assert_eq!(c.ui.mode(), gonogo::ui::keymap::Mode::Help);
    let text = screen(&s.release, &c.ui, 120, 40);
    assert!(text.contains(" Help "), "{text}");
    c.key(key(KeyCode::Esc), &s.release);
    assert!(matches!(c.ui.modal, Modal::Confirm(Confirm::RollbackNow)));
    c.key(key(KeyCode::Char('n')), &s.release);
    assert_eq!(c.ui.modal.confirm(), None);
    assert_eq!(c.ui.mode(), gonogo::ui::keymap::Mode::Answer);
    // The failure's own [r]: armed, Enter, and the same confirmation.
    c.key(key(KeyCode::Char('r')), &s.release);
    assert_eq!(decision(c.key(key(KeyCode::Enter), &s.release)), None);
    assert_eq!(c.ui.modal.confirm(), Some(Confirm::RollbackNow));
    assert_eq!(
        decision(c.key(key(KeyCode::Char('y')), &s.release)),
        Some(Decision::ConfirmRollback {
            acknowledged: s.release.irreversible_done()
        })
    );
}

/// The output pane reads like the session: a heading and the command per step, how each host's
/// run ended, a retried failure kept above its new attempt, the link dropping and coming back,
/// and wrapped lines indented under their host.
#[test]
fn the_output_keeps_a_retried_failure_and_the_link_drop() {
    let mut s = Scene::at_gate("staging");
    s.decide(Decision::Go);
    s.exit(StepList::Main, 3, "web-1", 0);
    s.output(
        4,
        "web-1",
        Stream::Stdout,
        &["restarted gunicorn: 4 workers booted, listening on 127.0.0.1:8000, version v1.2.1"],
    );
    s.exit(StepList::Main, 4, "web-1", 0);
    s.output(
        4,
        "web-2",
        Stream::Stderr,
        &["Job for gunicorn.service failed because the control process exited with error code"],
    );
    s.exit(StepList::Main, 4, "web-2", 1);
    s.decide(Decision::Retry);
    s.send(EventKind::ConnectionLost {
        target: "web-2".into(),
        error: "connection reset by peer".into(),
    });
    s.send(EventKind::Reconnected {
        target: "web-2".into(),
    });
    let mut ui = ui_for(&s.release);
    ui.wrap = true;
    let text = screen(&s.release, &ui, 80, 24);
    for expected in [
        "$ sudo systemctl restart gunicorn",
        "[web-2]!Job for gunicorn.service failed",
        "[web-2] ✗ failed after",
        "[web-2] ↻ attempt 2",
        "[web-2] ◌ connection lost (connection reset by",
        "[web-2] ◌ reconnected after 1.5s",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    // The wrapped rest of a host's line starts under its text, not under its prefix.
    assert!(text.contains("│        "), "{text}");
    insta::assert_snapshot!("output_retry_link_wrapped_80x24", text);
}

/// With many targets, `t` opens a list narrowed by typing; Enter shows that target's lines.
#[test]
fn many_targets_are_picked_from_a_list() {
    let mut s = Scene::new("staging");
    let extra = s.release.plan.targets[1].clone();
    for i in 3..=8 {
        let mut t = extra.clone();
        t.name = format!("worker-{i}");
        s.release.plan.targets.push(t);
    }
    s.output(0, "web-2", Stream::Stdout, &["from web-2"]);
    s.output(0, "web-1", Stream::Stdout, &["from web-1"]);
    let mut c = cockpit();
    c.key(key(KeyCode::Char('t')), &s.release);
    assert!(
        matches!(c.ui.modal, Modal::Picker(_)),
        "a list, not a cycle"
    );
    let text = screen(&s.release, &c.ui, 80, 24);
    assert!(
        text.contains("all targets") && text.contains("worker-8"),
        "{text}"
    );
    for ch in "eb-2".chars() {
        c.key(key(KeyCode::Char(ch)), &s.release);
    }
    snapshots("target_picker", &s.release, &c.ui);
    c.key(key(KeyCode::Enter), &s.release);
    assert!(matches!(c.ui.modal, Modal::None));
    assert_eq!(c.ui.target.as_deref(), Some("web-2"));
    let text = screen(&s.release, &c.ui, 80, 24);
    assert!(
        text.contains("from web-2") && !text.contains("from web-1"),
        "{text}"
    );
    // Esc leaves the choice as it was.
    c.key(key(KeyCode::Char('t')), &s.release);
    c.key(key(KeyCode::Esc), &s.release);
    assert_eq!(c.ui.target.as_deref(), Some("web-2"));
}

/// During the watch the health pane shows each check, the metrics against their baseline and
/// each rule's state; a rule that held proposes a rollback with its evidence.
#[test]
fn a_rule_that_held_proposes_a_rollback_with_its_evidence() {
    use gonogo::engine::watch::{HealthReading, MetricsReading};
    let mut s = Scene::at_gate("staging");
    let metrics = |ratio: f64, p95: f64| EventKind::MetricsSampled {
        source: "app".into(),
        via: None,
        reading: MetricsReading {
            error_ratio: Some(ratio),
            request_rate: Some(42.0),
            latency_p95_ms: Some(p95),
            ..MetricsReading::default()
        },
    };
    let health = |target: &str, ok: bool| EventKind::HealthSampled {
        check: "app".into(),
        via: Some(target.into()),
        reading: HealthReading {
            ok,
            status: Some(if ok { 200 } else { 503 }),
            latency_ms: 14,
            error: (!ok).then(|| "answered 503, expected 200".to_string()),
            cert_days: None,
        },
    };
    s.send(metrics(0.004, 80.0));
    s.decide(Decision::Go);
    s.exit(StepList::Main, 3, "web-1", 0);
    s.exit(StepList::Main, 4, "web-1", 0);
    s.exit(StepList::Main, 4, "web-2", 0);
    s.send(health("web-1", true));
    for i in 0..45 {
        s.send(metrics(0.12, 140.0));
        // web-2's check fails for the last 15 s: its rule holds, not yet for its 30 s.
        s.send(health("web-2", i < 40));
    }
    assert!(matches!(
        s.release.question,
        Some(gonogo::engine::Question::RollbackProposal { rule: 0 })
    ));
    let mut ui = ui_for(&s.release);
    ui.answer = None;
    let text = screen(&s.release, &ui, 160, 48);
    for expected in [
        "✓ app via web-1  200 14ms",
        "✗ app via web-2  answered 503, expected 200 · failing",
        "errors 12.00% (base 0.40%)",
        "p95 140ms (base 80ms)",
        "! error_ratio > 5% for 1m  PROPOSED ROLLBACK",
        "▲ health failing for 30s  holding",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    let mut c = cockpit();
    settled(&mut c, &s.release);
    snapshots("rollback_proposed", &s.release, &c.ui);
    let text = screen(&s.release, &c.ui, 80, 24);
    assert!(text.contains("error_ratio > 5% for 1m held"), "{text}");
    // The values in the rule's unit with where they were measured, the baseline in it too.
    let wide = screen(&s.release, &c.ui, 160, 48);
    assert!(wide.contains("values: 14:15:15Z app 12.00%"), "{wide}");
    assert!(wide.contains("baseline before the deploy: 0.40%"), "{wide}");
    assert!(text.contains("[k] KEEP WATCHING"), "{text}");
}

/// A watch that ran its whole duration ends at the final gate, with the health now.
#[test]
fn the_watch_ends_at_the_final_gate() {
    let mut s = Scene::at_gate("production");
    s.decide(Decision::Go);
    s.exit(StepList::Main, 3, "web-1", 0);
    s.exit(StepList::Main, 4, "web-1", 0);
    s.exit(StepList::Main, 4, "web-2", 0);
    // Every rule judged ok: the window held.
    for kind in healthy_samples() {
        s.send(kind);
    }
    s.send(EventKind::TimerFired {
        timer: gonogo::engine::Timer::WatchEnd,
    });
    let mut c = cockpit();
    settled(&mut c, &s.release);
    let text = screen(&s.release, &c.ui, 80, 24);
    for expected in [
        "PRODUCTION FINAL GATE",
        "The watch window held. Release good?",
        "[g] GO  [r] ROLLBACK",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    snapshots("final_gate", &s.release, &c.ui);
}

/// In production `E` asks no reason: the watch ends at the final gate, where GO is typed out;
/// until then the release is not released.
#[test]
fn ending_the_watch_in_production_leads_to_the_final_gate() {
    let mut s = Scene::at_gate("production");
    s.decide(Decision::Go);
    s.exit(StepList::Main, 3, "web-1", 0);
    s.exit(StepList::Main, 4, "web-1", 0);
    s.exit(StepList::Main, 4, "web-2", 0);
    let mut c = cockpit();
    let end = KeyEvent::new(KeyCode::Char('E'), KeyModifiers::SHIFT);
    let decided = c.key(end, &s.release);
    assert!(matches!(c.ui.modal, Modal::None), "no reason asked");
    match decided {
        Some(EventKind::Decided { decision, note, .. }) => {
            assert_eq!(decision, Decision::EndWatch);
            assert_eq!(note, None);
        }
        other => panic!("{other:?}"),
    }
    s.decide(Decision::EndWatch);
    assert_eq!(
        s.release.question,
        Some(gonogo::engine::Question::FinalGate)
    );
    assert_eq!(s.release.outcome, None, "not released yet");
    settled(&mut c, &s.release);
    let text = screen(&s.release, &c.ui, 80, 24);
    for expected in [
        "PRODUCTION FINAL GATE",
        "The watch was ended early, 9m 58s before its end. Release good?",
        "[g] GO  [r] ROLLBACK",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    // GO armed asks for `go` typed out; Enter alone confirms nothing.
    assert_eq!(decision(c.key(key(KeyCode::Char('g')), &s.release)), None);
    snapshots("end_watch_production_final_gate", &s.release, &c.ui);
    assert_eq!(decision(c.key(key(KeyCode::Enter), &s.release)), None);
    let text = screen(&s.release, &c.ui, 80, 24);
    assert!(text.contains("Production: type go, then Enter."), "{text}");
    c.key(key(KeyCode::Char('g')), &s.release);
    c.key(key(KeyCode::Char('o')), &s.release);
    assert_eq!(
        decision(c.key(key(KeyCode::Enter), &s.release)),
        Some(Decision::Go)
    );
}

/// A manual item is ticked only by an armed `done` and Enter: Space after hiding its question
/// arms it and shows the question again; an answer armed before Esc is given up by it.
#[test]
fn esc_then_space_never_ticks_a_manual_item() {
    let mut s = Scene::new("staging");
    s.exit(StepList::Main, 0, "web-1", 0);
    s.exit(StepList::Main, 0, "web-2", 0);
    assert!(matches!(
        s.release.question,
        Some(gonogo::engine::Question::Manual { .. })
    ));
    let mut c = cockpit();
    settled(&mut c, &s.release);
    c.key(key(KeyCode::Esc), &s.release);
    assert_eq!(decision(c.key(key(KeyCode::Char(' ')), &s.release)), None);
    let a = c.ui.answer.as_ref().expect("the question");
    assert!(!a.hidden, "Space shows the question");
    assert_eq!(a.armed, Some(gonogo::ui::keymap::Choice::Done));
    let text = screen(&s.release, &c.ui, 80, 24);
    assert!(text.contains("▶[d] DONE"), "{text}");
    // Esc gives the armed answer up: shown again with `a`, Enter alone ticks nothing.
    c.key(key(KeyCode::Esc), &s.release);
    c.key(key(KeyCode::Char('a')), &s.release);
    assert_eq!(c.ui.answer.as_ref().and_then(|a| a.armed), None);
    assert_eq!(decision(c.key(key(KeyCode::Enter), &s.release)), None);
    // Armed, then confirmed: done.
    c.key(key(KeyCode::Char('d')), &s.release);
    assert_eq!(
        decision(c.key(key(KeyCode::Enter), &s.release)),
        Some(Decision::Done)
    );
}

/// A health answer from each web host and a clean metrics scrape: every rule judges ok.
fn healthy_samples() -> Vec<EventKind> {
    use gonogo::engine::watch::{HealthReading, MetricsReading};
    let health = |target: &str| EventKind::HealthSampled {
        check: "app".into(),
        via: Some(target.into()),
        reading: HealthReading {
            ok: true,
            status: Some(200),
            latency_ms: 14,
            error: None,
            cert_days: None,
        },
    };
    vec![
        health("web-1"),
        health("web-2"),
        EventKind::MetricsSampled {
            source: "app".into(),
            via: None,
            reading: MetricsReading {
                error_ratio: Some(0.004),
                request_rate: Some(42.0),
                latency_p95_ms: Some(80.0),
                ..MetricsReading::default()
            },
        },
    ]
}

/// A watch that runs out with nothing measured does not say it held: it is held over once,
/// then the final gate names the rules that could not judge.
#[test]
fn a_watch_that_could_not_judge_does_not_say_it_held() {
    let mut s = Scene::at_gate("production");
    s.decide(Decision::Go);
    s.exit(StepList::Main, 3, "web-1", 0);
    s.exit(StepList::Main, 4, "web-1", 0);
    s.exit(StepList::Main, 4, "web-2", 0);
    s.send(EventKind::TimerFired {
        timer: gonogo::engine::Timer::WatchEnd,
    });
    assert_eq!(s.release.question, None, "held over for the rules in doubt");
    let text = screen(&s.release, &ui_for(&s.release), 80, 24);
    assert!(
        text.contains("? error_ratio > 5% for 1m  cannot judge:"),
        "{text}"
    );
    assert!(text.contains("⏱ watch extended 60s"), "{text}");
    s.send(EventKind::TimerFired {
        timer: gonogo::engine::Timer::WatchEnd,
    });
    let mut c = cockpit();
    settled(&mut c, &s.release);
    let text = screen(&s.release, &c.ui, 160, 48);
    assert!(text.contains("NOT all clear"), "{text}");
    assert!(!text.contains("The watch window held"), "{text}");
}
