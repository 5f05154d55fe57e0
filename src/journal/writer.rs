//! Writing a journal: each event before the engine applies it, buffered, and on disk (fsync)
//! after every decision, every step's end, and at least once a second. A journal that cannot be
//! written never stops the release: the first error is said at once (a `JournalFailed` event
//! the loop applies) and again at the end.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::index::{IndexWriter, Snapshot};
use super::writeback::Writeback;
use super::{Header, Record, RecordedView, ViewChange, actor_name, split, timestamp};
use crate::engine::{Event, EventKind, Millis, Release, RunId, Stream};

/// How long a written event may wait in memory before it is on disk.
const SYNC_EVERY: Duration = Duration::from_secs(1);

pub struct Writer {
    file: BufWriter<File>,
    path: PathBuf,
    seq: u64,
    started: Instant,
    /// Added to every `t`: the time already recorded before this writer (a resumed session).
    offset_us: u64,
    last_sync: Instant,
    dirty: bool,
    error: Option<std::io::Error>,
    /// The first error was handed to the loop (as a `JournalFailed` event).
    told: bool,
    /// Every record written, as its line, to the live followers (`gonogo follow`). A
    /// broadcast: a follower that lags is told so, the writer never waits.
    tap: Option<tokio::sync::broadcast::Sender<std::sync::Arc<str>>>,
    /// The last output record's text, its buffer kept for the next one.
    scratch: String,
    writeback: Option<Writeback>,
    /// What the index's next snapshot needs: the journal's length and CRC-32 so far, the
    /// last record (`seq`, `t`), the last event (`t`, engine time), the view as recorded.
    written: u64,
    crc: crc32fast::Hasher,
    last_t: u64,
    last_event: Option<(u64, Millis)>,
    view: RecordedView,
    index: Option<IndexWriter>,
}

/// `$XDG_DATA_HOME/gonogo/sessions/<UTC time>-<release>-<environment>.jsonl` (`~/.local/share`
/// when unset).
pub fn default_path(
    release: &str,
    environment: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> PathBuf {
    let name = format!(
        "{}-{}-{}.jsonl",
        now.format("%Y%m%dT%H%M%SZ"),
        file_safe(release),
        file_safe(environment)
    );
    sessions_dir().join(name)
}

/// Where journals go by default.
pub fn sessions_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("gonogo").join("sessions")
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Why a journal could not be held for writing.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    /// Another gonogo writes this session: a run still going, or another resume.
    #[error(
        "the journal {path} is held by {who}: that session is still running or being resumed; only one gonogo may go on with it\n  nothing was done: follow it with gonogo follow, or wait until that process ends"
    )]
    Held { path: String, who: String },
    #[error("cannot lock the journal {path}: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
}

/// Why a journal could not be created or reopened for writing.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot make {}: {source}", .dir.display())]
    MakeDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the journal {}: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the journal {}: {source}", .path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Another gonogo writes it, or it could not be locked.
    #[error(transparent)]
    Hold(#[from] HoldError),
    /// Its header could not be written.
    #[error("cannot write the journal {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Takes the journal's exclusive lock (flock) for as long as the writer lives, or says who has
/// it.
fn hold(file: &File, path: &Path) -> Result<(), HoldError> {
    let path = path.display().to_string();
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => {
            let host = gethostname::gethostname().to_string_lossy().into_owned();
            let who = match holder_pid(file) {
                Some(pid) => format!("gonogo pid {pid} on {host}"),
                None => format!("another gonogo on {host}"),
            };
            Err(HoldError::Held { path, who })
        }
        Err(std::fs::TryLockError::Error(source)) => Err(HoldError::Lock { path, source }),
    }
}

/// The process holding a flock on `file`, from /proc/locks (Linux).
fn holder_pid(file: &File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    let inode = file.metadata().ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        // "1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF"
        let fields: Vec<&str> = line.split_whitespace().collect();
        let at = fields.iter().position(|f| *f == "FLOCK")?;
        let pid = fields.get(at + 3)?.parse().ok()?;
        let ino: u64 = fields.get(at + 4)?.rsplit(':').next()?.parse().ok()?;
        (ino == inode && pid != std::process::id()).then_some(pid)
    })
}

impl Writer {
    /// A new journal at `path` (never over an existing file), mode 0600, its directory made
    /// 0700 if gonogo makes it; the header is on disk when this returns.
    pub fn create(path: &Path, header: &Header) -> Result<Self, JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| JournalError::MakeDir {
                    dir: dir.to_path_buf(),
                    source,
                })?;
            // Made by gonogo for its journals: nobody else reads them.
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| JournalError::Create {
                path: path.to_path_buf(),
                source,
            })?;
        hold(&file, path)?;
        let writeback = Writeback::start(&file);
        let mut writer = Writer {
            file: BufWriter::with_capacity(256 * 1024, file),
            path: path.to_path_buf(),
            seq: 0,
            started: Instant::now(),
            offset_us: 0,
            last_sync: Instant::now(),
            dirty: false,
            error: None,
            told: false,
            tap: None,
            scratch: String::new(),
            writeback,
            written: 0,
            crc: crc32fast::Hasher::new(),
            last_t: 0,
            last_event: None,
            view: RecordedView::default(),
            index: None,
        };
        let line = serde_json::to_string(header).expect("a header is plain data");
        writer.line(&line);
        writer.sync();
        writer.index = IndexWriter::create(path, writer.written);
        match writer.error.take() {
            Some(source) => Err(JournalError::Write {
                path: path.to_path_buf(),
                source,
            }),
            None => Ok(writer),
        }
    }

    /// Appends to a journal read back for a resume: numbering and time go on from its last
    /// record. Its index goes on with [`Writer::index_from`].
    pub fn append(path: &Path, last_seq: u64, last_t: u64) -> Result<Self, JournalError> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|source| JournalError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        // Exactly one process writes a session: a second resume (or a resume of a session
        // still running) stops here, before it appends anything.
        hold(&file, path)?;
        let writeback = Writeback::start(&file);
        Ok(Writer {
            file: BufWriter::with_capacity(256 * 1024, file),
            path: path.to_path_buf(),
            seq: last_seq,
            started: Instant::now(),
            offset_us: last_t,
            last_sync: Instant::now(),
            dirty: false,
            error: None,
            told: false,
            tap: None,
            scratch: String::new(),
            writeback,
            written: 0,
            crc: crc32fast::Hasher::new(),
            last_t,
            last_event: None,
            view: RecordedView::default(),
            index: None,
        })
    }

    /// The index of an appended journal goes on: `end` is the journal as read before this
    /// writer (its length, CRC-32, view and last event), the records after it written here.
    pub fn index_from(&mut self, end: &Snapshot) {
        self.written = end.offset;
        self.crc = crc32fast::Hasher::new_with_initial_len(end.crc, end.offset);
        self.view = end.view.clone();
        self.last_event = end.last;
        self.index = IndexWriter::append(&self.path, end.offset);
    }

    /// A snapshot every this many bytes of journal (tests and benches; the default is
    /// [`super::index::SNAPSHOT_EVERY`]).
    pub fn snapshots_every(&mut self, bytes: u64) {
        if let Some(index) = &mut self.index {
            index.every(bytes);
        }
    }

    /// The release after the last event written was applied: a snapshot into the index when
    /// one is due. The loop calls it after each event.
    pub fn applied(&mut self, release: &Release) {
        if self.index.as_ref().is_some_and(|i| i.due(self.written)) {
            self.snapshot(release);
        }
    }

    /// A snapshot of `release` (the state after every event written) into the index now.
    pub fn snapshot(&mut self, release: &Release) {
        if self.error.is_some() || self.index.is_none() {
            return;
        }
        // Readers check the snapshot against the journal's bytes: they are in the file first.
        if let Err(e) = self.file.flush() {
            return self.fail(e);
        }
        let snapshot = Snapshot {
            seq: self.seq,
            t: self.last_t,
            offset: self.written,
            crc: self.crc.clone().finalize(),
            last: self.last_event,
            view: self.view.clone(),
            release: release.clone(),
            warnings: Vec::new(),
            unknown: 0,
        };
        if let Some(index) = &mut self.index
            && !index.write(snapshot)
        {
            tracing::warn!(path = %self.path.display(), "the index cannot be written: given up");
            self.index = None;
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends every record from now on, as its line, to `tap` too.
    pub fn tap(&mut self, tap: tokio::sync::broadcast::Sender<std::sync::Arc<str>>) {
        self.tap = Some(tap);
    }

    /// The first write error, if any: the journal is incomplete from there.
    pub fn error(&self) -> Option<&std::io::Error> {
        self.error.as_ref()
    }

    /// The first write error, once, as the event that says it: the loop applies it at once, so
    /// the operator knows the session is no longer recorded while the release still runs.
    pub fn failure(&mut self) -> Option<EventKind> {
        if self.told {
            return None;
        }
        let error = self.error.as_ref()?.to_string();
        self.told = true;
        Some(EventKind::JournalFailed {
            path: self.path.display().to_string(),
            error,
        })
    }

    /// Records an event; called before the engine applies it.
    pub fn event(&mut self, event: &Event) {
        if let EventKind::Output { run, stream, lines } = &event.kind {
            // Most of a journal, and most of its cost: written without serde's byte-by-byte
            // escaping of every line (the same text, see `output_line`).
            let (seq, t, ts) = (self.next_seq(), self.t(), timestamp(event.at));
            let mut line = std::mem::take(&mut self.scratch);
            line.clear();
            output_line(&mut line, (seq, t, &ts), run, *stream, lines);
            self.line(&line);
            self.scratch = line;
            return self.after(event);
        }
        // One serialization, no JSON tree: the event's own text is `{"event":"TYPE",…}`
        // (serde writes an internal tag first); the record takes the type from it and the
        // rest as its data.
        let text = serde_json::to_string(&event.kind).expect("events are plain data");
        let Some((name, data)) = untag(&text) else {
            let (kind, data) = split(&event.kind);
            let record = Record {
                seq: self.next_seq(),
                t: self.t(),
                ts: timestamp(event.at),
                kind,
                actor: actor_name(&event.kind),
                data,
            };
            self.record(&record);
            return self.after(event);
        };
        let (seq, t, ts) = (self.next_seq(), self.t(), timestamp(event.at));
        let line = tagged_line((seq, t, &ts), name, &data, &event.kind);
        self.line(&line);
        self.after(event);
    }

    fn after(&mut self, event: &Event) {
        self.last_event = Some((self.last_t, event.at));
        let kind = &event.kind;
        if must_sync(kind) {
            self.sync();
        } else {
            self.tick();
        }
    }

    /// Records a change of what the operator has on screen.
    pub fn view(&mut self, change: &ViewChange, at_ms: u64) {
        let value = serde_json::to_value(change).expect("view changes are plain data");
        let record = Record {
            seq: self.next_seq(),
            t: self.t(),
            ts: timestamp(at_ms),
            kind: value["type"].as_str().unwrap_or_default().to_string(),
            actor: None,
            data: value.get("data").cloned().unwrap_or_default(),
        };
        self.record(&record);
        self.view.apply(change);
        self.tick();
    }

    /// On disk if anything waited a second or more; the loop calls it on its beat too.
    pub fn tick(&mut self) {
        if self.dirty && self.last_sync.elapsed() >= SYNC_EVERY {
            self.sync();
        }
    }

    /// Everything written is on disk.
    pub fn sync(&mut self) {
        if self.error.is_some() {
            return;
        }
        let synced = self
            .file
            .flush()
            .and_then(|()| self.file.get_ref().sync_data());
        let behind = self.writeback.as_ref().and_then(Writeback::error);
        match (synced, behind) {
            (Err(e), _) => self.fail(e),
            (Ok(()), Some(e)) => self.fail(std::io::Error::other(e)),
            (Ok(()), None) => {}
        }
        self.dirty = false;
        self.last_sync = Instant::now();
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn t(&mut self) -> u64 {
        let t =
            self.offset_us + u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_t = t;
        t
    }

    fn record(&mut self, record: &Record) {
        let line = serde_json::to_string(record).expect("records are plain data");
        self.line(&line);
    }

    fn line(&mut self, line: &str) {
        if self.error.is_some() {
            return;
        }
        let written = self
            .file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.write_all(b"\n"));
        match written {
            Ok(()) => {
                self.dirty = true;
                self.written += line.len() as u64 + 1;
                self.crc.update(line.as_bytes());
                self.crc.update(b"\n");
            }
            Err(e) => return self.fail(e),
        }
        if let Some(writeback) = &mut self.writeback
            && writeback.wrote(line.len() + 1)
        {
            match self.file.flush() {
                Ok(()) => writeback.kick(),
                Err(e) => self.fail(e),
            }
        }
        if let Some(tap) = &self.tap
            && tap.receiver_count() > 0
        {
            let _ = tap.send(std::sync::Arc::from(line));
        }
    }

    fn fail(&mut self, e: std::io::Error) {
        tracing::error!(path = %self.path.display(), error = %e, "the journal cannot be written");
        self.error = Some(e);
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.sync();
    }
}

/// A record's line from its event's serialized type and data.
pub(super) fn tagged_line(
    (seq, t, ts): (u64, u64, &str),
    name: &str,
    data: &str,
    kind: &EventKind,
) -> String {
    let actor = actor_name(kind).map_or(String::new(), |a| {
        format!(",\"actor\":{}", serde_json::Value::String(a))
    });
    format!(
        "{{\"seq\":{seq},\"t\":{t},\"ts\":\"{ts}\",\"type\":\"{name}\"{actor},\"data\":{data}}}"
    )
}

/// An output record's line, as [`tagged_line`] makes it from serde's text (a test holds them
/// equal): the lines that need no escape (no control byte, quote or backslash: the usual
/// case, found without stopping at each byte) are copied as they are.
pub(super) fn output_line(
    out: &mut String,
    (seq, t, ts): (u64, u64, &str),
    run: &RunId,
    stream: Stream,
    lines: &[String],
) {
    use std::fmt::Write as _;
    let run = serde_json::to_string(run).expect("a run id is plain data");
    let stream = serde_json::to_string(&stream).expect("a stream is plain data");
    let _ = write!(
        out,
        "{{\"seq\":{seq},\"t\":{t},\"ts\":\"{ts}\",\"type\":\"output\",\"data\":"
    );
    let _ = write!(out, "{{\"run\":{run},\"stream\":{stream},\"lines\":[");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let escape = line.bytes().fold(false, |any, b| {
            any | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if escape {
            out.push_str(&serde_json::to_string(line).expect("a string"));
        } else {
            out.push('"');
            out.push_str(line);
            out.push('"');
        }
    }
    out.push_str("]}}");
}

/// `{"event":"NAME",REST}` → (`NAME`, `{REST}`): a serialized event's type and its data.
pub(super) fn untag(text: &str) -> Option<(&str, String)> {
    let rest = text.strip_prefix("{\"event\":\"")?;
    let (name, rest) = rest.split_once('"')?;
    if name.contains('\\') {
        return None;
    }
    let data = match rest.strip_prefix(',') {
        Some(fields) => format!("{{{fields}"),
        None if rest == "}" => "{}".to_string(),
        None => return None,
    };
    Some((name, data))
}

/// What a resume or a report cannot do without: on disk at once.
fn must_sync(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Started { .. }
            | EventKind::LockTaken { .. }
            | EventKind::LockBroken { .. }
            | EventKind::Decided { .. }
            | EventKind::Exited { .. }
            | EventKind::RunFailed { .. }
            | EventKind::RunLost { .. }
            | EventKind::RunStopped { .. }
            | EventKind::StopFailed { .. }
            | EventKind::LockLost { .. }
            | EventKind::LocksReleased { .. }
    )
}
