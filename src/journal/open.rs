//! Opening a journal through its index: the release from the nearest snapshot that matches the
//! journal, and only the records after it parsed. With no snapshot to trust (no index, another
//! version, damaged, stale, the journal cut shorter or changed), the journal is read whole, as
//! [`super::read`] does, and the index is written again from it.

use std::path::Path;

use super::index::{IndexHeader, SNAPSHOT_EVERY, Snapshot, index_path, parse_snapshot};
use super::reader::{header, records};
use super::{Entry, Journal, ReadError, RecordedView};
use crate::engine::{Fold, Millis, Release};

/// A journal opened to its end: the release where a snapshot (or the whole read) left it, and
/// the records after it.
#[derive(Debug)]
pub struct Opened {
    /// The header, the records after `from` in order, and what reading the journal warned of.
    pub journal: Journal,
    /// Where `journal.lines` go on from.
    pub from: Snapshot,
    /// The journal's length and CRC-32 as read.
    length: u64,
    crc: u32,
    /// The index had a snapshot that matched: the journal was not read whole.
    pub indexed: bool,
}

impl Opened {
    /// The release at the journal's end: the snapshot's, with the records after it applied.
    pub fn release(&self) -> Release {
        let mut fold = Fold::from_release(self.from.release.clone());
        for event in self.journal.events() {
            fold.apply(event);
        }
        fold.into_release()
    }

    /// The last record's number and time: where an appending writer goes on from.
    pub fn last(&self) -> (u64, u64) {
        match self.journal.lines.last() {
            Some(line) => (line.seq, line.t),
            None => (self.from.seq, self.from.t),
        }
    }

    /// The last event's `t` and engine time.
    pub fn last_event(&self) -> Option<(u64, Millis)> {
        let after = self
            .journal
            .lines
            .iter()
            .rev()
            .find_map(|l| match &l.entry {
                Entry::Event(e) => Some((l.t, e.at)),
                Entry::View(_) => None,
            });
        after.or(self.from.last)
    }

    /// Where the journal ends, for a writer that appends to it ([`super::Writer::index_from`]):
    /// `None` when it ends mid-line (its index is not gone on with).
    pub fn end(&self) -> Option<Snapshot> {
        if self
            .journal
            .warnings
            .iter()
            .any(|w| w.contains("ends mid-line"))
        {
            return None;
        }
        let view = view_after(self.from.view.clone(), &self.journal);
        let (seq, t) = self.last();
        Some(Snapshot {
            seq,
            t,
            offset: self.length,
            crc: self.crc,
            last: self.last_event(),
            view,
            ..Snapshot::default()
        })
    }
}

/// Opens the journal at `path` from its index (see the module's comment).
pub fn open(path: &Path) -> Result<Opened, ReadError> {
    open_every(path, SNAPSHOT_EVERY)
}

/// [`open`], an index written again taking a snapshot every `every` bytes.
pub fn open_every(path: &Path, every: u64) -> Result<Opened, ReadError> {
    let shown = || path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| ReadError::Io {
        path: shown(),
        error,
    })?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        // Offsets into a text that is not the file's bytes mean nothing: read it whole.
        let journal = super::read_str(&String::from_utf8_lossy(&bytes))
            .map_err(|why| ReadError::NotAJournal { path: shown(), why })?;
        return Ok(whole(journal, &bytes));
    };
    let first = text.split_terminator('\n').next();
    let header = header(first).map_err(|why| ReadError::NotAJournal { path: shown(), why })?;
    let mut journal = Journal {
        header: Some(header),
        ..Journal::default()
    };
    let index = std::fs::read_to_string(index_path(path)).ok();
    if let Some((from, crc)) = index.as_deref().and_then(|i| nearest(i, &bytes)) {
        journal.warnings.clone_from(&from.warnings);
        journal.unknown = from.unknown;
        let at = usize::try_from(from.offset).unwrap_or(bytes.len());
        let line = usize::try_from(from.seq).unwrap_or(0) + 2;
        records(&mut journal, &text[at..], (line, from.seq + 1));
        return Ok(Opened {
            journal,
            from,
            length: bytes.len() as u64,
            crc,
            indexed: true,
        });
    }
    let start = first.map_or(0, |f| f.len() + 1).min(text.len());
    let ends = records(&mut journal, &text[start..], (2, 1));
    let (opened, snapshots) = rebuild(journal, &bytes, (start, &ends), every);
    if rewrite(index.as_deref()) {
        write_index(path, &snapshots);
    }
    Ok(opened)
}

/// The latest snapshot of `index` that matches `journal`'s bytes before it, and the CRC-32
/// of the whole journal. A line that is damaged, or of another journal, is passed over.
fn nearest(index: &str, journal: &[u8]) -> Option<(Snapshot, u32)> {
    let mut lines = index.split_terminator('\n');
    let header: IndexHeader = serde_json::from_str(lines.next()?).ok()?;
    if header != IndexHeader::current() {
        return None;
    }
    let lines: Vec<&str> = lines.collect();
    lines.iter().rev().find_map(|line| {
        let snapshot = parse_snapshot(line)?;
        let end = usize::try_from(snapshot.offset).ok()?;
        if end == 0 || end > journal.len() || journal[end - 1] != b'\n' {
            return None;
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&journal[..end]);
        if crc.clone().finalize() != snapshot.crc {
            return None;
        }
        crc.update(&journal[end..]);
        Some((snapshot, crc.finalize()))
    })
}

/// The index is written again when it is missing, of another version, or holds snapshots of
/// which none matched; an index with no snapshot yet may be a live writer's, left alone.
fn rewrite(index: Option<&str>) -> bool {
    let Some(index) = index else {
        return true;
    };
    let mut lines = index.split_terminator('\n');
    let current = lines
        .next()
        .and_then(|h| serde_json::from_str::<IndexHeader>(h).ok())
        .is_some_and(|h| h == IndexHeader::current());
    !current || lines.next().is_some()
}

/// A journal read whole, through no index: the release at its end.
fn whole(journal: Journal, bytes: &[u8]) -> Opened {
    let (opened, _) = rebuild(journal, bytes, (0, &[]), u64::MAX);
    opened
}

/// The release that `journal`'s records make, from the beginning, and the index's lines: a
/// snapshot every `every` bytes where a record ends (`ends`, after `start`) and one at the end.
fn rebuild(
    journal: Journal,
    bytes: &[u8],
    (start, ends): (usize, &[usize]),
    every: u64,
) -> (Opened, Vec<String>) {
    let mut fold = Fold::default();
    let mut at = Snapshot::default();
    let mut crc = crc32fast::Hasher::new();
    let (mut hashed, mut since) = (0, start);
    let mut snapshots = Vec::new();
    let last = journal.lines.len().saturating_sub(1);
    for (k, line) in journal.lines.iter().enumerate() {
        match &line.entry {
            Entry::Event(event) => {
                fold.apply(event);
                at.last = Some((line.t, event.at));
            }
            Entry::View(change) => at.view.apply(change),
        }
        (at.seq, at.t) = (line.seq, line.t);
        let Some(end) = ends.get(k).map(|e| start + e) else {
            continue;
        };
        let due = (end - since) as u64 >= every || (k == last && every != u64::MAX);
        if due && end <= bytes.len() {
            crc.update(&bytes[hashed..end]);
            (hashed, since) = (end, end);
            at.offset = end as u64;
            at.crc = crc.clone().finalize();
            at.release = fold.release().clone();
            if k == last {
                (at.warnings, at.unknown) = (journal.warnings.clone(), journal.unknown);
            }
            snapshots.extend(super::index::snapshot_line(&at));
        }
    }
    crc.update(&bytes[hashed.min(bytes.len())..]);
    at.release = fold.into_release();
    let opened = Opened {
        journal: Journal {
            lines: Vec::new(),
            ..journal
        },
        from: at,
        length: bytes.len() as u64,
        crc: crc.finalize(),
        indexed: false,
    };
    (opened, snapshots)
}

/// Writes the index of the journal at `path` anew: a file of its own, renamed over the old
/// one, mode 0600. An index that cannot be written is no error: the journal is the authority.
fn write_index(path: &Path, snapshots: &[String]) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let index = index_path(path);
    let mut temporary = index.clone().into_os_string();
    temporary.push(format!(".{}", std::process::id()));
    let header = serde_json::to_string(&IndexHeader::current()).expect("plain data");
    let _ = std::fs::remove_file(&temporary);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| {
            let mut text = format!("{header}\n");
            for line in snapshots {
                text.push_str(line);
                text.push('\n');
            }
            file.write_all(text.as_bytes())
        })
        .and_then(|()| std::fs::rename(&temporary, &index));
    if let Err(error) = written {
        tracing::warn!(path = %index.display(), %error, "the index could not be written");
        let _ = std::fs::remove_file(&temporary);
    }
}

/// What the view records of `journal` leave on screen, from `view`.
pub fn view_after(mut view: RecordedView, journal: &Journal) -> RecordedView {
    for line in &journal.lines {
        if let Entry::View(change) = &line.entry {
            view.apply(change);
        }
    }
    view
}
