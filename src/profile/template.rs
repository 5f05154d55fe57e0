//! `{{name}}` interpolation. Values go into shell commands quoted, and secrets are masked in
//! everything shown to a person.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

pub use crate::text::MASK;

/// A profile string with `{{name}}` placeholders. `{{` followed by anything that is not a
/// variable name (e.g. docker's `{{.Names}}`) is left as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    raw: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    /// `offset` is the byte offset of `{{` in the raw text, for diagnostics.
    Var {
        name: String,
        offset: usize,
    },
}

/// How a value is written into a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// Each value as one shell word, whatever it contains.
    Shell,
    /// As is: for questions, names and URLs shown to a person.
    Plain,
}

impl Template {
    pub fn parse(raw: &str) -> Self {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = raw;
        let mut consumed = 0;
        while let Some(open) = rest.find("{{") {
            let after = &rest[open + 2..];
            let name = after
                .find("}}")
                .map(|close| (close, after[..close].trim()))
                .filter(|(_, name)| is_var_name(name));
            match name {
                Some((close, name)) => {
                    text.push_str(&rest[..open]);
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Var {
                        name: name.to_string(),
                        offset: consumed + open,
                    });
                    let used = open + 2 + close + 2;
                    consumed += used;
                    rest = &rest[used..];
                }
                None => {
                    text.push_str(&rest[..open + 2]);
                    consumed += open + 2;
                    rest = &rest[open + 2..];
                }
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Self {
            raw: raw.to_string(),
            parts,
        }
    }

    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Every placeholder with the byte offset of its `{{` in the raw text.
    pub fn vars(&self) -> impl Iterator<Item = (&str, usize)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { name, offset } => Some((name.as_str(), *offset)),
            Part::Text(_) => None,
        })
    }

    /// The text to execute: real values, quoted as `quoting` says.
    pub fn expand(&self, vars: &VarValues, quoting: Quoting) -> String {
        self.render(vars, quoting, false)
    }

    /// The text to show a person: as `expand`, with every secret as `••••`.
    pub fn display(&self, vars: &VarValues, quoting: Quoting) -> String {
        self.render(vars, quoting, true)
    }

    fn render(&self, vars: &VarValues, quoting: Quoting, mask: bool) -> String {
        let mut out = String::with_capacity(self.raw.len());
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var { name, .. } => match vars.get(name) {
                    Some(v) if mask && v.secret => out.push_str(MASK),
                    Some(Value {
                        value: Some(value), ..
                    }) => match quoting {
                        Quoting::Shell => out.push_str(&shell_word(value)),
                        Quoting::Plain => out.push_str(value),
                    },
                    // Unresolved: the loader refuses to plan or run with one, so only `check`
                    // output, and a plan's text for a value that differs per target, get
                    // here; show the placeholder as written.
                    _ => {
                        out.push_str("{{");
                        out.push_str(name);
                        out.push_str("}}");
                    }
                },
            }
        }
        out
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub use crate::shell::shell_word;

/// A variable's resolved value, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub value: Option<String>,
    pub secret: bool,
}

/// Every declared variable with its value after `--set`, environment and defaults.
#[derive(Debug, Clone, Default)]
pub struct VarValues(BTreeMap<String, Value>);

impl VarValues {
    pub fn insert(&mut self, name: impl Into<String>, value: Option<String>, secret: bool) {
        self.0.insert(name.into(), Value { value, secret });
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// The secret values, longest first, for masking output that echoes them.
    pub fn secrets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .0
            .values()
            .filter(|v| v.secret)
            .filter_map(|v| v.value.as_deref())
            .filter(|v| !v.is_empty())
            .collect();
        out.sort_by_key(|v| std::cmp::Reverse(v.len()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> VarValues {
        let mut v = VarValues::default();
        v.insert("app_dir", Some("/var/www/app".into()), false);
        v.insert("evil", Some("'; touch /tmp/pwned; '".into()), false);
        v.insert("db_password", Some("hunter2".into()), true);
        v
    }

    #[test]
    fn placeholders_are_found_with_offsets() {
        let t = Template::parse("cd {{app_dir}} && echo {{ evil }}");
        let found: Vec<_> = t.vars().collect();
        assert_eq!(found, vec![("app_dir", 3), ("evil", 23)]);
    }

    #[test]
    fn non_names_in_braces_stay_literal() {
        let t = Template::parse("docker ps --format '{{.Names}}' {{json .}} {{");
        assert_eq!(t.vars().count(), 0);
        assert_eq!(t.expand(&vars(), Quoting::Shell), t.raw());
    }

    #[test]
    fn values_reach_the_shell_as_one_literal_word() {
        let nasty = [
            "'; touch /tmp/pwned; '",
            "$(id) `id` $HOME",
            "a b\tc\nd",
            "\"quoted\" \\ back",
            "*",
            "",
        ];
        for value in nasty {
            let mut v = VarValues::default();
            v.insert("x", Some(value.into()), false);
            let command = Template::parse("printf %s {{x}}").expand(&v, Quoting::Shell);
            let out = std::process::Command::new("sh")
                .args(["-c", &command])
                .output()
                .expect("run sh");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                value,
                "command: {command}"
            );
        }
    }

    #[test]
    fn secrets_are_masked_for_display_only() {
        let t = Template::parse("PGPASSWORD={{db_password}} psql");
        assert_eq!(t.display(&vars(), Quoting::Shell), "PGPASSWORD=•••• psql");
        assert_eq!(t.expand(&vars(), Quoting::Shell), "PGPASSWORD=hunter2 psql");
    }
}
