//! The report as GitHub-flavoured Markdown that fits a job summary as it is: headings, tables,
//! lists and fenced blocks, no terminal escapes. Every value from the journal is made printable
//! and has the characters Markdown would read as markup escaped, so a step name, a note or a
//! host's error shows as text and never as a link, an image, HTML or a broken table.

use std::fmt::Write as _;

use super::Report;
use super::checklist::ChecklistItem;
use super::health::{CheckOverWatch, MetricsOverWatch, RuleOverWatch, Span};
use super::history::{CheckNow, GateHealth};
use super::summary::ReportOutcome;
use super::words::{clock, date_time, millis, percent, took};
use crate::text::printable;

/// A value as Markdown text: printable, markup escaped (tables included: `|` is escaped).
pub fn text(s: &str) -> String {
    let shown = printable(s);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '['
                | ']'
                | '<'
                | '>'
                | '|'
                | '&'
                | '#'
                | '~'
                | '$'
                | '!'
                | '{'
                | '}'
                | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A fenced block whose fence no line of `body` can close.
fn fence(lang: &str, body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest.max(2) + 1);
    let mut out = format!("{ticks}{lang}\n");
    for line in body.trim_end_matches('\n').split('\n') {
        out.push_str(&printable(line));
        out.push('\n');
    }
    out.push_str(&ticks);
    out.push('\n');
    out
}

fn at(ms: Option<u64>) -> String {
    ms.map_or_else(|| "unknown".into(), date_time)
}

fn ms_of(rfc3339: &Option<String>) -> Option<u64> {
    rfc3339.as_deref().and_then(crate::journal::parse_timestamp)
}

pub fn to_markdown(r: &Report) -> String {
    let mut md = String::new();
    summary(&mut md, r);
    if let Some(ships) = &r.ships {
        super::ships::to_markdown(&mut md, ships);
    }
    checklist(&mut md, "Checklist", &r.checklist);
    if !r.rollback.is_empty() {
        checklist(&mut md, "Rollback", &r.rollback);
    }
    timeline(&mut md, r);
    health(&mut md, r);
    new_errors(&mut md, r);
    record(&mut md, r);
    let _ = writeln!(md, "## Status message\n");
    md.push_str(&fence("text", &r.status_message));
    md
}

fn summary(md: &mut String, r: &Report) {
    let s = &r.summary;
    let version = s
        .version
        .as_deref()
        .map_or(String::new(), |v| format!(" {}", text(v)));
    let _ = writeln!(
        md,
        "# Release report: {}{version} to {}\n",
        text(&s.release),
        text(&s.environment)
    );
    let outcome = match s.outcome {
        ReportOutcome::Released => "✅ **released**",
        ReportOutcome::RolledBack => "⚠️ **rolled back**",
        ReportOutcome::Aborted => "⛔ **aborted**",
        ReportOutcome::Refused => "⛔ **refused to start**",
        ReportOutcome::Unknown => "❓ **outcome unknown**",
    };
    let reason = s
        .reason
        .as_deref()
        .map_or(String::new(), |why| format!(": {}", text(why)));
    let interrupted = crate::summary::interrupted_words_of(s.interruptions.len())
        .map_or(String::new(), |w| format!(" ({w})"));
    let _ = writeln!(md, "{outcome}{interrupted}{reason}\n");
    if let Some(rehearsal) = &s.rehearsal {
        let _ = writeln!(md, "> **Rehearsal:** {}\n", text(rehearsal));
    }
    let _ = writeln!(md, "| | |\n|---|---|");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(md, "| {k} | {v} |");
    };
    row("Release", text(&s.release));
    row("Version", s.version.as_deref().map_or("none".into(), text));
    if let Some(ships) = &r.ships {
        row("Previous version", text(&ships.previous_said));
        row("Rollback target", text(&ships.rollback_target));
    }
    let production = if s.production && s.environment != "production" {
        " (production)"
    } else {
        ""
    };
    row(
        "Environment",
        format!("{}{production}", text(&s.environment)),
    );
    row("Operator", text(&s.operator));
    row("Started", at(s.started_ms));
    row(
        "Ended",
        s.ended_ms.map_or_else(
            || "unknown: the journal ends before the release did".into(),
            date_time,
        ),
    );
    row("Duration", s.duration_ms.map_or("unknown".into(), took));
    row("Outcome", s.outcome.words().to_string());
    if !s.interruptions.is_empty() {
        let said: Vec<String> = s.interruptions.iter().map(|i| text(&i.text)).collect();
        row("Interrupted", said.join("<br>"));
    }
    row("Session", text(&s.session));
    if !s.profile.is_empty() {
        let sha = s.profile_sha256.get(..12).unwrap_or(&s.profile_sha256);
        row(
            "Profile",
            format!("{} (sha256 {}…)", text(&s.profile), text(sha)),
        );
    }
    md.push('\n');
    for w in &r.journal_warnings {
        let _ = writeln!(md, "> **Journal:** {}", text(w));
    }
    if !r.journal_warnings.is_empty() {
        md.push('\n');
    }
}

fn checklist(md: &mut String, title: &str, items: &[ChecklistItem]) {
    let _ = writeln!(md, "## {title}\n");
    if items.is_empty() {
        let _ = writeln!(md, "No steps.\n");
        return;
    }
    let _ = writeln!(
        md,
        "| # | Step | Result | Who / when | Notes |\n|---|---|---|---|---|"
    );
    for i in items {
        let kind = match i.kind {
            "gate" => "gate".to_string(),
            "manual" => "manual".to_string(),
            // What the analysis held against what: "web-1 against web-2, web-3 (control) …".
            "analysis" => format!("analysis: {}", text(&i.text)),
            k => format!("{k} on {}", text(&i.targets.join(", "))),
        };
        let irreversible = if i.irreversible { ", irreversible" } else { "" };
        let phase = if i.phase.is_empty() {
            String::new()
        } else {
            format!("{}: ", text(&i.phase))
        };
        let step = format!("{phase}{} ({kind}{irreversible})", text(&i.name));
        let who: Vec<String> = i
            .decisions
            .iter()
            .map(|d| format!("{} {}, {}", text(&d.by), text(&d.decision), clock(d.at_ms)))
            .collect();
        let who = if who.is_empty() {
            match (ms_of(&i.started), ms_of(&i.finished)) {
                (Some(a), Some(b)) => format!("{}–{}", clock(a), clock(b)),
                (Some(a), None) => format!("from {}", clock(a)),
                _ => String::new(),
            }
        } else {
            who.join("<br>")
        };
        let mut notes: Vec<String> = Vec::new();
        if let Some(why) = &i.skip_reason {
            notes.push(format!("skipped: {}", text(why)));
        }
        for d in &i.decisions {
            if let Some(n) = &d.note {
                notes.push(text(n));
            }
        }
        for run in &i.runs {
            let mut said = Vec::new();
            if run.attempts > 1 {
                said.push(format!("{} attempts", run.attempts));
            }
            if let Some(f) = &run.failure {
                said.push(text(f));
            }
            if let Some(how) = &run.stopped {
                said.push(text(how));
            }
            if let Some(undo) = &run.undo {
                said.push(text(undo));
            }
            if !said.is_empty() {
                notes.push(format!("{}: {}", text(&run.target), said.join(", ")));
            }
        }
        let _ = writeln!(
            md,
            "| {} | {step} | {} | {who} | {} |",
            i.number,
            i.result.mark(),
            notes.join("<br>")
        );
    }
    md.push('\n');
}

fn timeline(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Timeline\n");
    if r.timeline.is_empty() {
        let _ = writeln!(md, "Nothing happened: the journal holds no events.\n");
        return;
    }
    for m in &r.timeline {
        let _ = writeln!(md, "- {} {}", clock(m.at_ms), text(&m.text));
    }
    if r.summary.outcome == ReportOutcome::Unknown
        && let Some(why) = &r.summary.reason
    {
        let _ = writeln!(md, "- {}", text(why));
    }
    md.push('\n');
}

fn health(md: &mut String, r: &Report) {
    let h = &r.health;
    let _ = writeln!(md, "## Health\n");
    health_at_gates(md, &h.at_gates);
    let _ = writeln!(md, "### Across the watch window\n");
    let Some(span) = &h.watch else {
        let _ = writeln!(md, "The watch window did not run.\n");
        return;
    };
    watch_span(md, span);
    watch_rules(md, &h.rules);
    if h.checks.is_empty() && h.metrics.is_empty() {
        let _ = writeln!(md, "No health check or metrics sample during the watch.\n");
        return;
    }
    watch_checks(md, &h.checks);
    watch_metrics(md, &h.metrics);
}

/// The health table at each answered gate: one row per gate.
fn health_at_gates(md: &mut String, at_gates: &[GateHealth]) {
    let _ = writeln!(md, "### At each gate\n");
    if at_gates.is_empty() {
        let _ = writeln!(md, "No gate was answered.\n");
        return;
    }
    let _ = writeln!(
        md,
        "| Gate | Answer | Health checks | Error ratio | Latency p95 |\n|---|---|---|---|---|"
    );
    for g in at_gates {
        gate_row(md, g);
    }
    md.push('\n');
}

/// One gate's row: its answer, each health check as it stood then, and the metrics.
fn gate_row(md: &mut String, g: &GateHealth) {
    let checks: Vec<String> = g.checks.iter().map(gate_check).collect();
    let checks = if checks.is_empty() {
        "–".to_string()
    } else {
        checks.join("<br>")
    };
    let _ = writeln!(
        md,
        "| {} | {} by {}, {} | {checks} | {} | {} |",
        text(&g.gate),
        text(&g.answer),
        text(&g.by),
        clock(g.at_ms),
        g.error_ratio.map_or("–".into(), percent),
        g.latency_p95_ms.map_or("–".into(), millis)
    );
}

/// A health check at a gate: its name, where it ran from, and ok or why it failed.
fn gate_check(c: &CheckNow) -> String {
    let via = c
        .via
        .as_deref()
        .map_or(String::new(), |v| format!(" via {}", text(v)));
    let state = if c.ok {
        "ok".to_string()
    } else {
        format!(
            "failing ({})",
            text(c.error.as_deref().unwrap_or("no answer"))
        )
    };
    format!("{}{via}: {state}", text(&c.check))
}

/// When the watch window ran, and whether the journal ends before it did.
fn watch_span(md: &mut String, span: &Span) {
    let cut = if span.cut_off {
        " (the journal ends before the watch did)"
    } else {
        ""
    };
    let _ = writeln!(
        md,
        "{}–{}, {}{cut}.\n",
        clock(span.from_ms),
        clock(span.to_ms),
        took(span.to_ms.saturating_sub(span.from_ms))
    );
}

/// How each watch rule judged the window.
fn watch_rules(md: &mut String, rules: &[RuleOverWatch]) {
    if rules.is_empty() {
        return;
    }
    let _ = writeln!(md, "| Rule | How it judged |\n|---|---|");
    for r in rules {
        let _ = writeln!(md, "| `{}` | {} |", text(&r.rule), text(&r.verdict));
    }
    md.push('\n');
}

/// Each health check over the watch: how often ok, how often failing, and the last answer.
fn watch_checks(md: &mut String, checks: &[CheckOverWatch]) {
    if checks.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "| Health check | Via | OK | Failing | Last |\n|---|---|---|---|---|"
    );
    for c in checks {
        let last = match c.last_ok {
            Some(true) => "ok".to_string(),
            Some(false) => format!(
                "failing ({})",
                text(c.last_error.as_deref().unwrap_or("no answer"))
            ),
            None => "–".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {last} |",
            text(&c.check),
            c.via.as_deref().map_or("this machine".into(), text),
            c.ok,
            c.failing
        );
    }
    md.push('\n');
}

/// Each metrics source over the watch: a row per signal that was sampled or has a baseline.
fn watch_metrics(md: &mut String, metrics: &[MetricsOverWatch]) {
    if metrics.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "| Metrics | Signal | Baseline | Lowest | Highest | Last |\n|---|---|---|---|---|---|"
    );
    for m in metrics {
        metrics_rows(md, m);
    }
    md.push('\n');
}

/// One metrics source's rows: the error ratio and the latency p95.
fn metrics_rows(md: &mut String, m: &MetricsOverWatch) {
    let via = m
        .via
        .as_deref()
        .map_or(String::new(), |v| format!(" via {}", text(v)));
    let name = format!("{}{via}", text(&m.source));
    for (signal, s, show) in [
        ("error ratio", &m.error_ratio, percent as fn(f64) -> String),
        (
            "latency p95",
            &m.latency_p95_ms,
            millis as fn(f64) -> String,
        ),
    ] {
        if s.samples == 0 && s.baseline.is_none() {
            continue;
        }
        let v = |x: Option<f64>| x.map_or("–".to_string(), show);
        let _ = writeln!(
            md,
            "| {name} | {signal} | {} | {} | {} | {} |",
            v(s.baseline),
            v(s.min),
            v(s.max),
            v(s.last)
        );
    }
}

fn new_errors(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## New error signatures\n");
    if r.new_errors.is_empty() {
        let _ = writeln!(
            md,
            "None: no error line in the followed logs was new after the deploy began.\n"
        );
    } else {
        let _ = writeln!(
            md,
            "| Count | First seen | On | Last seen | Example |\n|---|---|---|---|---|"
        );
        for e in &r.new_errors {
            let first = crate::journal::parse_timestamp(&e.first_seen).map_or("?".into(), clock);
            let last = crate::journal::parse_timestamp(&e.last_seen).map_or("?".into(), clock);
            let hosts: Vec<String> = e.hosts.iter().map(|h| text(h)).collect();
            let _ = writeln!(
                md,
                "| {} | {first} | {} | {last} | {} |",
                e.count,
                hosts.join(", "),
                text(&e.example)
            );
        }
        md.push('\n');
    }
    if r.errors_not_kept > 0 {
        let _ = writeln!(
            md,
            "{} error line(s) had a signature that was not kept (too many distinct errors).\n",
            r.errors_not_kept
        );
    }
}

fn record(md: &mut String, r: &Report) {
    let rec = &r.record;
    let _ = writeln!(md, "## Release record\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(
        md,
        "| Version | {} |",
        rec.version.as_deref().map_or("none".into(), text)
    );
    let deployed = match (&rec.deployed_at, rec.outcome) {
        (Some(at), _) => at_rfc(at),
        (None, o) => format!("not deployed ({})", o.words()),
    };
    let _ = writeln!(md, "| Deployed | {deployed} |");
    for (k, v) in [
        ("Previous version", &rec.previous_version),
        ("Rollback target", &rec.rollback_target),
    ] {
        if let Some(v) = v {
            let _ = writeln!(md, "| {k} | {} |", text(v));
        }
    }
    let _ = writeln!(md, "| Deployed by | {} |", text(&rec.deployed_by));
    if !rec.approved_by.is_empty() {
        let names: Vec<String> = rec.approved_by.iter().map(|n| text(n)).collect();
        let _ = writeln!(md, "| Go from | {} |", names.join(", "));
    }
    let _ = writeln!(md, "| Environment | {} |", text(&rec.environment));
    let _ = writeln!(md, "| Session | {} |", text(&rec.session));
    for done in &rec.irreversible_done {
        let _ = writeln!(
            md,
            "| Cannot be rolled back | {} on {} |",
            text(&done.step),
            text(&done.targets.join(", "))
        );
    }
    md.push('\n');
    let _ = writeln!(
        md,
        "Rollback command, host by host (secrets masked; what a rollback runs now):\n"
    );
    md.push_str(&fence("sh", &rec.rollback.script));
    md.push('\n');
}

fn at_rfc(at: &str) -> String {
    crate::journal::parse_timestamp(at).map_or_else(|| text(at), date_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_text_not_markup() {
        assert_eq!(text("a | b"), "a \\| b");
        assert_eq!(text("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(
            text("[x](http://e) *b* `c`"),
            "\\[x\\](http://e) \\*b\\* \\`c\\`"
        );
        assert_eq!(text("v1\x1b[2J\nnext"), "v1\\\\e\\[2J\\\\nnext");
        assert_eq!(text("acme-web v1.2.1"), "acme-web v1.2.1");
    }

    #[test]
    fn a_fence_cannot_be_closed_by_its_body() {
        let body = "echo ```\nls";
        let block = fence("sh", body);
        assert!(block.starts_with("````sh\n"), "{block}");
        assert!(block.ends_with("\n````\n"), "{block}");
    }
}
