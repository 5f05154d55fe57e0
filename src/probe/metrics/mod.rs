//! Metrics: a scrape of a Prometheus text endpoint turned into the numbers a watch window
//! judges (`error_ratio`, `request_rate`, `latency_p95`), from the counters and histogram the
//! profile names in `[metrics.NAME]`.
//!
//! A [`Scrape`] keeps each matching series apart, not only their sum: a process restarted by
//! the deploy resets its counters, and a reset of one series can hide in a sum that still
//! grows. [`derive`] compares two scrapes series by series.

mod derive;
mod selector;
mod text;

use std::collections::BTreeMap;

pub use derive::{Derived, derive, quantile};
pub use selector::Selector;

/// The series a metrics source reads, parsed from the profile's `errors`, `requests` and
/// `latency` keys. A key left out is `None` and its derived numbers are `None` too.
#[derive(Debug, Clone, Default)]
pub struct MetricQueries {
    /// Counter(s) of failed requests: `http_requests_total{status=~"5.."}`.
    pub errors: Option<Selector>,
    /// Counter(s) of all requests: `http_requests_total`.
    pub requests: Option<Selector>,
    /// A histogram by its base name (`http_request_duration_seconds`): its `_bucket` series.
    pub latency: Option<Selector>,
}

impl MetricQueries {
    pub fn new(
        errors: Option<&str>,
        requests: Option<&str>,
        latency: Option<&str>,
    ) -> Result<Self, MetricsError> {
        let parse = |text: Option<&str>| {
            text.map(Selector::parse)
                .transpose()
                .map_err(MetricsError::Selector)
        };
        Ok(Self {
            errors: parse(errors)?,
            requests: parse(requests)?,
            latency: parse(latency)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    #[error("metric selector {0}")]
    Selector(#[from] selector::SelectorError),
    #[error("line {line} of the metrics page: {problem}: {text}")]
    Page {
        line: usize,
        problem: text::SampleError,
        text: String,
    },
}

/// Counter values by series (its labels, written `k="v",...` in order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters(pub BTreeMap<String, f64>);

impl Counters {
    /// The sum over series, what a dashboard would show; 0 (never -0) for none.
    pub fn total(&self) -> f64 {
        self.0.values().fold(0.0, |total, n| total + n)
    }
}

/// One cumulative histogram bucket: observations less than or equal to `le`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub le: f64,
    pub count: f64,
}

/// Histogram buckets by series (labels without `le`), each sorted by `le`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histograms(pub BTreeMap<String, Vec<Bucket>>);

impl Histograms {
    /// The buckets summed over series by `le`, as `sum by (le)` would.
    pub fn total(&self) -> Vec<Bucket> {
        sum_by_le(self.0.values().map(Vec::as_slice))
    }
}

/// What one scrape found for the queried series. A queried metric that matched no series is
/// present and empty: an app exports `status="500"` only after its first 500.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    pub errors: Option<Counters>,
    pub requests: Option<Counters>,
    pub latency: Option<Histograms>,
}

impl Scrape {
    pub fn errors_total(&self) -> Option<f64> {
        self.errors.as_ref().map(Counters::total)
    }

    pub fn requests_total(&self) -> Option<f64> {
        self.requests.as_ref().map(Counters::total)
    }

    /// The latency histogram summed over its series.
    pub fn latency_buckets(&self) -> Option<Vec<Bucket>> {
        self.latency.as_ref().map(Histograms::total)
    }
}

/// Reads the queried series out of a metrics page. Lines of other metrics are skipped after
/// their name, so an exporter's oddity elsewhere on the page cannot stop the watch; a line of
/// a queried metric that does not parse fails the scrape with its line number.
pub fn scrape_values(text: &str, queries: &MetricQueries) -> Result<Scrape, MetricsError> {
    let bucket_name = queries.latency.as_ref().map(|s| {
        if s.name.ends_with("_bucket") {
            s.name.clone()
        } else {
            format!("{}_bucket", s.name)
        }
    });
    let mut scrape = Scrape {
        errors: queries.errors.as_ref().map(|_| Counters::default()),
        requests: queries.requests.as_ref().map(|_| Counters::default()),
        latency: queries.latency.as_ref().map(|_| Histograms::default()),
    };
    let wanted = |name: &str| {
        queries.errors.as_ref().is_some_and(|s| s.name == name)
            || queries.requests.as_ref().is_some_and(|s| s.name == name)
            || bucket_name.as_deref() == Some(name)
    };
    let mut counters = [
        (queries.errors.as_ref(), &mut scrape.errors),
        (queries.requests.as_ref(), &mut scrape.requests),
    ];
    for (n, line) in text.lines().enumerate() {
        let Some(name) = text::sample_name(line) else {
            continue;
        };
        if !wanted(name) {
            continue;
        }
        let sample = text::parse_sample(line).map_err(|problem| MetricsError::Page {
            line: n + 1,
            problem,
            text: line.chars().take(200).collect(),
        })?;
        if sample.value.is_nan() {
            continue; // a NaN counter says nothing about requests
        }
        for (selector, values) in counters.iter_mut() {
            if let (Some(selector), Some(values)) = (selector, values.as_mut())
                && selector.name == name
                && selector.matches_labels(&sample)
            {
                *values.0.entry(series_key(&sample, None)).or_default() += sample.value;
            }
        }
        if bucket_name.as_deref() == Some(name)
            && let (Some(selector), Some(histograms)) = (&queries.latency, scrape.latency.as_mut())
            && selector.matches_labels(&sample)
        {
            let le = text::parse_value(sample.label("le")).ok_or_else(|| MetricsError::Page {
                line: n + 1,
                problem: text::SampleError::BucketWithoutLe,
                text: line.chars().take(200).collect(),
            })?;
            let buckets = histograms
                .0
                .entry(series_key(&sample, Some("le")))
                .or_default();
            buckets.push(Bucket {
                le,
                count: sample.value,
            });
        }
    }
    if let Some(histograms) = scrape.latency.as_mut() {
        for buckets in histograms.0.values_mut() {
            *buckets = sum_by_le([buckets.as_slice()]);
        }
    }
    Ok(scrape)
}

/// A series' identity: its labels in order, less `without` (the histogram's `le`).
fn series_key(sample: &text::Sample<'_>, without: Option<&str>) -> String {
    let mut labels: Vec<_> = sample
        .labels
        .iter()
        .filter(|(name, _)| Some(*name) != without)
        .collect();
    labels.sort();
    labels
        .iter()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Buckets of several series added up by `le`, sorted by `le`.
pub(crate) fn sum_by_le<'a>(series: impl IntoIterator<Item = &'a [Bucket]>) -> Vec<Bucket> {
    let mut all: Vec<Bucket> = series.into_iter().flatten().copied().collect();
    all.sort_by(|a, b| a.le.total_cmp(&b.le));
    let mut summed: Vec<Bucket> = Vec::with_capacity(all.len());
    for bucket in all {
        match summed.last_mut() {
            Some(last) if last.le == bucket.le => last.count += bucket.count,
            _ => summed.push(bucket),
        }
    }
    summed
}

#[cfg(test)]
mod tests;
