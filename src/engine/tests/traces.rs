//! Stack traces as one error: real traces of five languages (tests/fixtures/traces, with the
//! commands that made them) grouped into one event named by its exception line, and access
//! lines signed by their route and status. Through the engine: `trace_logs.rs`.

use regex::Regex;

use crate::engine::signature::{key, signature};
use crate::engine::trace::{Grouper, Judged, LineRef};

pub(super) const PYTHON: &str = include_str!("../../../tests/fixtures/traces/python.txt");
pub(super) const PYTHON_CHAINED: &str =
    include_str!("../../../tests/fixtures/traces/python_chained.txt");
pub(super) const FLASK: &str = include_str!("../../../tests/fixtures/traces/flask_gunicorn.txt");
pub(super) const JAVA: &str = include_str!("../../../tests/fixtures/traces/java.txt");
pub(super) const JAVA_LOGGED: &str = include_str!("../../../tests/fixtures/traces/java_logged.txt");
pub(super) const GO: &str = include_str!("../../../tests/fixtures/traces/go.txt");
pub(super) const GO_EXPLICIT: &str = include_str!("../../../tests/fixtures/traces/go_explicit.txt");
pub(super) const GO_HTTP: &str = include_str!("../../../tests/fixtures/traces/go_http.txt");
pub(super) const NODE: &str = include_str!("../../../tests/fixtures/traces/node.txt");
pub(super) const NODE_LOGGED: &str = include_str!("../../../tests/fixtures/traces/node_logged.txt");
pub(super) const RUBY: &str = include_str!("../../../tests/fixtures/traces/ruby.txt");
pub(super) const RUBY_CHAINED: &str =
    include_str!("../../../tests/fixtures/traces/ruby_chained.txt");

/// What an operator would write to catch these: log levels, tracebacks, exceptions, panics,
/// a 5xx in an access line.
pub(super) const ERRORS: &str = r#"ERROR|SEVERE|Traceback|Exception|Error|panic|" 5[0-9]{2} "#;

/// The fixtures with the exception that names each trace and its signature.
pub(super) const FIXTURES: [(&str, &str, &str, &str); 12] = [
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
pub(super) type Span = (u64, u64, String);

/// An error line alone as (line, text).
pub(super) type Alone = (u64, String);

/// What a grouper made of `text`, read line by line with the `errors` pattern, then flushed:
/// its traces and its error lines alone.
pub(super) fn grouped(text: &str, errors: &str) -> (Vec<Span>, Vec<Alone>) {
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

pub(super) fn line_of(text: &str, needle: &str) -> u64 {
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
