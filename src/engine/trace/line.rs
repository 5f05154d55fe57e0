//! What a log line is to the trace grouper: the prefix its log put before it, and whether it
//! opens, continues or names a stack trace of one of the languages read.

use std::sync::LazyLock;

use regex::Regex;

/// What a line is to the grouper, read without the log's own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum Kind {
    Blank,
    /// Starts with white space: a frame's code, a message's next line.
    Indented,
    /// `    at f (file.js:1:2)`, `\tat pkg.Class.method(File.java:12)`.
    At,
    /// `\tfrom file.rb:12:in 'method'`.
    From,
    /// `    ^` under the code Node or Python shows.
    Caret,
    /// `Traceback (most recent call last):`.
    PyOpen,
    /// `During handling of the above exception, another exception occurred:` and
    /// `The above exception was the direct cause of the following exception:`.
    PyChain,
    /// `Exception in thread "main" java.lang.IllegalStateException: …`.
    JavaThread,
    /// `Caused by: java.util.NoSuchElementException: …`.
    CausedBy,
    /// `file.rb:5:in 'fetch': key not found: "platinum" (KeyError)`.
    RubyError,
    /// `panic: …`, `fatal error: …`.
    GoPanic,
    /// `goroutine 1 [running]:`.
    Goroutine,
    /// `/srv/app/checkout.js:5`: where Node shows the line that threw, before the error.
    NodeWhere,
    /// `Node.js v20.20.2`, after an uncaught error.
    NodeVersion,
    Plain,
}

impl Kind {
    /// A line that opens a trace and may name it (or, for a traceback, stand for it).
    pub(super) fn names(self) -> bool {
        matches!(
            self,
            Kind::PyOpen | Kind::JavaThread | Kind::CausedBy | Kind::RubyError | Kind::GoPanic
        )
    }

    /// Not blank and not indented: a line that may be an exception line or an error line
    /// heading a trace.
    pub(super) fn starts(self) -> bool {
        !matches!(
            self,
            Kind::Blank | Kind::Indented | Kind::At | Kind::From | Kind::Caret
        )
    }
}

/// The prefixes a log puts before the program's own line: journalctl's `short` and
/// `short-iso` (`2026-12-07T03:05:20+0000 web-1 gunicorn[4121]: `), docker compose's
/// `web-1  | `, a `--timestamps` stamp, Go's `log` stamp.
static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    let iso = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})";
    let syslog = r"[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?";
    let journal = format!(r"(?:{iso}|{syslog}) \S+ [^\s\[:]+(?:\[[0-9]+\])?: ");
    let compose = r"[A-Za-z0-9_.@-]+ +\| ";
    let stamp = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z ";
    let go = r"[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)? ";
    Regex::new(&format!("^(?:{journal}|{compose}|{stamp}|{go})")).expect("the prefix pattern")
});

static RUBY_FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^from \S+:[0-9]+:in ").expect("the Ruby frame pattern"));

static RUBY_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\S+:[0-9]+:in [`'][^']*': .*\([A-Z][A-Za-z0-9_:]*\)$")
        .expect("the Ruby error pattern")
});

/// A Python exception line: `KeyError: 'platinum'`, `psycopg2.errors.UndefinedColumn: …`,
/// `KeyboardInterrupt`.
pub(super) static PY_EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z_][A-Za-z0-9_.]*(?:: .*|:)?$").expect("the Python exception pattern")
});

static GOROUTINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^goroutine [0-9]+ .*\[[^\]]*\]:$").expect("the goroutine pattern")
});

/// A Go frame's function line: `main.price(...)`, `net/http.(*conn).serve.func1()`.
pub(super) static GO_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^\s(]+\(.*\)$").expect("the Go call pattern"));

static NODE_WHERE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\S*[/.]\S*:[0-9]+$").expect("the Node source pattern"));

static JAVA_THREAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^Exception in thread "[^"]*" "#).expect("the Java thread pattern")
});

/// `line` without the prefixes its log put before it (up to two: docker compose's name, then
/// a stamp).
pub fn body(line: &str) -> &str {
    let mut body = line;
    for _ in 0..2 {
        match PREFIX.find(body) {
            Some(m) if m.end() > 0 => body = &body[m.end()..],
            _ => break,
        }
    }
    body
}

fn is_caret(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b == b'^')
}

pub(super) fn classify(body: &str) -> Kind {
    let text = body.trim_end();
    let Some(&first) = text.as_bytes().first() else {
        return Kind::Blank;
    };
    if first == b' ' || first == b'\t' {
        let t = text.trim_start();
        return if t.is_empty() {
            Kind::Blank
        } else if t.starts_with("at ") {
            Kind::At
        } else if t.starts_with("from ") && RUBY_FRAME.is_match(t) {
            Kind::From
        } else if is_caret(t) {
            Kind::Caret
        } else {
            Kind::Indented
        };
    }
    match text {
        "Traceback (most recent call last):" => return Kind::PyOpen,
        "During handling of the above exception, another exception occurred:"
        | "The above exception was the direct cause of the following exception:" => {
            return Kind::PyChain;
        }
        _ => {}
    }
    if text.starts_with("Exception in thread \"") {
        Kind::JavaThread
    } else if text.starts_with("Caused by: ") {
        Kind::CausedBy
    } else if text.starts_with("panic: ") || text.starts_with("fatal error: ") {
        Kind::GoPanic
    } else if text.starts_with("goroutine ") && GOROUTINE.is_match(text) {
        Kind::Goroutine
    } else if text.starts_with("Node.js v") {
        Kind::NodeVersion
    } else if is_caret(text) {
        Kind::Caret
    } else if text.ends_with(')') && text.contains(":in ") && RUBY_ERROR.is_match(text) {
        Kind::RubyError
    } else if text.ends_with(|c: char| c.is_ascii_digit())
        && !text.contains(' ')
        && NODE_WHERE.is_match(text)
    {
        Kind::NodeWhere
    } else {
        Kind::Plain
    }
}

/// The exception an exception line names, as its signature is made from: without the log's
/// prefix, `Exception in thread "…" `, `Caused by: ` or Node's `[cause]: `.
pub fn exception(line: &str) -> String {
    let text = body(line).trim();
    let text = match JAVA_THREAD.find(text) {
        Some(m) => &text[m.end()..],
        None => text,
    };
    let text = text.strip_prefix("Caused by: ").unwrap_or(text);
    let text = text.strip_prefix("[cause]: ").unwrap_or(text);
    text.trim().to_string()
}
