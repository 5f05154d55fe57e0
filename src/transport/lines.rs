//! Turning a byte stream into lines a person can read and a journal can keep: split per stream,
//! lossy UTF-8, terminal control sequences stripped, length capped, secrets masked.

use crate::profile::MASK;

/// A line longer than this is cut into pieces, so one runaway line cannot fill memory.
pub const MAX_LINE: usize = 8 * 1024;

/// Collects chunks (which are not lines) and hands out whole lines.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    pub fn push(&mut self, data: &[u8], emit: &mut impl FnMut(String)) {
        let mut rest = data;
        while let Some(newline) = memchr::memchr(b'\n', rest) {
            if self.buf.is_empty() {
                emit(clean(&rest[..newline]));
            } else {
                self.buf.extend_from_slice(&rest[..newline]);
                emit(clean(&self.buf));
                self.buf.clear();
            }
            rest = &rest[newline + 1..];
        }
        self.buf.extend_from_slice(rest);
        while self.buf.len() >= MAX_LINE {
            let cut = utf8_cut(&self.buf, MAX_LINE);
            emit(clean(&self.buf[..cut]));
            self.buf.drain(..cut);
        }
    }

    /// The last line, when the stream ends without a newline.
    pub fn finish(&mut self, emit: &mut impl FnMut(String)) {
        if !self.buf.is_empty() {
            emit(clean(&self.buf));
            self.buf.clear();
        }
    }
}

/// A cut at or before `at` that does not split a UTF-8 character.
fn utf8_cut(bytes: &[u8], at: usize) -> usize {
    let mut cut = at;
    while cut > at.saturating_sub(4) && cut < bytes.len() && (bytes[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    cut
}

/// What a terminal would show of one line, without anything that could drive a terminal.
pub fn clean(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    // Most log lines are plain printable ASCII: nothing to strip. (No early exit: vectorizes.)
    let unusual = raw.iter().fold(false, |seen, &b| {
        seen | ((b < 0x20 && b != b'\t') | (b >= 0x7f))
    });
    if !unusual {
        return String::from_utf8(raw.to_vec()).unwrap_or_default();
    }
    // A carriage return redraws the line: keep what the last redraw shows (progress bars).
    let raw = match raw.iter().rposition(|&b| b == b'\r') {
        Some(cr) => &raw[cr + 1..],
        None => raw,
    };
    let stripped = strip_ansi_escapes::strip(raw);
    String::from_utf8_lossy(&stripped)
        .chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect()
}

/// Replaces every secret value in text with `••••`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .map(Into::into)
            .filter(|s: &String| !s.is_empty())
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { secrets }
    }

    pub fn mask(&self, line: String) -> String {
        if !self.secrets.iter().any(|s| line.contains(s.as_str())) {
            return line;
        }
        self.secrets
            .iter()
            .fold(line, |l, s| l.replace(s.as_str(), MASK))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut |l| out.push(l));
        }
        s.finish(&mut |l| out.push(l));
        out
    }

    #[test]
    fn chunks_are_joined_into_lines() {
        assert_eq!(
            split(&[b"one\ntw", b"o\nthr", b"ee"]),
            vec!["one", "two", "three"]
        );
        assert_eq!(split(&[b"a\r\n", b"\n"]), vec!["a", ""]);
    }

    #[test]
    fn a_character_split_across_chunks_survives() {
        let word = "déploiement\n".as_bytes();
        assert_eq!(split(&[&word[..2], &word[2..]]), vec!["déploiement"]);
    }

    #[test]
    fn control_sequences_are_stripped_and_progress_bars_show_their_last_state() {
        assert_eq!(clean(b"\x1b[31mERROR\x1b[0m boom\x07"), "ERROR boom");
        assert_eq!(clean(b"10%\r50%\r100%"), "100%");
        assert_eq!(clean(b"\x1b]0;title\x07ok"), "ok");
    }

    #[test]
    fn runaway_lines_are_cut() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let lines = split(&[&long]);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.len() <= MAX_LINE));
    }

    #[test]
    fn secrets_are_masked_longest_first() {
        let r = Redactor::new(["hunter2", "hunter2-extra", ""]);
        assert_eq!(
            r.mask("pw=hunter2-extra and hunter2".into()),
            "pw=•••• and ••••"
        );
        assert_eq!(r.mask("nothing here".into()), "nothing here");
    }
}
