//! Headless under GitHub Actions (`GITHUB_ACTIONS=true`): each step's output folded in a
//! `::group::`, failures marked with `::error::`, and nothing a host prints able to pass for a
//! workflow command.
//!
//! The runner reads a line as a command when, after leading whitespace, it starts with `::`,
//! and (the older form) when `##[` appears anywhere in it. gonogo's own lines start with the
//! time, but a host's error spans lines and a step's output is anything at all, so every line
//! that is not one of gonogo's commands is neutralised here, at the one place output leaves.
//! `::stop-commands::TOKEN` is not used: the runner echoes the token into the live log, where
//! anyone who can read the log (everyone, for a public repository) could learn it and resume
//! commands from a host's output.

use std::borrow::Cow;
use std::io::Write;

use crate::engine::StepList;

/// Whether this process runs as a GitHub Actions step.
pub fn github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// A line as the runner will read it, made inert: a leading `::` gets a backslash before it,
/// `##[` becomes `##\[`, and a carriage return (which the runner reads as a line break) is
/// shown as `\r`.
pub fn neutralise(line: &str) -> Cow<'_, str> {
    let trimmed = line.trim_start();
    let leading = trimmed.starts_with("::");
    if !leading && !line.contains("##[") && !line.contains('\r') {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 4);
    let indent = line.len() - trimmed.len();
    out.push_str(&line[..indent]);
    if leading {
        out.push('\\');
    }
    out.push_str(&trimmed.replace("##[", "##\\[").replace('\r', "\\r"));
    Cow::Owned(out)
}

/// A workflow command: `::name key=value,…::data`, its data and properties escaped as the
/// runner unescapes them (`%`, CR, LF; in properties also `:` and `,`).
pub fn command(name: &str, properties: &[(&str, &str)], data: &str) -> String {
    let props: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    let space = if props.is_empty() { "" } else { " " };
    format!("::{name}{space}{}::{}", props.join(","), escape_data(data))
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        // The runner writes a group's title into the log after `##[group]`: keep it one line
        // of text there too.
        .replace("##[", "##\\[")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Headless's stdout: under GitHub Actions every line written through it is neutralised, and
/// only [`Out::command`] writes a workflow command.
pub struct Out {
    inner: std::io::BufWriter<std::io::Stdout>,
    ci: bool,
    /// The start of a line not yet ended.
    partial: Vec<u8>,
}

impl Out {
    pub fn new(ci: bool) -> Self {
        Out {
            inner: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
            ci,
            partial: Vec::new(),
        }
    }

    pub fn ci(&self) -> bool {
        self.ci
    }

    /// Writes one of gonogo's own workflow commands (a line), after any line begun.
    pub fn command(&mut self, line: &str) {
        if !self.ci {
            return;
        }
        self.end_partial();
        let _ = writeln!(self.inner, "{line}");
    }

    fn end_partial(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial.clear();
        let _ = writeln!(self.inner, "{}", neutralise(&text));
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.ci {
            return self.inner.write(buf);
        }
        let mut rest = buf;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            self.partial.extend_from_slice(&rest[..end]);
            let line = String::from_utf8_lossy(&self.partial).into_owned();
            self.partial.clear();
            writeln!(self.inner, "{}", neutralise(&line))?;
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        self.end_partial();
        let _ = self.inner.flush();
    }
}

impl super::Headless {
    /// Opens a `::group::` for a step's output (closing the one open).
    pub(super) fn open_group(&mut self, step: (StepList, usize), title: &str) {
        if !self.out.ci() {
            return;
        }
        self.close_group();
        self.out.command(&command("group", &[], title));
        self.group = Some(step);
    }

    pub(super) fn close_group(&mut self) {
        self.close_log_group();
        if self.group.take().is_some() {
            self.out.command(&command("endgroup", &[], ""));
        }
    }

    /// Log lines about to be printed outside a step's group: under GitHub Actions they fold
    /// in one group per minute, so a long watch's log stays readable.
    pub(super) fn log_lines_coming(&mut self, count: usize) {
        if !self.out.ci() || self.group.is_some() {
            return;
        }
        let minute = self.now / 60_000;
        if self.log_group.is_some_and(|(m, _)| m != minute) {
            self.close_log_group();
        }
        if self.log_group.is_none() {
            let stamp = self.stamp();
            let title = format!("logs from {}", stamp.trim_end());
            self.out.command(&command("group", &[], &title));
            self.log_group = Some((minute, 0));
        }
        if let Some((_, n)) = &mut self.log_group {
            *n += count as u64;
        }
    }

    /// Ends the folded log lines, saying how many there were.
    pub(super) fn close_log_group(&mut self) {
        if let Some((_, n)) = self.log_group.take() {
            let _ = writeln!(self.out, "   {n} log line{}", if n == 1 { "" } else { "s" });
            self.out.command(&command("endgroup", &[], ""));
        }
    }

    /// Something that did not stop the release but should be seen: a warning annotation.
    pub(super) fn warn(&mut self, title: &str, message: &str) {
        if self.out.ci() {
            self.out
                .command(&command("warning", &[("title", title)], message));
        }
    }

    /// The journal stopped being written: said at once, the release goes on (the operator
    /// decides); under GitHub Actions an error annotation.
    pub(super) fn journal_failed(&mut self, release: &crate::engine::Release) {
        let Some(failure) = &release.journal_failed else {
            return;
        };
        let said = crate::text::printable(&failure.said()).into_owned();
        self.line(format!("!! {said}; the release goes on"));
        self.annotate_outcome("error", "journal not written", &said);
        let _ = self.out.flush();
    }

    /// How the release is going as a whole (a rollback proposed, the policy's decision, the
    /// outcome): an annotation titled `title`.
    pub(super) fn annotate_outcome(&mut self, level: &str, title: &str, message: &str) {
        if self.out.ci() {
            self.out
                .command(&command(level, &[("title", title)], message));
        }
    }

    /// A run failed (or its outcome is unknown): an annotation naming the step and the target.
    pub(super) fn annotate(&mut self, level: &str, step: &str, target: &str, message: &str) {
        if self.out.ci() {
            let title = format!("{step} on {target}");
            self.out
                .command(&command(level, &[("title", &title)], message));
        }
    }
}

/// A line as it goes out: neutralised under GitHub Actions (a line of a step's output never
/// starts a workflow command), as it is elsewhere.
pub fn shown(ci: bool, line: &str) -> std::borrow::Cow<'_, str> {
    if ci {
        neutralise(line)
    } else {
        std::borrow::Cow::Borrowed(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_would_be_a_command_is_neutralised() {
        assert_eq!(neutralise("::error::forged"), "\\::error::forged");
        assert_eq!(
            neutralise("  ::set-output name=x::y"),
            "  \\::set-output name=x::y"
        );
        assert_eq!(
            neutralise("12:00:00 [web-1] ##[error]x"),
            "12:00:00 [web-1] ##\\[error]x"
        );
        assert_eq!(neutralise("a\rb"), "a\\rb");
        assert!(matches!(
            neutralise("12:00:00 [web-1] ::error::x"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn commands_escape_their_data_and_properties() {
        assert_eq!(
            command(
                "error",
                &[("title", "Migrate on web-1, a:b")],
                "50% done\nnext"
            ),
            "::error title=Migrate on web-1%2C a%3Ab::50%25 done%0Anext"
        );
        assert_eq!(command("endgroup", &[], ""), "::endgroup::");
    }
}
