//! The lines a release keeps for its panes (a step's output, the hosts' logs), oldest first,
//! in shared chunks: a copy of the release (a replay's keyframe, the index's snapshot, a seek's
//! rewind) shares every full chunk with the original instead of copying each line, so taking
//! one costs a few hundred reference counts, not 10,000 strings. A chunk is copied only when
//! a shared one is written to: the newest (on the next push) or one whose line is changed.

use std::collections::VecDeque;
use std::sync::Arc;

/// Lines per chunk: a copy's first push copies at most this many.
const CHUNK: usize = 64;

/// A queue of lines, pushed at the back and dropped from the front, cheap to clone.
#[derive(Clone)]
pub struct Scrollback<T> {
    /// Every chunk but the last holds exactly [`CHUNK`] lines (some of the first dropped).
    chunks: VecDeque<Arc<Vec<T>>>,
    /// Lines of the first chunk already dropped.
    head: usize,
    len: usize,
}

impl<T> Default for Scrollback<T> {
    fn default() -> Self {
        Scrollback {
            chunks: VecDeque::new(),
            head: 0,
            len: 0,
        }
    }
}

impl<T: Clone> Scrollback<T> {
    pub fn push_back(&mut self, line: T) {
        match self.chunks.back_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(line),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(line);
                self.chunks.push_back(Arc::new(chunk));
            }
        }
        self.len += 1;
    }

    /// Drops the oldest line; `reuse` is handed it first when no copy shares its chunk (so its
    /// buffers can be used again). False when there was none.
    pub fn drop_oldest(&mut self, reuse: impl FnOnce(&mut T)) -> bool {
        let Some(first) = self.chunks.front_mut() else {
            return false;
        };
        if let Some(lines) = Arc::get_mut(first) {
            reuse(&mut lines[self.head]);
        }
        self.head += 1;
        self.len -= 1;
        if self.head == first.len() {
            self.chunks.pop_front();
            self.head = 0;
        }
        true
    }

    /// The line at `index`, for a change (its chunk copied first when shared).
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        if index >= self.len {
            return None;
        }
        let at = self.head + index;
        let chunk = self.chunks.get_mut(at / CHUNK)?;
        Arc::make_mut(chunk).get_mut(at % CHUNK)
    }
}

impl<T> Scrollback<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        if index >= self.len {
            return None;
        }
        let at = self.head + index;
        self.chunks.get(at / CHUNK)?.get(at % CHUNK)
    }

    pub fn back(&self) -> Option<&T> {
        self.len.checked_sub(1).and_then(|last| self.get(last))
    }

    /// Oldest first; `.rev()` newest first.
    pub fn iter(&self) -> Lines<'_, T> {
        Lines {
            scrollback: self,
            front: 0,
            back: self.len,
        }
    }
}

/// The lines of a [`Scrollback`], in order.
pub struct Lines<'a, T> {
    scrollback: &'a Scrollback<T>,
    front: usize,
    back: usize,
}

impl<'a, T> Iterator for Lines<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        if self.front >= self.back {
            return None;
        }
        self.front += 1;
        self.scrollback.get(self.front - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back - self.front;
        (left, Some(left))
    }
}

impl<T> DoubleEndedIterator for Lines<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.scrollback.get(self.back)
    }
}

impl<T> ExactSizeIterator for Lines<'_, T> {}

impl<'a, T> IntoIterator for &'a Scrollback<T> {
    type Item = &'a T;
    type IntoIter = Lines<'a, T>;

    fn into_iter(self) -> Lines<'a, T> {
        self.iter()
    }
}

impl<T> std::ops::Index<usize> for Scrollback<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        self.get(index).expect("a line of the scrollback")
    }
}

impl<T: Clone> FromIterator<T> for Scrollback<T> {
    fn from_iter<I: IntoIterator<Item = T>>(lines: I) -> Self {
        let mut scrollback = Scrollback::default();
        for line in lines {
            scrollback.push_back(line);
        }
        scrollback
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Scrollback<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq> PartialEq for Scrollback<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

/// Written and read as a list of lines, as a `VecDeque` was: snapshots keep their format.
impl<T: serde::Serialize> serde::Serialize for Scrollback<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, T: serde::Deserialize<'de> + Clone> serde::Deserialize<'de> for Scrollback<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let lines = Vec::<T>::deserialize(deserializer)?;
        Ok(lines.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushed and dropped like a `VecDeque` kept to `cap` lines.
    fn both(n: usize, cap: usize) -> (Scrollback<String>, VecDeque<String>) {
        let (mut kept, mut deque) = (Scrollback::default(), VecDeque::new());
        for i in 0..n {
            if deque.len() == cap {
                deque.pop_front();
                assert!(kept.drop_oldest(|_| {}));
            }
            kept.push_back(format!("line {i}"));
            deque.push_back(format!("line {i}"));
        }
        (kept, deque)
    }

    #[test]
    fn keeps_the_same_lines_as_a_deque_at_every_length() {
        for (n, cap) in [
            (0, 5),
            (1, 5),
            (63, 100),
            (64, 100),
            (65, 100),
            (1000, 100),
            (1000, 64),
        ] {
            let (kept, deque) = both(n, cap);
            assert_eq!(kept.len(), deque.len());
            assert!(kept.iter().eq(deque.iter()), "{n} pushed, {cap} kept");
            assert!(kept.iter().rev().eq(deque.iter().rev()));
            assert_eq!(kept.back(), deque.back());
            for i in 0..deque.len() {
                assert_eq!(kept.get(i), deque.get(i));
            }
            assert_eq!(kept.get(deque.len()), None);
        }
    }

    #[test]
    fn a_copy_is_not_changed_by_what_the_original_does_next() {
        let (mut kept, _) = both(1000, 300);
        let copy = kept.clone();
        let before: Vec<String> = copy.iter().cloned().collect();
        for i in 0..200 {
            kept.drop_oldest(|line| line.clear());
            kept.push_back(format!("after {i}"));
        }
        *kept.get_mut(10).expect("a line") = "changed".into();
        assert!(copy.iter().eq(before.iter()));
        assert_eq!(kept.get(10).map(String::as_str), Some("changed"));
        assert_eq!(kept.back().map(String::as_str), Some("after 199"));
    }

    #[test]
    fn reads_back_what_it_wrote_as_a_list() {
        let (kept, deque) = both(200, 130);
        let json = serde_json::to_string(&kept).expect("json");
        assert_eq!(json, serde_json::to_string(&deque).expect("json"));
        let back: Scrollback<String> = serde_json::from_str(&json).expect("read back");
        assert_eq!(back, kept);
    }
}
