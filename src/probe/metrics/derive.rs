//! From two scrapes to rates: what happened between them, counter resets included.

use serde::{Deserialize, Serialize};

use super::{Bucket, Counters, Histograms, Scrape, sum_by_le};

/// The numbers a watch window judges, over the interval between two scrapes. `None` where the
/// profile did not ask for the series, or the interval had no requests to judge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Derived {
    /// Errors per request in the interval, 0.0..=1.0.
    pub error_ratio: Option<f64>,
    /// Requests per second.
    pub request_rate: Option<f64>,
    /// Errors per second.
    pub error_rate: Option<f64>,
    pub latency_p50: Option<f64>,
    pub latency_p90: Option<f64>,
    pub latency_p95: Option<f64>,
    pub latency_p99: Option<f64>,
    /// Series whose counter went down between the scrapes (a process restarted), so the
    /// cockpit can say the numbers span a restart. A series read by two queries (`errors`
    /// and `requests` both read `status="500"`) counts once for each.
    pub resets: u32,
    /// The latency histogram's increase in the interval, summed over series.
    #[serde(skip)]
    pub latency_buckets: Vec<Bucket>,
}

impl Derived {
    /// Any latency quantile of the interval, in the histogram's unit (seconds usually).
    pub fn latency_quantile(&self, q: f64) -> Option<f64> {
        quantile(q, &self.latency_buckets)
    }
}

/// Compares the scrape before an interval of `seconds` with the one after it.
///
/// Counters are compared series by series: one that went down was reset (its process
/// restarted) and its whole current value counts as the increase since, as Prometheus's
/// `rate()` does; a series that appeared counts from zero (an app exports `status="500"` only
/// after its first 500, and that first 500 matters).
pub fn derive(prev: &Scrape, cur: &Scrape, seconds: f64) -> Derived {
    let mut resets = 0;
    let errors = both(&prev.errors, &cur.errors).map(|(p, c)| increase(p, c, &mut resets));
    let requests = both(&prev.requests, &cur.requests).map(|(p, c)| increase(p, c, &mut resets));
    let latency_buckets = both(&prev.latency, &cur.latency)
        .map(|(p, c)| bucket_increase(p, c, &mut resets))
        .unwrap_or_default();
    let per_second = |n: f64| (seconds > 0.0).then(|| n / seconds);
    let error_ratio = match (errors, requests) {
        (Some(errors), Some(requests)) if requests > 0.0 => Some((errors / requests).min(1.0)),
        _ => None,
    };
    Derived {
        error_ratio,
        request_rate: requests.and_then(per_second),
        error_rate: errors.and_then(per_second),
        latency_p50: quantile(0.50, &latency_buckets),
        latency_p90: quantile(0.90, &latency_buckets),
        latency_p95: quantile(0.95, &latency_buckets),
        latency_p99: quantile(0.99, &latency_buckets),
        resets,
        latency_buckets,
    }
}

fn both<'a, T>(prev: &'a Option<T>, cur: &'a Option<T>) -> Option<(&'a T, &'a T)> {
    prev.as_ref().zip(cur.as_ref())
}

/// The counters' increase, summed over series, each series checked for a reset on its own.
fn increase(prev: &Counters, cur: &Counters, resets: &mut u32) -> f64 {
    cur.0
        .iter()
        .map(|(series, &now)| match prev.0.get(series) {
            Some(&before) if now < before => {
                *resets += 1;
                now
            }
            Some(&before) => now - before,
            None => now,
        })
        // From +0.0: `sum()` of no series is -0.0, an error ratio of "-0.00%" before the
        // first 5xx series exists.
        .fold(0.0, |total, n| total + n)
}

/// The histogram's increase by `le`, summed over series. A series with any bucket lower than
/// before was reset, and counts whole.
fn bucket_increase(prev: &Histograms, cur: &Histograms, resets: &mut u32) -> Vec<Bucket> {
    let deltas: Vec<Vec<Bucket>> = cur
        .0
        .iter()
        .map(|(series, now)| {
            let Some(before) = prev.0.get(series) else {
                return now.clone();
            };
            let earlier = |le: f64| before.iter().find(|b| b.le == le).map(|b| b.count);
            if now
                .iter()
                .any(|b| earlier(b.le).is_some_and(|count| b.count < count))
            {
                *resets += 1;
                return now.clone();
            }
            now.iter()
                .map(|b| Bucket {
                    le: b.le,
                    count: b.count - earlier(b.le).unwrap_or(0.0),
                })
                .collect()
        })
        .collect();
    sum_by_le(deltas.iter().map(Vec::as_slice))
}

/// The `q` quantile of cumulative buckets (sorted by `le`), the way Prometheus's
/// `histogram_quantile` computes it: linear interpolation inside the bucket where the rank
/// falls, the lowest bucket starting at 0, and a rank in the `+Inf` bucket answered with the
/// highest finite bound (the histogram knows nothing above it). `None` without observations
/// or without a `+Inf` bucket.
pub fn quantile(q: f64, buckets: &[Bucket]) -> Option<f64> {
    if q.is_nan() || buckets.len() < 2 {
        return None;
    }
    let last = buckets.len() - 1;
    if buckets[last].le != f64::INFINITY {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    // Buckets summed over series (or scraped mid-update) can dip; counts are cumulative.
    let mut counts: Vec<f64> = Vec::with_capacity(buckets.len());
    for b in buckets {
        let floor = counts.last().copied().unwrap_or(0.0);
        counts.push(b.count.max(floor));
    }
    let observations = counts[last];
    if observations <= 0.0 {
        return None;
    }
    let rank = q * observations;
    let b = counts[..last]
        .iter()
        .position(|&count| count >= rank)
        .unwrap_or(last);
    if b == last {
        return Some(buckets[last - 1].le);
    }
    if b == 0 && buckets[0].le <= 0.0 {
        return Some(buckets[0].le);
    }
    let (start, below) = if b == 0 {
        (0.0, 0.0)
    } else {
        (buckets[b - 1].le, counts[b - 1])
    };
    let in_bucket = counts[b] - below;
    if in_bucket <= 0.0 {
        return Some(start); // q = 0 over an empty first bucket
    }
    Some(start + (buckets[b].le - start) * ((rank - below) / in_bucket))
}
