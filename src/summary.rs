//! The end-of-release summary, printed on the terminal after a run (cockpit or headless): the
//! outcome and its length, every decision with who, when and why, retries and skips, the
//! irreversible steps done, where each host stands, and where the log is. A fold over the
//! release, like the report and the stats to come.

use crate::engine::release::{Release, RunStatus, StepStatus};
use crate::engine::watch_rule::{Condition, Threshold};
use crate::engine::{Decision, StepList};
pub use crate::narrate::{
    clock, decision_words, gap, interruption_said, outcome_parts, outcome_said, question_subject,
    took,
};
use crate::text::printable;

/// The summary's lines, without a trailing newline each.
pub fn lines(release: &Release, log: Option<&std::path::Path>) -> Vec<String> {
    let mut out = vec![headline(release)];
    // Why it did not start, in the words the screen and the journal have.
    if release.outcome == Some(crate::engine::Outcome::Refused) {
        let why = release.refusals.iter();
        out.extend(why.map(|why| format!("   refused: {}", printable(why))));
    }
    out.extend(decision_lines(release));
    out.extend(step_lines(release));
    out.extend(host_lines(release));
    out.extend(tail_lines(release));
    out.extend(release.kept_locks.iter().map(|kept| {
        format!(
            "   lock kept on {}: {}",
            printable(&kept.target),
            printable(&kept.why)
        )
    }));
    out.extend(notify_failed(release));
    out.extend(journal_incomplete(release));
    if let Some(log) = log {
        out.push(format!("   log: {}", printable(&log.display().to_string())));
    }
    out
}

/// Where the session is recorded, and how to replay it.
pub fn journal_line(journal: &std::path::Path) -> String {
    let path = printable(&journal.display().to_string()).into_owned();
    format!("   journal: {path} (gonogo replay {path})")
}

/// The first line: the release, its version and environment, how it ended and after how long.
fn headline(release: &Release) -> String {
    let (word, detail) = outcome_parts(release);
    let detail = detail.map_or(String::new(), |d| format!("; {d}"));
    let took = release
        .started_at
        .map(|s| took(release.now.saturating_sub(s)))
        .unwrap_or_default();
    let version = release
        .plan
        .version
        .as_deref()
        .map_or(String::new(), |v| format!(" {}", printable(v)));
    format!(
        "== summary: {}{version} to {}: {word} after {took}{detail}",
        printable(&release.plan.release),
        printable(&release.plan.environment)
    )
}

/// Every decision with when it was taken, the interruptions, and what cannot be undone.
fn decision_lines(release: &Release) -> Vec<String> {
    let mut out = Vec::new();
    for d in &release.decisions {
        out.push(format!(
            "   {} {}",
            clock(d.at),
            crate::narrate::decision_said(release, d)
        ));
    }
    for i in &release.interruptions {
        out.push(format!("   {}", interruption_said(i)));
    }
    for line in undo_lines(release) {
        out.push(format!("   {line}"));
    }
    out
}

/// The `[[after]]` steps not run for want of a GO verdict, then each step's retries and skip.
fn step_lines(release: &Release) -> Vec<String> {
    let mut out = Vec::new();
    // `[[after]]` steps wait for a GO verdict: without one they are said not to have run.
    if release.outcome.is_some() && !release.verdict_go {
        for step in release.plan.steps.iter().filter(|s| s.after_watch) {
            out.push(format!(
                "   not run (no GO verdict): {}",
                printable(&step.name)
            ));
        }
    }
    for list in [StepList::Main, StepList::Rollback] {
        for (step, state) in release.list(list).iter().zip(release.states(list)) {
            let name = printable(&step.name);
            for t in state.targets.iter().filter(|t| t.attempt > 1) {
                out.push(format!(
                    "   retried: {name} on {} ({} attempts)",
                    printable(&t.target),
                    t.attempt
                ));
            }
            if let (StepStatus::Skipped, Some(why)) = (state.status, &state.skip_reason) {
                out.push(format!("   skipped: {name}: {}", printable(why)));
            }
        }
    }
    out
}

/// The shells opened on hosts, the irreversible steps done, where a rollout stopped, and where
/// each host stands.
fn host_lines(release: &Release) -> Vec<String> {
    let mut out = Vec::new();
    for shell in &release.shells {
        out.push(format!(
            "   {} {} opened a shell on {}",
            clock(shell.at),
            printable(&shell.by),
            printable(&shell.target)
        ));
    }
    for done in release.irreversible_done() {
        out.push(format!(
            "   irreversible, done on {}: {}",
            printable(&done.targets.join(", ")),
            printable(&done.step)
        ));
    }
    // A rollout stopped before its last batch: the hosts it never reached, said once.
    if let Some(said) = release.rollout_said() {
        out.push(format!("   {}", printable(&said)));
    }
    for target in &release.targets {
        out.push(format!(
            "   {}: {}",
            printable(&target.name),
            host_state(release, &target.name)
        ));
    }
    out
}

/// What each tail read and dropped: a flood that outran gonogo is said at the end too.
fn tail_lines(release: &Release) -> Vec<String> {
    release
        .logs
        .tails
        .iter()
        .map(|f| {
            let dropped = match f.lost {
                0 => "none dropped".to_string(),
                n => format!("{n} dropped"),
            };
            format!(
                "   logs {}:{}: {} lines read, {dropped}",
                printable(&f.target),
                printable(&f.name),
                f.read
            )
        })
        .collect()
}

/// Notifications the webhook did not take: the team may not know how the release went.
fn notify_failed(release: &Release) -> Option<String> {
    let last = release.notify_failures.last()?;
    let n = release.notify_failed;
    Some(format!(
        "   notify: {n} message{} not delivered; last: {}: {}",
        if n == 1 { "" } else { "s" },
        printable(&last.message),
        printable(&last.error)
    ))
}

/// The journal stopped being written: what it holds is not the whole session.
fn journal_incomplete(release: &Release) -> Option<String> {
    let failed = release.journal_failed.as_ref()?;
    Some(format!(
        "   !! journal not written from then on ({}): the record of this session is incomplete",
        printable(&failed.error)
    ))
}

/// The hosts a release that did not roll back leaves changed: where any `run` step started.
pub fn left_changed(release: &Release) -> Vec<String> {
    release.changed_hosts()
}

/// Once a rollback began: what became of each `run` step that started, host by host
/// ("undo: Stage v1.5.0: ↺ undone on web-1; never ran on web-2").
pub fn undo_lines(release: &Release) -> Vec<String> {
    (0..release.plan.steps.len())
        .filter(|&i| {
            release.steps[i]
                .targets
                .iter()
                .any(|t| t.started_at.is_some())
        })
        .filter_map(|i| {
            let words = release.undo_words(i)?;
            Some(format!(
                "undo: {}: {}",
                printable(&release.plan.steps[i].name),
                printable(&words)
            ))
        })
        .collect()
}

/// What the final gate asks: after a watch that held its whole duration, or after one ended
/// early (`E`, `done` in production), saying how much of it was left.
pub fn final_gate_words(release: &Release) -> String {
    let ended_early = release
        .decisions
        .iter()
        .any(|d| d.decision == Decision::EndWatch && d.question.is_none());
    let doubts = release.verdict_doubts();
    if !ended_early && !doubts.is_empty() {
        // "Held" is said only when every rule judged ok and nothing new showed in the logs.
        return format!(
            "the watch's time ran out, NOT all clear: {}. Release good?",
            doubts.join("; ")
        );
    }
    match release.stage {
        _ if !ended_early => "the watch window held. Release good?".into(),
        crate::engine::Stage::Watching { until } if release.now < until => format!(
            "the watch was ended early, {} before its end. Release good?",
            took(until - release.now)
        ),
        _ => "the watch was ended early. Release good?".into(),
    }
}

/// New error signatures a rollback proposal lists, the most frequent first.
pub const NEW_ERRORS_LISTED: usize = 3;

/// A new error signature in words: how often, since when, where, and its example (a stack
/// trace's exception line): `new error since the deploy (12x, first 03:05:20 on web-1, also
/// web-2): KeyError: 'platinum'`.
pub fn new_error(sig: &crate::engine::signature::SignatureSeen) -> String {
    let hosts = match sig.hosts.split_first() {
        Some((first, [])) => format!(" on {}", printable(first)),
        Some((first, rest)) => format!(
            " on {}, also {}",
            printable(first),
            rest.iter()
                .map(|h| printable(h))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => String::new(),
    };
    format!(
        "new error since the deploy ({}x, first {}{hosts}): {}",
        sig.count,
        clock(sig.first_at),
        printable(&sig.example)
    )
}

/// A rollback proposal's evidence, for headless and the report: the rule, the values it held
/// at, the baseline, and the failing health checks.
pub fn proposal_lines(release: &Release, rule: usize) -> Vec<String> {
    let Some(planned) = release
        .plan
        .watch
        .as_ref()
        .and_then(|w| w.rollback_on.get(rule))
    else {
        return Vec::new();
    };
    let mut out = vec![format!(
        "?? ROLLBACK PROPOSED: {} held",
        printable(&planned.text)
    )];
    if let Some(state) = release.watch.rules.get(rule) {
        // Once per host per second shown: two samples in one second read as one (the later).
        let mut kept: Vec<&crate::engine::watch::Evidence> = Vec::new();
        for e in &state.breach_values {
            match kept
                .iter()
                .position(|k| k.at / 1000 == e.at / 1000 && k.from == e.from)
            {
                Some(i) => kept[i] = e,
                None => kept.push(e),
            }
        }
        let values: Vec<String> = kept
            .iter()
            .rev()
            .take(8)
            .rev()
            .map(|e| crate::measure::evidence(planned, e))
            .collect();
        if !values.is_empty() {
            out.push(format!("   values: {}", values.join(", ")));
        }
    }
    if let Some(base) = release.baseline(planned.signal) {
        let limit = match planned.condition {
            Condition::Compare {
                threshold: Threshold::TimesBaseline(x),
                ..
            } => format!(
                " (the rule's limit: {x}x = {})",
                crate::measure::rule_measured(planned, x * base)
            ),
            _ => String::new(),
        };
        out.push(format!(
            "   baseline before the deploy: {}{limit}",
            crate::measure::rule_measured(planned, base)
        ));
    }
    let new = release.signatures.new_by_count();
    for sig in new.iter().take(NEW_ERRORS_LISTED) {
        out.push(format!("   {}", new_error(sig)));
    }
    if new.len() > NEW_ERRORS_LISTED {
        out.push(format!(
            "   and {} more new error signatures",
            new.len() - NEW_ERRORS_LISTED
        ));
    }
    // The last error each target's tails wrote (a stack trace's exception line).
    for (target, _, text) in release.logs.last_errors() {
        out.push(format!(
            "   last error on {}: {}",
            printable(target),
            printable(text)
        ));
    }
    for h in release.watch.health.iter().filter(|h| !h.last.ok) {
        let via = h
            .via
            .as_deref()
            .map_or(String::new(), |v| format!(" via {v}"));
        out.push(format!(
            "   health {}{via}: {}",
            printable(&h.check),
            printable(h.last.error.as_deref().unwrap_or("failing"))
        ));
    }
    out
}

/// Where one host stands: the last step that changed it, and anything not known.
fn host_state(release: &Release, target: &str) -> String {
    let mut changed = Vec::new();
    for (index, (step, state)) in release.plan.steps.iter().zip(&release.steps).enumerate() {
        if !step.kind.runs_command() {
            continue;
        }
        let Some(t) = state.targets.iter().find(|t| t.target == target) else {
            continue;
        };
        if step.kind == crate::engine::plan::StepKind::Run
            && release.rollback_begun
            && let Some(said) = release.undo_said(index, target)
        {
            if t.started_at.is_some() {
                changed.push(format!("{} {}", printable(&step.name), printable(&said)));
            }
            continue;
        }
        let word = match t.status {
            RunStatus::Passed => "done",
            RunStatus::Failed => "FAILED",
            RunStatus::Unknown => "UNKNOWN (may still run)",
            RunStatus::Cancelled => "stopped",
            RunStatus::Running | RunStatus::Stopping => "still running",
            RunStatus::Pending | RunStatus::RetryWaiting => continue,
        };
        if step.kind == crate::engine::plan::StepKind::Run || word != "done" {
            changed.push(format!("{} {word}", printable(&step.name)));
        }
    }
    if changed.is_empty() {
        "nothing changed".into()
    } else {
        changed.join(", ")
    }
}

/// "interrupted and resumed once" (twice, 3 times); `None` for a session never interrupted.
pub fn interrupted_words(release: &Release) -> Option<String> {
    interrupted_words_of(release.interruptions.len())
}

/// "interrupted and resumed once" of a count of interruptions.
pub fn interrupted_words_of(count: usize) -> Option<String> {
    let times = match count {
        0 => return None,
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    };
    Some(format!("interrupted and resumed {times}"))
}

#[cfg(test)]
mod tests {
    use crate::engine::{Event, EventKind, Release};
    use crate::profile::{self, Purpose, Source};

    #[test]
    fn an_interruption_is_said_in_one_sentence() {
        let i = crate::engine::Interruption {
            stopped_at: 1_790_000_000_000,
            stopped_t: Some(1),
            resumed_at: 1_790_000_155_400,
            by: "ana@laptop\x1b[2J".into(),
        };
        assert_eq!(
            super::interruption_said(&i),
            "gonogo stopped at 14:13:20Z (no end record), resumed at 14:15:55Z \
             by ana@laptop\\e[2J, 2m35s later"
        );
        assert_eq!(super::gap(0), "0s");
        assert_eq!(super::gap(3_725_000), "1h2m5s");
        assert_eq!(super::gap(90_000_000), "1d1h");
        let mut release = Release::default();
        assert_eq!(super::interrupted_words(&release), None);
        release.interruptions = vec![i.clone(), i.clone()];
        assert_eq!(
            super::interrupted_words(&release).as_deref(),
            Some("interrupted and resumed twice")
        );
    }

    #[test]
    fn moments_read_as_utc_clock_times() {
        assert_eq!(super::clock(1_790_000_000_000), "14:13:20Z");
        assert_eq!(super::took(125_400), "2m 5s");
    }

    const WATCHED: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"
[targets.web-1]
host = "web-1"
roles = ["web"]
[targets.web-2]
host = "web-2"
roles = ["web"]
[logs.app]
on = "web"
command = "journalctl -f"
errors = 'ERROR|Traceback|" 5[0-9][0-9] '
[[step]]
name = "restart"
run = "restart"
on = "web"
[watch]
rollback_on = ["new_errors > 0"]
"#;

    #[test]
    fn a_proposal_lists_new_errors_the_most_frequent_first_with_when_and_where_first_seen() {
        let source = Source::new("t.toml", WATCHED);
        let (p, diags) = profile::load(&source);
        let p = p.unwrap_or_else(|| panic!("{diags:?}"));
        let mut diags = profile::Diagnostics::default();
        let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut diags);
        let mut release = Release::default();
        release.apply(&Event::new(
            1_790_000_000_000,
            EventKind::Started {
                session: "s".into(),
                operator: "ana".into(),
                plan: Box::new(profile::release_plan(&p, &vars)),
            },
        ));
        let at = |s: u64| 1_790_000_000_000 + s * 1000;
        let sigs = &mut release.signatures;
        sigs.record("ERROR cache cold", at(0), false, "web-1");
        let access =
            r#"10.0.0.7 - - [23/Nov/2026:14:13:25 +0000] "POST /checkout HTTP/1.1" 500 265"#;
        sigs.record(access, at(5), true, "web-1");
        sigs.record(access, at(6), true, "web-1");
        for (s, host) in [(9, "web-2"), (10, "web-1"), (12, "web-2")] {
            sigs.record("KeyError: 'platinum'", at(s), true, host);
        }
        for (s, line) in [(20, "ERROR a"), (21, "ERROR b"), (22, "ERROR c")] {
            sigs.record(line, at(s), true, "web-2");
        }
        let lines = super::proposal_lines(&release, 0);
        assert_eq!(
            lines,
            [
                "?? ROLLBACK PROPOSED: new_errors > 0 held",
                "   new error since the deploy (3x, first 14:13:29Z on web-2, also web-1): KeyError: 'platinum'",
                "   new error since the deploy (2x, first 14:13:25Z on web-1): 10.0.0.7 - - [23/Nov/2026:14:13:25 +0000] \"POST /checkout HTTP/1.1\" 500 265",
                "   new error since the deploy (1x, first 14:13:40Z on web-2): ERROR a",
                "   and 2 more new error signatures",
            ]
        );
    }
}
