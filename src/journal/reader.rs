//! Reading a journal back: tolerant of what a crash or an editor leaves (a last line cut off, a
//! damaged line, a type from a newer gonogo), strict about what it is (the header).

use std::path::Path;

use super::{Entry, FORMAT, Header, VERSION, ViewChange, parse_timestamp};
use crate::engine::Event;

/// A journal as read: its header, its records in order, and what was skipped and why.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    pub header: Option<Header>,
    pub lines: Vec<Line>,
    /// Said to the reader once: a cut-off end, damaged lines, gaps in `seq`.
    pub warnings: Vec<String>,
    /// Records of types this gonogo does not know (a newer one wrote them): skipped.
    pub unknown: usize,
}

/// One record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub seq: u64,
    /// Microseconds since the session started.
    pub t: u64,
    pub actor: Option<String>,
    pub entry: Entry,
}

impl Journal {
    pub fn header(&self) -> &Header {
        self.header
            .as_ref()
            .expect("a journal read without error has a header")
    }

    /// The engine events, in order.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.lines.iter().filter_map(|l| match &l.entry {
            Entry::Event(e) => Some(e),
            Entry::View(_) => None,
        })
    }

    /// The last record's number and time: where an appending writer goes on from.
    pub fn last(&self) -> (u64, u64) {
        self.lines.last().map_or((0, 0), |l| (l.seq, l.t))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: {why}")]
    NotAJournal { path: String, why: NotAJournal },
}

/// Why a text is not a journal this gonogo reads (only its header must be whole).
#[derive(Debug, thiserror::Error)]
pub enum NotAJournal {
    #[error("empty: not a gonogo journal")]
    Empty,
    #[error("line 1 is not a gonogo journal header ({0})")]
    NoHeader(#[source] serde_json::Error),
    #[error("line 1 says {0:?}, not {FORMAT:?}")]
    Format(String),
    #[error(
        "journal format version {0} is newer than this gonogo reads ({VERSION}): update gonogo"
    )]
    Newer(u32),
}

/// Reads the journal at `path`.
pub fn read(path: &Path) -> Result<Journal, ReadError> {
    let bytes = std::fs::read(path).map_err(|error| ReadError::Io {
        path: path.display().to_string(),
        error,
    })?;
    read_str(&String::from_utf8_lossy(&bytes)).map_err(|why| ReadError::NotAJournal {
        path: path.display().to_string(),
        why,
    })
}

/// Reads a journal's text. Only the header must be whole: every later problem is a warning.
pub fn read_str(text: &str) -> Result<Journal, NotAJournal> {
    let first = text.split_terminator('\n').next();
    let mut journal = Journal {
        header: Some(header(first)?),
        ..Journal::default()
    };
    let start = first.map_or(0, |f| f.len() + 1).min(text.len());
    records(&mut journal, &text[start..], (2, 1));
    Ok(journal)
}

/// The header of a journal whose first line is `first`.
pub(super) fn header(first: Option<&str>) -> Result<Header, NotAJournal> {
    let first = first.ok_or(NotAJournal::Empty)?;
    let header: Header = serde_json::from_str(first).map_err(NotAJournal::NoHeader)?;
    if header.format != FORMAT {
        return Err(NotAJournal::Format(header.format));
    }
    if header.version > VERSION {
        return Err(NotAJournal::Newer(header.version));
    }
    Ok(header)
}

/// Reads the records of `text` (whole lines after the header, or after a snapshot of the
/// index) into `journal`; `line` is the first one's line number (1-based), `seq` its
/// expected number.
/// Returns where each record read ends in `text` (the byte after its newline).
pub(super) fn records(journal: &mut Journal, text: &str, (line, seq): (usize, u64)) -> Vec<usize> {
    let cut_off = !text.is_empty() && !text.ends_with('\n');
    let rest: Vec<(usize, &str)> = text
        .split_terminator('\n')
        .enumerate()
        .map(|(i, l)| (i + line - 1, l))
        .collect();
    let mut ends = Vec::with_capacity(rest.len());
    // Parsing is most of the time a long journal takes to open: on every core.
    let parsed = parse_all(&rest);
    let mut damaged = Vec::new();
    let mut expected_seq = seq;
    let last = rest.len().saturating_sub(1);
    for (k, ((i, _), parsed)) in rest.iter().zip(parsed).enumerate() {
        let (seq, t, actor, entry) = match parsed {
            Some(Record {
                seq,
                t,
                actor,
                entry,
            }) => (seq, t, actor, entry),
            None if k == last && cut_off => {
                journal.warnings.push(format!(
                    "the journal ends mid-line (line {}): read up to the last whole line",
                    i + 1
                ));
                break;
            }
            None => {
                damaged.push(i + 1);
                continue;
            }
        };
        if seq != expected_seq {
            journal.warnings.push(format!(
                "line {}: record {} follows {}: records are missing",
                i + 1,
                seq,
                expected_seq - 1
            ));
        }
        expected_seq = seq + 1;
        match entry {
            Some(entry) => {
                let whole = rest[k].1;
                ends.push(whole.as_ptr() as usize - text.as_ptr() as usize + whole.len() + 1);
                journal.lines.push(Line {
                    seq,
                    t,
                    actor,
                    entry,
                });
            }
            None => journal.unknown += 1,
        }
    }
    if !damaged.is_empty() {
        let shown: Vec<String> = damaged.iter().take(5).map(ToString::to_string).collect();
        let more = if damaged.len() > 5 { ", …" } else { "" };
        journal.warnings.push(format!(
            "{} damaged line(s) skipped (line {}{more})",
            damaged.len(),
            shown.join(", ")
        ));
    }
    ends
}

/// One line after the header, parsed: a record (whose entry is `None` for an unknown type), or
/// `None`: not JSON of a record at all.
type Parsed = Option<Record>;

struct Record {
    seq: u64,
    t: u64,
    actor: Option<String>,
    entry: Option<Entry>,
}

fn parse_all(lines: &[(usize, &str)]) -> Vec<Parsed> {
    let parse = |chunk: &[(usize, &str)]| -> Vec<Parsed> {
        chunk.iter().map(|(_, text)| parse_one(text)).collect()
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if lines.len() < 10_000 || cores < 2 {
        return parse(lines);
    }
    let size = lines.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let handles: Vec<_> = lines
            .chunks(size)
            .map(|chunk| scope.spawn(move || parse(chunk)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// A record as read: its data left as text, to be parsed once into what its type says.
#[derive(serde::Deserialize)]
struct RawRecord<'a> {
    seq: u64,
    t: u64,
    ts: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default)]
    actor: Option<String>,
    #[serde(borrow)]
    data: &'a serde_json::value::RawValue,
}

/// An output record, read in one pass (most of a long journal is these).
#[derive(serde::Deserialize)]
struct OutputRecord<'a> {
    seq: u64,
    t: u64,
    ts: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    data: OutputData,
}

/// One record's line as it comes live (`gonogo follow`): `None` for a damaged line or a type
/// this gonogo does not know.
pub fn parse_line(text: &str) -> Option<Line> {
    let record = parse_one(text)?;
    Some(Line {
        seq: record.seq,
        t: record.t,
        actor: record.actor,
        entry: record.entry?,
    })
}

fn parse_one(text: &str) -> Parsed {
    if text.contains(r#""type":"output""#)
        && let Ok(record) = serde_json::from_str::<OutputRecord>(text)
        && record.kind == "output"
    {
        let at = parse_timestamp(record.ts)?;
        let kind = crate::engine::EventKind::Output {
            run: record.data.run,
            stream: record.data.stream,
            lines: record.data.lines,
        };
        return Some(Record {
            seq: record.seq,
            t: record.t,
            actor: None,
            entry: Some(Entry::Event(Event::new(at, kind))),
        });
    }
    let Ok(record) = serde_json::from_str::<RawRecord>(text) else {
        return None;
    };
    let entry = if record.kind.starts_with("ui.") {
        let value = format!(
            "{{\"type\":{},\"data\":{}}}",
            serde_json::Value::String(record.kind.to_string()),
            record.data.get()
        );
        serde_json::from_str::<ViewChange>(&value)
            .ok()
            .map(Entry::View)
    } else {
        event(record.kind, record.ts, record.data.get())
    };
    Some(Record {
        seq: record.seq,
        t: record.t,
        actor: record.actor,
        entry,
    })
}

/// Output and log lines are nearly all of a long journal: read straight into their event.
#[derive(serde::Deserialize)]
struct OutputData {
    run: crate::engine::RunId,
    stream: crate::engine::Stream,
    lines: Vec<String>,
}

#[derive(serde::Deserialize)]
struct LogData {
    target: String,
    /// The log tail's name, under its journal name.
    #[serde(rename = "follower")]
    tail: String,
    lines: Vec<String>,
}

/// The event of a record: its type put back in as the `event` tag, parsed in one pass.
fn event(kind: &str, ts: &str, data: &str) -> Option<Entry> {
    let at = parse_timestamp(ts)?;
    let quick = match kind {
        "output" => Some(serde_json::from_str::<OutputData>(data).ok().map(|d| {
            crate::engine::EventKind::Output {
                run: d.run,
                stream: d.stream,
                lines: d.lines,
            }
        })),
        "log_lines" => Some(serde_json::from_str::<LogData>(data).ok().map(|d| {
            crate::engine::EventKind::LogLines {
                target: d.target,
                tail: d.tail,
                lines: d.lines,
            }
        })),
        _ => None,
    };
    if let Some(kind) = quick {
        return kind.map(|kind| Entry::Event(Event::new(at, kind)));
    }
    let body = data.trim_start().strip_prefix('{')?;
    let tag = serde_json::Value::String(kind.to_string());
    let text = if body.trim_start().starts_with('}') {
        format!("{{\"event\":{tag}}}")
    } else {
        format!("{{\"event\":{tag},{body}")
    };
    let kind = serde_json::from_str(&text).ok()?;
    Some(Entry::Event(Event::new(at, kind)))
}
