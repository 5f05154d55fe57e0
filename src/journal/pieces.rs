//! Reading a journal a piece at a time: its header at once, then its records in pieces of whole
//! lines, in order, so a replay shows its first frame while the rest is still being read. Each
//! piece is parsed as [`super::read`] parses the whole file (the same records, warnings and
//! skipped types, told per piece), and the session's end is known before any piece from the
//! journal's last whole line.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use super::reader::{header, parse_line, records};
use super::{Header, Journal, ReadError};

/// The first piece: small, so the first frame waits for little.
pub const FIRST_PIECE: usize = 256 * 1024;
/// Every later piece: enough lines to parse on every core.
pub const PIECE: usize = 8 * 1024 * 1024;

/// A journal being read: its header, and its records piece by piece ([`Iterator`]: each piece a
/// [`Journal`] without a header).
pub struct Pieces {
    file: File,
    header: Header,
    /// The last whole record's time: where the session ends.
    end: u64,
    /// Bytes read and not yet parsed: the start of a line cut by the last read.
    carry: Vec<u8>,
    /// The next piece's size, and every later one's.
    size: usize,
    every: usize,
    /// The next record's line number (1-based) and expected `seq`.
    line: usize,
    seq: u64,
    done: bool,
}

impl Pieces {
    /// Opens the journal at `path`: its header read and checked, its end found.
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        Pieces::open_with(path, (FIRST_PIECE, PIECE))
    }

    /// [`Pieces::open`], the first piece `first` bytes, every later one `every`.
    pub fn open_with(path: &Path, (first, every): (usize, usize)) -> Result<Self, ReadError> {
        let io = |error| ReadError::Io {
            path: path.display().to_string(),
            error,
        };
        let mut file = File::open(path).map_err(io)?;
        let end = last_time(&mut file).map_err(io)?;
        let mut carry = Vec::new();
        // The header: the first line, however long.
        let newline = loop {
            let read = fill(&mut file, &mut carry, first.max(4096)).map_err(io)?;
            if let Some(at) = carry.iter().position(|b| *b == b'\n') {
                break Some(at);
            }
            if read == 0 {
                break None;
            }
        };
        let first_line = String::from_utf8_lossy(&carry[..newline.unwrap_or(carry.len())]);
        let header = header((!carry.is_empty()).then_some(&*first_line)).map_err(|why| {
            ReadError::NotAJournal {
                path: path.display().to_string(),
                why,
            }
        })?;
        carry.drain(..newline.map_or(carry.len(), |at| at + 1));
        Ok(Pieces {
            file,
            header,
            end,
            carry,
            size: first,
            every,
            line: 2,
            seq: 1,
            done: false,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// When the journal's last whole record happened (microseconds since the start; 0 when
    /// it has none that reads).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Whether every byte of the journal has been handed out in pieces.
    pub fn read_out(&mut self) -> bool {
        let length = self.file.metadata().map(|m| m.len()).ok();
        self.done || (self.carry.is_empty() && self.file.stream_position().ok() == length)
    }

    /// Goes on from where `snapshot` stands instead (its offset, after its record).
    pub fn start_after(&mut self, snapshot: &super::Snapshot) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(snapshot.offset))?;
        self.carry.clear();
        self.size = self.every;
        self.line = usize::try_from(snapshot.seq).unwrap_or(usize::MAX - 2) + 2;
        self.seq = snapshot.seq + 1;
        Ok(())
    }
}

impl Iterator for Pieces {
    type Item = Journal;

    fn next(&mut self) -> Option<Journal> {
        if self.done {
            return None;
        }
        let read = fill(&mut self.file, &mut self.carry, self.size).unwrap_or(0);
        self.size = self.every;
        // Whole lines only, but the last piece takes what is left (a line cut off included).
        let whole = if read == 0 {
            self.done = true;
            self.carry.len()
        } else {
            self.carry
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |at| at + 1)
        };
        let rest = self.carry.split_off(whole);
        let text = std::mem::replace(&mut self.carry, rest);
        let text = String::from_utf8_lossy(&text);
        let mut piece = Journal::default();
        records(&mut piece, &text, (self.line, self.seq));
        self.line += text.split_terminator('\n').count();
        // The next record is expected after the last that has a number, of a known type or not.
        let numbered = text
            .split_terminator('\n')
            .rev()
            .find_map(|line| serde_json::from_str::<Numbered>(line).ok());
        if let Some(Numbered { seq }) = numbered {
            self.seq = seq + 1;
        }
        Some(piece)
    }
}

/// A record's number, whatever its type.
#[derive(serde::Deserialize)]
struct Numbered {
    seq: u64,
}

/// Reads up to `size` more bytes of `file` onto `buffer`: how many were read (0: its end).
fn fill(file: &mut File, buffer: &mut Vec<u8>, size: usize) -> std::io::Result<usize> {
    let before = buffer.len();
    file.by_ref().take(size as u64).read_to_end(buffer)?;
    Ok(buffer.len() - before)
}

/// The time of the last whole record of `file` that reads, from its last 64 KB; the file is
/// left at its start.
fn last_time(file: &mut File) -> std::io::Result<u64> {
    let length = file.seek(SeekFrom::End(0))?;
    let from = length.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(from))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    file.seek(SeekFrom::Start(0))?;
    let tail = String::from_utf8_lossy(&tail);
    // Only lines known to be whole: after the first newline, up to the last.
    let whole = tail.rfind('\n').map_or("", |end| &tail[..end]);
    let whole = if from == 0 {
        whole
    } else {
        whole.split_once('\n').map_or("", |(_, rest)| rest)
    };
    Ok(whole
        .rsplit('\n')
        .find_map(|line| parse_line(line).map(|l| l.t))
        .unwrap_or(0))
}
