//! The Prometheus text exposition format, one sample line at a time.
//!
//! Written here rather than taken from `prometheus-parse` (0.2.5): that crate splits labels on
//! `,` and `=` and stops them at the first `}`, so a label value holding any of those (a path,
//! a query, an escaped quote) breaks the series, and it reads the wall clock for every scrape.

use std::borrow::Cow;

/// What a sample line (or a selector's labels, read the same way) has where something else was
/// expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    #[error("expected a metric name")]
    NoName,
    #[error("expected a value after the series")]
    NoValue,
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("{0:?} is not a timestamp")]
    NotATimestamp(String),
    #[error("unexpected {0:?} after the timestamp")]
    AfterTimestamp(String),
    #[error("expected a label name or '}}'")]
    NoLabelName,
    #[error("expected '=' after label {0}")]
    NoEquals(String),
    #[error("expected a quoted value for label {0}")]
    NoQuotedValue(String),
    #[error("expected ',' or '}}' after label {0}")]
    NoSeparator(String),
    #[error("a histogram bucket needs a numeric le label")]
    BucketWithoutLe,
}

/// One sample: `name{label="value",...} value [timestamp] [# exemplar]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    pub labels: Vec<(&'a str, Cow<'a, str>)>,
    pub value: f64,
}

impl Sample<'_> {
    /// The value of a label; a label that is absent reads as empty, as in PromQL.
    pub fn label(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_ref())
    }
}

/// The metric name a line starts with, or `None` for blank lines and comments (`# HELP`,
/// `# TYPE`, `# EOF` and any other).
pub fn sample_name(line: &str) -> Option<&str> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    Some(&line[..end])
}

/// Parses one sample line. The error says what was expected, for the scrape's error message.
pub fn parse_sample(line: &str) -> Result<Sample<'_>, SampleError> {
    let line = line.trim();
    let name = sample_name(line).unwrap_or_default();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(SampleError::NoName);
    }
    let mut rest = &line[name.len()..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = parse_labels(inner, &mut labels)?;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or(SampleError::NoValue)?;
    let value = parse_value(value).ok_or_else(|| SampleError::NotANumber(value.to_string()))?;
    match fields.next() {
        None => {}
        Some(exemplar) if exemplar.starts_with('#') => {}
        Some(timestamp) => {
            if timestamp.parse::<f64>().is_err() {
                return Err(SampleError::NotATimestamp(timestamp.to_string()));
            }
            if let Some(extra) = fields.next().filter(|f| !f.starts_with('#')) {
                return Err(SampleError::AfterTimestamp(extra.to_string()));
            }
        }
    }
    Ok(Sample {
        name,
        labels,
        value,
    })
}

/// A sample value or an `le` bound: Go's float syntax, so `+Inf`, `-Inf` and `NaN` too.
pub fn parse_value(text: &str) -> Option<f64> {
    // Rust's parser reads inf/infinity/nan in any case, which covers Go's spellings.
    text.parse::<f64>().ok()
}

/// What comes next inside braces: the closing brace, or a label's name.
pub(super) enum Label<'a> {
    /// The closing brace, and what follows it.
    End(&'a str),
    /// A label's name, and what follows the name.
    Named(&'a str, &'a str),
}

/// Reads past whitespace to the closing brace or the next label name (a selector's matchers
/// and a sample's labels are written the same way).
pub(super) fn next_label(rest: &str) -> Result<Label<'_>, SampleError> {
    let rest = rest.trim_start();
    if let Some(after) = rest.strip_prefix('}') {
        return Ok(Label::End(after));
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let (name, after) = rest.split_at(end);
    if name.is_empty() {
        return Err(SampleError::NoLabelName);
    }
    Ok(Label::Named(name, after))
}

/// Reads `name="value", ...}` and returns what follows the closing brace.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut Vec<(&'a str, Cow<'a, str>)>,
) -> Result<&'a str, SampleError> {
    loop {
        let (name, after) = match next_label(rest)? {
            Label::End(after) => return Ok(after),
            Label::Named(name, after) => (name, after),
        };
        let after = after
            .trim_start()
            .strip_prefix('=')
            .ok_or_else(|| SampleError::NoEquals(name.to_string()))?;
        let (value, after) = quoted(after.trim_start(), '"')
            .ok_or_else(|| SampleError::NoQuotedValue(name.to_string()))?;
        labels.push((name, value));
        rest = after.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(SampleError::NoSeparator(name.to_string()));
        }
    }
}

/// A string in `quote`s with `\\`, `\"` (or `\'`) and `\n` escapes, and what follows it.
/// Borrowed when it has no escapes, which is almost always.
pub fn quoted(text: &str, quote: char) -> Option<(Cow<'_, str>, &str)> {
    let body = text.strip_prefix(quote)?;
    let mut owned: Option<String> = None;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            let value = owned.map_or(Cow::Borrowed(&body[..i]), Cow::Owned);
            return Some((value, &body[i + c.len_utf8()..]));
        }
        if c == '\\' {
            let (_, escaped) = chars.next()?;
            let kept = owned.get_or_insert_with(|| body[..i].to_string());
            kept.push(if escaped == 'n' { '\n' } else { escaped });
        } else if let Some(kept) = owned.as_mut() {
            kept.push(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_with_labels_escapes_timestamps_and_exemplars() {
        let s = parse_sample(
            r#"http_requests_total{path="/a,b=c}", msg="say \"hi\"\n", status="500",} 1027 1700000000000"#,
        )
        .unwrap();
        assert_eq!(s.name, "http_requests_total");
        assert_eq!(s.label("path"), "/a,b=c}");
        assert_eq!(s.label("msg"), "say \"hi\"\n");
        assert_eq!(s.label("status"), "500");
        assert_eq!(s.label("absent"), "");
        assert_eq!(s.value, 1027.0);

        let bucket = parse_sample(r#"x_bucket{le="+Inf"} 3 # {trace_id="abc"} 0.5"#).unwrap();
        assert_eq!(bucket.label("le"), "+Inf");
        assert_eq!(parse_value(bucket.label("le")), Some(f64::INFINITY));
        assert!(parse_sample("up NaN").unwrap().value.is_nan());
        assert_eq!(parse_sample("temp -Inf").unwrap().value, f64::NEG_INFINITY);
        assert_eq!(parse_sample("  ratio   1.5e-3  ").unwrap().value, 0.0015);
        assert_eq!(parse_sample("empty{} 2").unwrap().labels, vec![]);
    }

    #[test]
    fn broken_lines_say_what_was_expected() {
        for (line, said) in [
            ("requests", "expected a value"),
            ("requests{status=500} 1", "quoted value for label status"),
            (r#"requests{status="500" 1"#, "expected ',' or '}'"),
            ("requests one", "\"one\" is not a number"),
            ("requests 1 later", "\"later\" is not a timestamp"),
            ("9lives 1", "expected a metric name"),
        ] {
            let err = parse_sample(line).unwrap_err().to_string();
            assert!(err.contains(said), "{line}: {err}");
        }
    }

    #[test]
    fn comments_and_blank_lines_have_no_name() {
        assert_eq!(sample_name("# TYPE x counter"), None);
        assert_eq!(sample_name("   "), None);
        assert_eq!(sample_name("x_total{a=\"b\"} 1"), Some("x_total"));
    }
}
