//! The run loop end to end with every driver off, as replay will run it: the real cockpit on a
//! `TestBackend`, events fed from a list as drivers would send them, keys pressed as an operator
//! would press them. The decision comes back through the loop as an event, with its actor.
//! Time is the loop's manual clock: it moves only when the test moves it, so nothing sleeps.

use std::time::Duration;

use gonogo::drivers::DriversOff;
use gonogo::engine::{
    Actor, Decision, Event, EventKind, Millis, Outcome, Release, RunId, STRAY_KEY_GUARD_MS,
    StepList, Stream,
};
use gonogo::journal::ViewChange;
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::runtime::{self, Clock, Frontend, Input};
use gonogo::ui::cockpit::Cockpit;
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const PROFILE: &str = r#"version = 1
[release]
name = "acme-web"
environment = "staging"

[targets.web-1]
host = "web-1.example.com"

[[step]]
name = "Health"
check = "curl -fsS localhost/health"
on = "web-1"

[[step]]
gate = "Go for the restart?"

[[step]]
name = "Restart"
run = "systemctl restart app"
on = "web-1"
"#;

fn run_id(step: usize) -> RunId {
    RunId {
        list: StepList::Main,
        step,
        target: "web-1".into(),
        attempt: 1,
    }
}

/// The session's first event: ana starts the release of `PROFILE`.
fn started() -> EventKind {
    let (p, diags) = profile::load(&Source::new("t.toml", PROFILE));
    let p = p.unwrap_or_else(|| panic!("{diags:?}"));
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
    EventKind::Started {
        session: "s1".into(),
        operator: "ana".into(),
        plan: Box::new(profile::release_plan(&p, &vars)),
    }
}

fn key(c: char) -> Input {
    Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn press(code: KeyCode) -> Input {
    Input::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

const T0: Millis = 1_790_000_000_000;

/// What the loop has done, as the test waits for it: when the gate opened, how many keys it
/// took, whether the release ended.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    gate_opened: Option<Millis>,
    keys: usize,
    finished: bool,
}

/// The cockpit as the loop's front end, telling the test what the loop did after each batch.
struct Watched<'c> {
    cockpit: &'c mut Cockpit<TestBackend>,
    seen: tokio::sync::watch::Sender<Seen>,
    keys: usize,
}

impl Frontend for Watched<'_> {
    fn show(&mut self, event: &Event, release: &Release) {
        self.cockpit.show(event, release);
    }

    fn input(&mut self, input: Input, release: &Release, now: Millis) -> Option<EventKind> {
        self.keys += usize::from(matches!(input, Input::Key(_)));
        self.cockpit.input(input, release, now)
    }

    fn flush(&mut self, release: &Release, now: Millis) {
        self.cockpit.flush(release, now);
        let gate = matches!(
            release.question,
            Some(gonogo::engine::Question::Gate { .. })
        );
        self.seen.send_replace(Seen {
            gate_opened: gate.then_some(release.question_opened_at),
            keys: self.keys,
            finished: release.is_finished(),
        });
    }

    fn keep_open(&self) -> bool {
        self.cockpit.keep_open()
    }

    fn view_changes(&mut self) -> Vec<ViewChange> {
        self.cockpit.view_changes()
    }
}

/// Waits until the loop has done what `done` asks.
async fn until(seen: &mut tokio::sync::watch::Receiver<Seen>, done: impl FnMut(&Seen) -> bool) {
    seen.wait_for(done).await.expect("the loop runs");
}

/// The operator at the gate: a key pressed as it opens is stray and arms nothing; once the
/// guard has passed on the loop's clock, `g` then Enter say GO. Returns when the loop took them.
async fn answer_the_gate(
    inputs: &tokio::sync::mpsc::Sender<Input>,
    seen: &mut tokio::sync::watch::Receiver<Seen>,
    clock: &Clock,
) {
    until(seen, |s| s.gate_opened.is_some()).await;
    for input in [key('g'), press(KeyCode::Enter)] {
        inputs.send(input).await.expect("key");
    }
    until(seen, |s| s.keys >= 2).await;
    clock.advance(STRAY_KEY_GUARD_MS);
    for input in [key('g'), press(KeyCode::Enter)] {
        inputs.send(input).await.expect("key");
    }
}

#[tokio::test]
async fn a_gate_answered_with_keys_in_the_cockpit_runs_the_release_to_its_end() {
    let start = started();
    let (events, event_rx) = tokio::sync::mpsc::channel(64);
    let (inputs, input_rx) = tokio::sync::mpsc::channel(64);
    // What the drivers would report: the host reached and locked, the check passing.
    for kind in [
        EventKind::Connected {
            target: "web-1".into(),
        },
        EventKind::LockTaken {
            target: "web-1".into(),
        },
        EventKind::Output {
            run: run_id(0),
            stream: Stream::Stdout,
            lines: vec!["ok".into()],
        },
        EventKind::Exited {
            run: run_id(0),
            status: 0,
        },
    ] {
        events.send(kind).await.expect("send");
    }
    let clock = Clock::manual(T0);
    let (seen_tx, mut seen) = tokio::sync::watch::channel(Seen::default());
    let operator_clock = clock.clone();
    let operator = tokio::spawn(async move {
        answer_the_gate(&inputs, &mut seen, &operator_clock).await;
        // Sent after the keys: the loop takes inputs first, so the restart has started.
        events
            .send(EventKind::Exited {
                run: run_id(2),
                status: 0,
            })
            .await
            .expect("restart done");
        events
            .send(EventKind::LocksReleased {
                released: vec!["web-1".into()],
                kept: Vec::new(),
            })
            .await
            .expect("unlocked");
        until(&mut seen, |s| s.finished).await;
        inputs.send(key('q')).await.expect("quit");
        (inputs, events)
    });
    let mut cockpit = Cockpit::new(
        Terminal::new(TestBackend::new(80, 24)).expect("terminal"),
        "ana",
        Theme { color: false },
    );
    let mut watched = Watched {
        cockpit: &mut cockpit,
        seen: seen_tx,
        keys: 0,
    };
    let release = tokio::time::timeout(
        Duration::from_secs(20),
        runtime::run(
            start,
            DriversOff::default(),
            &mut watched,
            (event_rx, input_rx),
            clock,
        ),
    )
    .await
    .expect("the loop ends");
    drop(watched);
    let _channels = operator.await.expect("operator");
    assert_eq!(release.outcome, Some(Outcome::Released));
    // One decision: the stray `g` armed nothing, so its Enter sent nothing.
    assert_eq!(release.decisions.len(), 1, "{:?}", release.decisions);
    let go = &release.decisions[0];
    assert_eq!(
        (go.by.as_str(), &go.decision, go.actor),
        ("ana", &Decision::Go, Actor::Person)
    );
    assert_eq!(
        go.at,
        T0 + STRAY_KEY_GUARD_MS,
        "said once the guard had passed"
    );
    let screen = cockpit.backend().to_string();
    assert!(screen.contains("RELEASED"), "{screen}");
    assert!(screen.contains("unlocked"), "{screen}");
    assert!(
        release
            .decisions
            .iter()
            .all(|d| d.decision != Decision::Abort),
        "{:?}",
        release.decisions
    );
}

/// The recorded run's last frame, replayed from its journal, is the frame the operator saw: the
/// same engine state from the same events, and their focus and view from the view records.
#[tokio::test]
async fn a_replay_ends_on_the_frame_the_operator_last_saw() {
    let start = started();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sessions/s1.jsonl");
    let header = gonogo::journal::Header {
        format: gonogo::journal::FORMAT.into(),
        version: gonogo::journal::VERSION,
        gonogo: "test".into(),
        session: "s1".into(),
        profile: "t.toml".into(),
        profile_sha256: String::new(),
        release: "acme-web".into(),
        environment: "staging".into(),
        operator: "ana@test".into(),
        login: String::new(),
        terminal: Some((80, 24)),
        started: "2026-11-23T12:00:00.000Z".into(),
        targets: Vec::new(),
        present: None,
    };
    let journal = gonogo::journal::Writer::create(&path, &header).expect("journal");
    let (events, event_rx) = tokio::sync::mpsc::channel(64);
    let (inputs, input_rx) = tokio::sync::mpsc::channel(64);
    for kind in [
        EventKind::Connected {
            target: "web-1".into(),
        },
        EventKind::LockTaken {
            target: "web-1".into(),
        },
        EventKind::Output {
            run: run_id(0),
            stream: Stream::Stdout,
            lines: (0..40).map(|i| format!("health line {i}")).collect(),
        },
        EventKind::Exited {
            run: run_id(0),
            status: 0,
        },
    ] {
        events.send(kind).await.expect("send");
    }
    let clock = Clock::manual(T0);
    let (seen_tx, mut seen) = tokio::sync::watch::channel(Seen::default());
    let operator_clock = clock.clone();
    let operator = tokio::spawn(async move {
        answer_the_gate(&inputs, &mut seen, &operator_clock).await;
        for kind in [
            EventKind::Exited {
                run: run_id(2),
                status: 0,
            },
            EventKind::LocksReleased {
                released: vec!["web-1".into()],
                kept: Vec::new(),
            },
        ] {
            events.send(kind).await.expect("send");
        }
        until(&mut seen, |s| s.finished).await;
        // From the end screen's summary back to the output, focused and scrolled back; the
        // keys come in order, `q` last.
        for input in [
            key('i'),
            press(KeyCode::Tab),
            press(KeyCode::Up),
            press(KeyCode::Up),
            press(KeyCode::Up),
        ] {
            inputs.send(input).await.expect("key");
        }
        inputs.send(key('q')).await.expect("quit");
        (inputs, events)
    });
    let mut cockpit = Cockpit::new(
        Terminal::new(TestBackend::new(80, 24)).expect("terminal"),
        "ana",
        Theme { color: false },
    );
    let mut watched = Watched {
        cockpit: &mut cockpit,
        seen: seen_tx,
        keys: 0,
    };
    let (release, journal) = tokio::time::timeout(
        Duration::from_secs(20),
        runtime::run_recorded(
            start,
            DriversOff::default(),
            &mut watched,
            (event_rx, input_rx),
            Some(journal),
            clock,
        ),
    )
    .await
    .expect("the loop ends");
    drop(watched);
    let _channels = operator.await.expect("operator");
    drop(journal);
    assert_eq!(release.outcome, Some(Outcome::Released));

    let read = gonogo::journal::read(&path).expect("read the journal");
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    // The replay: the same journal through the loop again, drivers off, played to its end.
    let mut player = gonogo::replay::Player::index(read).await;
    let end = player.end();
    player.seek(end);
    let records = player.take();
    let now = player.now();
    // One more row: the replay's own bar.
    let mut replay = gonogo::replay::Replaying::new(
        Terminal::new(TestBackend::new(80, 25)).expect("terminal"),
        std::sync::Arc::new(std::sync::Mutex::new(player)),
        Theme { color: false },
    );
    let replayed = gonogo::replay::play_records(&mut replay, records).await;
    assert_eq!(format!("{replayed:?}"), format!("{release:?}"));
    cockpit.draw(&release, now);
    let live = cockpit.backend().buffer().clone();
    let replayed = replay.backend().buffer();
    let rows = |b: &ratatui::buffer::Buffer, n: u16| -> Vec<String> {
        (0..n)
            .map(|y| (0..80).map(|x| b[(x, y)].symbol().to_string()).collect())
            .collect()
    };
    // Every row the operator saw, but the key line: the replay has its own keys.
    assert_eq!(rows(replayed, 23), rows(&live, 23));
    let keys = rows(replayed, 24).pop().unwrap();
    assert!(keys.contains("Space play/pause"), "{keys}");
    let bar = rows(replayed, 25).pop().unwrap();
    assert!(bar.contains("REPLAY ■ end"), "{bar}");
    assert!(
        bar.contains('◆'),
        "the gate is marked on the timeline: {bar}"
    );
    assert!(
        rows(&live, 24).iter().any(|r| r.contains("health line 36")),
        "the operator had the output scrolled back:\n{}",
        rows(&live, 24).join("\n")
    );
}
