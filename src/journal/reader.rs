//! Reading a journal back: tolerant of what a crash or an editor leaves (a last line cut off, a
//! damaged line, a type from a newer gonogo), strict about what it is (the header).

use std::path::Path;

use super::{Entry, FORMAT, Header, Record, VERSION, ViewChange, join, parse_timestamp};
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
    #[error("{0}")]
    NotAJournal(String),
}

/// Reads the journal at `path`.
pub fn read(path: &Path) -> Result<Journal, ReadError> {
    let bytes = std::fs::read(path).map_err(|error| ReadError::Io {
        path: path.display().to_string(),
        error,
    })?;
    read_str(&String::from_utf8_lossy(&bytes))
        .map_err(|e| ReadError::NotAJournal(format!("{}: {e}", path.display())))
}

/// Reads a journal's text. Only the header must be whole: every later problem is a warning.
pub fn read_str(text: &str) -> Result<Journal, String> {
    let mut journal = Journal::default();
    let cut_off = !text.is_empty() && !text.ends_with('\n');
    let mut lines = text.split_terminator('\n').enumerate().peekable();
    let Some((_, first)) = lines.next() else {
        return Err("empty: not a gonogo journal".into());
    };
    let header: Header = serde_json::from_str(first)
        .map_err(|e| format!("line 1 is not a gonogo journal header ({e})"))?;
    if header.format != FORMAT {
        return Err(format!("line 1 says {:?}, not {FORMAT:?}", header.format));
    }
    if header.version > VERSION {
        return Err(format!(
            "journal format version {} is newer than this gonogo reads ({VERSION}): update gonogo",
            header.version
        ));
    }
    journal.header = Some(header);
    let mut damaged = Vec::new();
    let mut expected_seq = 1;
    while let Some((i, text)) = lines.next() {
        let last = lines.peek().is_none();
        let record: Record = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(_) if last && cut_off => {
                journal.warnings.push(format!(
                    "the journal ends mid-line (line {}): read up to the last whole line",
                    i + 1
                ));
                break;
            }
            Err(_) => {
                damaged.push(i + 1);
                continue;
            }
        };
        if record.seq != expected_seq {
            journal.warnings.push(format!(
                "line {}: record {} follows {}: records are missing",
                i + 1,
                record.seq,
                expected_seq - 1
            ));
        }
        expected_seq = record.seq + 1;
        match entry(&record) {
            Some(entry) => journal.lines.push(Line {
                seq: record.seq,
                t: record.t,
                actor: record.actor,
                entry,
            }),
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
    Ok(journal)
}

fn entry(record: &Record) -> Option<Entry> {
    if record.kind.starts_with("ui.") {
        let value = serde_json::json!({"type": record.kind, "data": record.data});
        return serde_json::from_value::<ViewChange>(value)
            .ok()
            .map(Entry::View);
    }
    let kind = join(&record.kind, &record.data)?;
    let at = parse_timestamp(&record.ts)?;
    Some(Entry::Event(Event::new(at, kind)))
}
