//! Batches of a phase rolled out in batches, as the engine stated them for the record: a batch
//! begins, its analysis's verdict with the figures compared, the next batch promoted.

use super::{Severity, Told, Topic};
use crate::engine::{BatchFigure, BatchVerdict, EventKind, Release};
use crate::text::printable;

pub(super) fn said(kind: &EventKind, after: &Release) -> Option<Told> {
    let p = |s: &str| printable(s).into_owned();
    Some(match kind {
        EventKind::BatchStarted {
            phase,
            batch,
            of,
            hosts,
        } => Told::new(
            Severity::Info,
            Topic::Batch,
            format!(
                "{} · batch {batch}/{of} begins on {}",
                p(phase),
                p(&hosts.join(", "))
            ),
        ),
        EventKind::BatchJudged {
            phase,
            batch,
            of,
            verdict,
            figures,
        } => {
            let (severity, then) = match verdict {
                BatchVerdict::Healthy => (Severity::Good, "against the control"),
                BatchVerdict::InDoubt => {
                    (Severity::Warn, "when its analysis ended: a person decides")
                }
                BatchVerdict::Breached => (Severity::Bad, "against the control: rollback proposed"),
            };
            let text = format!(
                "{} · batch {batch}/{of} {} {then}",
                p(phase),
                verdict.word()
            );
            let detail = figures.iter().map(|f| figure_said(after, f)).collect();
            Told::new(severity, Topic::Batch, text).with(detail)
        }
        EventKind::BatchPromoted {
            phase,
            batch,
            of,
            by,
        } => {
            let who = match by.as_str() {
                "gonogo" => "gonogo (a clean analysis, promote = \"auto\")".to_string(),
                person => p(person),
            };
            Told::new(
                Severity::Info,
                Topic::Batch,
                format!("{} · batch {batch}/{of} promoted by {who}", p(phase)),
            )
        }
        _ => return None,
    })
}

/// One rule as the analysis compared it: "error_ratio > control + 2% for 1m: web-1 7.50%
/// against control 0.40% (holding 12s of 1m)".
pub fn figure_said(release: &Release, figure: &BatchFigure) -> String {
    let rule = release
        .plan
        .watch
        .as_ref()
        .and_then(|w| w.rollback_on.get(figure.rule));
    let Some(rule) = rule else {
        return printable(&figure.stand).into_owned();
    };
    let value = |v: f64| crate::measure::rule_value(rule, v);
    let hosts: Vec<String> = figure
        .hosts
        .iter()
        .map(|(host, v)| format!("{} {}", printable(host), value(*v)))
        .collect();
    let control = figure
        .control
        .map_or(String::new(), |c| format!(" against control {}", value(c)));
    let measured = match hosts.is_empty() {
        true => "no data".to_string(),
        false => hosts.join(", "),
    };
    format!(
        "{}: {measured}{control} ({})",
        printable(&rule.text),
        printable(&figure.stand)
    )
}
