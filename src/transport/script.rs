//! How gonogo's own shell scripts reach a host and how their answers are found: the script goes
//! to `sh -s` on stdin (never in a process's arguments, where `ps` shows it), runs with umask
//! 077, and starts by printing a marker on stdout and stderr, so text that the account's shell
//! prints first (a banner, a motd, a chatty `.bashrc`) is told apart from the answer.

use crate::engine::Stream;

/// What every script prints first, alone on a line, on both streams.
pub const BEGIN: &str = "gonogo-answer-begins-7c1e";

/// The command run on the host; the script itself follows on stdin.
pub const SHELL: &str = "sh -s";

/// `body` as a whole script: parsed whole before it runs (a braced group), so no command can
/// read the rest of the script from stdin.
pub fn wrap(body: &str) -> String {
    format!(
        "{{\numask 077\nprintf '%s\\n' {BEGIN}\nprintf '%s\\n' {BEGIN} >&2\n{body}\n}} </dev/null\n"
    )
}

/// A profile's own command as the body of one of gonogo's scripts: in a subshell of its own,
/// so its `exit`, its traps and its `cd` stay its own.
pub fn contained(command: &str) -> String {
    format!("(\n{command}\n)")
}

/// `members`: the pids of the processes in the session or process group `$pid` (zombies left
/// out), read from /proc so that nothing beyond a POSIX shell is needed. A process that ends
/// during the scan is skipped silently: the redirect's failure is inside the braces whose
/// stderr is discarded (dash opens `< FILE` before a later `2>/dev/null` on the same command).
pub const MEMBERS_FN: &str = r#"members() {
  for f in /proc/[0-9]*/stat; do
    { read -r st < "$f"; } 2>/dev/null || continue
    set -- ${st##*) }
    [ "$1" = Z ] && continue
    if [ "$3" = "$pid" ] || [ "$4" = "$pid" ]; then p=${f#/proc/}; echo "${p%/stat}"; fi
  done
}"#;

/// `owner`: sets `o` to the session that holds the lock `$l` (empty when none), read with the
/// shell's own `read`: no process is forked for it, as a `sed` was on every step's start.
pub const OWNER_FN: &str = r#"owner() {
  o=
  { while IFS= read -r x || [ -n "$x" ]; do case $x in session=*) o=${x#session=} ;; esac; done < "$l/info"; } 2>/dev/null
}"#;

/// `stop TICKS`: stops every process of the session or group `$pid` (needs `members`): TERM,
/// up to TICKS tenths of a second, then KILL and up to 5 s more. Sets `how` to `TERM` or `KILL`;
/// fails if something is still alive.
pub const STOP_FN: &str = r#"stop() {
  how=TERM; kill -TERM $(members) 2>/dev/null; i=0
  while [ -n "$(members)" ] && [ $i -lt "$1" ]; do sleep 0.1; i=$((i + 1)); done
  if [ -n "$(members)" ]; then
    how=KILL; kill -KILL $(members) 2>/dev/null; i=0
    while [ -n "$(members)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  fi
  [ -z "$(members)" ]
}"#;

/// Most of a banner kept to show when a script's marker never came.
const NOISE_KEPT: usize = 2048;

/// Drops what comes before the marker on each stream and passes the rest on.
#[derive(Debug, Default)]
pub struct AfterBegin {
    seen: [bool; 2],
    held: [Vec<u8>; 2],
    /// Bytes that came before the marker (the shell's noise), kept for the error message.
    noise: Vec<u8>,
}

impl AfterBegin {
    /// The part of `data` that is the script's own output, if any yet.
    pub fn pass(&mut self, stream: Stream, data: Vec<u8>) -> Option<Vec<u8>> {
        let i = stream as usize;
        if self.seen[i] {
            return Some(data);
        }
        self.held[i].extend_from_slice(&data);
        let marker = format!("{BEGIN}\n");
        let found = memchr::memmem::find(&self.held[i], marker.as_bytes())?;
        self.seen[i] = true;
        let held = std::mem::take(&mut self.held[i]);
        if self.noise.len() < NOISE_KEPT {
            self.noise.extend_from_slice(&held[..found.min(NOISE_KEPT)]);
        }
        let rest = held[found + marker.len()..].to_vec();
        (!rest.is_empty()).then_some(rest)
    }

    /// Whether the script started (its marker came on stdout).
    pub fn started(&self) -> bool {
        self.seen[Stream::Stdout as usize]
    }

    /// Why the script's answer was not found, quoting what the shell printed instead.
    pub fn explain(&self) -> String {
        let mut noise = self.noise.clone();
        for held in &self.held {
            noise.extend_from_slice(&held[..held.len().min(NOISE_KEPT)]);
        }
        let text = String::from_utf8_lossy(&noise);
        let shown: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(3)
            .map(|l| super::lines::clean(l.as_bytes()))
            .collect();
        if shown.is_empty() {
            "gonogo's script did not start on the host (no answer from `sh -s`): check that the account's shell can run sh".into()
        } else {
            format!(
                "gonogo's script did not start on the host; its shell printed instead: {}: check the account's shell startup files (~/.bashrc, ~/.profile) for commands that fail or exit in non-interactive sessions",
                shown.join(" / ")
            )
        }
    }

    /// Bytes held back on a stream whose marker never came (a script that printed no marker on
    /// stderr still has its stderr shown).
    pub fn leftover(&mut self, stream: Stream) -> Vec<u8> {
        std::mem::take(&mut self.held[stream as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_banner_before_the_marker_is_dropped_and_kept_for_the_message() {
        let mut a = AfterBegin::default();
        assert_eq!(
            a.pass(Stream::Stdout, b"Welcome to web-1\nLast lo".to_vec()),
            None
        );
        let rest = a.pass(
            Stream::Stdout,
            format!("gin: today\n{BEGIN}\ntaken\n").into_bytes(),
        );
        assert_eq!(rest.as_deref(), Some(&b"taken\n"[..]));
        assert!(a.started());
        assert_eq!(
            a.pass(Stream::Stdout, b"more".to_vec()).as_deref(),
            Some(&b"more"[..])
        );
    }

    #[test]
    fn a_marker_cut_across_chunks_is_found() {
        let mut a = AfterBegin::default();
        let (head, tail) = BEGIN.split_at(7);
        assert_eq!(a.pass(Stream::Stderr, head.as_bytes().to_vec()), None);
        assert_eq!(
            a.pass(Stream::Stderr, format!("{tail}\nboom\n").into_bytes())
                .as_deref(),
            Some(&b"boom\n"[..])
        );
    }

    #[test]
    fn no_marker_explains_with_what_the_shell_said() {
        let mut a = AfterBegin::default();
        a.pass(Stream::Stdout, b"This account is not available\n".to_vec());
        assert!(!a.started());
        assert!(a.explain().contains("This account is not available"));
    }
}
