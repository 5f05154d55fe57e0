//! A log tail's own bounded buffer between the SSH session and the release. The read loop
//! pushes what arrives without ever waiting (so the session, which also carries the steps'
//! output and cancels, is never held up by a tail); when the buffer is full the oldest
//! chunks go, and the lines they held are counted, to be reported as dropped.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::engine::Stream;

/// What the read loop hands over, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    Chunk(Stream, Vec<u8>),
    /// The tail's script started reading; `gap_ms`: how long it had been down.
    Up {
        gap_ms: Option<u64>,
    },
    /// It stopped reading, and why.
    Down {
        error: String,
    },
}

/// What the drain takes at once.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Taken {
    pub entries: Vec<Entry>,
    /// Lines lost since the last take (wholly or in part).
    pub lost: u64,
    /// Per stream: bytes were dropped since the last take, so the line the drain holds in part
    /// is gone.
    pub gap: [bool; 2],
    /// Per stream: the line in progress at the front was dropped in part, so the next bytes up
    /// to a newline are the rest of it and are skipped.
    pub skip: [bool; 2],
    /// The buffer is closed and this is the last of it.
    pub closed: bool,
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<Entry>,
    bytes: usize,
    lost: u64,
    gap: [bool; 2],
    /// Per stream: the line in progress at the front has already been counted as lost.
    counted: [bool; 2],
    closed: bool,
}

#[derive(Debug)]
pub struct Backlog {
    inner: Mutex<Inner>,
    capacity: usize,
    pub ready: Notify,
}

impl Backlog {
    /// A buffer that holds at most `capacity` bytes of output (marks are not counted).
    pub fn new(capacity: usize) -> Self {
        Backlog {
            inner: Mutex::new(Inner::default()),
            capacity,
            ready: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere must not stop the logs: the data is plain bytes either way.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds what arrived; never waits. The oldest output goes if it would not fit.
    pub fn push(&self, entry: Entry) {
        let mut inner = self.lock();
        if let Entry::Chunk(_, data) = &entry {
            inner.bytes += data.len();
            while inner.bytes > self.capacity {
                let Some(at) = inner
                    .entries
                    .iter()
                    .position(|e| matches!(e, Entry::Chunk(..)))
                else {
                    break;
                };
                if let Some(Entry::Chunk(stream, old)) = inner.entries.remove(at) {
                    inner.bytes -= old.len();
                    inner.drop_chunk(stream, &old);
                }
            }
            // One chunk larger than the whole buffer cannot be kept at all.
            if inner.bytes > self.capacity
                && let Entry::Chunk(stream, data) = &entry
            {
                inner.bytes -= data.len();
                inner.drop_chunk(*stream, data);
                drop(inner);
                self.ready.notify_one();
                return;
            }
        }
        inner.entries.push_back(entry);
        drop(inner);
        self.ready.notify_one();
    }

    /// Takes entries from the front until about `lines` lines or `bytes` bytes, with what was
    /// lost since the last take.
    pub fn take(&self, lines: usize, bytes: usize) -> Taken {
        let mut inner = self.lock();
        let mut taken = Taken {
            lost: std::mem::take(&mut inner.lost),
            gap: std::mem::take(&mut inner.gap),
            skip: inner.counted,
            ..Taken::default()
        };
        let (mut n, mut size) = (0, 0);
        while n < lines && size < bytes {
            let Some(entry) = inner.entries.pop_front() else {
                break;
            };
            if let Entry::Chunk(stream, data) = &entry {
                inner.bytes -= data.len();
                size += data.len();
                let ends = memchr::memchr_iter(b'\n', data).count();
                n += ends;
                // Past a newline, the line in progress at the front is a whole one again.
                if ends > 0 {
                    inner.counted[*stream as usize] = false;
                }
            }
            taken.entries.push(entry);
        }
        taken.closed = inner.closed && inner.entries.is_empty();
        taken
    }

    /// No more will come: the drain takes what is left and ends.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }
}

impl Inner {
    /// Counts the lines a dropped chunk held, wholly or in part, each once.
    fn drop_chunk(&mut self, stream: Stream, data: &[u8]) {
        let s = stream as usize;
        let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
        let first = u64::from(!self.counted[s]);
        self.lost += if newlines == 0 {
            first
        } else {
            // The line it ends, those wholly inside it, and the one it begins, if any.
            first + (newlines - 1) + u64::from(!data.ends_with(b"\n"))
        };
        self.counted[s] = newlines == 0 || !data.ends_with(b"\n");
        self.gap[s] = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str) -> Entry {
        Entry::Chunk(Stream::Stdout, text.as_bytes().to_vec())
    }

    #[test]
    fn the_oldest_output_goes_first_and_every_line_it_touched_is_counted_once() {
        let b = Backlog::new(12);
        b.push(Entry::Up { gap_ms: None });
        b.push(chunk("one\ntw")); // 6 bytes
        b.push(chunk("o\nthree")); // 7: the first chunk goes (one, two in part)
        b.push(chunk("\nfour\n")); // 6: the second goes (two again, three in part)
        let taken = b.take(100, 1 << 20);
        assert_eq!(taken.lost, 3, "one, two and three, each once");
        assert_eq!(taken.gap, [true, false]);
        assert_eq!(taken.skip, [true, false], "the rest of three is skipped");
        assert_eq!(
            taken.entries,
            vec![Entry::Up { gap_ms: None }, chunk("\nfour\n")],
            "marks are never dropped"
        );
        assert_eq!(b.take(100, 1 << 20), Taken::default());
    }

    #[test]
    fn a_take_stops_near_the_lines_asked_for_and_the_rest_waits() {
        let b = Backlog::new(1 << 20);
        for _ in 0..10 {
            b.push(chunk("a\nb\n"));
        }
        let first = b.take(5, 1 << 20);
        assert_eq!(first.entries.len(), 3, "6 lines: the third chunk passed 5");
        assert_eq!(b.take(100, 1 << 20).entries.len(), 7);
        b.close();
        assert!(b.take(100, 1 << 20).closed);
    }

    #[test]
    fn a_chunk_larger_than_the_buffer_is_dropped_whole() {
        let b = Backlog::new(4);
        b.push(chunk("abcdef\ngh"));
        let taken = b.take(100, 1 << 20);
        assert!(taken.entries.is_empty());
        assert_eq!(taken.lost, 2);
    }
}
