//! Error signatures: an error line with its variable parts (times, ids, addresses, numbers,
//! quoted values) replaced by placeholders, so a thousand repeats of one error are one
//! signature, and an error that first appears after the deploy stands out from the noise the
//! hosts already had. A stack trace is signed by its exception line (see `engine::trace`); an
//! access log line by its route and status (`POST /checkout 500`), so the 500 a traceback
//! caused is one signature however many clients and times it has.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};

use super::event::Millis;

/// Signatures kept per release. A host that logs unbounded distinct errors must not grow the
/// release without limit; what is not kept is counted.
pub const SIGNATURES_KEPT: usize = 1000;

/// Signatures first seen before the deploy may take at most this many of the places kept, so
/// a noisy baseline cannot crowd out the new errors the watch window exists to show.
pub const BASELINE_SIGNATURES_KEPT: usize = SIGNATURES_KEPT * 3 / 4;

/// Longest example line kept per signature (characters).
pub const EXAMPLE_CHARS: usize = 240;

/// Longest part of a line that is normalised: a signature is a key, not a copy of the line.
const SIGNED_CHARS: usize = 1000;

const MONTH: &str = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";

/// One pass over the line: at each position the alternatives are tried in order (leftmost
/// first), so a timestamp wins over the numbers inside it and an address over its octets.
static VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    let b = r"(?-u:\b)"; // ASCII word boundary: keeps the fast engines on non-ASCII text
    let x = "[0-9a-fA-F]";
    let ts = [
        // ISO 8601 / RFC 3339 / journalctl short-iso: 2026-11-23T11:02:03.123+0000
        format!(
            r"{b}[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}(?:[T ][0-9]{{2}}:[0-9]{{2}}(?::[0-9]{{2}}(?:[.,][0-9]+)?)?(?:Z|[+-][0-9]{{2}}:?[0-9]{{2}}{b})?)?"
        ),
        // syslog: Nov 23 11:02:03
        format!(r"{b}{MONTH} +[0-9]{{1,2}} [0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}{b}"),
        // common log format: [23/Nov/2026:11:02:03 +0000]
        format!(r"\[[0-9]{{2}}/{MONTH}/[0-9]{{4}}:[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}} [+-][0-9]{{4}}\]"),
        // a time of day alone: 11:02:03.123
        format!(r"{b}[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(?:[.,][0-9]+)?{b}"),
    ]
    .join("|");
    let pattern = [
        // An apostrophe after a letter is part of a word ("can't"), not the start of a quote.
        "(?P<apos>[A-Za-z]')".to_string(),
        r#"(?P<q>"(?:[^"\\]|\\.)*"|'[^'\n]*')"#.to_string(),
        format!("(?P<ts>{ts})"),
        format!(r"(?P<uuid>{b}{x}{{8}}-{x}{{4}}-{x}{{4}}-{x}{{4}}-{x}{{12}}{b})"),
        format!(r"(?P<ip>{b}[0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3}}(?::[0-9]{{1,5}})?{b})"),
        format!(r"(?P<hex>{b}0[xX]{x}+{b})"),
        // A word of hex digits with at least one digit: a number, an id, or a word with digits.
        format!(r"(?P<run>{b}{x}*[0-9]{x}*(?:\.[0-9]+)?{b})"),
        r"(?P<n>[0-9]+(?:\.[0-9]+)?)".to_string(),
        r"(?P<ws>\s+)".to_string(),
    ]
    .join("|");
    Regex::new(&pattern).expect("the signature pattern compiles")
});

/// A common or combined log format access line (gunicorn, nginx, Apache): the method, the
/// path and the status.
static ACCESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\[[^\]]+\] "([A-Z]{3,10}) ([^" ?]+)[^"]*" ([1-5][0-9]{2})(?:\s|$)"#)
        .expect("the access line pattern compiles")
});

/// The key an error line is counted under: an access log line's route and status
/// (`POST /checkout 500`, the path's ids replaced and its query left out), any other line's
/// [`signature`].
pub fn key(line: &str) -> String {
    let line = cap_chars(line, SIGNED_CHARS);
    match ACCESS.captures(line) {
        Some(c) => format!("{} {} {}", &c[1], signature(&c[2]), &c[3]),
        None => signature(line),
    }
}

/// The signature of an error line: what stays when the parts that differ between repeats of
/// one error are replaced by `<ts>`, `<uuid>`, `<ip>`, `<hex>`, `<n>` and `<q>`, with runs of
/// whitespace made one space. `signature(signature(x)) == signature(x)`.
pub fn signature(line: &str) -> String {
    let replaced = VARIABLE.replace_all(line, |caps: &Captures| {
        let placeholder = if let Some(word) = caps.name("apos") {
            return word.as_str().to_string();
        } else if caps.name("q").is_some() {
            "<q>"
        } else if caps.name("ts").is_some() {
            "<ts>"
        } else if caps.name("uuid").is_some() {
            "<uuid>"
        } else if caps.name("ip").is_some() {
            "<ip>"
        } else if caps.name("hex").is_some() {
            "<hex>"
        } else if let Some(run) = caps.name("run") {
            return hex_word(run.as_str());
        } else if caps.name("n").is_some() {
            "<n>"
        } else {
            " "
        };
        placeholder.to_string()
    });
    replaced.trim().to_string()
}

/// What [`ErrorSignatures::record`] made of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    /// First seen after the deploy began: an error the release may have brought.
    New,
    /// First seen before the deploy: part of the baseline, never new.
    Baseline,
    /// Seen before (before or after the deploy).
    Repeat,
    /// Not kept: the table is full. Counted in [`ErrorSignatures::dropped`].
    Dropped,
}

/// One signature and what the cockpit shows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureSeen {
    pub signature: String,
    /// Lines with this signature, from its first one on.
    pub count: u64,
    pub first_at: Millis,
    pub last_at: Millis,
    /// The first line seen with this signature, capped at [`EXAMPLE_CHARS`].
    pub example: String,
    /// Seen before the deploy began: a repeat after it is not new.
    pub before_deploy: bool,
    /// The targets whose logs had it, in the order they first did.
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// The error signatures of one release, counted from the first error line on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSignatures {
    seen: BTreeMap<String, SignatureSeen>,
    baseline: usize,
    dropped: u64,
}

impl ErrorSignatures {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts an error line (or a trace's exception line) seen at `at` in the logs of `host`;
    /// `after_deploy` says whether the deploy (the first `run` step) had begun.
    pub fn record(&mut self, line: &str, at: Millis, after_deploy: bool, host: &str) -> Seen {
        let key = key(line);
        if let Some(entry) = self.seen.get_mut(&key) {
            entry.count += 1;
            entry.first_at = entry.first_at.min(at);
            entry.last_at = entry.last_at.max(at);
            if !entry.hosts.iter().any(|h| h == host) {
                entry.hosts.push(host.to_string());
            }
            return Seen::Repeat;
        }
        let full = self.seen.len() >= SIGNATURES_KEPT
            || (!after_deploy && self.baseline >= BASELINE_SIGNATURES_KEPT);
        if full {
            self.dropped += 1;
            return Seen::Dropped;
        }
        if !after_deploy {
            self.baseline += 1;
        }
        let example = example_of(line);
        self.seen.insert(
            key.clone(),
            SignatureSeen {
                signature: key,
                count: 1,
                first_at: at,
                last_at: at,
                example,
                before_deploy: !after_deploy,
                hosts: vec![host.to_string()],
            },
        );
        if after_deploy {
            Seen::New
        } else {
            Seen::Baseline
        }
    }

    /// Signatures first seen after the deploy began, oldest first.
    pub fn new_since_deploy(&self) -> Vec<&SignatureSeen> {
        let mut new: Vec<&SignatureSeen> =
            self.seen.values().filter(|s| !s.before_deploy).collect();
        new.sort_by(|a, b| (a.first_at, &a.signature).cmp(&(b.first_at, &b.signature)));
        new
    }

    /// Signatures first seen after the deploy began, the most frequent first (then the
    /// oldest): the order a rollback proposal and the report list them in.
    pub fn new_by_count(&self) -> Vec<&SignatureSeen> {
        let mut new = self.new_since_deploy();
        new.sort_by(|a, b| b.count.cmp(&a.count).then(a.first_at.cmp(&b.first_at)));
        new
    }

    /// How many signatures are new since the deploy (the `new_errors` signal).
    pub fn new_count(&self) -> usize {
        self.seen.len() - self.baseline
    }

    /// The signature of `line`, if it is kept.
    pub fn get(&self, line: &str) -> Option<&SignatureSeen> {
        self.seen.get(&key(line))
    }

    /// Every signature kept, in signature order.
    pub fn all(&self) -> impl Iterator<Item = &SignatureSeen> {
        self.seen.values()
    }

    /// Error lines whose signature was not kept because the table was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// A word made of hex digits with at least one digit: all digits is a number (so 1234567 and
/// 12345678 sign alike), eight or more is an id; a shorter one keeps its letters.
fn hex_word(word: &str) -> String {
    let (whole, fraction) = word.split_once('.').unwrap_or((word, ""));
    let fraction = if fraction.is_empty() { "" } else { ".<n>" };
    if whole.bytes().all(|c| c.is_ascii_digit()) {
        return "<n>".to_string();
    }
    if whole.len() >= 8 {
        return format!("<hex>{fraction}");
    }
    let mut out = String::with_capacity(word.len() + 8);
    let mut in_digits = false;
    for c in whole.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push_str("<n>");
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out.push_str(fraction);
    out
}

fn cap_chars(line: &str, max: usize) -> &str {
    match line.char_indices().nth(max) {
        Some((end, _)) => &line[..end],
        None => line,
    }
}

fn example_of(line: &str) -> String {
    let capped = cap_chars(line.trim(), EXAMPLE_CHARS);
    if capped.len() < line.trim().len() {
        format!("{capped}…")
    } else {
        capped.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn variable_parts_become_placeholders() {
        let cases = [
            (
                "2026-11-23T11:02:03.123+0000 web-1 gunicorn[4121]: ERROR timeout after 30s",
                "<ts> web-<n> gunicorn[<n>]: ERROR timeout after <n>s",
            ),
            (
                "Nov 23 11:02:03 web-1 app: CRITICAL db down",
                "<ts> web-<n> app: CRITICAL db down",
            ),
            (
                r#"10.0.0.7 - - [23/Nov/2026:11:02:03 +0000] "GET /cart HTTP/1.1" 502 173"#,
                "<ip> - - <ts> <q> <n> <n>",
            ),
            (
                "request 550e8400-e29b-41d4-a716-446655440000 failed",
                "request <uuid> failed",
            ),
            (
                "segfault at 0x7ffd3a2c in worker a3f9c0d12e",
                "segfault at <hex> in worker <hex>",
            ),
            (
                "cannot connect to 10.1.2.3:5432: refused",
                "cannot connect to <ip>: refused",
            ),
            (
                "user 'alice' not found in \"people\"",
                "user <q> not found in <q>",
            ),
            ("  ERROR\t  worker   died  ", "ERROR worker died"),
            ("took 1.25 s at 11:02:03,517", "took <n> s at <ts>"),
            (
                "pid 1234567 and 12345678, user42 ab12",
                "pid <n> and <n>, user<n> ab<n>",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(signature(line), expected, "{line}");
        }
    }

    #[test]
    fn words_and_apostrophes_are_kept() {
        // A word of hex letters is a word; an apostrophe inside a word opens no quote.
        assert_eq!(
            signature("can't reach deadbeef's cache: it's 'down'"),
            "can't reach deadbeef's cache: it's <q>"
        );
    }

    #[test]
    fn repeats_of_one_error_share_a_signature_and_other_errors_do_not() {
        let a = signature("2026-11-23T11:02:03Z ERROR order 1234 failed: id=9f8e7d6c5b4a");
        let b = signature("2026-11-24T08:00:59Z ERROR order 99 failed: id=0a1b2c3d4e5f");
        let other = signature("2026-11-23T11:02:03Z ERROR payment 1234 failed: id=9f8e7d6c5b4a");
        assert_eq!(a, b);
        assert_ne!(a, other);
    }

    #[test]
    fn an_error_first_seen_after_the_deploy_is_new_and_a_baseline_one_never_is() {
        let mut sigs = ErrorSignatures::new();
        assert_eq!(
            sigs.record("ERROR cache miss storm 12", 1_000, false, "web-1"),
            Seen::Baseline
        );
        assert_eq!(
            sigs.record("ERROR cache miss storm 40", 5_000, true, "web-1"),
            Seen::Repeat
        );
        assert_eq!(
            sigs.record("ERROR column users.plan missing", 6_000, true, "web-1"),
            Seen::New
        );
        assert_eq!(
            sigs.record("ERROR column users.plan missing", 9_000, true, "web-1"),
            Seen::Repeat
        );

        let new = sigs.new_since_deploy();
        assert_eq!(new.len(), 1);
        assert_eq!(sigs.new_count(), 1);
        assert_eq!(new[0].signature, "ERROR column users.plan missing");
        assert_eq!(
            (new[0].count, new[0].first_at, new[0].last_at),
            (2, 6_000, 9_000)
        );
        let old = sigs.get("ERROR cache miss storm 7").expect("kept");
        assert_eq!((old.count, old.before_deploy), (2, true));
    }

    #[test]
    fn the_table_is_capped_and_says_how_many_lines_it_dropped() {
        let mut sigs = ErrorSignatures::new();
        let word = |i: usize| format!("ERROR kind {}", char::from_u32(0x4e00 + i as u32).unwrap());
        for i in 0..BASELINE_SIGNATURES_KEPT + 5 {
            sigs.record(&word(i), 1, false, "web-1");
        }
        assert_eq!(sigs.dropped(), 5);
        // The baseline's share is full, but new errors after the deploy still find room.
        assert_eq!(sigs.record("ERROR brand new", 2, true, "web-1"), Seen::New);
        for i in 0..SIGNATURES_KEPT - BASELINE_SIGNATURES_KEPT - 1 {
            assert_eq!(sigs.record(&word(10_000 + i), 3, true, "web-1"), Seen::New);
        }
        assert_eq!(sigs.all().count(), SIGNATURES_KEPT);
        assert_eq!(sigs.dropped(), 5);
        assert_eq!(
            sigs.record("ERROR one too many", 4, true, "web-1"),
            Seen::Dropped
        );
        assert_eq!(sigs.dropped(), 6);
        // Repeats of kept signatures are still counted when full.
        assert_eq!(
            sigs.record("ERROR brand new", 5, true, "web-1"),
            Seen::Repeat
        );
    }

    #[test]
    fn examples_are_capped_and_signatures_survive_a_journal_round_trip() {
        let mut sigs = ErrorSignatures::new();
        let long = format!("ERROR {}", "é".repeat(2 * EXAMPLE_CHARS));
        sigs.record(&long, 7, true, "web-1");
        let example = &sigs.new_since_deploy()[0].example;
        assert_eq!(example.chars().count(), EXAMPLE_CHARS + 1);
        assert!(example.ends_with('…'));
        let json = serde_json::to_string(&sigs).unwrap();
        let back: ErrorSignatures = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sigs);
    }

    /// One kind of variable part, rendered from a seed: two seeds give two values of a kind.
    fn variable(kind: usize, seed: u64) -> String {
        let h = format!("{:032x}", u128::from(seed) * 0x9e37_79b9_7f4a_7c15 + 1);
        match kind {
            0 => (seed % 1_000_000_000).to_string(),
            1 => format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            ),
            2 => format!("0x{seed:x}"),
            3 => {
                let o = seed.to_be_bytes();
                format!("{}.{}.{}.{}:{}", o[0], o[1], o[2], o[3], seed % 65_536)
            }
            4 => format!(
                "2026-11-23T10:{:02}:{:02}.{}Z",
                seed % 60,
                seed / 60 % 60,
                seed % 1000
            ),
            5 => format!(
                "Nov {:2} 10:{:02}:{:02}",
                seed % 28 + 1,
                seed % 60,
                seed / 60 % 60
            ),
            _ => format!("'{}'", &h[..(seed % 20) as usize]),
        }
    }

    proptest! {
        #[test]
        fn signing_is_idempotent(line in "\\PC{0,80}") {
            let once = signature(&line);
            prop_assert_eq!(signature(&once), once);
        }

        #[test]
        fn signing_is_idempotent_on_log_like_lines(
            line in "[ a-zA-Z0-9.:'\"=/x_-]{0,80}",
        ) {
            let once = signature(&line);
            prop_assert_eq!(signature(&once), once);
        }

        #[test]
        fn lines_differing_only_in_ids_share_a_signature(
            message in "(ERROR|WARN) [a-z]{3,10} (failed|refused|timed out)",
            kind in 0usize..7,
            first in any::<u64>(),
            second in any::<u64>(),
        ) {
            let (first, second) = (variable(kind, first), variable(kind, second));
            let a = format!("{message} for {first} at {first}");
            let b = format!("{message} for {second} at {second}");
            prop_assert_eq!(signature(&a), signature(&b));
        }

        #[test]
        fn different_messages_keep_different_signatures(
            a in "[a-z]{3,10}",
            b in "[a-z]{3,10}",
            n in 0u32..100_000,
        ) {
            prop_assume!(a != b);
            prop_assert_ne!(
                signature(&format!("ERROR {a} failed {n}")),
                signature(&format!("ERROR {b} failed {n}"))
            );
        }
    }
}
