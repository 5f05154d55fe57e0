//! The journal: every session's events as JSON Lines, written ahead of the engine applying them,
//! so a replay, a report or a resume needs nothing but the file. Format in docs/recording.md.
//!
//! Line 1 is the [`Header`]; every other line one [`Record`]: an engine event (`type` is its
//! name) or a view change of the operator's screen (`type` starts with `ui.`). A reader skips
//! types it does not know, and reads a file cut off mid-line up to its last whole line.

pub mod index;
mod landing;
mod open;
mod pieces;
mod reader;
mod view;
mod writeback;
mod writer;

pub use index::{Snapshot, index_path, is_index};
pub use landing::{Landing, NoLanding, land};
pub use open::{Opened, open, open_every, view_after};
pub use pieces::{FIRST_PIECE, PIECE, Pieces};
pub use reader::{Journal, Line, NotAJournal, ReadError, parse_line, read, read_str};
pub use view::RecordedView;
pub use writer::{HoldError, JournalError, Writer, default_path, sessions_dir};

use serde::{Deserialize, Serialize};

use crate::engine::{Actor, Event, EventKind};

/// What the first line says the file is.
pub const FORMAT: &str = "gonogo-journal";
/// The format's version; a reader refuses a newer major one.
pub const VERSION: u32 = 1;

/// The first line of a journal: what was released, by whom, from which profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The gonogo that wrote it.
    pub gonogo: String,
    pub session: String,
    /// The profile's path as given, and the SHA-256 of its bytes.
    pub profile: String,
    pub profile_sha256: String,
    pub release: String,
    pub environment: String,
    /// `user@host` of the operator's machine.
    pub operator: String,
    /// The person's login on that machine (`$SUDO_USER`, else `$LOGNAME`…: see `crate::login`);
    /// empty in journals written before it was recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub login: String,
    /// The operator's terminal at the start (columns, rows); `None` when headless without one.
    pub terminal: Option<(u16, u16)>,
    /// When the session started, RFC 3339.
    pub started: String,
    pub targets: Vec<HeaderTarget>,
    /// `--present`: the session was shown for a screen share, with these `--mask` patterns;
    /// a replay or an export of it masks the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<Vec<String>>,
}

/// A target as the profile names it; the host key it showed is in its `host_key_trusted`
/// record, once it connected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderTarget {
    pub name: String,
    pub address: String,
}

/// One line after the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// 1, 2, 3…: no gaps.
    pub seq: u64,
    /// Microseconds since the session started, from a monotonic clock.
    pub t: u64,
    /// Wall-clock time, RFC 3339 with milliseconds (the engine's time for the event).
    pub ts: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Who acted, for a decision: a person's name, or `--yes`, `auto_rollback`, `gonogo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    pub data: serde_json::Value,
}

/// A change to what the operator had on screen, recorded so a replay shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ViewChange {
    /// The pane with the focus (`checklist`, `output` or `health`), and what the right side
    /// shows (`output`, `logs` or `summary`); `zoomed`: the pane had the whole screen (`z`).
    #[serde(rename = "ui.focus")]
    Focus {
        pane: String,
        shows: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        zoomed: bool,
    },
    /// The output filter; empty when cleared.
    #[serde(rename = "ui.filter")]
    Filter { text: String },
    /// Rows scrolled back from the end of the focused pane (0: following); for `health`, the
    /// rows scrolled past at its top.
    /// `paused_at`: lines seen when the pane stopped following (for "paused +N").
    #[serde(rename = "ui.scroll")]
    Scroll {
        pane: String,
        back: usize,
        #[serde(default)]
        paused_at: u64,
    },
    /// The modal on screen: `question`, `confirm`, `help`, `filter`, `targets` (`None`: none).
    #[serde(rename = "ui.modal")]
    Modal { modal: Option<String> },
    /// The operator's terminal changed size.
    #[serde(rename = "ui.resize")]
    Resize { cols: u16, rows: u16 },
}

/// What a record holds, once read. Nearly all are events: boxing them would cost an
/// allocation per record to save memory on the few view changes.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Entry {
    Event(Event),
    View(ViewChange),
}

/// Who acted, as the journal names them.
pub fn actor_name(kind: &EventKind) -> Option<String> {
    let EventKind::Decided { by, actor, .. } = kind else {
        return None;
    };
    Some(match actor {
        Actor::Person => by.clone(),
        Actor::Yes => "--yes".into(),
        Actor::Gonogo => "gonogo".into(),
        Actor::AutoRollback => "auto_rollback".into(),
        Actor::Demo => "gonogo demo".into(),
        Actor::Policy => "policy".into(),
    })
}

/// The event's name and the rest of it, as a record carries them.
pub fn split(kind: &EventKind) -> (String, serde_json::Value) {
    let mut value = serde_json::to_value(kind).expect("events are plain data");
    let name = value
        .as_object_mut()
        .and_then(|o| o.remove("event"))
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    (name, value)
}

/// The event a record's type and data make, if the type is one this gonogo knows.
pub fn join(kind: &str, data: serde_json::Value) -> Option<EventKind> {
    let serde_json::Value::Object(mut object) = data else {
        return None;
    };
    object.insert("event".into(), serde_json::Value::String(kind.to_string()));
    serde_json::from_value(serde_json::Value::Object(object)).ok()
}

/// RFC 3339 with milliseconds, UTC, for an engine time.
pub fn timestamp(at_ms: u64) -> String {
    let at = chrono::DateTime::from_timestamp_millis(i64::try_from(at_ms).unwrap_or(i64::MAX))
        .unwrap_or_default();
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The engine time an RFC 3339 timestamp stands for.
pub fn parse_timestamp(ts: &str) -> Option<u64> {
    let at = chrono::DateTime::parse_from_rfc3339(ts).ok()?;
    u64::try_from(at.timestamp_millis()).ok()
}

#[cfg(test)]
pub(crate) mod index_tests;
#[cfg(test)]
mod tests;
