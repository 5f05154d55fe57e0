//! Playing back and seeking give the state the events make, wherever playback went before.

use super::*;
use crate::engine::{Event, EventKind, RunId, StepList, Stream};
use crate::journal::{Entry, Journal, Line};
use crate::profile::{self, Diagnostics, Purpose, Source};

const PROFILE: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"

[targets.a]
host = "a"

[[step]]
name = "ready"
check = "true"
on = "a"

[[step]]
gate = "Go?"

[[step]]
name = "restart"
run = "restart"
on = "a"
"#;

fn run(step: usize) -> RunId {
    RunId {
        list: StepList::Main,
        step,
        target: "a".into(),
        attempt: 1,
    }
}

/// A journal of a release with one check failing once, a gate, a restart: one event a second.
fn journal() -> Journal {
    let (p, _) = profile::load(&Source::new("t.toml", PROFILE));
    let p = p.expect("profile");
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
    let kinds = vec![
        EventKind::Started {
            session: "s".into(),
            operator: "ana".into(),
            plan: Box::new(profile::release_plan(&p, &vars)),
        },
        EventKind::Connected { target: "a".into() },
        EventKind::LockTaken { target: "a".into() },
        EventKind::Output {
            run: run(0),
            stream: Stream::Stdout,
            lines: vec!["not yet".into()],
        },
        EventKind::Exited {
            run: run(0),
            status: 1,
        },
        EventKind::Decided {
            by: "ana".into(),
            decision: crate::engine::Decision::Retry,
            note: None,
            actor: crate::engine::Actor::Person,
        },
        EventKind::Exited {
            run: RunId {
                attempt: 2,
                ..run(0)
            },
            status: 0,
        },
        EventKind::Decided {
            by: "ana".into(),
            decision: crate::engine::Decision::Go,
            note: Some("checked with bo".into()),
            actor: crate::engine::Actor::Person,
        },
        EventKind::Exited {
            run: run(2),
            status: 0,
        },
        EventKind::LocksReleased {
            released: vec!["a".into()],
            kept: Vec::new(),
        },
    ];
    let lines = kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Line {
            seq: i as u64 + 1,
            t: i as u64 * 1_000_000,
            actor: None,
            entry: Entry::Event(Event::new(1_800_000_000_000 + i as u64 * 1000, kind)),
        })
        .collect();
    Journal {
        lines,
        ..Journal::default()
    }
}

/// What a release looks like, for comparing two ways of getting there.
fn state(release: &crate::engine::Release) -> String {
    crate::summary::lines(release, None).join("\n")
}

/// A replay of `journal()` on an 80×25 test terminal.
fn replaying(journal: Journal) -> Replaying<ratatui::backend::TestBackend> {
    let terminal = Terminal::new(ratatui::backend::TestBackend::new(80, 25)).expect("terminal");
    let player = Arc::new(Mutex::new(Player::read(journal)));
    Replaying::new(terminal, player, Theme { color: false })
}

/// The release the loop holds after every record the player handed it so far.
fn played(
    replay: &mut Replaying<ratatui::backend::TestBackend>,
    so_far: &mut Vec<Record>,
) -> Release {
    so_far.extend(replay.player().take());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(play_records(replay, so_far.clone()))
}

fn applied_up_to(n: usize) -> crate::engine::Release {
    let mut release = crate::engine::Release::default();
    for event in journal().events().take(n) {
        release.apply(event);
    }
    release
}

#[test]
fn seeking_back_and_forth_gives_the_state_of_the_events_up_to_there() {
    let mut replay = replaying(journal());
    let mut so_far = Vec::new();
    assert_eq!(replay.player().end(), 9_000_000);
    let end = replay.player().end();
    replay.player().seek(end);
    assert!(replay.player().at_end());
    let release = played(&mut replay, &mut so_far);
    assert_eq!(state(&release), state(&applied_up_to(10)));
    replay.player().seek(4_500_000);
    let back = replay.player().take();
    assert!(
        matches!(back.first(), Some(Record::Rewind(_))),
        "back is through a rewind"
    );
    so_far.extend(back);
    let release = played(&mut replay, &mut so_far);
    assert_eq!(state(&release), state(&applied_up_to(5)));
    // Forward again, by playing: 2.5 s at 2× is 5 s of the session.
    replay.player().speed = 2.0;
    replay
        .player()
        .advance(std::time::Duration::from_millis(2500));
    assert_eq!(replay.player().position, 9_000_000);
    let release = played(&mut replay, &mut so_far);
    assert_eq!(state(&release), state(&applied_up_to(10)));
    assert_eq!(replay.player().now(), 1_800_000_000_000 + 9 * 1000);
    assert!(
        replay.backend().to_string().contains("REPLAY ■ end"),
        "drawn at the last beat:\n{}",
        replay.backend()
    );
}

#[test]
fn marks_at_the_gate_and_the_failure_and_jumps_between_them() {
    let mut player = Player::read(journal());
    let kinds: Vec<MarkKind> = player.marks.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, vec![MarkKind::Failure, MarkKind::Gate]);
    assert_eq!(
        player.marks[1].label,
        "decided by ana at gate \"Go?\": go (checked with bo)"
    );
    assert!(player.marks[0].label.contains("ready failed on a: exit 1"));
    player.jump(true);
    assert_eq!(player.position, 4_000_000);
    player.jump(true);
    assert_eq!(player.position, 7_000_000);
    assert_eq!(player.last_mark().map(|m| m.kind), Some(MarkKind::Gate));
    player.jump(false);
    assert_eq!(player.position, 4_000_000);
}

#[test]
fn speed_steps_from_a_quarter_to_sixty_four() {
    let mut player = Player::read(journal());
    for _ in 0..20 {
        player.faster(true);
    }
    assert_eq!(player.speed, 64.0);
    for _ in 0..20 {
        player.faster(false);
    }
    assert_eq!(player.speed, 0.25);
}

#[test]
fn the_cast_is_asciicast_v2_with_monotonic_times_and_markers() {
    let mut out = Vec::new();
    export::asciicast(journal(), 100, 30, &mut out).expect("export");
    let text = String::from_utf8(out).expect("utf-8");
    let mut lines = text.lines();
    let head: serde_json::Value = serde_json::from_str(lines.next().expect("header")).unwrap();
    assert_eq!(head["version"], 2);
    assert_eq!(
        (head["width"].as_u64(), head["height"].as_u64()),
        (Some(100), Some(30))
    );
    assert!(
        head["title"].is_string() && head["timestamp"].is_number(),
        "{head}"
    );
    let events: Vec<serde_json::Value> = lines
        .map(|l| serde_json::from_str(l).expect("an event"))
        .collect();
    let times: Vec<f64> = events.iter().map(|e| e[0].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert_eq!(times.last().copied(), Some(9.0));
    let markers: Vec<&str> = events
        .iter()
        .filter(|e| e[1] == "m")
        .map(|e| e[2].as_str().unwrap())
        .collect();
    assert_eq!(markers.len(), 2, "{markers:?}");
    assert!(markers[1].contains("decided by ana at gate"), "{markers:?}");
    let shown: String = events
        .iter()
        .filter(|e| e[1] == "o")
        .map(|e| e[2].as_str().unwrap())
        .collect();
    assert!(shown.contains("RELEASED"), "the end is drawn");
    assert!(shown.contains("not yet"), "the output is drawn");
}

/// The journal with gonogo killed after the gate and resumed 2m35s later by bo: the resume
/// and its lock's confirmation half a second after the gate (the journal's `t` goes on from
/// its last record), every later event 2m35s later in wall time.
fn resumed_journal() -> Journal {
    let mut j = journal();
    let gate = j.lines[7].clone();
    let Entry::Event(decided) = &gate.entry else {
        panic!("the gate's decision");
    };
    let (t, at) = (gate.t, decided.at);
    let gap = 155_000;
    for line in &mut j.lines[8..] {
        if let Entry::Event(e) = &mut line.entry {
            e.at += gap;
        }
    }
    let resumed = |kind, dt: u64| Line {
        seq: 0,
        t: t + 500_000 + dt,
        actor: None,
        entry: Entry::Event(Event::new(at + gap + dt / 1000, kind)),
    };
    let resume = EventKind::Resumed {
        by: "bo@desk".into(),
        unattended: None,
        stopped_at: Some(at),
        stopped_t: Some(t),
    };
    j.lines.insert(8, resumed(resume, 0));
    j.lines.insert(
        9,
        resumed(EventKind::LockTaken { target: "a".into() }, 1000),
    );
    for (i, line) in j.lines.iter_mut().enumerate() {
        line.seq = i as u64 + 1;
    }
    j
}

#[test]
fn the_timeline_marks_a_resume_and_jumps_stop_at_it() {
    let mut player = Player::read(resumed_journal());
    let kinds: Vec<MarkKind> = player.marks.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        vec![MarkKind::Failure, MarkKind::Gate, MarkKind::Resumed]
    );
    assert_eq!(
        player.marks[2].label,
        "↯ interrupted: gonogo stopped at 08:00:07Z (no end record), resumed at 08:02:42Z \
         by bo@desk, 2m35s later"
    );
    player.jump(true);
    player.jump(true);
    assert_eq!(player.position, 7_000_000);
    player.jump(true);
    assert_eq!(player.position, 7_500_000, "a jump stops at the resume");
    assert_eq!(player.last_mark().map(|m| m.kind), Some(MarkKind::Resumed));
    // Drawn on the replay's row: its symbol on the timeline, its words beside it once passed.
    let row = |player: &Player| {
        let backend = ratatui::backend::TestBackend::new(200, 1);
        let mut terminal = ratatui::Terminal::new(backend).expect("terminal");
        let theme = Theme { color: false };
        terminal
            .draw(|frame| bar::render(frame, frame.area(), player, &theme))
            .expect("draw");
        let cells = terminal.backend().buffer().content().to_vec();
        cells
            .iter()
            .map(|c| c.symbol().to_string())
            .collect::<String>()
    };
    let here = row(&player);
    assert!(
        here.contains("┤ 00:07 ↯ interrupted: gonogo stopped at"),
        "{here}"
    );
    player.seek(0);
    let before = row(&player);
    assert!(
        before.contains('↯') && !before.contains("interrupted"),
        "{before}"
    );
    let end = player.end();
    player.seek(end);
    let mut replay = replaying(resumed_journal());
    *replay.player() = player;
    let release = played(&mut replay, &mut Vec::new());
    assert_eq!(release.outcome, Some(crate::engine::Outcome::Released));
}

#[test]
fn the_replay_keys_come_from_the_keymap_and_esc_never_leaves() {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    let press = |code| KeyEvent::new(code, KeyModifiers::NONE);
    let mut replay = replaying(journal());
    let (leave, mut left) = mpsc::channel(4);
    replay.leave = Some(leave);
    replay.key(press(KeyCode::Esc));
    assert!(left.try_recv().is_err(), "Esc does not leave");
    replay.key(press(KeyCode::Char('?')));
    assert!(matches!(replay.ui.modal, Modal::Help { .. }));
    let release = applied_up_to(10);
    replay.draw(&release, release.now);
    let screen = replay.backend().to_string();
    assert!(screen.contains("Replay (read-only"), "{screen}");
    assert!(
        screen.contains("the previous / next gate, failure"),
        "{screen}"
    );
    replay.key(press(KeyCode::Esc));
    assert!(
        matches!(replay.ui.modal, Modal::None),
        "Esc closes the help"
    );
    assert!(left.try_recv().is_err());
    replay.key(press(KeyCode::Char('G')));
    assert!(replay.player().at_end());
    replay.key(press(KeyCode::Char('q')));
    assert!(
        matches!(left.try_recv(), Ok(Input::Terminate(_))),
        "q leaves"
    );
}

#[test]
fn a_follower_or_a_replay_sees_no_operator_answer_keys() {
    use crate::ui::state::{Seat, UiState};
    let release = applied_up_to(7);
    assert!(release.question.is_some(), "the gate is open");
    let screen = |seat: Seat| {
        let mut ui = UiState {
            seat,
            following: (seat != Seat::Operator).then(|| "ana".to_string()),
            ..UiState::default()
        };
        ui.sync_question(&release);
        let mut terminal = Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
        let theme = Theme { color: false };
        terminal
            .draw(|f| crate::ui::draw(f, &release, &ui, &theme, release.now))
            .unwrap();
        terminal.backend().to_string()
    };
    let operator = screen(Seat::Operator);
    assert!(operator.contains("[n] NO-GO"), "{operator}");
    let follower = screen(Seat::ReadOnly);
    assert!(
        follower.contains("read-only: the operator answers"),
        "{follower}"
    );
    assert!(
        !follower.contains("[g] GO") && !follower.contains("NO-GO"),
        "{follower}"
    );
}

/// `z` in a replay zooms the operator's focused pane and back: only the view changes, the
/// player stays where it was.
#[test]
fn z_zooms_the_focused_pane_in_a_replay() {
    let mut replay = replaying(journal());
    let mut so_far = Vec::new();
    let end = replay.player().end();
    replay.player().seek(end);
    let release = played(&mut replay, &mut so_far);
    let now = replay.player().now();
    let z = KeyEvent::new(
        ratatui::crossterm::event::KeyCode::Char('z'),
        ratatui::crossterm::event::KeyModifiers::NONE,
    );
    replay.key(z);
    replay.draw(&release, now);
    let zoomed = replay.backend().to_string();
    assert!(
        zoomed.contains("┌ Checklist") && !zoomed.contains("Health"),
        "{zoomed}"
    );
    assert!(replay.player().at_end(), "the player did not move");
    replay.key(z);
    replay.draw(&release, now);
    let back = replay.backend().to_string();
    assert!(
        back.contains("┌ Checklist") && back.contains("┌ Health"),
        "{back}"
    );
}
