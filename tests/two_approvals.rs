//! A gate of `approvals = 2` needs two people: a second go from the same person is said to be
//! not counted, headless and in the cockpit, instead of passing unnoticed.

mod support;

use gonogo::engine::{Decision, Event, EventKind, Release};
use gonogo::profile::{self, Diagnostics, Purpose, Source};
use gonogo::ui::cockpit::Cockpit;
use gonogo::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::gonogo::{Gonogo, release, text};

const BODY: &str = "[targets.here]\ntransport = \"local\"\n\n[[step]]\ngate = \"Two people agree?\"\napprovals = 2\n\n[[step]]\nrun = \"true\"\non = \"here\"\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n";

#[test]
fn headless_says_a_second_go_from_the_same_person_is_not_counted() {
    let work = tempfile::tempdir().expect("work dir");
    let out =
        Gonogo::new(&release("two-go", &work.path().join("kh"), BODY)).run(&[], &["go", "go"]);
    let t = support::gonogo::untimed(&text(&out));
    assert_eq!(out.status.code(), Some(1), "stdin closed at the gate: {t}");
    let who = t
        .lines()
        .find_map(|l| l.strip_prefix("decided by "))
        .filter(|l| l.ends_with(": go"))
        .and_then(|l| l.split(" at gate ").next())
        .unwrap_or_else(|| panic!("one go was counted: {t}"));
    assert!(
        t.contains(&format!(
            "   go from {who} not counted: {who} already approved; this gate needs another person"
        )),
        "{t}"
    );
    assert_eq!(
        t.lines().filter(|l| l.starts_with("decided by")).count(),
        2,
        "go, then abort: {t}"
    );
}

/// The two-approval gate open, ana's GO counted once; the release and the time of its last event.
fn one_go_in() -> (Release, u64) {
    let text = format!("version = 1\n[release]\nname = \"r\"\nenvironment = \"staging\"\n{BODY}");
    let (p, diags) = profile::load(&Source::new("t.toml", text));
    let p = p.unwrap_or_else(|| panic!("{diags:?}"));
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut Diagnostics::default());
    let mut release = Release::default();
    let mut at = 1_790_000_000_000;
    let mut send = |release: &mut Release, kind| {
        at += 1000;
        release.apply(&Event::new(at, kind));
    };
    let plan = profile::release_plan(&p, &vars);
    send(
        &mut release,
        EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(plan),
        },
    );
    send(
        &mut release,
        EventKind::Connected {
            target: "here".into(),
        },
    );
    send(
        &mut release,
        EventKind::LockTaken {
            target: "here".into(),
        },
    );
    send(
        &mut release,
        EventKind::Decided {
            by: "ana".into(),
            decision: Decision::Go,
            note: None,
            actor: gonogo::engine::Actor::Person,
        },
    );
    (release, at)
}

#[test]
fn the_cockpit_says_a_second_go_from_the_same_person_is_not_counted() {
    let (release, at) = one_go_in();
    let mut c = Cockpit::new(
        Terminal::new(TestBackend::new(100, 30)).expect("terminal"),
        "ana",
        Theme { color: false },
    );
    c.ui.sync_question(&release);
    // Two seconds after the gate opened, on the loop's clock: past the stray-key guard.
    c.set_now(release.question_opened_at + 2000);
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    c.key(key(KeyCode::Char('g')), &release);
    assert_eq!(c.key(key(KeyCode::Enter), &release), None, "not sent");
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    terminal
        .draw(|f| gonogo::ui::draw(f, &release, &c.ui, &Theme { color: false }, at))
        .expect("draw");
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("Not counted: you already approved this gate; it needs another person."),
        "{screen}"
    );
}

/// A follower's GO (`gonogo follow --approver`) as the engine judges it when it is applied: it
/// counts only from a second person who came over SSH, for the gate open, and for what they had
/// on screen.
#[test]
fn a_followers_go_counts_only_from_another_person_over_ssh_for_what_they_saw() {
    use gonogo::engine::{Refusal, Via, Vote};
    let (mut release, mut at) = one_go_in();
    let mut send = |release: &mut Release, kind| {
        at += 1000;
        release.apply(&Event::new(at, kind));
    };
    let here = || "here".to_string();
    let ssh = || Via::Ssh {
        from: "10.0.0.7".into(),
    };
    let vote = |name: &str, via: Via, seen: String| Vote {
        name: name.into(),
        via,
        approver: true,
        step: 0,
        digest: Some(seen),
        note: None,
    };
    let seen = release.screen_digest(0);
    let why = release.judge_vote(&vote("dana", Via::Local, seen.clone()));
    assert_eq!(why, Err(Refusal::SameMachine));
    assert!(why.unwrap_err().to_string().contains("the operator's own"));
    let why = release.judge_vote(&vote("ana", ssh(), seen.clone()));
    assert!(
        why.as_ref()
            .is_err_and(|w| w.to_string().contains("one person counts once")),
        "{why:?}"
    );
    // The link dropped after dana looked: her GO was for another screen.
    send(
        &mut release,
        EventKind::ConnectionLost {
            target: here(),
            error: "reset".into(),
        },
    );
    let stale = vote("dana", ssh(), seen);
    assert_eq!(release.judge_vote(&stale), Err(Refusal::ScreenChanged));
    send(&mut release, stale.into_event());
    let refused = release.votes.last().and_then(|v| v.refused.as_ref());
    assert!(
        refused.is_some_and(|r| r.to_string().contains("changed since")),
        "{refused:?}"
    );
    // She looks again: counted, and the gate of two approvals passes.
    let fresh = vote("dana", ssh(), release.screen_digest(0));
    assert_eq!(release.judge_vote(&fresh), Ok(()));
    send(&mut release, fresh.into_event());
    assert_eq!(release.steps[0].approved_by, vec!["ana", "dana"]);
    assert_ne!(
        release.question,
        Some(gonogo::engine::Question::Gate { step: 0 }),
        "the gate passed"
    );
}
