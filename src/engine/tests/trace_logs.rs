//! Stack traces through the engine: however a tail's lines are cut into chunks, a trace
//! is one error counted once and signed by its exception; held lines are judged by the next
//! line, the `logs_settle` timer or any event more than 2 s later; the pane marks a trace's
//! lines; signatures know their hosts.

use super::traces::{ERRORS, FIXTURES, FLASK, JAVA, NODE, PYTHON, line_of};
use super::*;
use crate::engine::logs::LogMark;
use crate::engine::signature::signature;
use crate::engine::trace::{SETTLE_MS, TRACE_LINES_MAX};

fn with_logs(errors: &str) -> String {
    format!(
        "{TWO_HOSTS}\n[logs.app]\non = \"web\"\ncommand = \"journalctl -f\"\nerrors = '{errors}'\n"
    )
}

/// A release whose tail `app` reads both hosts, at the top of minute 100.
fn following() -> Run {
    let mut run = Run::going(&with_logs(ERRORS));
    run.at = 60_000 * 100;
    run
}

fn send(run: &mut Run, target: &str, lines: &[&str]) -> Vec<Effect> {
    run.send(EventKind::LogLines {
        target: target.into(),
        tail: "app".into(),
        lines: lines.iter().map(|l| l.to_string()).collect(),
    })
}

/// The error lines (traces once) counted on `target` in minute 100.
fn counted(run: &Run, target: &str) -> f64 {
    run.release
        .log_errors_per_min(Some(target), 60_000 * 101 + 1)
}

/// Every signature with its count.
fn signatures(run: &Run) -> Vec<(String, u64)> {
    let mut all: Vec<(String, u64)> = run
        .release
        .signatures
        .all()
        .map(|s| (s.signature.clone(), s.count))
        .collect();
    all.sort();
    all
}

fn flask_signatures() -> Vec<(String, u64)> {
    vec![
        ("KeyError: <q>".to_string(), 1),
        ("POST /checkout 500".to_string(), 1),
    ]
}

#[test]
fn flask_under_gunicorn_is_the_keyerror_and_the_500_of_its_request() {
    let mut run = following();
    let lines: Vec<&str> = FLASK.lines().collect();
    send(&mut run, "a", &lines);
    run.settle_logs();
    assert_eq!(signatures(&run), flask_signatures());
    assert_eq!(counted(&run, "a"), 2.0, "the traceback once, the 500 once");
    let keyerror = run
        .release
        .signatures
        .get("KeyError: 'gold'")
        .expect("kept");
    assert_eq!(keyerror.example, "KeyError: 'platinum'");
    // The pane shows the whole traceback as the error it is, and the good requests as they are.
    let marked: Vec<(&str, bool)> = run
        .release
        .logs
        .lines
        .iter()
        .filter(|l| l.mark == LogMark::Read)
        .map(|l| (l.line.as_str(), l.error))
        .collect();
    let traceback = line_of(FLASK, "ERROR in app") as usize..=line_of(FLASK, "KeyError") as usize;
    for (i, (line, error)) in marked.iter().enumerate() {
        let expected = traceback.contains(&i) || line.contains("\" 500 ");
        assert_eq!(*error, expected, "{line}");
    }
    assert_eq!(
        run.release.logs.last_errors(),
        vec![(
            "a",
            run.release.logs.lines[0].at,
            lines[line_of(FLASK, "\" 500 ") as usize]
        )]
    );
}

#[test]
fn a_chunk_may_end_anywhere_in_a_trace() {
    let lines: Vec<&str> = FLASK.lines().collect();
    for cut in 1..lines.len() {
        let mut run = following();
        send(&mut run, "a", &lines[..cut]);
        send(&mut run, "a", &lines[cut..]);
        run.settle_logs();
        assert_eq!(signatures(&run), flask_signatures(), "cut after line {cut}");
        assert_eq!(counted(&run, "a"), 2.0, "cut after line {cut}");
    }
    // Every line in its own chunk, a second apart.
    let mut run = following();
    for line in &lines {
        send(&mut run, "a", &[line]);
    }
    run.settle_logs();
    assert_eq!(signatures(&run), flask_signatures());
}

#[test]
fn a_trace_open_at_a_chunks_end_is_judged_by_the_next_line_or_once_nothing_came_for_2s() {
    let lines: Vec<&str> = PYTHON.lines().collect();
    // The next chunk's first line does not continue it: judged then, no timer needed.
    let mut run = following();
    let fx = send(&mut run, "a", &lines);
    assert!(
        fx.contains(&Effect::StartTimer {
            timer: Timer::LogsSettle,
            after_ms: SETTLE_MS + 1,
        }),
        "{fx:?}"
    );
    assert_eq!(signatures(&run), vec![], "it may still go on");
    send(&mut run, "a", &["[INFO] Booting worker with pid: 4121"]);
    assert_eq!(signatures(&run), vec![("KeyError: <q>".to_string(), 1)]);
    // Nothing more comes: the timer judges it.
    let mut run = following();
    send(&mut run, "a", &lines);
    let fx = run.settle_logs();
    assert_eq!(signatures(&run), vec![("KeyError: <q>".to_string(), 1)]);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::StartTimer { .. })),
        "nothing waits: {fx:?}"
    );
    // Any event stamped 2s later judges it too (a replay without the timer agrees).
    let mut run = following();
    send(&mut run, "a", &lines);
    run.wait(SETTLE_MS);
    run.send(EventKind::Joined {
        name: "bob".into(),
        via: "socket".into(),
        approver: false,
    });
    assert_eq!(signatures(&run), vec![("KeyError: <q>".to_string(), 1)]);
    // Two seconds later is not too late: the next chunk's frames still belong to it.
    let mut run = following();
    send(&mut run, "a", &lines[..5]);
    run.wait(SETTLE_MS - 1000);
    send(&mut run, "a", &lines[5..]);
    run.settle_logs();
    assert_eq!(signatures(&run), vec![("KeyError: <q>".to_string(), 1)]);
    assert_eq!(counted(&run, "a"), 1.0);
}

#[test]
fn two_traces_back_to_back_are_two_errors_of_one_signature() {
    let mut run = following();
    let both: Vec<&str> = PYTHON.lines().chain(PYTHON.lines()).collect();
    send(&mut run, "a", &both);
    run.settle_logs();
    assert_eq!(signatures(&run), vec![("KeyError: <q>".to_string(), 2)]);
    assert_eq!(counted(&run, "a"), 2.0);
    // Two Flask requests failing one after the other: each traceback keeps its heading line.
    let mut run = following();
    let twice: Vec<&str> = FLASK.lines().chain(FLASK.lines()).collect();
    send(&mut run, "a", &twice);
    run.settle_logs();
    assert_eq!(
        signatures(&run),
        vec![
            ("KeyError: <q>".to_string(), 2),
            ("POST /checkout 500".to_string(), 2)
        ]
    );
    assert_eq!(counted(&run, "a"), 4.0);
}

#[test]
fn another_workers_line_inside_a_traceback_is_its_own_and_the_trace_goes_on() {
    let mut run = following();
    let mut lines: Vec<&str> = PYTHON.lines().collect();
    // Another gunicorn worker's failing request lands among the frames.
    let other = r#"127.0.0.1 - - [07/Dec/2026:04:52:49 +0000] "GET /orders/8812 HTTP/1.1" 502 0 "-" "curl/7.88.1""#;
    lines.insert(4, other);
    send(&mut run, "a", &lines);
    run.settle_logs();
    assert_eq!(
        signatures(&run),
        vec![
            ("GET /orders/<n> 502".to_string(), 1),
            ("KeyError: <q>".to_string(), 1)
        ]
    );
    assert_eq!(counted(&run, "a"), 2.0);
    // The traces of two hosts do not mix: each tail has its own.
    let mut run = following();
    let python: Vec<&str> = PYTHON.lines().collect();
    let java: Vec<&str> = JAVA.lines().collect();
    send(&mut run, "a", &python[..4]);
    send(&mut run, "b", &java[..3]);
    send(&mut run, "a", &python[4..]);
    send(&mut run, "b", &java[3..]);
    run.settle_logs();
    assert_eq!(
        signatures(&run),
        vec![
            ("KeyError: <q>".to_string(), 1),
            (
                "java.util.NoSuchElementException: no discount for tier platinum".to_string(),
                1
            )
        ]
    );
    assert_eq!((counted(&run, "a"), counted(&run, "b")), (1.0, 1.0));
}

#[test]
fn a_trace_is_judged_at_its_200th_line_and_what_follows_is_read_afresh() {
    let mut run = following();
    let head = "[2026-12-07 04:52:49,544] ERROR in app: Exception on /checkout [POST]";
    let mut lines = vec![head, "Traceback (most recent call last):"];
    let frame = "  File \"/srv/app/deep.py\", line 3, in recurse";
    lines.extend(std::iter::repeat_n(frame, 3 * TRACE_LINES_MAX));
    lines.push("RecursionError: maximum recursion depth exceeded");
    send(&mut run, "a", &lines);
    // Judged within the chunk, before anything more came: bounded however long it runs.
    let signed = signature(head);
    assert_eq!(signatures(&run), vec![(signed, 1)]);
    run.settle_logs();
    // The frames after the cut are lines that match nothing; the exception line matches.
    assert_eq!(counted(&run, "a"), 2.0);
    let error_lines = run.release.logs.lines.iter().filter(|l| l.error).count();
    assert_eq!(error_lines, TRACE_LINES_MAX + 1);
}

#[test]
fn a_tail_going_down_or_losing_lines_ends_the_trace_it_held() {
    let lines: Vec<&str> = JAVA.lines().collect();
    let mut run = following();
    send(&mut run, "a", &lines[..4]);
    run.send(EventKind::LogsDropped {
        target: "a".into(),
        tail: "app".into(),
        count: 40,
    });
    // Judged with what came: the cause after the gap was never seen.
    assert_eq!(
        signatures(&run),
        vec![(
            "java.lang.IllegalArgumentException: cannot price tier platinum".to_string(),
            1
        )]
    );
    let mut run = following();
    send(&mut run, "a", &lines[..4]);
    run.send(EventKind::TailDown {
        target: "a".into(),
        tail: "app".into(),
        error: "connection lost".into(),
    });
    assert_eq!(counted(&run, "a"), 1.0);
}

#[test]
fn a_signature_knows_the_hosts_it_was_seen_on_in_order() {
    let mut run = following();
    let lines: Vec<&str> = NODE.lines().collect();
    send(&mut run, "b", &lines);
    send(&mut run, "a", &lines);
    send(&mut run, "b", &lines);
    run.settle_logs();
    let sig = run
        .release
        .signatures
        .all()
        .next()
        .expect("one signature")
        .clone();
    assert_eq!(sig.count, 3);
    assert_eq!(sig.hosts, vec!["b".to_string(), "a".to_string()]);
    assert_eq!(sig.first_at, 60_000 * 100 + 1_000);
}

/// Lines of every fixture and a few of an ordinary log, to be mixed at random.
fn vocabulary() -> Vec<&'static str> {
    let mut all: Vec<&str> = FIXTURES.iter().flat_map(|f| f.1.lines()).collect();
    all.extend([
        "[2026-12-07 04:52:50 +0000] [27716] [INFO] Handling signal: term",
        "[2026-12-07 04:52:49,544] ERROR in app: Exception on /orders [GET]",
        "ERROR payment gateway timeout after 3001ms",
        "",
    ]);
    all
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// However a tail's lines are cut into chunks (a second apart), the same errors are
    /// counted under the same signatures.
    #[test]
    fn chunks_do_not_change_what_is_counted(
        picks in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..40),
        cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..6),
    ) {
        let words = vocabulary();
        let lines: Vec<&str> = picks.iter().map(|i| *i.get(&words)).collect();
        let mut whole = following();
        send(&mut whole, "a", &lines);
        whole.settle_logs();
        let mut cut = following();
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(lines.len() + 1)).collect();
        at.extend([0, lines.len()]);
        at.sort_unstable();
        at.dedup();
        for pair in at.windows(2) {
            send(&mut cut, "a", &lines[pair[0]..pair[1]]);
        }
        cut.settle_logs();
        proptest::prop_assert_eq!(signatures(&whole), signatures(&cut));
        proptest::prop_assert_eq!(counted(&whole, "a"), counted(&cut, "a"));
    }
}

#[test]
fn a_trace_judged_after_later_errors_of_its_host_still_counts_at_its_own_time() {
    // Two tails on the same hosts: nginx's errors are counted while gunicorn's trace is
    // still open, so the trace is counted at a second already passed.
    let toml = format!(
        "{}\n[logs.nginx]\non = \"web\"\ncommand = \"tail -F x\"\nerrors = 'crit'\n",
        with_logs(ERRORS)
    );
    let mut run = Run::going(&toml);
    run.at = 60_000 * 100;
    let python: Vec<&str> = PYTHON.lines().collect();
    send(&mut run, "a", &python);
    for _ in 0..2 {
        run.send(EventKind::LogLines {
            target: "a".into(),
            tail: "nginx".into(),
            lines: vec!["[crit] upstream timed out".into(), "ok".into()],
        });
    }
    run.settle_logs();
    assert_eq!(counted(&run, "a"), 3.0, "the trace once, nginx's two lines");
    assert_eq!(
        run.release
            .log_errors_per_min(Some("a"), 60_000 * 100 + 61_500),
        2.0,
        "the trace is counted at its own second, the first to leave the window"
    );
}
