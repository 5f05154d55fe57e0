//! The series selectors a profile writes in `[metrics.NAME]`: a metric name with optional
//! PromQL label matchers, `http_requests_total{status=~"5..", method!="OPTIONS"}`.

use std::fmt;

use regex::Regex;

use super::text::{Label, Sample, SampleError, next_label, quoted};

#[derive(Debug, Clone)]
pub struct Selector {
    /// The selector as the profile wrote it, for messages.
    pub text: String,
    pub name: String,
    matchers: Vec<Matcher>,
}

#[derive(Debug, Clone)]
struct Matcher {
    label: String,
    op: MatchOp,
}

#[derive(Debug, Clone)]
enum MatchOp {
    Equal(String),
    NotEqual(String),
    /// Anchored at both ends, as Prometheus does: `5..` matches `500`, not `1500`.
    Matches(Regex),
    NotMatches(Regex),
}

/// What is wrong with a series selector, and what would be right.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectorError {
    #[error("{0:?} does not start with a metric name (like http_requests_total)")]
    NoName(String),
    #[error("{text:?}: {problem}")]
    Matchers { text: String, problem: MatcherError },
    #[error("{text:?}: unexpected {rest:?} after the selector; write name{{label=\"value\"}}")]
    After { text: String, rest: String },
}

/// A selector's `{label OP "value", ...}` that does not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MatcherError {
    #[error(transparent)]
    Label(#[from] SampleError),
    #[error("expected =, !=, =~ or !~ after {0}")]
    NoOperator(String),
    #[error("expected a quoted value after {label}{op}")]
    NoValue { label: String, op: String },
    #[error("{label}{op}{value:?} is not a valid regex: {source}")]
    Regex {
        label: String,
        op: String,
        value: String,
        source: regex::Error,
    },
    #[error("expected ',' or '}}' after the matcher on {0}")]
    NoSeparator(String),
}

impl Selector {
    /// Parses `name{label OP "value", ...}`; the error says what is wrong and what would be
    /// right, for `gonogo check`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let trimmed = text.trim();
        let end = trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(trimmed.len());
        let (name, mut rest) = trimmed.split_at(end);
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(SelectorError::NoName(text.to_string()));
        }
        let mut matchers = Vec::new();
        rest = rest.trim_start();
        if let Some(inner) = rest.strip_prefix('{') {
            rest = parse_matchers(inner, &mut matchers).map_err(|problem| {
                SelectorError::Matchers {
                    text: text.to_string(),
                    problem,
                }
            })?;
        }
        if !rest.trim().is_empty() {
            return Err(SelectorError::After {
                text: text.to_string(),
                rest: rest.trim().to_string(),
            });
        }
        Ok(Self {
            text: trimmed.to_string(),
            name: name.to_string(),
            matchers,
        })
    }

    /// Whether a sample's labels satisfy every matcher. An absent label reads as empty, so
    /// `status!="500"` matches a series without `status`, as in PromQL.
    pub fn matches_labels(&self, sample: &Sample<'_>) -> bool {
        self.matchers.iter().all(|m| {
            let value = sample.label(&m.label);
            match &m.op {
                MatchOp::Equal(v) => value == v,
                MatchOp::NotEqual(v) => value != v,
                MatchOp::Matches(re) => re.is_match(value),
                MatchOp::NotMatches(re) => !re.is_match(value),
            }
        })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_matchers<'a>(
    mut rest: &'a str,
    matchers: &mut Vec<Matcher>,
) -> Result<&'a str, MatcherError> {
    loop {
        let (label, after) = match next_label(rest)? {
            Label::End(after) => return Ok(after),
            Label::Named(label, after) => (label, after),
        };
        let after = after.trim_start();
        let (op, after) = ["=~", "!~", "!=", "="]
            .iter()
            .find_map(|op| after.strip_prefix(op).map(|a| (*op, a)))
            .ok_or_else(|| MatcherError::NoOperator(label.to_string()))?;
        let after = after.trim_start();
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'');
        let (value, after) =
            quote
                .and_then(|q| quoted(after, q))
                .ok_or_else(|| MatcherError::NoValue {
                    label: label.to_string(),
                    op: op.to_string(),
                })?;
        let anchored = || {
            Regex::new(&format!("^(?:{value})$")).map_err(|source| MatcherError::Regex {
                label: label.to_string(),
                op: op.to_string(),
                value: value.to_string(),
                source,
            })
        };
        let op = match op {
            "=" => MatchOp::Equal(value.into_owned()),
            "!=" => MatchOp::NotEqual(value.into_owned()),
            "=~" => MatchOp::Matches(anchored()?),
            _ => MatchOp::NotMatches(anchored()?),
        };
        matchers.push(Matcher {
            label: label.to_string(),
            op,
        });
        rest = after.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(MatcherError::NoSeparator(label.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::parse_sample;
    use super::*;

    fn matches(selector: &str, line: &str) -> bool {
        let selector = Selector::parse(selector).unwrap();
        let sample = parse_sample(line).unwrap();
        selector.matches_labels(&sample)
    }

    #[test]
    fn matchers_follow_promql() {
        let line = r#"http_requests_total{status="503",method="GET"} 1"#;
        assert!(matches(r#"http_requests_total{status=~"5.."}"#, line));
        assert!(
            !matches(r#"http_requests_total{status=~"5"}"#, line),
            "anchored"
        );
        assert!(
            !matches(r#"http_requests_total{status=~"0.."}"#, line),
            "anchored"
        );
        assert!(matches(r#"http_requests_total{status!~"2..|3.."}"#, line));
        assert!(matches(r#"http_requests_total{method="GET"}"#, line));
        assert!(!matches(r#"http_requests_total{method!="GET"}"#, line));
        assert!(matches(r#"x{status=~"5..", method='GET',}"#, line));
        // An absent label reads as empty.
        assert!(matches(r#"x{route!="/health"}"#, line));
        assert!(matches(r#"x{route=""}"#, line));
        assert!(!matches(r#"x{route=~".+"}"#, line));
        assert!(matches("http_requests_total", line));
    }

    #[test]
    fn a_wrong_selector_says_what_is_wrong() {
        for (text, said) in [
            ("{status=\"5\"}", "does not start with a metric name"),
            ("x{status=5}", "expected a quoted value after status="),
            ("x{status==\"5\"}", "expected a quoted value"),
            ("x{status~\"5\"}", "expected =, !=, =~ or !~"),
            ("x{status=~\"(5\"}", "not a valid regex"),
            ("x{status=\"5\"", "expected ',' or '}'"),
            ("x y", "unexpected \"y\""),
        ] {
            let err = Selector::parse(text).unwrap_err().to_string();
            assert!(err.contains(said), "{text}: {err}");
        }
    }
}
