//! Log tails: when they start and stop, error lines and their counts per minute, error
//! signatures new since the deploy, and what is dropped.

use super::*;
use crate::engine::logs::{LOG_LINES_KEPT, LogMark, TailStatus};

/// Two web hosts, one tail on both whose errors are `ERROR`, a check, then the deploy.
fn with_logs() -> String {
    format!(
        "{TWO_HOSTS}\n[logs.app]\non = \"web\"\ncommand = \"tail -F /var/log/app.log\"\nerrors = 'ERROR|Traceback'\n"
    )
}

fn lines(run: &mut Run, target: &str, lines: &[&str]) {
    run.send(EventKind::LogLines {
        target: target.into(),
        tail: "app".into(),
        lines: lines.iter().map(|l| l.to_string()).collect(),
    });
}

#[test]
fn tails_start_once_the_locks_are_taken_before_the_first_step_and_stop_at_the_outcome() {
    let mut run = Run::new(&with_logs());
    assert_eq!(run.release.plan.logs[0].targets, both());
    for t in both() {
        let fx = run.send(EventKind::Connected { target: t });
        assert!(!fx.contains(&Effect::FollowLogs), "{fx:?}");
    }
    let fx = run.send(EventKind::LockTaken { target: "a".into() });
    assert!(
        !fx.contains(&Effect::FollowLogs),
        "b's lock is not taken yet"
    );
    let fx = run.send(EventKind::LockTaken { target: "b".into() });
    let follow = fx.iter().position(|e| *e == Effect::FollowLogs);
    let first_run = fx.iter().position(|e| matches!(e, Effect::StartRun { .. }));
    assert!(
        matches!((follow, first_run), (Some(f), Some(r)) if f < r),
        "tails start before the first step: {fx:?}"
    );
    assert!(
        run.release
            .logs
            .tails
            .iter()
            .all(|f| f.status == TailStatus::Starting),
        "{:?}",
        run.release.logs.tails
    );
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    let fx = run.decide("ana", Decision::NoGo);
    assert!(fx.contains(&Effect::StopTails), "{fx:?}");
    let fx = run.locks_released(&fx);
    assert!(!fx.contains(&Effect::StopTails), "stopped once: {fx:?}");
}

#[test]
fn a_refused_start_never_starts_tails() {
    let mut run = Run::new(&with_logs());
    for t in both() {
        run.send(EventKind::Connected { target: t });
    }
    run.send(EventKind::LockTaken { target: "a".into() });
    let fx = run.send(EventKind::LockRefused {
        target: "b".into(),
        holder: "bob".into(),
    });
    assert!(
        !fx.contains(&Effect::FollowLogs) && !fx.contains(&Effect::StopTails),
        "{fx:?}"
    );
}

#[test]
fn error_lines_are_marked_and_counted_per_target_per_minute() {
    let mut run = Run::going(&with_logs());
    // Each event is a second after the last: start at the top of a minute.
    run.at = 60_000 * 100 - 1000;
    lines(
        &mut run,
        "a",
        &["GET / 200", "ERROR db timeout", "Traceback (most recent)"],
    );
    lines(&mut run, "b", &["ERROR db timeout"]);
    // The last lines of each tail are judged once nothing continued them.
    run.settle_logs();
    let kept: Vec<(&str, bool)> = run
        .release
        .logs
        .lines
        .iter()
        .map(|l| (l.line.as_str(), l.error))
        .collect();
    assert_eq!(
        kept,
        vec![
            ("GET / 200", false),
            ("ERROR db timeout", true),
            ("Traceback (most recent)", true),
            ("ERROR db timeout", true),
        ]
    );
    // The last 60 s, sliding: a's lines came at second 6000, b's at 6001.
    let half_a_minute = 60_000 * 100 + 30_000;
    assert_eq!(
        run.release.log_errors_per_min(Some("a"), half_a_minute),
        2.0
    );
    assert_eq!(
        run.release.log_errors_per_min(Some("b"), half_a_minute),
        1.0
    );
    assert_eq!(run.release.log_errors_per_min(None, half_a_minute), 3.0);
    // A second later than a minute after a's lines, only b's is in the window.
    assert_eq!(run.release.log_errors_per_min(None, 60_000 * 101), 1.0);
    assert_eq!(
        run.release.log_errors_per_min(None, 60_000 * 101 + 1_000),
        0.0
    );
}

#[test]
fn log_errors_slide_across_a_minute_boundary() {
    let mut run = Run::going(&with_logs());
    run.at = 60_000 * 200 - 6_000;
    // Five errors in the last seconds of one minute, five in the first of the next.
    for _ in 0..5 {
        lines(&mut run, "a", &["ERROR db timeout"]);
    }
    for _ in 0..5 {
        lines(&mut run, "a", &["ERROR db timeout"]);
    }
    // The last lines are judged once nothing continued them (they might have headed a trace).
    run.settle_logs();
    // A last-full-minute count would say 5 (or 0); the sliding window sees all ten.
    assert_eq!(
        run.release.log_errors_per_min(None, 60_000 * 200 + 10_000),
        10.0
    );
    assert_eq!(
        run.release.log_errors_per_min(None, 60_000 * 200 + 59_000),
        5.0,
        "the first five are older than 60 s"
    );
}

#[test]
fn a_signature_first_seen_after_the_first_run_step_is_new_one_seen_before_is_not() {
    let mut run = Run::going(&with_logs());
    lines(&mut run, "a", &["ERROR cache miss for key 8812"]);
    assert!(!run.release.deploy_started(), "only the check has run");
    // The check passes, the gate says go, the manual item is done: the deploy starts.
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    run.decide("ana", Decision::Go);
    let fx = run.decide("ana", Decision::Done);
    assert_eq!(started(&fx), vec![main_run(3, "a", 1)]);
    assert!(run.release.deploy_started());
    lines(
        &mut run,
        "b",
        &[
            "ERROR cache miss for key 9120",
            "ERROR relation \"orders\" does not exist",
            "ERROR relation \"orders\" does not exist",
        ],
    );
    run.settle_logs();
    let new: Vec<(&str, u64)> = run
        .release
        .signatures
        .new_since_deploy()
        .iter()
        .map(|s| (s.example.as_str(), s.count))
        .collect();
    assert_eq!(new, vec![("ERROR relation \"orders\" does not exist", 2)]);
    let old = run
        .release
        .signatures
        .get("ERROR cache miss for key 1")
        .expect("the baseline error is known");
    assert!(old.before_deploy && old.count == 2, "{old:?}");
}

#[test]
fn lines_beyond_those_kept_and_lines_a_tail_dropped_are_counted() {
    let mut run = Run::going(&with_logs());
    let many: Vec<String> = (0..LOG_LINES_KEPT + 25)
        .map(|i| format!("line {i}"))
        .collect();
    run.send(EventKind::LogLines {
        target: "a".into(),
        tail: "app".into(),
        lines: many,
    });
    assert_eq!(run.release.logs.lines.len(), LOG_LINES_KEPT);
    assert_eq!(run.release.logs.dropped, 25);
    assert_eq!(run.release.logs.seen(), LOG_LINES_KEPT as u64 + 25);
    assert_eq!(run.release.logs.lines[0].line, "line 25");
    // Lines taking the place of those let go keep their own text, short or long.
    run.send(EventKind::LogLines {
        target: "a".into(),
        tail: "app".into(),
        lines: vec!["x".into(), "a longer line than any before it".into()],
    });
    let texts: Vec<&str> = run
        .release
        .logs
        .lines
        .iter()
        .rev()
        .take(3)
        .map(|l| l.line.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "a longer line than any before it",
            "x",
            &format!("line {}", LOG_LINES_KEPT + 24)
        ]
    );
    run.send(EventKind::LogsDropped {
        target: "a".into(),
        tail: "app".into(),
        count: 1200,
    });
    run.send(EventKind::LogsDropped {
        target: "a".into(),
        tail: "app".into(),
        count: 3,
    });
    let a = &run.release.logs.tails[0];
    assert_eq!(
        (a.target.as_str(), a.read, a.lost),
        ("a", LOG_LINES_KEPT as u64 + 27, 1203)
    );
    let last = run.release.logs.lines.back().expect("a mark");
    assert_eq!(last.mark, LogMark::Dropped);
    assert!(last.line.starts_with("3 lines dropped"), "{}", last.line);
}

#[test]
fn a_tail_going_down_and_up_is_told_with_its_gap_and_strangers_are_ignored() {
    let mut run = Run::going(&with_logs());
    run.send(EventKind::TailUp {
        target: "b".into(),
        tail: "app".into(),
        gap_ms: None,
    });
    run.send(EventKind::TailDown {
        target: "b".into(),
        tail: "app".into(),
        error: "connection lost".into(),
    });
    assert!(matches!(
        run.release.logs.tails[1].status,
        TailStatus::Down { .. }
    ));
    run.send(EventKind::TailUp {
        target: "b".into(),
        tail: "app".into(),
        gap_ms: Some(4_200),
    });
    let said: Vec<(LogMark, &str)> = run
        .release
        .logs
        .lines
        .iter()
        .map(|l| (l.mark, l.line.as_str()))
        .collect();
    assert_eq!(
        said,
        vec![
            (LogMark::Up, "following"),
            (LogMark::Down, "log tail down: connection lost"),
            (LogMark::Up, "following again after a gap of 5s"),
        ]
    );
    assert_eq!(run.release.logs.tails[1].drops, 1);
    let before = run.release.logs.lines.len();
    lines(&mut run, "zz", &["ERROR from nowhere"]);
    run.send(EventKind::LogLines {
        target: "a".into(),
        tail: "nginx".into(),
        lines: vec!["ERROR".into()],
    });
    assert_eq!(run.release.logs.lines.len(), before);
    assert_eq!(run.release.signatures.all().count(), 0);
}
