//! One script among many on a long-lived `sh -s` (see [`super::ssh`]'s shells): the script
//! runs in a subshell, so its `exit` ends only itself, and the shell then prints a marker on
//! each stream that no step can know in advance (random, per shell). What comes before the
//! marker is the script's output; the words after it are its end.
//!
//! On stdout the subshell's exit trap prints `MARKER x STATUS` when the script exited (by
//! `exit` or by running to its end), then the shell prints `MARKER e STATUS`: an `e` line
//! without an `x` line is a script killed by a signal. On stderr the marker alone ends it.

use super::script::BEGIN;
use super::ssh::ExecEnd;
use crate::engine::Stream;

/// A marker no step can guess: `gonogo-frame-` and 32 random hex digits.
pub fn marker() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("gonogo-frame-{hex}")
}

/// `body` as one message to the long-lived shell: parsed whole before it runs (one braced
/// group), its stdin closed, umask 077, begun by gonogo's marker on both streams (as a script
/// on its own channel is, see [`super::script::wrap`]) and ended by `marker`.
pub fn message(body: &str, marker: &str) -> String {
    format!(
        "{{ (\ntrap 'printf \"%s x %s\\n\" {marker} \"$?\"' EXIT\numask 077\nprintf '%s\\n' {BEGIN}\nprintf '%s\\n' {BEGIN} >&2\n{body}\n) </dev/null; printf '%s e %s\\n' {marker} \"$?\"; printf '%s\\n' {marker} >&2; }}\n"
    )
}

/// Reads one message's output off the shell's two streams: passes on what is the script's,
/// holds back what may be the start of the marker, and knows when both streams ended.
#[derive(Debug)]
pub struct Frame {
    marker: Vec<u8>,
    held: [Vec<u8>; 2],
    /// What came after the marker on stdout: the end words, perhaps not all of them yet.
    words: Option<Vec<u8>>,
    stderr_done: bool,
}

impl Frame {
    pub fn new(marker: &str) -> Self {
        Frame {
            marker: marker.as_bytes().to_vec(),
            held: [Vec::new(), Vec::new()],
            words: None,
            stderr_done: false,
        }
    }

    /// `data` came on `stream`: the part of it (and of what was held) that is the script's.
    pub fn pass(&mut self, stream: Stream, data: &[u8]) -> Option<Vec<u8>> {
        let i = stream as usize;
        match stream {
            Stream::Stdout if self.words.is_some() => {
                self.words
                    .as_mut()
                    .expect("checked")
                    .extend_from_slice(data);
                return None;
            }
            Stream::Stderr if self.stderr_done => return None,
            _ => {}
        }
        let mut held = std::mem::take(&mut self.held[i]);
        held.extend_from_slice(data);
        if let Some(at) = memchr::memmem::find(&held, &self.marker) {
            let after = held[at + self.marker.len()..].to_vec();
            match stream {
                Stream::Stdout => self.words = Some(after),
                Stream::Stderr => self.stderr_done = true,
            }
            held.truncate(at);
            return (!held.is_empty()).then_some(held);
        }
        let keep = partial_marker(&held, &self.marker);
        self.held[i] = held.split_off(held.len() - keep);
        (!held.is_empty()).then_some(held)
    }

    /// The script's end, once both streams have ended.
    pub fn end(&self) -> Option<ExecEnd> {
        if !self.stderr_done {
            return None;
        }
        let words = String::from_utf8_lossy(self.words.as_deref()?).into_owned();
        let marker = String::from_utf8_lossy(&self.marker).into_owned();
        let mut exited = None;
        // `words` begins just after the first marker; the lines that follow hold one each.
        let text = format!("{marker}{words}");
        let complete = text.rsplit_once('\n').map_or("", |(whole, _)| whole);
        for line in complete.lines() {
            let mut parts = line.split(' ');
            if parts.next() != Some(marker.as_str()) {
                continue;
            }
            let (kind, status) = (parts.next(), parts.next().and_then(|s| s.parse().ok()));
            match (kind, status) {
                (Some("x"), Some(status)) => exited = Some(status),
                (Some("e"), Some(status)) => {
                    return Some(match exited {
                        Some(code) => ExecEnd::Exited(code),
                        None => ExecEnd::Signalled(signal_name(status)),
                    });
                }
                _ => {}
            }
        }
        None
    }
}

/// The longest end of `held` that is the start of `marker` (it may be completed by the next
/// chunk), so a step's last bytes are held back only when they may be the marker's.
fn partial_marker(held: &[u8], marker: &[u8]) -> usize {
    let longest = held.len().min(marker.len() - 1);
    (1..=longest)
        .rev()
        .find(|&n| held[held.len() - n..] == marker[..n])
        .unwrap_or(0)
}

/// The name of the signal a shell's status over 128 stands for, as the SSH client says it.
fn signal_name(status: u32) -> String {
    match status.checked_sub(128) {
        Some(1) => "HUP".into(),
        Some(2) => "INT".into(),
        Some(9) => "KILL".into(),
        Some(13) => "PIPE".into(),
        Some(15) => "TERM".into(),
        Some(n) if n > 0 => format!("signal {n}"),
        _ => format!("ended with status {status} without exiting"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "gonogo-frame-0123456789abcdef0123456789abcdef";

    fn feed(frame: &mut Frame, stream: Stream, parts: &[&str]) -> String {
        let mut out = Vec::new();
        for part in parts {
            if let Some(passed) = frame.pass(stream, part.as_bytes()) {
                out.extend(passed);
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn output_without_a_last_newline_keeps_every_byte_and_the_status() {
        let mut f = Frame::new(M);
        let out = feed(
            &mut f,
            Stream::Stdout,
            &[&format!("one\ntwo{M} x 3\n{M} e 3\n")],
        );
        assert_eq!(out, "one\ntwo");
        assert_eq!(f.end(), None, "stderr has not ended");
        assert_eq!(
            feed(&mut f, Stream::Stderr, &[&format!("oops{M}\n")]),
            "oops"
        );
        assert_eq!(f.end(), Some(ExecEnd::Exited(3)));
    }

    #[test]
    fn a_marker_cut_across_chunks_is_found_and_no_more_is_held_than_may_be_it() {
        let mut f = Frame::new(M);
        let (head, tail) = M.split_at(20);
        // "gonogo" alone may begin the marker: held; "go!" cannot: passed at once.
        assert_eq!(feed(&mut f, Stream::Stdout, &["live go!"]), "live go!");
        assert_eq!(
            feed(&mut f, Stream::Stdout, &["waiting gonogo"]),
            "waiting "
        );
        assert_eq!(feed(&mut f, Stream::Stdout, &[" more "]), "gonogo more ");
        let rest = format!("{tail} x 0\n{M} e");
        assert_eq!(feed(&mut f, Stream::Stdout, &[head, &rest, " 0\n"]), "");
        feed(&mut f, Stream::Stderr, &[&format!("{M}\n")]);
        assert_eq!(f.end(), Some(ExecEnd::Exited(0)));
    }

    #[test]
    fn a_script_killed_by_a_signal_has_no_exit_line() {
        let mut f = Frame::new(M);
        feed(&mut f, Stream::Stdout, &[&format!("{M} e 143\n")]);
        feed(&mut f, Stream::Stderr, &[M]);
        assert_eq!(f.end(), Some(ExecEnd::Signalled("TERM".into())));
    }

    #[test]
    fn the_end_waits_for_its_whole_line() {
        let mut f = Frame::new(M);
        feed(&mut f, Stream::Stderr, &[M]);
        feed(&mut f, Stream::Stdout, &[&format!("{M} x 12")]);
        assert_eq!(f.end(), None);
        feed(&mut f, Stream::Stdout, &[&format!("7\n{M} e 127\n")]);
        assert_eq!(f.end(), Some(ExecEnd::Exited(127)));
    }

    #[test]
    fn a_step_printing_a_marker_of_another_shell_is_output() {
        let other = marker();
        let mut f = Frame::new(M);
        let out = feed(&mut f, Stream::Stdout, &[&format!("{other} e 0\n")]);
        assert_eq!(out, format!("{other} e 0\n"));
        assert_eq!(f.end(), None);
    }
}
