//! Stack traces read as one error. A Python traceback, a JVM exception with its `Caused by:`
//! chain, a Go panic with its goroutines, a Node error with its `at` frames and a Ruby error
//! with its `from` lines are many log lines but one error: they are grouped here into one
//! event, named by its exception line (the root cause of a chain), so `log_errors` counts it
//! once and its signature says what broke (`KeyError: 'platinum'`), not `Traceback (most
//! recent call last):`.
//!
//! One [`Grouper`] per tail per target reads that tail's lines in order. Lines come
//! in chunks, and a chunk may end inside a trace or just before its first frame, so a grouper
//! holds what it cannot judge yet: the last few lines (one of them may turn out to be an
//! exception line with frames to come) and a trace still open. What it holds is judged when a
//! line arrives that does not continue it, when the trace reaches [`TRACE_LINES_MAX`] lines,
//! or once nothing came for [`SETTLE_MS`] ([`Grouper::due`]): the engine reads no clock, so
//! the release flushes it at the first event stamped that late (it asks for a timer so there
//! is one). The lines themselves are in the logs pane as they arrive; only their judgement
//! waits.
//!
//! Pure: text in, decisions out. Lines are known by their sequence number in the logs pane;
//! only error lines and exception lines are copied.

mod line;

use super::event::Millis;
use line::{Kind, classify};
pub use line::{body, exception};

/// A trace is judged once it has this many lines; what follows is read afresh.
pub const TRACE_LINES_MAX: usize = 200;

/// A trace, or a line that may start one, is judged once its tail said nothing more for
/// longer than this: the lines of one trace are written together.
pub const SETTLE_MS: Millis = 2_000;

/// Message lines an exception may have between its first line and its first frame (a JDBC
/// error's `  Position: 8`).
const MESSAGE_LINES_MAX: usize = 3;

/// Unrelated lines a Python traceback may have among its frames (another gunicorn worker's
/// access line) before it is read as cut short.
const ASIDES_MAX: usize = 3;

/// One line as the grouper knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineRef {
    /// Its number in the logs pane (`Logs::seen` before it was kept).
    pub seq: u64,
    pub at: Millis,
    /// It matched the tail's `errors` pattern.
    pub error: bool,
    /// The deploy had begun when it was read.
    pub after_deploy: bool,
}

/// What the grouper decided about lines it held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Judged {
    /// An error line that belongs to no trace.
    Line { line: LineRef, text: String },
    /// A trace (an error one or not).
    Trace(Trace),
}

/// A stack trace read as one event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Trace {
    /// Its first line: the error line just before it (a logger's `ERROR in app: …`) when there
    /// is one, else the trace's own first line.
    pub first: LineRef,
    pub last_seq: u64,
    pub lines: usize,
    /// Lines among its own that are not part of it (another process's), by number.
    pub asides: Vec<u64>,
    /// One of its lines matched the `errors` pattern: the trace is one error.
    pub error: bool,
    /// What names it: the root cause's exception line, without the log's prefix and without
    /// `Caused by: ` or `Exception in thread "…" `; its first line when no exception line was
    /// seen (a trace cut short).
    pub exception: String,
}

/// Groups one tail's lines on one target into traces.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Grouper {
    /// Lines that may still become the start of a trace (an error line that may head it, an
    /// exception line, its message lines, Node's source excerpt), oldest first.
    window: Vec<Held>,
    open: Option<Open>,
    /// When the last line held came.
    last_at: Option<Millis>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Held {
    line: LineRef,
    kind: Kind,
    /// Kept for error lines (judged by their text) and lines that open a trace and name it;
    /// any other line's text is read back from the logs pane when it turns out to name one.
    text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Family {
    Python,
    /// JVM and Node frames: `at …`.
    At,
    Ruby,
    Go,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Phase {
    /// Python: frames, until the exception line.
    Frames,
    /// Python: after an exception line; a chain may follow.
    Raised,
    /// Python: "During handling of the above exception…": a traceback follows.
    Chained,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Open {
    family: Family,
    phase: Phase,
    first: LineRef,
    last_seq: u64,
    lines: usize,
    error: bool,
    exception: Option<String>,
    /// The first line's text: the name of a trace whose exception line never came.
    fallback: String,
    /// Blank lines read since the last line that surely continues the trace: they belong to
    /// it only if it goes on after them (a chained traceback, the next goroutine).
    blanks: Vec<Held>,
    /// Node: inside `{ … }` after a frame (an error's properties, its `[cause]`).
    depth: u32,
    /// Ruby: a `from` frame was read, so a new error line is the cause.
    frames: bool,
    asides: Vec<u64>,
}

/// `[error line] exception line [message lines]`: Some((where it starts, the exception line)).
fn led(window: &[Held]) -> Option<(usize, usize)> {
    let indented = |held: &[Held]| {
        held.len() <= MESSAGE_LINES_MAX && held.iter().all(|h| h.kind == Kind::Indented)
    };
    match window {
        [e, x, rest @ ..] if e.line.error && e.kind.starts() && x.kind.starts() => {
            indented(rest).then_some((0, 1))
        }
        [x, rest @ ..] if x.kind.starts() => indented(rest).then_some((0, 0)),
        _ => None,
    }
}

/// Whether a window of held lines may still be the start of a trace: `[error line] exception
/// line [message lines]`, or Node's `where / code / ^ / blank / exception line [message lines]`.
fn may_open(window: &[Held]) -> bool {
    led(window).is_some() || node_excerpt(window).is_some()
}

/// Node's excerpt before an uncaught error: `where`, the code, `^`, a blank line, then the
/// exception line and its message lines. Some(the exception line's place) once it is whole,
/// Some(None) while it may still become whole.
fn node_excerpt(window: &[Held]) -> Option<Option<usize>> {
    let shape = [Kind::NodeWhere, Kind::Plain, Kind::Caret, Kind::Blank];
    let fits = |i: usize, h: &Held| match i {
        0 => h.kind == Kind::NodeWhere,
        1 => h.kind != Kind::Blank,
        2 | 3 => h.kind == shape[i],
        4 => h.kind.starts(),
        _ => h.kind == Kind::Indented && i < 5 + MESSAGE_LINES_MAX,
    };
    if window.is_empty() || !window.iter().enumerate().all(|(i, h)| fits(i, h)) {
        return None;
    }
    Some((window.len() >= 5).then_some(4))
}

impl Grouper {
    /// Whether it holds lines not judged yet.
    pub fn holding(&self) -> bool {
        self.open.is_some() || !self.window.is_empty()
    }

    /// From when what it holds is judged, nothing more having come: more than
    /// [`SETTLE_MS`] after the last line it took.
    pub fn due(&self) -> Option<Millis> {
        self.last_at
            .filter(|_| self.holding())
            .map(|at| at.saturating_add(SETTLE_MS + 1))
    }

    /// Reads the next line. `text_of` gives the text of a line read earlier (by its number),
    /// for an exception line only known as such once its first frame comes.
    pub fn push(
        &mut self,
        text: &str,
        line: LineRef,
        text_of: &dyn Fn(u64) -> Option<String>,
        out: &mut Vec<Judged>,
    ) {
        let body = body(text);
        let kind = classify(body);
        self.last_at = Some(line.at);
        let held = Held {
            line,
            kind,
            // Error lines are judged by their text; an opening line names its trace.
            text: (line.error || kind.names()).then(|| text.to_string()),
        };
        if let Some(mut open) = self.open.take() {
            match open.next(kind, body) {
                Next::Continues => {
                    open.take(&held);
                    self.open = Some(open);
                    self.bound(out);
                    return;
                }
                Next::Maybe => {
                    open.blanks.push(held);
                    self.open = Some(open);
                    self.bound(out);
                    return;
                }
                Next::Aside => {
                    open.asides.push(held.line.seq);
                    self.open = Some(open);
                    alone(vec![held], out);
                    return;
                }
                Next::Ends => {
                    let blanks = std::mem::take(&mut open.blanks);
                    out.push(Judged::Trace(open.close()));
                    for blank in blanks {
                        self.idle(blank, text_of, out);
                    }
                }
            }
        }
        self.idle(held, text_of, out);
    }

    /// Judges everything held: the tail stopped, paused or lost lines.
    pub fn flush(&mut self, out: &mut Vec<Judged>) {
        if let Some(mut open) = self.open.take() {
            let blanks = std::mem::take(&mut open.blanks);
            out.push(Judged::Trace(open.close()));
            alone(blanks, out);
        }
        alone(std::mem::take(&mut self.window), out);
        self.last_at = None;
    }

    /// A trace as long as [`TRACE_LINES_MAX`] is judged now.
    fn bound(&mut self, out: &mut Vec<Judged>) {
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.lines + o.blanks.len() >= TRACE_LINES_MAX)
        {
            self.flush(out);
        }
    }

    /// A line while no trace is open.
    fn idle(&mut self, held: Held, text_of: &dyn Fn(u64) -> Option<String>, out: &mut Vec<Judged>) {
        let family = match held.kind {
            Kind::PyOpen => Family::Python,
            Kind::JavaThread | Kind::CausedBy | Kind::At => Family::At,
            Kind::RubyError | Kind::From => Family::Ruby,
            Kind::GoPanic | Kind::Goroutine => Family::Go,
            _ => {
                self.window.push(held);
                // Lines that can no longer start a trace are judged alone, oldest first.
                let keep = (0..self.window.len())
                    .find(|&i| may_open(&self.window[i..]))
                    .unwrap_or(self.window.len());
                let gone: Vec<Held> = self.window.drain(..keep).collect();
                alone(gone, out);
                return;
            }
        };
        let mut window = std::mem::take(&mut self.window);
        // Where the trace starts in the window, and which of its lines is the exception line.
        let (first, named) = match held.kind {
            // A frame: the exception line is before it (with the error line heading it).
            Kind::At | Kind::From | Kind::Goroutine => match node_excerpt(&window) {
                Some(Some(x)) => (0, Some(x)),
                _ => match led(&window) {
                    Some((first, x)) => (first, Some(x)),
                    None => (window.len(), None),
                },
            },
            // A line that opens a trace itself; the error line just before it heads it.
            _ => match window.last() {
                Some(h) if h.line.error && h.kind.starts() => (window.len() - 1, None),
                _ => (window.len(), None),
            },
        };
        let taken = window.split_off(first);
        alone(window, out);
        let text = |h: &Held| h.text.clone().or_else(|| text_of(h.line.seq));
        let exception = match (named, held.kind) {
            (Some(x), _) => text(&taken[x - first]).map(|t| exception(&t)),
            (None, Kind::JavaThread | Kind::CausedBy | Kind::RubyError | Kind::GoPanic) => {
                text(&held).map(|t| exception(&t))
            }
            _ => None,
        };
        let head = taken.first().unwrap_or(&held);
        let mut open = Open {
            family,
            phase: Phase::Frames,
            first: head.line,
            last_seq: head.line.seq,
            lines: 0,
            error: false,
            exception,
            fallback: text(head).map(|t| self::exception(&t)).unwrap_or_default(),
            blanks: Vec::new(),
            depth: 0,
            frames: held.kind == Kind::From,
            asides: Vec::new(),
        };
        for h in taken.iter().chain([&held]) {
            open.take(h);
        }
        self.open = Some(open);
        self.bound(out);
    }
}

/// Lines judged on their own: each error line is one error.
fn alone(held: Vec<Held>, out: &mut Vec<Judged>) {
    for h in held {
        if let (true, Some(text)) = (h.line.error, h.text) {
            out.push(Judged::Line { line: h.line, text });
        }
    }
}

enum Next {
    Continues,
    /// A blank line: it continues the trace if the trace goes on after it.
    Maybe,
    /// Not part of the trace, which goes on after it: judged alone.
    Aside,
    Ends,
}

impl Open {
    fn take(&mut self, held: &Held) {
        for blank in std::mem::take(&mut self.blanks) {
            self.error |= blank.line.error;
            self.last_seq = blank.line.seq;
            self.lines += 1;
        }
        self.error |= held.line.error;
        self.last_seq = held.line.seq;
        self.lines += 1;
    }

    /// Whether the next line continues the trace; an exception line met on the way is noted.
    fn next(&mut self, kind: Kind, body: &str) -> Next {
        if kind == Kind::Blank {
            return Next::Maybe;
        }
        match self.family {
            Family::Python => self.next_python(kind, body),
            Family::At => self.next_at(kind, body),
            Family::Ruby => self.next_ruby(kind, body),
            Family::Go => self.next_go(kind, body),
        }
    }

    /// An exception line met on the way: the error the trace is about.
    fn cause(&mut self, body: &str) {
        self.exception = Some(exception(body));
    }

    /// Python: frames, the exception raised, and a chained trace after it.
    fn next_python(&mut self, kind: Kind, body: &str) -> Next {
        match (self.phase, kind) {
            (Phase::Frames, Kind::PyOpen) => Next::Ends,
            (Phase::Frames, k) if !k.starts() => Next::Continues,
            (Phase::Frames, _) if line::PY_EXCEPTION.is_match(body.trim_end()) => {
                // The first exception of a chain is its root cause.
                if self.exception.is_none() {
                    self.cause(body);
                }
                self.phase = Phase::Raised;
                Next::Continues
            }
            // Another process's line among the frames; too many, and the trace was cut.
            (Phase::Frames, _) if self.asides.len() < ASIDES_MAX => Next::Aside,
            (Phase::Raised, Kind::PyChain) => {
                self.phase = Phase::Chained;
                Next::Continues
            }
            (Phase::Raised, k) if !k.starts() => Next::Continues,
            (Phase::Chained, Kind::PyOpen) => {
                self.phase = Phase::Frames;
                Next::Continues
            }
            _ => Next::Ends,
        }
    }

    /// `at` frames (Java, Node): causes, and the braces of an error's printed properties.
    fn next_at(&mut self, kind: Kind, body: &str) -> Next {
        if self.depth > 0 {
            let t = body.trim();
            if let Some(rest) = t.strip_prefix("[cause]: ") {
                self.exception = Some(exception(rest));
            }
            if t.starts_with('}') {
                self.depth -= 1;
            }
            if t.ends_with('{') {
                self.depth += 1;
            }
            return Next::Continues;
        }
        match kind {
            Kind::At => {
                if body.trim_end().ends_with('{') {
                    self.depth += 1;
                }
                Next::Continues
            }
            // The last cause is the root cause.
            Kind::CausedBy => {
                self.cause(body);
                Next::Continues
            }
            Kind::Indented | Kind::Caret | Kind::From => Next::Continues,
            Kind::NodeVersion if !self.blanks.is_empty() => Next::Continues,
            _ => Next::Ends,
        }
    }

    /// Ruby: `from` frames, and an error's cause after them.
    fn next_ruby(&mut self, kind: Kind, body: &str) -> Next {
        match kind {
            Kind::From => {
                self.frames = true;
                Next::Continues
            }
            // Ruby prints an error's cause after its frames, as an error line of its own.
            Kind::RubyError if self.frames => {
                self.cause(body);
                self.frames = false;
                Next::Continues
            }
            k if !k.starts() => Next::Continues,
            _ => Next::Ends,
        }
    }

    /// Go: goroutines, their calls, and what the runtime prints around them.
    fn next_go(&self, kind: Kind, body: &str) -> Next {
        let t = body.trim_end();
        let go_line = t.starts_with("[signal ")
            || t.starts_with("created by ")
            || t == "...additional frames elided..."
            || t.starts_with("exit status ")
            || line::GO_CALL.is_match(t);
        match kind {
            Kind::Goroutine | Kind::GoPanic => Next::Continues,
            k if !k.starts() => Next::Continues,
            _ if go_line => Next::Continues,
            _ => Next::Ends,
        }
    }

    fn close(self) -> Trace {
        Trace {
            first: self.first,
            last_seq: self.last_seq,
            lines: self.lines,
            asides: self.asides,
            error: self.error,
            exception: self.exception.unwrap_or(self.fallback),
        }
    }
}
