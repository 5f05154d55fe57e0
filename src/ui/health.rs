//! The health pane: the link to each target, each health check as it answers, the metrics
//! against their baseline with a sparkline, and every watch rule with where it stands.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::checklist::duration;
use super::theme::Theme;
use crate::engine::Release;
use crate::engine::release::LinkState;
use crate::engine::watch::{HealthSeries, MetricsReading};
use crate::engine::watch_rule::Signal;
use crate::profile::Transport;
use crate::summary::clock;

/// New error signatures listed in the pane, newest first.
pub const NEW_ERRORS_SHOWN: usize = 3;

/// Samples a sparkline spans.
const SPARK_SAMPLES: usize = 20;

/// The health in one line, for a gate's question: what a person approves against.
pub fn health_summary(release: &Release) -> String {
    if release.plan.probes.is_empty() && release.plan.logs.is_empty() {
        return "no health checks in this profile".into();
    }
    let health = &release.watch.health;
    let mut parts = Vec::new();
    if !health.is_empty() {
        let ok = health.iter().filter(|h| h.last.ok).count();
        parts.push(format!("health {ok}/{} passing", health.len()));
    }
    if let Some(ratio) = release.signal_now(Signal::ErrorRatio) {
        parts.push(format!("errors {}", percent(ratio)));
    }
    if let Some(p95) = release.signal_now(Signal::Latency { percentile: 95 }) {
        parts.push(format!("p95 {}", millis(p95)));
    }
    let new = release.signatures.new_count();
    if new > 0 {
        parts.push(format!("{new} new error signatures since the deploy"));
    }
    // A rule that cannot judge is said wherever health is summed up (gates, the final gate).
    if let Some(watch) = &release.plan.watch {
        for (i, rule) in watch.rollback_on.iter().enumerate() {
            if let crate::engine::judge::RuleStand::CannotJudge { why, .. } = release.rule_stand(i)
            {
                parts.push(format!("{}: cannot judge ({})", rule.text, why.words()));
            }
        }
    }
    if parts.is_empty() {
        "health: no answer yet".into()
    } else {
        parts.join(", ")
    }
}

fn percent(fraction: f64) -> String {
    crate::measure::percent(fraction, 2)
}

fn millis(ms: f64) -> String {
    crate::measure::millis(ms, 2)
}

/// The last values as a row of block characters, scaled to their own range.
fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    let span = (max - min).max(f64::EPSILON);
    values
        .iter()
        .map(|v| BARS[(((v - min) / span) * 7.0).round() as usize % 8])
        .collect()
}

fn link_line<'a>(
    release: &'a Release,
    t: &'a crate::engine::release::TargetState,
    theme: &Theme,
    now: u64,
) -> Line<'a> {
    let local = release
        .plan
        .targets
        .iter()
        .any(|p| p.name == t.name && p.transport == Transport::Local);
    let link = if local { "local" } else { "ssh" };
    let since = |at: &u64| duration(now.saturating_sub(*at));
    let (symbol, text, style) = match &t.link {
        // `gonogo demo`'s targets: local, and simulated.
        LinkState::Up if local && release.plan.rehearsal.is_some() => {
            ("●", "simulated host".to_string(), theme.fg(Color::Green))
        }
        LinkState::Up if local => ("●", "local shell".to_string(), theme.fg(Color::Green)),
        LinkState::Up => ("●", "ssh connected".to_string(), theme.fg(Color::Green)),
        LinkState::Connecting => ("○", format!("{link} connecting"), theme.dim()),
        LinkState::Down { since: at, .. } => (
            "◌",
            format!("{link} down {}, reconnecting", since(at)),
            theme.fg(Color::Yellow),
        ),
        LinkState::Lost { since: at, .. } => (
            "◌",
            format!("{link} down {}, gave up", since(at)),
            theme.fg(Color::Red),
        ),
        LinkState::Failed { error } => (
            "✗",
            format!(
                "{link} failed: {}",
                error.lines().next().unwrap_or_default()
            ),
            theme.fg(Color::Red),
        ),
    };
    Line::from(vec![
        Span::styled(format!("{symbol} "), style),
        Span::styled(format!("{:<10}", t.name), theme.target(release, &t.name)),
        Span::styled(text, style),
    ])
}

fn metric_text(reading: &MetricsReading, base_ratio: Option<f64>, base_p95: Option<f64>) -> String {
    if let Some(e) = &reading.error {
        return format!("scrape failed: {e}");
    }
    let mut parts = Vec::new();
    if let Some(r) = reading.error_ratio {
        let base = base_ratio.map_or(String::new(), |b| format!(" (base {})", percent(b)));
        parts.push(format!("errors {}{base}", percent(r)));
    }
    if let Some(p) = reading.latency_p95_ms {
        let base = base_p95.map_or(String::new(), |b| format!(" (base {})", millis(b)));
        parts.push(format!("p95 {}{base}", millis(p)));
    }
    if let Some(rate) = reading.request_rate {
        parts.push(format!("{} req/s", crate::measure::fixed(rate, 1)));
    }
    if parts.is_empty() {
        "no requests between scrapes".into()
    } else {
        parts.join("  ")
    }
}

pub fn render(frame: &mut Frame, area: Rect, release: &Release, theme: &Theme, now: u64) {
    let mut lines: Vec<Line> = release
        .targets
        .iter()
        .map(|t| link_line(release, t, theme, now))
        .collect();
    lines.extend(notify_line(release, theme));
    lines.extend(
        release
            .watch
            .health
            .iter()
            .map(|h| health_check_line(h, theme, now)),
    );
    lines.extend(metrics_lines(release, theme));
    lines.extend(new_error_lines(release, theme));
    if let Some(overtime) = &release.watch.overtime {
        lines.push(Line::from(Span::styled(
            format!("⏱ {overtime}"),
            theme.fg(Color::Yellow),
        )));
    }
    lines.extend(rule_lines(release, theme));
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Health ")),
        area,
    );
}

/// The team's channel did not get every message: whoever relies on it should know.
fn notify_line(release: &Release, theme: &Theme) -> Option<Line<'static>> {
    let last = release.notify_failures.last()?;
    Some(Line::from(vec![
        Span::styled("✉ ", theme.fg(Color::Yellow)),
        Span::styled(
            format!(
                "notify: {} not delivered, last {}: {}",
                release.notify_failed,
                clock(last.at),
                last.error
            ),
            theme.fg(Color::Yellow),
        ),
    ]))
}

/// One health check's row: its last answer, or why it fails and for how long.
fn health_check_line(h: &HealthSeries, theme: &Theme, now: u64) -> Line<'static> {
    let via = h
        .via
        .as_deref()
        .map_or(String::new(), |v| format!(" via {v}"));
    let (symbol, style, text) = if h.last.ok {
        let cert = h
            .last
            .cert_days
            .map_or(String::new(), |d| format!("  cert {d}d"));
        let text = format!(
            "{} {}ms{cert}",
            h.last.status.map_or("ok".into(), |s| s.to_string()),
            h.last.latency_ms
        );
        ("✓", theme.fg(Color::Green), text)
    } else {
        let since = h.failing_since.map_or(String::new(), |at| {
            format!(" · failing {}", duration(now.saturating_sub(at)))
        });
        let why = h.last.error.clone().unwrap_or_else(|| "failing".into());
        ("✗", theme.fg(Color::Red), format!("{why}{since}"))
    };
    let warn = h.last.cert_days.is_some_and(|d| d < 14);
    let mut spans = vec![
        Span::styled(format!("{symbol} "), style),
        Span::raw(format!("{}{via}  ", h.check)),
        Span::styled(text, style),
    ];
    if warn {
        spans.push(Span::styled(
            "  ! certificate expires soon",
            theme.fg(Color::Yellow),
        ));
    }
    Line::from(spans)
}

/// The metrics' rows: each source's last reading against the baseline, with sparklines.
fn metrics_lines(release: &Release, theme: &Theme) -> Vec<Line<'static>> {
    let base_ratio = release.baseline(Signal::ErrorRatio);
    let base_p95 = release.baseline(Signal::Latency { percentile: 95 });
    let mut lines = Vec::new();
    for m in &release.watch.metrics {
        let Some((_, last)) = m.history.back() else {
            continue;
        };
        let via = m
            .via
            .as_deref()
            .map_or(String::new(), |v| format!(" via {v}"));
        let recent = |f: fn(&MetricsReading) -> Option<f64>| -> Vec<f64> {
            let start = m.history.len().saturating_sub(SPARK_SAMPLES);
            m.history
                .iter()
                .skip(start)
                .filter_map(|(_, r)| f(r))
                .collect()
        };
        let ratios = recent(|r| r.error_ratio);
        let p95s = recent(|r| r.latency_p95_ms);
        lines.push(Line::from(vec![
            Span::styled("≈ ", theme.dim()),
            Span::raw(format!("{}{via}  ", m.source)),
            Span::raw(metric_text(last, base_ratio, base_p95)),
            Span::styled(
                format!("  err {}", sparkline(&ratios)),
                theme.fg(Color::Cyan),
            ),
            Span::styled(format!(" p95 {}", sparkline(&p95s)), theme.fg(Color::Cyan)),
        ]));
    }
    lines
}

/// Errors the logs never showed before the deploy: the likeliest sign of a bad release.
fn new_error_lines(release: &Release, theme: &Theme) -> Vec<Line<'static>> {
    release
        .signatures
        .new_since_deploy()
        .iter()
        .rev()
        .take(NEW_ERRORS_SHOWN)
        .map(|new| {
            Line::from(vec![
                Span::styled("✱ ", theme.fg(Color::Red)),
                Span::styled(
                    format!("new error {}x since {}: ", new.count, clock(new.first_at)),
                    theme.fg(Color::Red),
                ),
                Span::raw(new.example.clone()),
            ])
        })
        .collect()
}

/// The rules' rows: every watch rule with where it stands, or that nothing is watched.
fn rule_lines(release: &Release, theme: &Theme) -> Vec<Line<'static>> {
    let Some(watch) = &release.plan.watch else {
        return vec![Line::from(Span::styled(
            "no watch window in this profile",
            theme.dim(),
        ))];
    };
    watch
        .rollback_on
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let (mark, status, style) = rule_stand_look(release.rule_stand(i), theme);
            Line::from(vec![
                Span::styled(format!("{mark} "), style),
                Span::raw(rule.text.clone()),
                Span::styled(format!("  {status}"), style),
            ])
        })
        .collect()
}

/// A rule's stand as its mark, its words and its colour.
fn rule_stand_look(
    stand: crate::engine::judge::RuleStand,
    theme: &Theme,
) -> (&'static str, String, Style) {
    use crate::engine::judge::RuleStand;
    let words = stand.words();
    match stand {
        RuleStand::Breached => ("!", "PROPOSED ROLLBACK".into(), theme.fg(Color::Red)),
        RuleStand::Holding { .. } => ("▲", words, theme.fg(Color::Yellow)),
        RuleStand::Ok => ("✓", words, theme.fg(Color::Green)),
        // Never shown as ok: amber, with why.
        RuleStand::CannotJudge { .. } => (
            "?",
            words,
            theme
                .fg(Color::LightYellow)
                .add_modifier(ratatui::style::Modifier::BOLD),
        ),
        RuleStand::NotWatching { .. } => ("–", words, theme.dim()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sparkline_spans_its_own_range() {
        assert_eq!(super::sparkline(&[1.0, 2.0, 3.0]), "▁▅█");
        assert_eq!(super::sparkline(&[5.0, 5.0]), "▁▁");
    }
}
