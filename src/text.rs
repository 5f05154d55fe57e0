//! Values gonogo prints come from profiles, `--set`, hosts and typed answers: any of them may
//! hold terminal control sequences or a newline. Both make a value drive the terminal or pass
//! for a line of gonogo's own, so every value is made printable before it is interpolated.

use std::borrow::Cow;

/// What a secret looks like wherever gonogo shows it.
pub const MASK: &str = "••••";

/// A value as one visible line: control characters are shown as escapes (`\e`, `\n`, `\r`, `\a`,
/// `\x01`, `\u{9b}`), so nothing in it can move the cursor, clear the screen, ring the bell or
/// start a new line. A tab stays a tab. Plain text is borrowed, not copied.
pub fn printable(s: &str) -> Cow<'_, str> {
    if plain_ascii(s.as_bytes()) || !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

/// A message of several lines (an SSH refusal with its advice, a host's error): each line is
/// made printable, and a continuation line is indented so it reads as part of the message and
/// never as a line of gonogo's own.
pub fn printable_lines(s: &str) -> Cow<'_, str> {
    let continued = |line: &str| line.starts_with([' ', '\t']);
    if !s.chars().any(|c| c != '\n' && needs_escape(c)) && s.split('\n').skip(1).all(continued) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !continued(line) {
                out.push_str("  ");
            }
        }
        out.push_str(&printable(line));
    }
    Cow::Owned(out)
}

/// Whether every byte is printable ASCII or a tab: most values and output lines are, and need
/// nothing copied. No early exit, so the scan vectorizes (headless checks every output line).
fn plain_ascii(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |plain, &b| {
        plain & ((b.wrapping_sub(0x20) < 0x5f) | (b == b'\t'))
    })
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        // Line and paragraph separators, and the bidi controls that reorder what is shown.
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_visible(out: &mut String, c: char) {
    use std::fmt::Write as _;
    if !needs_escape(c) {
        out.push(c);
        return;
    }
    match c {
        '\x1b' => out.push_str("\\e"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` after a count other than one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            printable("v1.2.1 déploiement\t✓"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            printable_lines("refused\n  check the key"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(printable("v1\x1b[2J\x07"), "v1\\e[2J\\a");
        assert_eq!(printable("50%\r100%"), "50%\\r100%");
        assert_eq!(printable("a\x00b\x7f\u{9b}31m"), "a\\x00b\\x7f\\u{9b}31m");
        assert_eq!(printable("admin\u{202e}txt.exe"), "admin\\u{202e}txt.exe");
    }

    #[test]
    fn a_newline_cannot_start_a_line() {
        assert_eq!(printable("v1\ngonogo: released"), "v1\\ngonogo: released");
        assert_eq!(
            printable_lines("cannot reach web-1\ngonogo: released\n  help\x1b[2J"),
            "cannot reach web-1\n  gonogo: released\n  help\\e[2J"
        );
    }
}

/// JSON text with every C1 control, line or paragraph separator and bidi control escaped as
/// `\uXXXX` (serde escapes only C0): a JSON file shown in a terminal or an editor cannot drive
/// it or reorder what it shows. Those characters occur only inside strings, so escaping them
/// keeps the JSON the same data.
pub fn json_escape_controls(json: String) -> String {
    let hidden = |c: char| {
        matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}'
        ) || matches!(c, '\u{2066}'..='\u{2069}')
    };
    if !json.chars().any(hidden) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod json_tests {
    #[test]
    fn c1_and_bidi_controls_leave_json_escaped_and_the_data_is_the_same() {
        let text = "a\u{9b}31m b\u{202e}c \u{9d}52;x";
        let json = serde_json::to_string(&text).unwrap();
        let safe = super::json_escape_controls(json);
        assert!(
            !safe.contains('\u{9b}') && !safe.contains('\u{202e}'),
            "{safe}"
        );
        assert!(
            safe.contains("\\u009b") && safe.contains("\\u202e"),
            "{safe}"
        );
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, text);
    }
}
