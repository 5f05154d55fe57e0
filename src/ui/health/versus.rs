//! During a batch's analysis, under each rule: the batch's hosts beside the control, as the
//! rule compares them (`web-1 7.50% | control web-2 0.40%, web-3 0.30% · limit 2.35%`). A
//! control with nothing fresh is said to have no data, never left blank.

use ratatui::style::{Color, Modifier, Style};

use super::rows::HealthRow;
use crate::engine::Release;
use crate::engine::judge::STALE_MS;
use crate::engine::watch_rule::{Condition, Signal, Threshold, WatchRule};
use crate::measure::rule_value;
use crate::ui::rollout::{host_of, reading_name};
use crate::ui::theme::Theme;

/// The row under `rule` while a batch is analysed, in `width` columns if it can (the limit is
/// left out before the row wraps); `None` outside an analysis.
pub(super) fn row(
    release: &Release,
    rule: &WatchRule,
    theme: &Theme,
    width: usize,
) -> Option<HealthRow> {
    let (text, no_control) = said(release, rule, width)?;
    let style = if no_control {
        theme.fg(Color::LightYellow).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    Some(HealthRow::new(("  ", style), text, style))
}

/// The batch's hosts beside the control for `rule`, in `width` columns if it can, and whether
/// the control had nothing to say; `None` outside an analysis.
pub(crate) fn said(release: &Release, rule: &WatchRule, width: usize) -> Option<(String, bool)> {
    let batch = release.analysing()?;
    let (ours, theirs) = match rule.signal {
        Signal::LogErrors => {
            let per_host = |hosts: &[String]| log_errors(release, rule, hosts);
            (per_host(&batch.changed), per_host(&batch.control))
        }
        _ => readings(release, rule),
    };
    let control_value = release.control_value(rule);
    let no_control = if rule.against_control() {
        control_value.is_none()
    } else {
        theirs.is_empty() && control_value.is_none()
    };
    let ours = if ours.is_empty() {
        "no data".to_string()
    } else {
        ours.join(", ")
    };
    let control = if no_control {
        "no control data".to_string()
    } else if theirs.is_empty() {
        let value = control_value.map(|c| rule_value(rule, rule.compared(c)));
        format!("control {}", value.unwrap_or_default())
    } else {
        format!("control {}", theirs.join(", "))
    };
    let limit = control_value
        .and_then(|c| limit(rule, rule.compared(c)))
        .map_or(String::new(), |l| {
            format!(" · limit {}", rule_value(rule, l))
        });
    let mut text = format!("{ours} | {control}{limit}");
    if text.chars().count() + 2 > width {
        text = format!("{ours} | {control}");
    }
    Some((text, no_control))
}

/// The fresh readings of the rule, the changed hosts' and the control's apart, each said
/// `web-1 7.50%`, in the profile's order of the hosts.
fn readings(release: &Release, rule: &WatchRule) -> (Vec<String>, Vec<String>) {
    let now = release.now;
    let mut fresh: Vec<(bool, String, f64)> = release
        .rule_readings(rule)
        .into_iter()
        .filter(|e| now.saturating_sub(e.at) <= STALE_MS)
        .map(|e| match e.from.strip_suffix(" (control)") {
            Some(from) => (true, from.to_string(), e.value),
            None => (false, e.from, e.value),
        })
        .collect();
    let place = |from: &str| {
        let host = host_of(from);
        (release.plan.targets.iter()).position(|t| t.name == host)
    };
    fresh.sort_by_key(|(_, from, _)| place(from));
    // `app via web-1` is said `web-1` where web-1 has one reading: the host is what matters.
    let all: Vec<&str> = fresh.iter().map(|(_, f, _)| f.as_str()).collect();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for (control, from, value) in &fresh {
        let text = format!("{} {}", reading_name(from, &all), rule_value(rule, *value));
        if *control { &mut theirs } else { &mut ours }.push(text);
    }
    (ours, theirs)
}

/// Each of `hosts` a log tail reads, with its errors per minute now.
fn log_errors(release: &Release, rule: &WatchRule, hosts: &[String]) -> Vec<String> {
    let read = |t: &String| release.plan.logs.iter().any(|l| l.targets.contains(t));
    hosts
        .iter()
        .filter(|t| read(t))
        .map(|t| {
            let v = release.log_errors_per_min(Some(t), release.now);
            format!("{t} {}", rule_value(rule, rule.compared(v)))
        })
        .collect()
}

/// The limit a control rule sets, in the rule's unit, from the control's value in it.
fn limit(rule: &WatchRule, control: f64) -> Option<f64> {
    match rule.condition {
        Condition::Compare {
            threshold: Threshold::OverControl(n),
            ..
        } => Some(control + n),
        Condition::Compare {
            threshold: Threshold::TimesControl(x),
            ..
        } => Some(control * x),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_rule_sets_its_limit_from_the_control() {
        let rule = |text: &str| crate::profile::rule::parse_rule(text).expect("a rule");
        assert_eq!(
            limit(&rule("error_ratio > control + 2% for 20s"), 0.4),
            Some(2.4)
        );
        assert_eq!(
            limit(&rule("latency_p95 > 1.5x control for 30s"), 80.0),
            Some(120.0)
        );
        assert_eq!(limit(&rule("error_ratio > 5% for 1m"), 0.4), None);
    }

    #[test]
    fn a_reading_is_named_by_the_host_it_was_measured_through() {
        assert_eq!(host_of("app via web-1"), "web-1");
        assert_eq!(host_of("web-1"), "web-1");
        let all = ["app via web-1", "app via web-2", "db via web-2"];
        assert_eq!(reading_name(all[0], &all), "web-1");
        assert_eq!(reading_name(all[1], &all), "app via web-2");
    }
}
