//! The journal's sidecar index (`JOURNAL.idx`): snapshots of the release, each at a record
//! boundary of the journal, so a reader starts from the nearest one and parses only the
//! records after it. The journal stays the authority: a snapshot counts only when the journal's
//! bytes before it are the ones it was taken after (their length and CRC-32 match), and an
//! index that is missing, of another version, damaged or stale is rebuilt from the journal.
//!
//! Line 1 is the [`IndexHeader`]; every other line is `CRC32 JSON`: the CRC-32 of the JSON
//! (8 hex digits, a space), then one [`Snapshot`] as JSON.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RecordedView;
use crate::engine::{Millis, Release};

/// What the first line of an index says it is.
pub const INDEX_FORMAT: &str = "gonogo-journal-index";
/// The index's version: an index of any other is rebuilt, never read.
pub const INDEX_VERSION: u32 = 1;
/// A snapshot every this many bytes of journal (about 70,000 output records): the most a
/// reader parses after the nearest one.
pub const SNAPSHOT_EVERY: u64 = 16 * 1024 * 1024;

/// The index of the journal at `journal`: the same name with `.idx` added.
pub fn index_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".idx");
    PathBuf::from(name)
}

/// Whether `path` is a journal's index (not a journal).
pub fn is_index(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "idx")
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(super) struct IndexHeader {
    pub format: String,
    pub version: u32,
}

impl IndexHeader {
    pub fn current() -> Self {
        IndexHeader {
            format: INDEX_FORMAT.into(),
            version: INDEX_VERSION,
        }
    }
}

/// Where a reader can start instead of the journal's beginning: the release and the view as
/// they stood after the journal's first `offset` bytes (records up to `seq`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last record before it (0: none), and its `t`.
    pub seq: u64,
    pub t: u64,
    /// The journal's bytes before it, and their CRC-32.
    pub offset: u64,
    pub crc: u32,
    /// The last event before it: its `t` and its engine time.
    pub last: Option<(u64, Millis)>,
    pub view: RecordedView,
    pub release: Release,
    /// What reading the journal up to here warned of, and the records of unknown types
    /// skipped (an index rebuilt from a journal with damaged lines).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub unknown: usize,
}

/// A snapshot's line, without its newline, for an index rebuilt whole (a recording streams
/// its snapshots with [`write_snapshot`]).
pub(super) fn snapshot_line(snapshot: &Snapshot) -> Option<String> {
    // A state serde_json cannot write (a NaN sample) gets no snapshot: readers go on from an
    // earlier one.
    let mut line = b"00000000 ".to_vec();
    serde_json::to_writer(&mut line, snapshot).ok()?;
    let crc = format!("{:08x}", crc32fast::hash(&line[9..]));
    line[..8].copy_from_slice(crc.as_bytes());
    String::from_utf8(line).ok()
}

/// Writes `snapshot`'s line, with its newline, to `out` as it is serialized: once to take its
/// CRC-32, once to write it. A snapshot's JSON is megabytes, and a line built whole first stayed
/// in the index thread's malloc arena, on top of everything the loop holds during a flood.
/// Nothing is written when serde_json cannot write the state, as [`snapshot_line`] gives none.
pub(super) fn write_snapshot(out: impl Write, snapshot: &Snapshot) -> std::io::Result<()> {
    let mut hashed = BufWriter::with_capacity(64 * 1024, Crc(crc32fast::Hasher::new()));
    if serde_json::to_writer(&mut hashed, snapshot).is_err() {
        return Ok(());
    }
    let crc = hashed
        .into_inner()
        .map_err(|e| e.into_error())?
        .0
        .finalize();
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    write!(out, "{crc:08x} ")?;
    serde_json::to_writer(&mut out, snapshot)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The CRC-32 of what is written to it.
struct Crc(crc32fast::Hasher);

impl Write for Crc {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A snapshot's line read back: `None` when its CRC does not match or it does not parse.
pub(super) fn parse_snapshot(line: &str) -> Option<Snapshot> {
    let (crc, json) = line.split_once(' ')?;
    let crc = u32::from_str_radix(crc, 16).ok()?;
    if crc32fast::hash(json.as_bytes()) != crc {
        return None;
    }
    let snapshot: Snapshot = serde_json::from_str(json).ok()?;
    Some(Snapshot {
        release: snapshot.release.restored(),
        ..snapshot
    })
}

/// The index a recording writer keeps as it goes: a snapshot every [`SNAPSHOT_EVERY`] bytes of
/// journal. It never stops the recording: the first error ends the index, not the journal.
#[derive(Debug)]
pub(super) struct IndexWriter {
    /// A snapshot when the journal has grown this many bytes since the last one.
    every: u64,
    /// The journal's length at the last snapshot.
    since: u64,
    /// Snapshots to the index's own thread, in order: writing a release's 10,000 output lines
    /// as JSON takes milliseconds the loop does not wait for.
    queue: Option<std::sync::mpsc::SyncSender<Snapshot>>,
    thread: Option<std::thread::JoinHandle<()>>,
    failed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl IndexWriter {
    fn start(mut file: File, since: u64) -> Self {
        let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (queue, snapshots) = std::sync::mpsc::sync_channel::<Snapshot>(2);
        let failing = failed.clone();
        let thread = std::thread::Builder::new()
            .name("journal-index".into())
            .spawn(move || {
                for snapshot in snapshots {
                    if write_snapshot(&mut file, &snapshot).is_err() {
                        failing.store(true, std::sync::atomic::Ordering::Relaxed);
                        return;
                    }
                }
            })
            .ok();
        IndexWriter {
            every: SNAPSHOT_EVERY,
            since,
            queue: thread.is_some().then_some(queue),
            thread,
            failed,
        }
    }
}

impl Drop for IndexWriter {
    /// Every snapshot handed over is in the file when the writer is gone.
    fn drop(&mut self) {
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl IndexWriter {
    /// A new index for a new journal (over an index left by an earlier journal of that name).
    pub fn create(journal: &Path, offset: u64) -> Option<Self> {
        let path = index_path(journal);
        // Made anew, never through what is there (a link left in its place).
        let _ = std::fs::remove_file(&path);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        let mut file = file
            .inspect_err(|e| tracing::warn!(path = %path.display(), error = %e, "no index"))
            .ok()?;
        let header = serde_json::to_string(&IndexHeader::current()).expect("plain data");
        file.write_all(format!("{header}\n").as_bytes()).ok()?;
        Some(IndexWriter::start(file, offset))
    }

    /// The index of a journal a resume appends to: its snapshots kept when it is one of this
    /// version, else a new one.
    pub fn append(journal: &Path, offset: u64) -> Option<Self> {
        let path = index_path(journal);
        let file = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        let current = file
            && std::fs::read(&path).ok().is_some_and(|bytes| {
                let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
                serde_json::from_slice::<IndexHeader>(first).ok() == Some(IndexHeader::current())
                    && bytes.ends_with(b"\n")
            });
        if !current {
            return IndexWriter::create(journal, offset);
        }
        let file = OpenOptions::new().append(true).open(&path).ok()?;
        Some(IndexWriter::start(file, offset))
    }

    pub fn every(&mut self, bytes: u64) {
        self.every = bytes.max(1);
    }

    /// Whether the journal, now `offset` bytes long, is due a snapshot.
    pub fn due(&self, offset: u64) -> bool {
        offset.saturating_sub(self.since) >= self.every
    }

    /// Hands `snapshot` to the index's thread; false when the index could not be written (it
    /// is given up).
    pub fn write(&mut self, snapshot: Snapshot) -> bool {
        self.since = snapshot.offset;
        let failed = self.failed.load(std::sync::atomic::Ordering::Relaxed);
        !failed
            && self
                .queue
                .as_ref()
                .is_some_and(|q| q.send(snapshot).is_ok())
    }
}
