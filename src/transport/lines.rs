//! Turning a byte stream into lines a person can read and a journal can keep: split per stream,
//! lossy UTF-8, terminal control sequences stripped, length capped, secrets masked.

use std::sync::Arc;

use crate::text::MASK;

/// A line longer than this is cut into pieces, so one runaway line cannot fill memory.
pub const MAX_LINE: usize = 8 * 1024;

/// Collects chunks (which are not lines) and hands out whole lines.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    pub fn push(&mut self, data: &[u8], emit: &mut impl FnMut(String)) {
        self.push_cut(data, &|_, at| Some(at), emit);
    }

    /// As [`push`](Self::push); a runaway line is cut where `cut(buffer, at)` says (`None`:
    /// not yet, wait for more data), `at` being the cap on a character boundary.
    fn push_cut(
        &mut self,
        data: &[u8],
        cut: &impl Fn(&[u8], usize) -> Option<usize>,
        emit: &mut impl FnMut(String),
    ) {
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
            let Some(cut) = cut(&self.buf, utf8_cut(&self.buf, MAX_LINE)) else {
                break;
            };
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

/// The lines of one stream (stdout or stderr) of a step, as the journal and the screen get them:
/// split, cleaned, cut at [`MAX_LINE`], with every secret masked. Use one per stream.
pub struct MaskedLines {
    lines: LineSplitter,
    redactor: Arc<Redactor>,
}

impl MaskedLines {
    pub fn new(redactor: Arc<Redactor>) -> Self {
        MaskedLines {
            lines: LineSplitter::default(),
            redactor,
        }
    }

    /// Takes a chunk as it came (not a line) and emits each line it completes. A runaway line
    /// is cut before a secret that would straddle the cap, so the secret is masked whole.
    pub fn push(&mut self, data: &[u8], emit: &mut impl FnMut(String)) {
        let redactor = &self.redactor;
        self.lines.push_cut(
            data,
            &|buf, at| redactor.cut_outside_secrets(buf, at),
            &mut |line| emit(redactor.mask(line)),
        );
    }

    /// Emits the last line, when the stream ends without a newline.
    pub fn finish(&mut self, emit: &mut impl FnMut(String)) {
        let redactor = &self.redactor;
        self.lines.finish(&mut |line| emit(redactor.mask(line)));
    }
}

/// A line of a multi-line secret shorter than this is not masked alone: `}` or `ab` would mask
/// half of every output.
const MIN_SECRET_LINE: usize = 4;

/// Replaces every secret value in text with `••••`. Output is read line by line, so each line
/// of a multi-line secret (a private key, a certificate) is a secret of its own too.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let mut all = Vec::new();
        for secret in secrets.into_iter().map(Into::into) {
            if secret.contains(['\n', '\r']) {
                all.extend(
                    secret
                        .split(['\n', '\r'])
                        .map(str::trim)
                        .filter(|l| l.chars().count() >= MIN_SECRET_LINE)
                        .map(str::to_string),
                );
            }
            all.push(secret);
        }
        all.retain(|s| !s.is_empty());
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
        Self { secrets: all }
    }

    /// Where to cut a runaway line at or before `at` without cutting a secret (or the start of
    /// one still arriving) in two; `None` when the buffer starts with a secret not complete yet.
    fn cut_outside_secrets(&self, buf: &[u8], at: usize) -> Option<usize> {
        let mut cut = at;
        // Moving the cut back may make it cut another secret: settle.
        let mut moved = true;
        while moved {
            moved = false;
            for s in self.secrets.iter().map(String::as_bytes) {
                let lo = (cut + 1).saturating_sub(s.len());
                let straddling = memchr::memchr_iter(s[0], &buf[lo..cut])
                    .map(|i| lo + i)
                    .find(|&p| {
                        let end = (p + s.len()).min(buf.len());
                        buf[p..end] == s[..end - p]
                    });
                if let Some(p) = straddling {
                    if p == 0 {
                        // A secret longer than the cap: cut after it once it is all here.
                        return (s.len() <= buf.len()).then_some(s.len());
                    }
                    cut = p;
                    moved = true;
                }
            }
        }
        Some(cut)
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

    fn masked(secrets: &[&str], chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = MaskedLines::new(Arc::new(Redactor::new(secrets.iter().copied())));
        let mut out = Vec::new();
        for c in chunks {
            lines.push(c, &mut |l| out.push(l));
        }
        lines.finish(&mut |l| out.push(l));
        out
    }

    const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACDx\nab\n-----END OPENSSH PRIVATE KEY-----\n";

    #[test]
    fn each_line_of_a_multi_line_secret_is_masked_where_it_appears() {
        let out = masked(&[KEY], &[KEY.as_bytes(), b"key line: QyNTUxOQAAACDx.\n"]);
        assert_eq!(
            out,
            vec!["••••", "••••", "••••", "ab", "••••", "key line: ••••."],
            "lines shorter than 4 characters are left: they would mask everything"
        );
    }

    #[test]
    fn a_secret_is_never_cut_in_two_by_the_line_length_cap() {
        let secret = "hunter2-correct-horse";
        for before in [MAX_LINE - 3, MAX_LINE - 10, MAX_LINE - 1, MAX_LINE] {
            let pad = "x".repeat(before);
            // In one chunk, and cut between two chunks right at the cap.
            let whole = format!("{pad}{secret}yyy\n");
            let (a, b) = whole.as_bytes().split_at(MAX_LINE);
            for chunks in [vec![whole.as_bytes()], vec![a, b]] {
                let out = masked(&[secret], &chunks);
                let joined = out.concat();
                assert!(
                    joined.contains("••••")
                        && !out
                            .iter()
                            .any(|l| l.contains("hunter") || l.contains("horse")),
                    "{before}: {:?}",
                    out.iter()
                        .map(|l| &l[l.len().saturating_sub(30)..])
                        .collect::<Vec<_>>()
                );
                assert!(out.iter().all(|l| l.len() <= MAX_LINE + secret.len()));
            }
        }
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
