//! Where a jump into a journal lands: the latest snapshot of its index at or before a time that
//! the journal's bytes still match (trusted as [`super::open`] trusts one: the bytes before it
//! have its length and CRC-32), and the records after it up to that time. A replay jumps there
//! while the journal is still being read from its start.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use serde::Deserialize;

use super::index::{IndexHeader, Snapshot, index_path, parse_snapshot};
use super::{Line, Pieces};

/// A place to show at once: the release and view of `from`, then `lines`.
#[derive(Debug)]
pub struct Landing {
    pub from: Snapshot,
    /// The records after the snapshot, up to the first past the time asked for (or the end).
    pub lines: Vec<Line>,
    /// `lines` go on to the journal's end, as it was when read.
    pub to_end: bool,
}

/// Why a jump found no landing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoLanding {
    /// No index, another version, or no snapshot in it matches the journal.
    NoIndex,
    /// The nearest snapshot that matches is no further than what has been read.
    Behind,
}

/// Where a snapshot stands, read without its release.
#[derive(Deserialize)]
struct Place {
    seq: u64,
    t: u64,
    offset: u64,
    crc: u32,
}

/// The landing for a jump to `to` (microseconds since the start) in the journal at `path`,
/// whose records up to `read` (a `seq`) are already read.
pub fn land(path: &Path, to: u64, read: u64) -> Result<Landing, NoLanding> {
    let index = std::fs::read_to_string(index_path(path)).map_err(|_| NoLanding::NoIndex)?;
    let mut lines = index.split_terminator('\n');
    let header = lines.next().and_then(|h| serde_json::from_str(h).ok());
    if header != Some(IndexHeader::current()) {
        return Err(NoLanding::NoIndex);
    }
    let lines: Vec<&str> = lines.collect();
    // Snapshots are in the journal's order: the latest at or before `to` is looked for from the
    // end (each place read costs a scan of its snapshot's JSON).
    let (latest, last) = lines
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, line)| Some((i, place(line).filter(|p| p.t <= to)?)))
        .ok_or(NoLanding::NoIndex)?;
    // The reading is nearer than any snapshot: no pass over the journal for it.
    if last.seq <= read {
        return Err(NoLanding::Behind);
    }
    // Only when the journal changed before the latest: the earlier ones, in one more pass.
    let trusted = trusted(path, &[(last, lines[latest])])
        .or_else(|| {
            let earlier: Vec<(Place, &str)> = lines[..latest]
                .iter()
                .filter_map(|line| Some((place(line)?, *line)))
                .collect();
            trusted(path, &earlier)
        })
        .ok_or(NoLanding::NoIndex)?;
    let from = parse_snapshot(trusted).ok_or(NoLanding::NoIndex)?;
    if from.seq <= read {
        return Err(NoLanding::Behind);
    }
    let (lines, to_end) = records_after(path, &from, to).ok_or(NoLanding::NoIndex)?;
    Ok(Landing {
        from,
        lines,
        to_end,
    })
}

/// The place of a snapshot's line, its release left unread (and its own CRC unchecked: it is
/// checked when the snapshot is read whole).
fn place(line: &str) -> Option<Place> {
    let (_, json) = line.split_once(' ')?;
    serde_json::from_str(json).ok()
}

/// The line of the latest of `places` that the journal's bytes match, in one pass over them.
fn trusted<'a>(path: &Path, places: &[(Place, &'a str)]) -> Option<&'a str> {
    let mut file = File::open(path).ok()?;
    let mut crc = crc32fast::Hasher::new();
    let mut buffer = vec![0; 1 << 20];
    let (mut hashed, mut last_byte) = (0u64, None);
    let mut found = None;
    for (place, line) in places {
        while hashed < place.offset {
            let want = usize::try_from(place.offset - hashed)
                .map_or(buffer.len(), |w| w.min(buffer.len()));
            let read = file.read(&mut buffer[..want]).ok()?;
            if read == 0 {
                return found;
            }
            crc.update(&buffer[..read]);
            last_byte = Some(buffer[read - 1]);
            hashed += read as u64;
        }
        if place.offset > 0 && last_byte == Some(b'\n') && crc.clone().finalize() == place.crc {
            found = Some(*line);
        }
    }
    found
}

/// The records after `from`, in pieces, up to the first piece that goes past `to` (true: to
/// the journal's end).
fn records_after(path: &Path, from: &Snapshot, to: u64) -> Option<(Vec<Line>, bool)> {
    let mut pieces = Pieces::open_with(path, (4096, super::PIECE)).ok()?;
    pieces.start_after(from).ok()?;
    let mut lines = Vec::new();
    for piece in pieces.by_ref() {
        lines.extend(piece.lines);
        if lines.last().is_some_and(|l: &Line| l.t > to) {
            return Some((lines, pieces.read_out()));
        }
    }
    Some((lines, true))
}
