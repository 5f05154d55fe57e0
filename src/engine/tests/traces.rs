//! Stack traces as one error: real traces of five languages (tests/fixtures/traces, with the
//! commands that made them) grouped into one event named by its exception line, however the
//! lines are cut into chunks, and access lines signed by their route and status.

use regex::Regex;

use super::*;
use crate::engine::logs::LogMark;
use crate::engine::signature::{key, signature};
use crate::engine::trace::{Grouper, Judged, LineRef, SETTLE_MS, TRACE_LINES_MAX};

const PYTHON: &str = include_str!("../../../tests/fixtures/traces/python.txt");
const PYTHON_CHAINED: &str = include_str!("../../../tests/fixtures/traces/python_chained.txt");
const FLASK: &str = include_str!("../../../tests/fixtures/traces/flask_gunicorn.txt");
const JAVA: &str = include_str!("../../../tests/fixtures/traces/java.txt");
const JAVA_LOGGED: &str = include_str!("../../../tests/fixtures/traces/java_logged.txt");
const GO: &str = include_str!("../../../tests/fixtures/traces/go.txt");
const GO_EXPLICIT: &str = include_str!("../../../tests/fixtures/traces/go_explicit.txt");
const GO_HTTP: &str = include_str!("../../../tests/fixtures/traces/go_http.txt");
const NODE: &str = include_str!("../../../tests/fixtures/traces/node.txt");
const NODE_LOGGED: &str = include_str!("../../../tests/fixtures/traces/node_logged.txt");
const RUBY: &str = include_str!("../../../tests/fixtures/traces/ruby.txt");
const RUBY_CHAINED: &str = include_str!("../../../tests/fixtures/traces/ruby_chained.txt");

/// What an operator would write to catch these: log levels, tracebacks, exceptions, panics,
/// a 5xx in an access line.
const ERRORS: &str = r#"ERROR|SEVERE|Traceback|Exception|Error|panic|" 5[0-9]{2} "#;

/// The fixtures with the exception that names each trace and its signature.
const FIXTURES: [(&str, &str, &str, &str); 12] = [
    ("python", PYTHON, "KeyError: 'platinum'", "KeyError: <q>"),
    // The root cause: the first exception of the chain.
    (
        "python_chained",
        PYTHON_CHAINED,
        "KeyError: 'platinum'",
        "KeyError: <q>",
    ),
    (
        "flask_gunicorn",
        FLASK,
        "KeyError: 'platinum'",
        "KeyError: <q>",
    ),
    // The root cause: the last `Caused by:`.
    (
        "java",
        JAVA,
        "java.util.NoSuchElementException: no discount for tier platinum",
        "java.util.NoSuchElementException: no discount for tier platinum",
    ),
    (
        "java_logged",
        JAVA_LOGGED,
        r#"java.lang.NullPointerException: Cannot invoke "java.lang.Integer.intValue()" because the return value of "java.util.Map.get(Object)" is null"#,
        "java.lang.NullPointerException: Cannot invoke <q> because the return value of <q> is null",
    ),
    (
        "go",
        GO,
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "panic: runtime error: invalid memory address or nil pointer dereference",
    ),
    (
        "go_explicit",
        GO_EXPLICIT,
        r#"panic: unknown tier "explicit""#,
        "panic: unknown tier <q>",
    ),
    // Go's log stamp is the log's, not the error's.
    (
        "go_http",
        GO_HTTP,
        "http: panic serving 127.0.0.1:43064: runtime error: invalid memory address or nil pointer dereference",
        "http: panic serving <ip>: runtime error: invalid memory address or nil pointer dereference",
    ),
    (
        "node",
        NODE,
        "TypeError: Cannot read properties of undefined (reading 'discount')",
        "TypeError: Cannot read properties of undefined (reading <q>)",
    ),
    // The root cause: the error's `[cause]`.
    (
        "node_logged",
        NODE_LOGGED,
        "TypeError: Cannot read properties of undefined (reading 'discount')",
        "TypeError: Cannot read properties of undefined (reading <q>)",
    ),
    (
        "ruby",
        RUBY,
        r#"src/checkout.rb:5:in `fetch': key not found: "platinum" (KeyError)"#,
        "src/checkout.rb:<n>:in `fetch': key not found: <q> (KeyError)",
    ),
    // Ruby prints the cause after the error's frames: it is the root cause.
    (
        "ruby_chained",
        RUBY_CHAINED,
        "src/checkout_chained.rb:8:in `discount': undefined method `abs' for nil:NilClass (NoMethodError)",
        "src/checkout_chained.rb:<n>:in `discount': undefined method `abs' for nil:NilClass (NoMethodError)",
    ),
];

/// A trace as (first line, last line, its exception), by line number from 0.
type Span = (u64, u64, String);

/// An error line alone as (line, text).
type Alone = (u64, String);

/// What a grouper made of `text`, read line by line with the `errors` pattern, then flushed:
/// its traces and its error lines alone.
fn grouped(text: &str, errors: &str) -> (Vec<Span>, Vec<Alone>) {
    let errors = Regex::new(errors).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let text_of = |seq: u64| lines.get(seq as usize).map(|l| l.to_string());
    let mut grouper = Grouper::default();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let read = LineRef {
            seq: i as u64,
            at: 1_000 + i as u64,
            error: errors.is_match(line),
            after_deploy: true,
        };
        grouper.push(line, read, &text_of, &mut out);
    }
    grouper.flush(&mut out);
    assert!(!grouper.holding());
    let (mut traces, mut alone) = (Vec::new(), Vec::new());
    for judged in out {
        match judged {
            Judged::Trace(t) => {
                assert!(t.error, "every fixture's trace is an error: {t:?}");
                assert_eq!(
                    t.lines as u64,
                    t.last_seq - t.first.seq + 1 - t.asides.len() as u64
                );
                traces.push((t.first.seq, t.last_seq, t.exception));
            }
            Judged::Line { line, text } => alone.push((line.seq, text)),
        }
    }
    (traces, alone)
}

fn line_of(text: &str, needle: &str) -> u64 {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the fixture")) as u64
}

#[test]
fn each_fixture_is_one_trace_named_by_its_exception_line() {
    for (name, text, exception, sig) in FIXTURES {
        let (traces, _) = grouped(text, ERRORS);
        assert_eq!(traces.len(), 1, "{name}: {traces:#?}");
        assert_eq!(traces[0].2, exception, "{name}");
        assert_eq!(signature(&traces[0].2), sig, "{name}");
    }
}

#[test]
fn a_trace_takes_its_frames_the_line_heading_it_and_nothing_else() {
    let last = |text: &str| text.lines().count() as u64 - 1;
    // A fixture, the lines its trace spans, and its error lines that are not part of it.
    type Case<'a> = (&'a str, &'a str, (u64, u64), Vec<u64>);
    let cases: [Case; 12] = [
        // Every line, the chain's blank lines included.
        ("python", PYTHON, (0, last(PYTHON)), vec![]),
        (
            "python_chained",
            PYTHON_CHAINED,
            (0, last(PYTHON_CHAINED)),
            vec![],
        ),
        // The `ERROR in app` line heads the traceback; the access line after it is its own.
        (
            "flask_gunicorn",
            FLASK,
            (line_of(FLASK, "ERROR in app"), line_of(FLASK, "KeyError")),
            vec![line_of(FLASK, "\" 500 ")],
        ),
        ("java", JAVA, (0, last(JAVA)), vec![]),
        // `SEVERE:` heads the exception; the blank line after the frames ends it.
        (
            "java_logged",
            JAVA_LOGGED,
            (
                line_of(JAVA_LOGGED, "SEVERE"),
                line_of(JAVA_LOGGED, "main(Checkout"),
            ),
            vec![],
        ),
        ("go", GO, (0, last(GO)), vec![]),
        ("go_explicit", GO_EXPLICIT, (0, last(GO_EXPLICIT)), vec![]),
        // The client's own complaint after the panic is not part of it.
        ("go_http", GO_HTTP, (0, last(GO_HTTP) - 1), vec![]),
        // The source excerpt before the error and `Node.js v20` after it are part of it.
        ("node", NODE, (0, last(NODE)), vec![]),
        (
            "node_logged",
            NODE_LOGGED,
            (
                line_of(NODE_LOGGED, "Error: checkout"),
                line_of(NODE_LOGGED, "}"),
            ),
            vec![],
        ),
        ("ruby", RUBY, (0, last(RUBY)), vec![]),
        (
            "ruby_chained",
            RUBY_CHAINED,
            (0, last(RUBY_CHAINED)),
            vec![],
        ),
    ];
    for (name, text, span, alone) in cases {
        let (traces, lines) = grouped(text, ERRORS);
        assert_eq!((traces[0].0, traces[0].1), span, "{name}: {traces:#?}");
        let lines: Vec<u64> = lines.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(lines, alone, "{name}");
    }
}

#[test]
fn a_trace_is_an_error_when_any_of_its_lines_matches_and_else_counts_nothing() {
    // The header alone matches: the whole trace is one error, named by its exception.
    let (traces, alone) = grouped(FLASK, r"ERROR in app");
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].2, "KeyError: 'platinum'");
    assert!(alone.is_empty(), "{alone:?}");
    // A pattern none of its lines match: grouped, but no error.
    let errors = Regex::new("CRITICAL").unwrap();
    let lines: Vec<&str> = PYTHON.lines().collect();
    let mut grouper = Grouper::default();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let read = LineRef {
            seq: i as u64,
            at: 0,
            error: errors.is_match(line),
            after_deploy: false,
        };
        grouper.push(line, read, &|_| None, &mut out);
    }
    grouper.flush(&mut out);
    assert!(
        matches!(&out[..], [Judged::Trace(t)] if !t.error),
        "{out:?}"
    );
}

// ---- Through the engine: chunks, timers, counts, signatures and the pane. ----

fn with_logs(errors: &str) -> String {
    format!(
        "{TWO_HOSTS}\n[logs.app]\non = \"web\"\ncommand = \"journalctl -f\"\nerrors = '{errors}'\n"
    )
}

/// A release whose follower `app` reads both hosts, at the top of minute 100.
fn following() -> Run {
    let mut run = Run::going(&with_logs(ERRORS));
    run.at = 60_000 * 100;
    run
}

fn send(run: &mut Run, target: &str, lines: &[&str]) -> Vec<Effect> {
    run.send(EventKind::LogLines {
        target: target.into(),
        follower: "app".into(),
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
    // The traces of two hosts do not mix: each follower has its own.
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
fn a_follower_going_down_or_losing_lines_ends_the_trace_it_held() {
    let lines: Vec<&str> = JAVA.lines().collect();
    let mut run = following();
    send(&mut run, "a", &lines[..4]);
    run.send(EventKind::LogsDropped {
        target: "a".into(),
        follower: "app".into(),
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
    run.send(EventKind::FollowerDown {
        target: "a".into(),
        follower: "app".into(),
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

#[test]
fn access_lines_are_signed_by_route_and_status() {
    let cases = [
        (
            r#"127.0.0.1 - - [07/Dec/2026:04:52:49 +0000] "POST /checkout HTTP/1.1" 500 265 "-" "curl/7.88.1""#,
            "POST /checkout 500",
        ),
        (
            r#"10.0.0.7 - - [23/Nov/2026:11:02:03 +0000] "GET /orders/8812?page=2 HTTP/1.1" 502 173"#,
            "GET /orders/<n> 502",
        ),
        (
            r#"2026-12-07T03:05:20+0000 web-1 nginx[88]: 10.0.3.9 - ana [07/Dec/2026:03:05:20 +0000] "DELETE /u/550e8400-e29b-41d4-a716-446655440000 HTTP/2.0" 503 0"#,
            "DELETE /u/<uuid> 503",
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(key(line), expected, "{line}");
    }
    // Not an access line: signed as any line.
    let flask = "[2026-12-07 04:52:49,544] ERROR in app: Exception on /checkout [POST]";
    assert_eq!(key(flask), signature(flask));
    assert_eq!(
        key(flask),
        "[<ts>] ERROR in app: Exception on /checkout [POST]"
    );
}

#[test]
fn journal_prefixes_do_not_hide_a_trace() {
    // As `journalctl -o short-iso` and `docker compose logs` print gunicorn's stderr.
    for prefix in [
        "2026-12-07T04:52:49+0000 web-1 gunicorn[27718]: ",
        "Dec 07 04:52:49 web-1 gunicorn[27718]: ",
        "web-1  | ",
    ] {
        let text: String = PYTHON.lines().map(|l| format!("{prefix}{l}\n")).collect();
        let (traces, alone) = grouped(&text, ERRORS);
        assert_eq!(traces.len(), 1, "{prefix}: {traces:?} {alone:?}");
        assert_eq!(traces[0].2, "KeyError: 'platinum'", "{prefix}");
    }
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

    /// However a follower's lines are cut into chunks (a second apart), the same errors are
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
