//! Reading a parsed TOML table field by field, keeping spans, reporting every problem.
//!
//! serde stops at the first error; a profile author wants all of them in one run, each with its
//! place, so the loader walks the spanned document itself.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diag::{Diagnostic, Diagnostics, did_you_mean};

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// The keys of one table, checked against the keys that table may have.
pub(crate) struct Fields<'a, 'i> {
    entries: Vec<(&'a str, Range<usize>, &'a Value<'i>)>,
    pub span: Range<usize>,
}

impl<'a, 'i> Fields<'a, 'i> {
    /// Reports every key not in `known`, suggesting the nearest known one.
    pub fn new(
        table: &'a DeTable<'i>,
        span: Range<usize>,
        place: &str,
        known: &[&str],
        diags: &mut Diagnostics,
    ) -> Self {
        let mut entries = Vec::with_capacity(table.len());
        for (key, value) in table.iter() {
            let name: &str = key.get_ref();
            if !known.contains(&name) {
                let help = match did_you_mean(name, known.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("{place} takes: {}", known.join(", ")),
                };
                diags.push(
                    Diagnostic::error(key.span(), format!("unknown key `{name}` in {place}"))
                        .help(help),
                );
                continue;
            }
            entries.push((name, key.span(), value));
        }
        Self { entries, span }
    }

    pub fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.entries
            .iter()
            .find(|(name, _, _)| *name == key)
            .map(|(_, _, value)| *value)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The span of `key = value`, for diagnostics about the key itself.
    pub fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.entries
            .iter()
            .find(|(name, _, _)| *name == key)
            .map(|(_, span, _)| span.clone())
    }

    pub fn str(&self, key: &str, diags: &mut Diagnostics) -> Option<Spanned<String>> {
        let value = self.get(key)?;
        match value.get_ref().as_str() {
            Some(s) => Some(Spanned::new(value.span(), s.to_string())),
            None => {
                diags.push(wrong_type(
                    key,
                    value,
                    "a string",
                    &format!("{key} = \"…\""),
                ));
                None
            }
        }
    }

    pub fn bool(&self, key: &str, diags: &mut Diagnostics) -> Option<bool> {
        let value = self.get(key)?;
        match value.get_ref().as_bool() {
            Some(b) => Some(b),
            None => {
                diags.push(wrong_type(
                    key,
                    value,
                    "true or false",
                    &format!("{key} = true"),
                ));
                None
            }
        }
    }

    pub fn integer(&self, key: &str, diags: &mut Diagnostics) -> Option<Spanned<i64>> {
        let value = self.get(key)?;
        let parsed = value
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok());
        match parsed {
            Some(n) => Some(Spanned::new(value.span(), n)),
            None => {
                diags.push(wrong_type(key, value, "an integer", &format!("{key} = 1")));
                None
            }
        }
    }

    /// A whole number in `range`, e.g. `serial`, `retries`, `port`.
    pub fn count(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        diags: &mut Diagnostics,
    ) -> Option<Spanned<u32>> {
        let n = self.integer(key, diags)?;
        if !range.contains(n.get_ref()) {
            let high = if *range.end() == i64::from(u32::MAX) {
                String::from("up")
            } else {
                format!("to {}", range.end())
            };
            diags.push(
                Diagnostic::error(
                    n.span(),
                    format!("`{key} = {}` is out of range", n.get_ref()),
                )
                .help(format!(
                    "`{key}` takes a whole number from {} {high}",
                    range.start()
                )),
            );
            return None;
        }
        u32::try_from(*n.get_ref())
            .ok()
            .map(|v| Spanned::new(n.span(), v))
    }

    pub fn duration(&self, key: &str, diags: &mut Diagnostics) -> Option<Spanned<Duration>> {
        let text = self.str(key, diags)?;
        match parse_duration(text.get_ref()) {
            Ok(d) => Some(Spanned::new(text.span(), d)),
            Err(why) => {
                diags.push(
                    Diagnostic::error(
                        text.span(),
                        format!("`{key} = \"{}\"` is not a duration: {why}", text.get_ref()),
                    )
                    .help("write a number and a unit, e.g. \"30s\", \"5m\", \"1h30m\""),
                );
                None
            }
        }
    }

    /// A string, or an array of strings (`on = "web"` or `on = ["web-1", "web-2"]`).
    pub fn strings(&self, key: &str, diags: &mut Diagnostics) -> Option<Vec<Spanned<String>>> {
        let value = self.get(key)?;
        if let Some(s) = value.get_ref().as_str() {
            return Some(vec![Spanned::new(value.span(), s.to_string())]);
        }
        let Some(items) = value.get_ref().as_array() else {
            diags.push(wrong_type(
                key,
                value,
                "a string or an array of strings",
                &format!("{key} = [\"…\"]"),
            ));
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            match item.get_ref().as_str() {
                Some(s) => out.push(Spanned::new(item.span(), s.to_string())),
                None => diags.push(wrong_type(
                    key,
                    item,
                    "an array of strings",
                    &format!("{key} = [\"…\"]"),
                )),
            }
        }
        Some(out)
    }

    pub fn table(
        &self,
        key: &str,
        diags: &mut Diagnostics,
    ) -> Option<(&'a DeTable<'i>, Range<usize>)> {
        let value = self.get(key)?;
        match value.get_ref().as_table() {
            Some(t) => Some((t, value.span())),
            None => {
                diags.push(wrong_type(key, value, "a table", &format!("[{key}]")));
                None
            }
        }
    }
}

pub(crate) fn wrong_type(
    key: &str,
    value: &Value<'_>,
    expected: &str,
    example: &str,
) -> Diagnostic {
    Diagnostic::error(
        value.span(),
        format!(
            "`{key}` must be {expected}, found {}",
            article(value.get_ref().type_str())
        ),
    )
    .help(format!("for example: {example}"))
}

fn article(type_name: &str) -> String {
    match type_name {
        "integer" | "array" => format!("an {type_name}"),
        other => format!("a {other}"),
    }
}

/// "30s", "5m", "1h30m", "1h 30m".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.trim().is_empty() {
        return Err("it is empty".into());
    }
    humantime::parse_duration(text.trim()).map_err(|e| e.to_string())
}

/// Byte offset inside a TOML string value's source where its content starts (after the quotes).
pub(crate) fn content_offset(source: &str, span: &Range<usize>, content: &str) -> Option<usize> {
    let raw = source.get(span.clone())?;
    let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        3
    } else {
        1
    };
    let start = span.start + quote;
    // Only exact when the string has no escapes; otherwise the caller points at the whole value.
    (source.get(start..start + content.len()) == Some(content)).then_some(start)
}
