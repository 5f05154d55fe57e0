//! A metrics source's row: its last reading against the baseline, with sparklines while there
//! is room. A narrow pane gets a shorter row, never a cut one: first the sparklines go, then
//! the baselines' word, then the baselines, then the request rate.

use ratatui::style::{Color, Style};
use ratatui::text::Span;

use super::rows::HealthRow;
use crate::engine::watch::{MetricSeries, MetricsReading};
use crate::ui::pane::PaneLine;
use crate::ui::theme::Theme;

/// Samples a sparkline spans, longest first: a sparkline is shortened, whole, before it goes.
const SPARK_SAMPLES: [usize; 3] = [20, 12, 8];

/// The baselines of the signals a metrics row shows.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Baselines {
    pub error_ratio: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// How much of a reading a row says.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Detail {
    /// Samples in each sparkline; 0: none.
    sparks: usize,
    /// `(base 5ms)`, `(5ms)` or nothing.
    base: Base,
    rate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Base {
    Worded,
    Bare,
    Dropped,
}

/// The least a row says: its error ratio and its latency.
const LEAST: Detail = Detail {
    sparks: 0,
    base: Base::Dropped,
    rate: false,
};

/// From the most said to the least: the first that fits is shown.
fn details() -> impl Iterator<Item = Detail> {
    let full = |sparks| Detail {
        sparks,
        base: Base::Worded,
        rate: true,
    };
    SPARK_SAMPLES.into_iter().map(full).chain([
        full(0),
        Detail {
            base: Base::Bare,
            ..full(0)
        },
        Detail {
            base: Base::Dropped,
            ..full(0)
        },
        LEAST,
    ])
}

/// The rows of the metrics sources, all said at one level of detail, the most that lets every
/// row fit in `width` columns: the rows read as a table.
pub(super) fn rows(
    metrics: &[&MetricSeries],
    base: Baselines,
    theme: &Theme,
    width: usize,
) -> Vec<HealthRow> {
    let fits = |detail: Detail| {
        metrics.iter().all(|m| {
            row(m, base, theme, detail).is_none_or(|r| {
                r.failed || r.row.prefix_width() + Span::raw(r.row.text()).width() <= width
            })
        })
    };
    let detail = details().find(|d| fits(*d)).unwrap_or(LEAST);
    metrics
        .iter()
        .filter_map(|m| row(m, base, theme, detail))
        .map(|r| r.row)
        .collect()
}

/// A metrics row, and whether it says the scrape failed (its words are not shortened).
struct Said {
    row: HealthRow,
    failed: bool,
}

/// The row of one metrics source at one level of detail; none before its first scrape.
fn row(m: &MetricSeries, base: Baselines, theme: &Theme, detail: Detail) -> Option<Said> {
    let (_, last) = m.history.back()?;
    let via = m
        .via
        .as_deref()
        .map_or(String::new(), |v| format!(" via {v}"));
    let name = format!("{}{via}  ", m.source);
    let mark = ("≈ ", theme.dim());
    let (text, style, failed) = match &last.error {
        Some(e) => (format!("scrape failed: {e}"), theme.fg(Color::Red), true),
        None => (say(m, last, base, detail), Style::new(), false),
    };
    let row = HealthRow::new(mark, text, style).named(name, Style::new());
    Some(Said { row, failed })
}

/// A reading in words at one level of detail: `errors 0.10% (base 0.05%)  p95 219ms (base
/// 5ms)  12.3 req/s  err ▁▂▃ p95 ▂▃▄`.
fn say(m: &MetricSeries, last: &MetricsReading, base: Baselines, detail: Detail) -> String {
    let against = |b: Option<f64>, said: fn(f64) -> String| match (detail.base, b) {
        (Base::Worded, Some(b)) => format!(" (base {})", said(b)),
        (Base::Bare, Some(b)) => format!(" ({})", said(b)),
        _ => String::new(),
    };
    let mut parts = Vec::new();
    if let Some(r) = last.error_ratio {
        parts.push(format!(
            "errors {}{}",
            percent(r),
            against(base.error_ratio, percent)
        ));
    }
    if let Some(p) = last.latency_p95_ms {
        parts.push(format!("p95 {}{}", millis(p), against(base.p95_ms, millis)));
    }
    if let Some(rate) = last.request_rate.filter(|_| detail.rate) {
        parts.push(format!("{} req/s", crate::measure::fixed(rate, 1)));
    }
    if parts.is_empty() {
        return "no requests between scrapes".into();
    }
    if detail.sparks > 0 {
        let recent = |f: fn(&MetricsReading) -> Option<f64>| -> Vec<f64> {
            let start = m.history.len().saturating_sub(detail.sparks);
            m.history
                .iter()
                .skip(start)
                .filter_map(|(_, r)| f(r))
                .collect()
        };
        let ratios = recent(|r| r.error_ratio);
        let p95s = recent(|r| r.latency_p95_ms);
        if !ratios.is_empty() {
            parts.push(format!("err {}", sparkline(&ratios)));
        }
        if !p95s.is_empty() {
            parts.push(format!("p95 {}", sparkline(&p95s)));
        }
    }
    parts.join("  ")
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

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    #[test]
    fn a_sparkline_spans_its_own_range() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0]), "▁▅█");
        assert_eq!(sparkline(&[5.0, 5.0]), "▁▁");
    }

    fn series() -> MetricSeries {
        let reading = |i: u32| MetricsReading {
            error_ratio: Some(0.001 * f64::from(i)),
            request_rate: Some(12.3),
            latency_p95_ms: Some(200.0 + f64::from(i)),
            ..MetricsReading::default()
        };
        MetricSeries {
            source: "app".into(),
            via: Some("web-2".into()),
            history: (1..=19)
                .map(|i| (u64::from(i), reading(i)))
                .collect::<VecDeque<_>>(),
        }
    }

    fn said(width: usize) -> String {
        let base = Baselines {
            error_ratio: Some(0.0005),
            p95_ms: Some(5.0),
        };
        let rows = rows(&[&series()], base, &Theme { color: false }, width);
        format!("≈ app via web-2  {}", rows[0].text())
    }

    /// Narrower, the row says less, never cut: sparklines (whole) go first, then the word
    /// `base`, then the baselines, then the request rate.
    #[test]
    fn a_metrics_row_is_abbreviated_never_cut() {
        let head = "≈ app via web-2  errors 1.90% (base 0.05%)  p95 219ms (base 5ms)  12.3 req/s";
        let spark = "▁▁▂▂▃▃▃▄▄▅▅▅▆▆▆▇▇██";
        assert_eq!(said(200), format!("{head}  err {spark}  p95 {spark}"));
        // The last 8 samples, whole, before none.
        let short = "▁▂▃▄▅▆▇█";
        assert_eq!(said(110), format!("{head}  err {short}  p95 {short}"));
        assert_eq!(said(100), head);
        assert_eq!(said(80), head);
        assert_eq!(
            said(66),
            "≈ app via web-2  errors 1.90% (0.05%)  p95 219ms (5ms)  12.3 req/s"
        );
        assert_eq!(
            said(60),
            "≈ app via web-2  errors 1.90%  p95 219ms  12.3 req/s"
        );
        assert_eq!(said(48), "≈ app via web-2  errors 1.90%  p95 219ms");
        for width in 40..=200 {
            assert!(
                Span::raw(said(width)).width() <= width,
                "{width}: {}",
                said(width)
            );
        }
    }

    /// Several sources are said at one level of detail, the most that fits them all: the rows
    /// read as a table.
    #[test]
    fn metrics_rows_share_one_level_of_detail() {
        let calm = series();
        let mut busy = series();
        if let Some((_, r)) = busy.history.back_mut() {
            r.error_ratio = Some(0.1234);
        }
        let base = Baselines {
            error_ratio: Some(0.0005),
            p95_ms: Some(5.0),
        };
        let theme = Theme { color: false };
        // Room for the calm one in full, not for the busy one.
        let width = Span::raw(said(80)).width();
        let rows = rows(&[&calm, &busy], base, &theme, width);
        let texts: Vec<&str> = rows.iter().map(|r| r.text()).collect();
        assert_eq!(
            texts,
            [
                "errors 1.90% (0.05%)  p95 219ms (5ms)  12.3 req/s",
                "errors 12.34% (0.05%)  p95 219ms (5ms)  12.3 req/s"
            ]
        );
    }
}
