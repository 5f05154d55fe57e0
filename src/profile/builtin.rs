//! Built-in checks, for what is clumsy in shell (seed 000 steps 1 and 13):
//! `check = { http = URL, expect = 200 }`, `check = { tls_days_left = "host:443", min = 14 }`,
//! `check = { dns = "name", expect = "203.0.113.10" }`, `check = { disk_free = "/", min = "2G" }`.
//! Each runs on the step's targets like any check: http and tls through the target's SSH
//! connection (nothing needed on the host), dns and disk_free with the host's own `getent` and
//! `df`.

use std::net::IpAddr;

use serde::Serialize;
use toml::Spanned;
use toml::de::DeTable;

use super::diag::Diagnostic;
use super::load::Loader;
use super::read::{Fields, Value, wrong_type};
use super::template::Template;

/// One built-in check, as the profile wrote it (values may hold `{{vars}}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BuiltinCheck {
    /// A GET that must answer `expect` (and match `body`), from the target's side.
    Http {
        url: Template,
        expect: u16,
        body: Option<String>,
    },
    /// The certificate `address` serves is valid (trusted, for that name) and has at least
    /// `min` whole days left.
    TlsDaysLeft { address: Template, min: u32 },
    /// `name` resolves on the target; to exactly `expect` when given (a stale address in the
    /// record fails it).
    Dns {
        name: Template,
        expect: Vec<Template>,
    },
    /// At least `min` free on the filesystem holding `path`.
    DiskFree { path: Template, min: FreeSpace },
}

/// A minimum of free space: bytes, or a share of the filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FreeSpace {
    Bytes(u64),
    Percent(u8),
}

impl std::fmt::Display for FreeSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FreeSpace::Percent(p) => write!(f, "{p}%"),
            FreeSpace::Bytes(b) => f.write_str(&human_bytes(*b)),
        }
    }
}

/// `2147483648` → `2G`, `1610612736` → `1.5G`: as `df -h` would say it.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["", "K", "M", "G", "T"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value}{}", UNITS[unit])
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

/// `"2G"`, `"500M"`, `"1.5T"`, `"10%"`.
pub fn parse_free_space(text: &str) -> Result<FreeSpace, String> {
    let text = text.trim();
    if let Some(p) = text.strip_suffix('%') {
        return match p.trim().parse::<u8>() {
            Ok(p) if (1..=99).contains(&p) => Ok(FreeSpace::Percent(p)),
            _ => Err("a share must be 1% to 99%".into()),
        };
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| "it does not start with a number".to_string())?;
    let scale: u64 = match unit.trim().trim_end_matches(['B', 'b', 'i']) {
        "" => return Err("say the unit: K, M, G or T".into()),
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        "T" | "t" => 1 << 40,
        other => return Err(format!("`{other}` is not a unit: use K, M, G or T")),
    };
    let bytes = number * scale as f64;
    if bytes < 1.0 {
        return Err("it must be more than nothing".into());
    }
    Ok(FreeSpace::Bytes(bytes as u64))
}

const KINDS: [&str; 4] = ["http", "tls_days_left", "dns", "disk_free"];

impl BuiltinCheck {
    /// Its key in the profile.
    pub fn kind(&self) -> &'static str {
        match self {
            BuiltinCheck::Http { .. } => "http",
            BuiltinCheck::TlsDaysLeft { .. } => "tls_days_left",
            BuiltinCheck::Dns { .. } => "dns",
            BuiltinCheck::DiskFree { .. } => "disk_free",
        }
    }

    /// What it checks, in words, for the checklist, `plan` and the output pane.
    pub fn describe(&self) -> String {
        match self {
            BuiltinCheck::Http { url, expect, body } => {
                let body = body
                    .as_ref()
                    .map_or(String::new(), |b| format!(" with a body matching /{b}/"));
                format!("GET {} answers {expect}{body}", url.raw())
            }
            BuiltinCheck::TlsDaysLeft { address, min } => {
                format!("TLS certificate of {} valid for {min}+ days", address.raw())
            }
            BuiltinCheck::Dns { name, expect } if expect.is_empty() => {
                format!("{} resolves", name.raw())
            }
            BuiltinCheck::Dns { name, expect } => {
                let to: Vec<&str> = expect.iter().map(Template::raw).collect();
                format!("{} resolves to {}", name.raw(), to.join(", "))
            }
            BuiltinCheck::DiskFree { path, min } => {
                format!("at least {min} free on {}", path.raw())
            }
        }
    }
}

impl Loader<'_> {
    /// Which kind of check the table names: exactly one of [`KINDS`], or an error saying what
    /// to give.
    fn check_kind(
        &mut self,
        table: &DeTable<'_>,
        value: &Value<'_>,
        place: &str,
    ) -> Option<&'static str> {
        let present: Vec<&str> = KINDS
            .into_iter()
            .filter(|k| table.iter().any(|(key, _)| key.get_ref() == k))
            .collect();
        match present.as_slice() {
            [one] => Some(*one),
            [] => {
                self.diags.push(
                    Diagnostic::error(value.span(), format!("{place} says nothing to check"))
                        .help("give one of: http = \"http://127.0.0.1:8000/health\", tls_days_left = \"example.com:443\",\ndns = \"example.com\", disk_free = \"/\"; or a shell command: check = \"…\""),
                );
                None
            }
            [first, second, ..] => {
                self.diags.push(
                    Diagnostic::error(
                        value.span(),
                        format!("{place} has both `{first}` and `{second}`"),
                    )
                    .help("a step checks one thing: split it into two steps"),
                );
                None
            }
        }
    }

    /// `check = { … }`: exactly one kind of check, and only the keys that kind takes.
    pub(crate) fn builtin_check(&mut self, value: &Value<'_>, place: &str) -> Option<BuiltinCheck> {
        let table: &DeTable<'_> = value.get_ref().as_table()?;
        let place = format!("the built-in check of {place}");
        let kind = self.check_kind(table, value, &place)?;
        let keys: &[&str] = match kind {
            "http" => &["http", "expect", "body"],
            "tls_days_left" | "disk_free" => &[kind, "min"],
            _ => &["dns", "expect"],
        };
        let f = Fields::new(table, value.span(), &place, keys, &mut self.diags);
        let subject = self.required_str(&f, kind, &place, "\"…\"")?;
        let template = self.template(&subject);
        let literal = template.vars().next().is_none();
        let text = subject.get_ref().trim();
        let bad = |why: String, help: &str| Diagnostic::error(subject.span(), why).help(help);
        match kind {
            "http" => {
                if literal && let Err(why) = http_url(text) {
                    self.diags.push(bad(
                        format!("`http` is not a URL gonogo can check: {why}"),
                        "for example: http = \"http://127.0.0.1:8000/health\"",
                    ));
                }
                let expect = match f.count("expect", 100..=599, &mut self.diags) {
                    Some(code) => u16::try_from(code.into_inner()).ok()?,
                    None => 200,
                };
                let body = self.regex(&f, "body");
                Some(BuiltinCheck::Http {
                    url: template,
                    expect,
                    body,
                })
            }
            "tls_days_left" => {
                if literal && let Err(why) = tls_address(text) {
                    self.diags.push(bad(
                        format!("`tls_days_left` is not host:port: {why}"),
                        "for example: tls_days_left = \"example.com:443\"",
                    ));
                }
                let min = f
                    .count("min", 0..=3650, &mut self.diags)
                    .map_or(14, Spanned::into_inner);
                Some(BuiltinCheck::TlsDaysLeft {
                    address: template,
                    min,
                })
            }
            "dns" => {
                if literal && (text.is_empty() || text.contains(char::is_whitespace)) {
                    self.diags.push(bad(
                        "`dns` must be one host name".into(),
                        "for example: dns = \"example.com\"",
                    ));
                }
                let expect = self.addresses(&f);
                Some(BuiltinCheck::Dns {
                    name: template,
                    expect,
                })
            }
            _ => {
                if literal && !text.starts_with('/') {
                    self.diags.push(bad(
                        "`disk_free` must be an absolute path".into(),
                        "for example: disk_free = \"/var/lib/postgresql\"",
                    ));
                }
                let min = self.free_space(&f, &place)?;
                Some(BuiltinCheck::DiskFree {
                    path: template,
                    min,
                })
            }
        }
    }

    /// IP addresses, or `{{vars}}` that will hold one.
    fn addresses(&mut self, f: &Fields<'_, '_>) -> Vec<Template> {
        let Some(items) = f.strings("expect", &mut self.diags) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let template = self.template(&item);
            let literal = template.vars().next().is_none();
            if literal && item.get_ref().trim().parse::<IpAddr>().is_err() {
                self.diags.push(
                    Diagnostic::error(
                        item.span(),
                        format!("{:?} is not an IP address", item.get_ref()),
                    )
                    .help("expect = \"203.0.113.10\" or a list: expect = [\"203.0.113.10\", \"2001:db8::10\"]"),
                );
                continue;
            }
            out.push(template);
        }
        out
    }

    fn free_space(&mut self, f: &Fields<'_, '_>, place: &str) -> Option<FreeSpace> {
        let Some(value) = f.get("min") else {
            self.diags.push(
                Diagnostic::error(f.span.clone(), format!("{place} has no `min`"))
                    .help("how much must be free: min = \"2G\" (K, M, G, T) or min = \"10%\""),
            );
            return None;
        };
        let Some(text) = value.get_ref().as_str() else {
            self.diags
                .push(wrong_type("min", value, "a string", "min = \"2G\""));
            return None;
        };
        match parse_free_space(text) {
            Ok(min) => Some(min),
            Err(why) => {
                self.diags.push(
                    Diagnostic::error(value.span(), format!("`min = {text:?}`: {why}"))
                        .help("for example: min = \"2G\", min = \"500M\" or min = \"10%\""),
                );
                None
            }
        }
    }
}

/// An `http://` or `https://` URL with a host.
pub fn http_url(text: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(text).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{}:` is not http or https", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it names no host".into());
    }
    Ok(())
}

/// `host:port`, or `host` for port 443: what a certificate is served at.
pub fn tls_address(text: &str) -> Result<(String, u16), String> {
    if text.contains("://") {
        return Err("give the host and port, not a URL".into());
    }
    let (host, port) = match text.rsplit_once(':') {
        // An IPv6 address without a port has colons of its own.
        Some((host, port)) if !port.contains(']') && !host.ends_with(':') => {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("`{port}` is not a port"))?;
            (host, port)
        }
        _ => (text, 443),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("it names no host".into());
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_reads_like_df_h_and_says_what_is_wrong() {
        assert_eq!(parse_free_space("2G"), Ok(FreeSpace::Bytes(2 << 30)));
        assert_eq!(parse_free_space("500M"), Ok(FreeSpace::Bytes(500 << 20)));
        assert_eq!(parse_free_space("1.5T"), Ok(FreeSpace::Bytes(3 << 39)));
        assert_eq!(parse_free_space("2GiB"), Ok(FreeSpace::Bytes(2 << 30)));
        assert_eq!(parse_free_space("10%"), Ok(FreeSpace::Percent(10)));
        assert!(parse_free_space("2").unwrap_err().contains("unit"));
        assert!(parse_free_space("2X").unwrap_err().contains("not a unit"));
        assert!(parse_free_space("150%").is_err());
        assert!(parse_free_space("G").is_err());
        assert_eq!(human_bytes(2 << 30), "2G");
        assert_eq!(human_bytes(3 << 29), "1.5G");
        assert_eq!(FreeSpace::Percent(10).to_string(), "10%");
    }

    #[test]
    fn a_tls_address_is_host_and_port_with_443_by_default() {
        assert_eq!(
            tls_address("example.com:8443"),
            Ok(("example.com".into(), 8443))
        );
        assert_eq!(tls_address("example.com"), Ok(("example.com".into(), 443)));
        assert_eq!(
            tls_address("[2001:db8::1]:443"),
            Ok(("2001:db8::1".into(), 443))
        );
        assert!(tls_address("https://example.com").is_err());
        assert!(tls_address("example.com:https").is_err());
        assert!(tls_address(":443").is_err());
    }
}
