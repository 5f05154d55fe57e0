//! Diagnostics about a profile: what is wrong, where (file:line:col) and what would be right.

use std::fmt::Write as _;
use std::ops::Range;

/// How serious a diagnostic is. Errors make a profile invalid; warnings do too under `--strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One finding about a profile, located by a byte span in its source when it has a place.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(span: impl Into<Option<Range<usize>>>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, span.into(), message.into())
    }

    pub fn warning(span: impl Into<Option<Range<usize>>>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, span.into(), message.into())
    }

    pub fn note(span: impl Into<Option<Range<usize>>>, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, span.into(), message.into())
    }

    fn new(severity: Severity, span: Option<Range<usize>>, message: String) -> Self {
        Self {
            severity,
            span,
            message,
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The diagnostics found so far, in the order they were found.
#[derive(Debug, Default)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.0.iter().filter(|d| d.severity == severity).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Sorted by position so a reader goes through the file top to bottom.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.0
            .sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
        self.0
    }
}

/// A profile's text and the name it is shown under, for turning spans into `line:col`.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.floor_char_boundary(offset.min(self.text.len()));
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let col = self.text[self.line_starts[line]..offset].chars().count() + 1;
        (line + 1, col)
    }

    fn floor_char_boundary(&self, mut offset: usize) -> usize {
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next - 1);
        self.text[start..end].trim_end_matches('\r')
    }

    /// `PATH:LINE:COL: error: MESSAGE`, then `help:`, then the line with the place marked.
    pub fn render(&self, diagnostic: &Diagnostic, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let level_color = match diagnostic.severity {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Note => "1;36",
        };
        let mut out = String::new();
        let location = match &diagnostic.span {
            Some(span) => {
                let (line, col) = self.line_col(span.start);
                format!("{}:{line}:{col}", self.path)
            }
            None => self.path.clone(),
        };
        let _ = writeln!(
            out,
            "{}: {}: {}",
            paint("1", &location),
            paint(level_color, diagnostic.severity.label()),
            diagnostic.message
        );
        if let Some(help) = &diagnostic.help {
            for (i, line) in help.lines().enumerate() {
                let lead = if i == 0 { "help:" } else { "     " };
                let _ = writeln!(out, "  {} {line}", paint("1;32", lead));
            }
        }
        if let Some(span) = &diagnostic.span {
            out.push_str(&self.snippet(span, |t| paint(level_color, t)));
        }
        out
    }

    fn snippet(&self, span: &Range<usize>, paint: impl Fn(&str) -> String) -> String {
        let (line, col) = self.line_col(span.start);
        let text = self.line_text(line);
        let (end_line, end_col) = self.line_col(span.end.max(span.start + 1));
        let width = if end_line == line {
            end_col.saturating_sub(col).max(1)
        } else {
            text.chars().count().saturating_sub(col - 1).max(1)
        };
        let number = line.to_string();
        let pad = " ".repeat(number.len());
        format!(
            "  {pad} |\n  {number} | {text}\n  {pad} | {}{}\n",
            " ".repeat(col - 1),
            paint(&"^".repeat(width.min(80)))
        )
    }
}

/// "did you mean `check`?" for a near miss among the words that would be right: a typo or two
/// (swapped letters count as one), or a long word that is mostly the same.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter_map(|c| {
            let edits = strsim::damerau_levenshtein(word, c);
            let close =
                edits <= (c.chars().count() / 3).max(1) || strsim::jaro_winkler(word, c) > 0.9;
            close.then_some((edits, c))
        })
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let source = Source::new("p.toml", "a = 1\nbé = \"x\"\n");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(source.line_col(9), (2, 3));
    }

    #[test]
    fn render_names_place_then_help_then_marks_the_span() {
        let source = Source::new("p.toml", "[[step]]\nchek = \"true\"\n");
        let d = Diagnostic::error(9..13, "unknown key `chek`").help("did you mean `check`?");
        let text = source.render(&d, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "p.toml:2:1: error: unknown key `chek`");
        assert_eq!(lines[1], "  help: did you mean `check`?");
        assert!(lines[3].ends_with("chek = \"true\""));
        assert!(lines[4].ends_with("| ^^^^"));
    }

    #[test]
    fn near_misses_are_suggested_and_far_ones_are_not() {
        let keys = ["check", "run", "manual", "gate"];
        assert_eq!(did_you_mean("chek", keys), Some("check"));
        assert_eq!(did_you_mean("gaet", keys), Some("gate"));
        assert_eq!(did_you_mean("zzzz", keys), None);
        assert_eq!(did_you_mean("wbe", ["web-1", "web"]), Some("web"));
        assert_eq!(did_you_mean("db", ["web-1", "web"]), None);
    }
}
