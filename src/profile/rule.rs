//! Parsing the watch window's rollback rules, with errors that point inside the rule's text.
//! The rule types are the engine's (`engine::watch_rule`).

use std::time::Duration;

use crate::engine::watch_rule::{Condition, Op, Signal, Threshold, WatchRule};

/// What is wrong with a rule, where in its text (byte offset), and what would be right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub offset: usize,
    pub message: String,
    pub help: String,
}

const SIGNALS: [&str; 9] = [
    "error_ratio",
    "latency_p50",
    "latency_p90",
    "latency_p95",
    "latency_p99",
    "log_errors",
    "request_rate",
    "health",
    "new_errors",
];

struct Token<'a> {
    text: &'a str,
    at: usize,
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let is_op = |c: char| matches!(c, '<' | '>' | '=');
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let op = is_op(c);
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() || is_op(c) != op {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        out.push(Token {
            text: &text[start..end],
            at: start,
        });
    }
    out
}

fn err(at: usize, message: impl Into<String>, help: impl Into<String>) -> RuleError {
    RuleError {
        offset: at,
        message: message.into(),
        help: help.into(),
    }
}

type Tokens<'t, 'a> = std::iter::Peekable<std::slice::Iter<'t, Token<'a>>>;

pub fn parse_rule(text: &str) -> Result<WatchRule, RuleError> {
    let tokens = tokens(text);
    let mut it = tokens.iter().peekable();
    let Some(first) = it.next() else {
        return Err(err(
            0,
            "the rule is empty",
            "e.g. \"error_ratio > 5% for 1m\"",
        ));
    };
    let signal = parse_signal(first)?;
    let end = text.len();
    let condition = if signal == Signal::Health {
        parse_health(&mut it, end)?
    } else {
        parse_compare(&mut it, first, signal, end)?
    };
    let sustained = parse_sustained(&mut it, end)?;
    let tolerate = parse_tolerate(&mut it, sustained, end)?;
    if let Some(t) = it.next() {
        return Err(err(
            t.at,
            format!("unexpected `{}` after `tolerate`", t.text),
            "the rule ends after `tolerate N`",
        ));
    }
    Ok(WatchRule {
        text: text.to_string(),
        signal,
        condition,
        sustained,
        tolerate,
    })
}

/// `health failing`: the one condition a health rule has.
fn parse_health(it: &mut Tokens<'_, '_>, end: usize) -> Result<Condition, RuleError> {
    match it.next() {
        Some(t) if t.text == "failing" => Ok(Condition::Failing),
        other => Err(err(
            other.map_or(end, |t| t.at),
            "health rules have one condition: `failing`",
            "e.g. \"health failing for 30s\"",
        )),
    }
}

/// `OP THRESHOLD [baseline]` after any signal but health.
fn parse_compare(
    it: &mut Tokens<'_, '_>,
    first: &Token<'_>,
    signal: Signal,
    end: usize,
) -> Result<Condition, RuleError> {
    let op_token = it.next();
    let op = match op_token.map(|t| t.text) {
        Some(">") => Op::Above,
        Some(">=") => Op::AtLeast,
        Some("<") => Op::Below,
        Some("<=") => Op::AtMost,
        _ => {
            return Err(err(
                op_token.map_or(end, |t| t.at),
                format!("expected a comparison after `{}`", first.text),
                "use one of >, >=, <, <=",
            ));
        }
    };
    let Some(value) = it.next() else {
        return Err(err(end, "expected a threshold", example_for(signal)));
    };
    if value.text == "control" {
        return parse_over_control(it, signal, value, end)
            .map(|threshold| Condition::Compare { op, threshold });
    }
    let baseline = it.peek().is_some_and(|t| t.text == "baseline");
    let control = it.peek().is_some_and(|t| t.text == "control");
    if baseline || control {
        it.next();
    }
    let threshold = match parse_threshold(signal, value, baseline || control)? {
        Threshold::TimesBaseline(x) if control => Threshold::TimesControl(x),
        other => other,
    };
    Ok(Condition::Compare { op, threshold })
}

/// `control + N`: the control's value and a margin in the signal's own unit.
fn parse_over_control(
    it: &mut Tokens<'_, '_>,
    signal: Signal,
    control: &Token<'_>,
    end: usize,
) -> Result<Threshold, RuleError> {
    let help =
        "e.g. \"error_ratio > control + 2% for 1m\" or \"latency_p95 > 1.5x control for 1m\"";
    let plus = it.next();
    let margin = match plus {
        Some(t) if t.text == "+" => it.next().map(|t| (t.text, t.at)),
        Some(t) if t.text.starts_with('+') => Some((&t.text[1..], t.at + 1)),
        _ => None,
    };
    let Some((text, at)) = margin else {
        return Err(err(
            plus.map_or(end, |t| t.at),
            "expected `+ N` after `control`",
            help,
        ));
    };
    let token = Token { text, at };
    let threshold = match parse_threshold(signal, &token, false)? {
        Threshold::Percent(n) | Threshold::Seconds(n) | Threshold::PerMinute(n) => {
            Threshold::OverControl(n)
        }
        _ => {
            return Err(err(
                control.at,
                "new_errors has no control: it counts signatures new since the deploy",
                help,
            ));
        }
    };
    Ok(threshold)
}

/// The optional `for DURATION`; zero without it.
fn parse_sustained(it: &mut Tokens<'_, '_>, end: usize) -> Result<Duration, RuleError> {
    match it.next() {
        None => Ok(Duration::ZERO),
        Some(t) if t.text == "for" => {
            let Some(d) = it.next() else {
                return Err(err(
                    end,
                    "expected a duration after `for`",
                    "e.g. \"for 1m\"",
                ));
            };
            humantime::parse_duration(d.text).map_err(|e| {
                err(
                    d.at,
                    format!("`{}` is not a duration: {e}", d.text),
                    "e.g. 30s, 1m, 2m30s",
                )
            })
        }
        Some(t) => Err(err(
            t.at,
            format!("unexpected `{}`", t.text),
            "a rule may end with `for DURATION`, e.g. \"for 1m\"",
        )),
    }
}

/// The optional `tolerate N` after `for DURATION`.
fn parse_tolerate(
    it: &mut Tokens<'_, '_>,
    sustained: Duration,
    end: usize,
) -> Result<Option<u32>, RuleError> {
    let Some(t) = it.next() else {
        return Ok(None);
    };
    let n = it.next();
    let parsed = n.and_then(|n| n.text.parse::<u32>().ok().filter(|n| *n <= 100));
    match (t.text, parsed) {
        ("tolerate", Some(n)) if !sustained.is_zero() => Ok(Some(n)),
        ("tolerate", Some(_)) => Err(err(
            t.at,
            "`tolerate` needs a `for DURATION` before it",
            "e.g. \"error_ratio > 5% for 1m tolerate 2\"",
        )),
        ("tolerate", None) => Err(err(
            n.map_or(end, |n| n.at),
            "expected how many clean samples a hold tolerates (0 to 100)",
            "e.g. \"error_ratio > 5% for 1m tolerate 2\"",
        )),
        _ => Err(err(
            t.at,
            format!("unexpected `{}` after the duration", t.text),
            "the rule ends after `for DURATION` (and `tolerate N`)",
        )),
    }
}

fn parse_signal(token: &Token<'_>) -> Result<Signal, RuleError> {
    let signal = match token.text {
        "error_ratio" => Signal::ErrorRatio,
        "log_errors" => Signal::LogErrors,
        "request_rate" => Signal::RequestRate,
        "health" => Signal::Health,
        "new_errors" => Signal::NewErrors,
        other => match other.strip_prefix("latency_p").map(str::parse::<u8>) {
            Some(Ok(p)) if [50, 90, 95, 99].contains(&p) => Signal::Latency { percentile: p },
            _ => {
                let help = match super::diag::did_you_mean(other, SIGNALS) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("signals: {}", SIGNALS.join(", ")),
                };
                return Err(err(token.at, format!("unknown signal `{other}`"), help));
            }
        },
    };
    Ok(signal)
}

fn example_for(signal: Signal) -> &'static str {
    match signal {
        Signal::ErrorRatio => {
            "a percentage, a multiple of the baseline or a margin over the control: 5%, 2x baseline or control + 2%"
        }
        Signal::Latency { .. } => {
            "a time or a multiple of the baseline: 800ms, 1.5s or 1.5x baseline"
        }
        Signal::LogErrors => "a rate: 20/min or 1/s",
        Signal::RequestRate => "a rate or a multiple of the baseline: 100/s or 0.5x baseline",
        Signal::Health => "health rules take `failing`",
        Signal::NewErrors => "a count of error signatures new since the deploy: new_errors > 0",
    }
}

fn parse_threshold(
    signal: Signal,
    token: &Token<'_>,
    baseline: bool,
) -> Result<Threshold, RuleError> {
    let text = token.text;
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_end);
    let bad = |message: String| err(token.at, message, example_for(signal));
    let value: f64 = number
        .parse()
        .map_err(|_| bad(format!("`{text}` is not a number with a unit")))?;
    let threshold = match (unit, baseline) {
        ("x", true) => Threshold::TimesBaseline(value),
        ("x", false) => {
            return Err(bad(format!(
                "`{text}` of what? write `{text} baseline` or `{text} control`"
            )));
        }
        (_, true) => {
            return Err(bad(format!(
                "`{text} baseline`: a baseline multiple is written like 1.5x"
            )));
        }
        ("%", false) => Threshold::Percent(value),
        ("ms", false) => Threshold::Seconds(value / 1000.0),
        ("s", false) => Threshold::Seconds(value),
        ("/min" | "/m", false) => Threshold::PerMinute(value),
        ("/s", false) => Threshold::PerMinute(value * 60.0),
        ("", false) if signal == Signal::NewErrors => Threshold::Count(value),
        ("", false) => return Err(bad(format!("`{text}` needs a unit"))),
        (other, false) => return Err(bad(format!("unknown unit `{other}`"))),
    };
    let fits = matches!(
        (signal, threshold),
        (
            Signal::ErrorRatio,
            Threshold::Percent(_) | Threshold::TimesBaseline(_)
        ) | (
            Signal::Latency { .. },
            Threshold::Seconds(_) | Threshold::TimesBaseline(_)
        ) | (Signal::LogErrors, Threshold::PerMinute(_))
            | (Signal::NewErrors, Threshold::Count(_))
            | (
                Signal::RequestRate,
                Threshold::PerMinute(_) | Threshold::TimesBaseline(_)
            )
    );
    if !fits {
        return Err(bad(format!("`{text}` does not fit this signal")));
    }
    Ok(threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_error_signatures_are_counted() {
        let r = parse_rule("new_errors > 0 for 30s").expect("valid");
        assert_eq!(r.signal, Signal::NewErrors);
        assert_eq!(
            r.condition,
            Condition::Compare {
                op: Op::Above,
                threshold: Threshold::Count(0.0)
            }
        );
        assert!(parse_rule("new_errors > 5%").is_err());
        assert!(
            parse_rule("log_errors > 20").is_err(),
            "a rate needs its unit"
        );
    }

    #[test]
    fn the_design_rules_parse() {
        let r = parse_rule("error_ratio > 5% for 1m").expect("valid");
        assert_eq!(r.signal, Signal::ErrorRatio);
        assert_eq!(
            r.condition,
            Condition::Compare {
                op: Op::Above,
                threshold: Threshold::Percent(5.0)
            }
        );
        assert_eq!(r.sustained, Duration::from_secs(60));

        let r = parse_rule("latency_p95 > 1.5x baseline for 2m").expect("valid");
        assert_eq!(r.signal, Signal::Latency { percentile: 95 });
        assert_eq!(
            r.condition,
            Condition::Compare {
                op: Op::Above,
                threshold: Threshold::TimesBaseline(1.5)
            }
        );

        let r = parse_rule("health failing for 30s").expect("valid");
        assert_eq!(
            (r.condition, r.sustained),
            (Condition::Failing, Duration::from_secs(30))
        );

        let r = parse_rule("log_errors > 20/min").expect("valid");
        assert_eq!(r.sustained, Duration::ZERO);
        assert_eq!(
            r.condition,
            Condition::Compare {
                op: Op::Above,
                threshold: Threshold::PerMinute(20.0)
            }
        );
    }

    #[test]
    fn errors_point_inside_the_rule() {
        let e = parse_rule("error_ratio > 5 for 1m").unwrap_err();
        assert_eq!(e.offset, 14);
        let e = parse_rule("eror_ratio > 5%").unwrap_err();
        assert_eq!(
            (e.offset, e.help.as_str()),
            (0, "did you mean `error_ratio`?")
        );
        let e = parse_rule("latency_p95 > 1.5x baseline for soon").unwrap_err();
        assert_eq!(e.offset, 32);
        let e = parse_rule("log_errors > 20%").unwrap_err();
        assert_eq!(e.offset, 13);
        let e = parse_rule("health > 1").unwrap_err();
        assert_eq!(e.offset, 7);
        assert!(parse_rule("").is_err());
        assert!(parse_rule("error_ratio > 5% for 1m please").is_err());
    }

    #[test]
    fn rules_compare_with_the_control() {
        let threshold = |text: &str| match parse_rule(text).expect(text).condition {
            Condition::Compare { threshold, .. } => threshold,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            threshold("error_ratio > control + 2% for 1m"),
            Threshold::OverControl(2.0)
        );
        assert_eq!(
            threshold("error_ratio > control +2%"),
            Threshold::OverControl(2.0)
        );
        assert_eq!(
            threshold("latency_p95 > 1.5x control for 1m"),
            Threshold::TimesControl(1.5)
        );
        assert_eq!(
            threshold("latency_p95 > control + 200ms"),
            Threshold::OverControl(0.2)
        );
        assert_eq!(
            threshold("log_errors > control + 10/min"),
            Threshold::OverControl(10.0)
        );
        let e = parse_rule("error_ratio > control 2%").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (22, "expected `+ N` after `control`")
        );
        let e = parse_rule("log_errors > control + 2%").unwrap_err();
        assert_eq!(e.offset, 23);
        assert!(parse_rule("new_errors > control + 1").is_err());
        assert!(
            parse_rule("error_ratio > 1.5x")
                .unwrap_err()
                .message
                .contains("1.5x control")
        );
    }
}
