//! The health pane's rows, each a mark and a name in their colours then what it says, drawn
//! and scrolled by the shared pane (`pane.rs`): the watch rules, the links, the health checks,
//! the new errors and the notifier.

use std::borrow::Cow;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;

use super::super::checklist::duration;
use super::super::pane::PaneLine;
use super::super::theme::Theme;
use crate::engine::Release;
use crate::engine::judge::RuleStand;
use crate::engine::release::{LinkState, TargetState};
use crate::engine::watch::HealthSeries;
use crate::profile::Transport;
use crate::summary::clock;

/// One row of the health pane.
pub(crate) struct HealthRow {
    /// `✓ `, `● `, `? `… in its colour.
    mark: (&'static str, Style),
    /// What the row is about (a target, a check and where it was reached from), padded.
    name: Option<(String, Style)>,
    text: String,
    style: Style,
}

impl HealthRow {
    pub(super) fn new(mark: (&'static str, Style), text: String, style: Style) -> HealthRow {
        HealthRow {
            mark,
            name: None,
            text,
            style,
        }
    }

    pub(super) fn named(mut self, name: String, style: Style) -> HealthRow {
        self.name = Some((name, style));
        self
    }
}

impl PaneLine for HealthRow {
    fn target(&self) -> &str {
        ""
    }

    fn text(&self) -> &str {
        &self.text
    }

    fn prefix(&self, _release: &Release, _theme: &Theme) -> Vec<Span<'_>> {
        let mut spans = vec![Span::styled(self.mark.0, self.mark.1)];
        if let Some((name, style)) = &self.name {
            spans.push(Span::styled(name.as_str(), *style));
        }
        spans
    }

    fn prefix_width(&self) -> usize {
        let name = self.name.as_ref().map_or(0, |(n, _)| Span::raw(n).width());
        Span::raw(self.mark.0).width() + name
    }

    fn body(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.text)
    }

    fn style(&self, _theme: &Theme) -> Style {
        self.style
    }
}

/// How a target is reached, in the words of its link.
fn link_word(release: &Release, target: &str) -> &'static str {
    let local = release
        .plan
        .targets
        .iter()
        .any(|p| p.name == target && p.transport == Transport::Local);
    if local { "local" } else { "ssh" }
}

/// A link that is not up, on its own row: it must be seen.
pub(super) fn link_down(release: &Release, t: &TargetState, theme: &Theme, now: u64) -> HealthRow {
    let link = link_word(release, &t.name);
    let since = |at: &u64| duration(now.saturating_sub(*at));
    let (mark, text, style) = match &t.link {
        LinkState::Up => ("● ", "connected".to_string(), theme.fg(Color::Green)),
        LinkState::Connecting => ("○ ", format!("{link} connecting"), theme.dim()),
        LinkState::Down { since: at, .. } => (
            "◌ ",
            format!("{link} down {}, reconnecting", since(at)),
            theme.fg(Color::Yellow),
        ),
        LinkState::Lost { since: at, .. } => (
            "◌ ",
            format!("{link} down {}, gave up", since(at)),
            theme.fg(Color::Red),
        ),
        LinkState::Failed { error } => (
            "✗ ",
            format!(
                "{link} failed: {}",
                error.lines().next().unwrap_or_default()
            ),
            theme.fg(Color::Red),
        ),
    };
    HealthRow::new((mark, style), text, style)
        .named(format!("{:<10}", t.name), theme.target(release, &t.name))
}

/// The links that are up, in one row: `● 3/3 ssh connected`.
pub(super) fn links_up(release: &Release, theme: &Theme) -> Option<HealthRow> {
    let up: Vec<&TargetState> = release
        .targets
        .iter()
        .filter(|t| t.link == LinkState::Up)
        .collect();
    let first = up.first()?;
    let word = link_word(release, &first.name);
    let alike = up.iter().all(|t| link_word(release, &t.name) == word);
    let what = match (alike, word) {
        (false, _) => "connected",
        // `gonogo demo`'s targets: local, and simulated.
        (true, "local") if release.plan.rehearsal.is_some() => "simulated hosts connected",
        (true, "local") => "local shells open",
        (true, _) => "ssh connected",
    };
    let style = theme.fg(Color::Green);
    let text = format!("{}/{} {what}", up.len(), release.targets.len());
    Some(HealthRow::new(("● ", style), text, style))
}

/// One health check's row: its last answer, or why it fails and for how long.
pub(super) fn check(h: &HealthSeries, theme: &Theme, now: u64) -> HealthRow {
    let via = h
        .via
        .as_deref()
        .map_or(String::new(), |v| format!(" via {v}"));
    let (mark, style, mut text) = if h.last.ok {
        let cert = h
            .last
            .cert_days
            .map_or(String::new(), |d| format!("  cert {d}d"));
        let text = format!(
            "{} {}ms{cert}",
            h.last.status.map_or("ok".into(), |s| s.to_string()),
            h.last.latency_ms
        );
        ("✓ ", theme.fg(Color::Green), text)
    } else {
        let since = h.failing_since.map_or(String::new(), |at| {
            format!(" · failing {}", duration(now.saturating_sub(at)))
        });
        let why = h.last.error.clone().unwrap_or_else(|| "failing".into());
        ("✗ ", theme.fg(Color::Red), format!("{why}{since}"))
    };
    let style = if cert_warning(h) {
        text.push_str("  ! certificate expires soon");
        theme.fg(Color::Yellow)
    } else {
        style
    };
    HealthRow::new((mark, style), text, style).named(format!("{}{via}  ", h.check), Style::new())
}

/// The certificate behind a check expires within two weeks.
pub(super) fn cert_warning(h: &HealthSeries) -> bool {
    h.last.cert_days.is_some_and(|d| d < 14)
}

/// Passing answers of one check from several places, in one row:
/// `✓ app  passing 3/3 · 200 · 4–14ms`.
pub(super) fn checks_passing(passing: &[&HealthSeries], of: usize, theme: &Theme) -> HealthRow {
    let first = passing[0];
    let status = match first.last.status {
        Some(s) if passing.iter().all(|h| h.last.status == Some(s)) => s.to_string(),
        _ => "ok".to_string(),
    };
    let fastest = passing.iter().map(|h| h.last.latency_ms).min().unwrap_or(0);
    let slowest = passing.iter().map(|h| h.last.latency_ms).max().unwrap_or(0);
    let latency = if fastest == slowest {
        format!("{slowest}ms")
    } else {
        format!("{fastest}–{slowest}ms")
    };
    let cert = passing
        .iter()
        .filter_map(|h| h.last.cert_days)
        .min()
        .map_or(String::new(), |d| format!(" · cert {d}d"));
    let style = theme.fg(Color::Green);
    let text = format!(
        "passing {}/{of} · {status} · {latency}{cert}",
        passing.len()
    );
    HealthRow::new(("✓ ", style), text, style).named(format!("{}  ", first.check), Style::new())
}

/// The team's channel did not get every message: whoever relies on it should know.
pub(super) fn notify(release: &Release, theme: &Theme) -> Option<HealthRow> {
    let last = release.notify_failures.last()?;
    let style = theme.fg(Color::Yellow);
    let text = format!(
        "notify: {} not delivered, last {}: {}",
        release.notify_failed,
        clock(last.at),
        last.error
    );
    Some(HealthRow::new(("✉ ", style), text, style))
}

/// Errors the logs never showed before the deploy: the likeliest sign of a bad release.
pub(super) fn new_errors(release: &Release, theme: &Theme) -> Vec<HealthRow> {
    let style = theme.fg(Color::Red);
    release
        .signatures
        .new_since_deploy()
        .iter()
        .rev()
        .take(super::NEW_ERRORS_SHOWN)
        .map(|new| {
            let said = format!(
                "new error {}x since {}: {}",
                new.count,
                clock(new.first_at),
                new.example
            );
            HealthRow::new(("✱ ", style), said, style)
        })
        .collect()
}

/// The rules' rows: every watch rule with where it stands (during a batch's analysis, its
/// hosts beside the control), or that nothing is watched.
pub(super) fn rules(release: &Release, theme: &Theme, width: usize) -> Vec<HealthRow> {
    let Some(watch) = &release.plan.watch else {
        let text = "no watch window in this profile".to_string();
        return vec![HealthRow::new(("", theme.dim()), text, theme.dim())];
    };
    let mut rows: Vec<HealthRow> = Vec::new();
    for (i, rule) in watch.rollback_on.iter().enumerate() {
        let (mark, mut status, style) = rule_stand_look(release.rule_stand(i), theme);
        // Once over, the rule's last reading rather than what it would do in the watch.
        if release.outcome.is_some() && mark == "– " {
            let state = release.watch.rules.get(i);
            let judged = state.is_some_and(|r| r.judged_in_watch);
            let said = if judged { "watch over" } else { "not judged" };
            status = match state.and_then(|r| r.value) {
                Some(v) => format!("{said} · last {}", crate::measure::rule_value(rule, v)),
                None => said.into(),
            };
        }
        rows.push(HealthRow::new(
            (mark, style),
            format!("{}  {status}", rule.text),
            style,
        ));
        // During a batch's analysis: the batch's hosts beside the control, under the rule.
        rows.extend(super::versus::row(release, rule, theme, width));
    }
    if let Some(overtime) = &release.watch.overtime {
        let style = theme.fg(Color::Yellow);
        rows.push(HealthRow::new(("⏱ ", style), overtime.clone(), style));
    }
    rows
}

/// A rule's stand as its mark, its words and its colour.
fn rule_stand_look(stand: RuleStand, theme: &Theme) -> (&'static str, String, Style) {
    let words = stand.words();
    match stand {
        RuleStand::Breached => ("! ", "PROPOSED ROLLBACK".into(), theme.fg(Color::Red)),
        RuleStand::Holding { .. } => ("▲ ", words, theme.fg(Color::Yellow)),
        RuleStand::Ok => ("✓ ", words, theme.fg(Color::Green)),
        // Never shown as ok: amber, with why.
        RuleStand::CannotJudge { .. } => (
            "? ",
            words,
            theme.fg(Color::LightYellow).add_modifier(Modifier::BOLD),
        ),
        RuleStand::NotWatching { .. } | RuleStand::AnalysisOnly => ("– ", words, theme.dim()),
    }
}

/// Each host's version before the release, in one row: `now: web-1 v1.4.2, web-2 v1.4.2`
/// (`before:` once a step changed a host). A fleet that disagrees is said first and stands out,
/// with the reason it was let go on (`mixed: allowed: REASON`); a host that could not say, red.
pub(super) fn versions(release: &Release, theme: &Theme) -> Option<HealthRow> {
    let hosts = crate::ui::ships::versions_said(release)?;
    let changed = (release.plan.steps.iter().zip(&release.steps)).any(|(p, s)| {
        p.kind == crate::engine::plan::StepKind::Run
            && (s.targets.iter()).any(|t| t.status != crate::engine::RunStatus::Pending)
    });
    let when = if changed { "before" } else { "now" };
    let unknown = release.ships.found.iter().any(|(_, v)| !v.is_known());
    if unknown {
        let red = theme.fg(Color::Red);
        return Some(HealthRow::new(("✗ ", red), format!("{when}: {hosts}"), red));
    }
    if release.version_groups().len() > 1 {
        let why = match &release.plan.ships.allow_mixed {
            Some(reason) => format!("allowed: {}", crate::text::printable(reason)),
            None => "not allowed".to_string(),
        };
        let warn = crate::ui::ships::warn(theme);
        let text = format!("mixed: {why} · {when}: {hosts}");
        return Some(HealthRow::new(("! ", warn), text, warn));
    }
    Some(HealthRow::new(
        ("· ", Style::new()),
        format!("{when}: {hosts}"),
        Style::new(),
    ))
}
