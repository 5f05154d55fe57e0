use super::*;

fn app_queries() -> MetricQueries {
    MetricQueries::new(
        Some(r#"http_requests_total{status=~"5.."}"#),
        Some("http_requests_total"),
        Some("http_request_duration_seconds"),
    )
    .unwrap()
}

/// A page as a Python or Go client library writes it, two workers, one histogram.
fn page(ok_a: u64, err_a: u64, ok_b: u64, err_b: u64, buckets: [u64; 4]) -> String {
    let [fast, mid, slow, all] = buckets;
    format!(
        r#"# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{{worker="a",status="200"}} {ok_a}
http_requests_total{{worker="a",status="503"}} {err_a} 1700000000000
http_requests_total{{worker="b",status="200"}} {ok_b}
http_requests_total{{worker="b",status="500"}} {err_b}
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{{le="0.1"}} {fast}
http_request_duration_seconds_bucket{{le="0.5"}} {mid}
http_request_duration_seconds_bucket{{le="1.0"}} {slow}
http_request_duration_seconds_bucket{{le="+Inf"}} {all}
http_request_duration_seconds_sum 12.5
http_request_duration_seconds_count {all}
# some other exporter's line that is not ours to judge: {{{{ 
process_open_fds{{weird}} x
"#
    )
}

#[test]
fn a_scrape_sums_the_selected_series_and_keeps_them_apart() {
    let scrape = scrape_values(&page(90, 4, 80, 6, [50, 150, 170, 180]), &app_queries()).unwrap();
    assert_eq!(scrape.errors_total(), Some(10.0));
    assert_eq!(scrape.requests_total(), Some(180.0));
    assert_eq!(
        scrape.errors.as_ref().unwrap().0.len(),
        2,
        "series kept apart"
    );
    let buckets = scrape.latency_buckets().unwrap();
    let les: Vec<f64> = buckets.iter().map(|b| b.le).collect();
    assert_eq!(les, [0.1, 0.5, 1.0, f64::INFINITY]);
    assert_eq!(buckets[3].count, 180.0);
}

#[test]
fn a_metric_without_series_yet_is_zero_and_an_unasked_one_is_none() {
    let queries = MetricQueries::new(Some(r#"http_requests_total{status="418"}"#), None, None);
    let scrape = scrape_values(&page(1, 1, 1, 1, [1, 1, 1, 1]), &queries.unwrap()).unwrap();
    assert_eq!(scrape.errors_total(), Some(0.0));
    assert_eq!(scrape.requests_total(), None);
    assert_eq!(scrape.latency_buckets(), None);
}

#[test]
fn a_broken_line_of_a_queried_metric_fails_the_scrape_with_its_line() {
    let text = "ok_total 1\nhttp_requests_total{status=\"500\" 3\n";
    let err = scrape_values(text, &app_queries()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("line 2 of the metrics page: expected ',' or '}'"),
        "{err}"
    );
    let bad_le = "http_request_duration_seconds_bucket{le=\"soon\"} 3\n";
    let err = scrape_values(bad_le, &app_queries()).unwrap_err();
    assert!(err.to_string().contains("numeric le label"), "{err}");
}

#[test]
fn error_ratio_and_rates_come_from_the_increase_between_scrapes() {
    let q = app_queries();
    let before = scrape_values(&page(90, 4, 80, 6, [50, 150, 170, 180]), &q).unwrap();
    let after = scrape_values(&page(180, 9, 170, 11, [100, 300, 340, 370]), &q).unwrap();
    let d = derive(&before, &after, 10.0);
    // 190 more requests, 10 of them errors.
    assert_eq!(d.error_ratio, Some(10.0 / 190.0));
    assert_eq!(d.request_rate, Some(19.0));
    assert_eq!(d.error_rate, Some(1.0));
    assert_eq!(d.resets, 0);

    let idle = derive(&after, &after, 10.0);
    assert_eq!(idle.error_ratio, None, "no requests: nothing to judge");
    assert_eq!(idle.request_rate, Some(0.0));
    assert_eq!(idle.latency_p95, None);
}

#[test]
fn a_restart_mid_watch_counts_from_zero_instead_of_going_negative() {
    let q = app_queries();
    let before = scrape_values(&page(1000, 10, 1000, 10, [500, 900, 1000, 2020]), &q).unwrap();
    // Worker b restarted: its counters start again; the histogram too.
    let after = scrape_values(&page(1100, 12, 30, 6, [10, 20, 30, 36]), &q).unwrap();
    let d = derive(&before, &after, 15.0);
    // a: +100 ok, +2 errors; b (reset): 30 ok and 6 errors since the restart.
    assert_eq!(d.error_ratio, Some(8.0 / 138.0));
    assert_eq!(d.request_rate, Some(138.0 / 15.0));
    // b's 500 series (read by errors and requests), its 200 series, and the histogram.
    assert_eq!(d.resets, 4);
    assert_eq!(d.latency_buckets.last().unwrap().count, 36.0);
}

#[test]
fn a_reset_of_one_series_hidden_in_a_growing_sum_is_still_seen() {
    let q = MetricQueries::new(Some("errors_total"), Some("requests_total"), None).unwrap();
    let before = "errors_total{host=\"a\"} 50\nerrors_total{host=\"b\"} 5\n\
                  requests_total{host=\"a\"} 500\nrequests_total{host=\"b\"} 100\n";
    // The sum of errors went up (55 -> 58) although host a restarted and lost its 50.
    let after = "errors_total{host=\"a\"} 2\nerrors_total{host=\"b\"} 56\n\
                 requests_total{host=\"a\"} 20\nrequests_total{host=\"b\"} 700\n";
    let d = derive(
        &scrape_values(before, &q).unwrap(),
        &scrape_values(after, &q).unwrap(),
        60.0,
    );
    // a: 2 errors / 20 requests since its restart; b: 51 / 600.
    assert_eq!(d.error_ratio, Some(53.0 / 620.0));
    assert_eq!(d.resets, 2);
}

#[test]
fn the_first_errors_of_a_new_series_count() {
    let q = MetricQueries::new(Some(r#"req_total{code=~"5.."}"#), Some("req_total"), None);
    let q = q.unwrap();
    let before = scrape_values("req_total{code=\"200\"} 100\n", &q).unwrap();
    let after = scrape_values(
        "req_total{code=\"200\"} 140\nreq_total{code=\"502\"} 10\n",
        &q,
    );
    let d = derive(&before, &after.unwrap(), 5.0);
    assert_eq!(d.error_ratio, Some(10.0 / 50.0));
}

/// Before the app's first 5xx there is no error series: the ratio is zero, and a positive
/// zero (a sum over no series starts at -0.0 in Rust, which printed as "-0.00%").
#[test]
fn no_error_series_yet_is_a_ratio_of_plain_zero() {
    let q = MetricQueries::new(Some(r#"req_total{code=~"5.."}"#), Some("req_total"), None);
    let q = q.unwrap();
    let before = scrape_values("req_total{code=\"200\"} 100\n", &q).unwrap();
    let after = scrape_values("req_total{code=\"200\"} 140\n", &q).unwrap();
    assert!(after.errors_total().is_some_and(f64::is_sign_positive));
    let ratio = derive(&before, &after, 5.0)
        .error_ratio
        .expect("requests came");
    assert_eq!(ratio, 0.0);
    assert!(ratio.is_sign_positive(), "{ratio:?}");
    assert_eq!(format!("{:.2}", ratio * 100.0), "0.00");
}

fn buckets(pairs: &[(f64, f64)]) -> Vec<Bucket> {
    pairs
        .iter()
        .map(|&(le, count)| Bucket { le, count })
        .collect()
}

#[test]
fn quantiles_interpolate_inside_the_bucket_like_histogram_quantile() {
    let b = buckets(&[
        (0.1, 50.0),
        (0.5, 150.0),
        (1.0, 190.0),
        (f64::INFINITY, 200.0),
    ]);
    // p50: rank 100, in (0.1, 0.5] holding 100: halfway.
    assert!((quantile(0.5, &b).unwrap() - 0.3).abs() < 1e-12);
    // p95: rank 190, the top of (0.5, 1.0].
    assert_eq!(quantile(0.95, &b), Some(1.0));
    // p10: rank 20 in the first bucket, which starts at 0.
    assert!((quantile(0.1, &b).unwrap() - 0.04).abs() < 1e-12);
    assert_eq!(quantile(1.5, &b), Some(f64::INFINITY));
    assert_eq!(quantile(-0.5, &b), Some(f64::NEG_INFINITY));
}

#[test]
fn p95_in_the_inf_bucket_reports_the_highest_finite_bound() {
    // A slowdown beyond the largest bucket: 10 % under 1 s, the rest above it.
    let b = buckets(&[(0.25, 5.0), (1.0, 10.0), (f64::INFINITY, 100.0)]);
    assert_eq!(quantile(0.95, &b), Some(1.0));
    assert_eq!(quantile(0.5, &b), Some(1.0));
}

#[test]
fn quantiles_need_observations_and_an_inf_bucket() {
    assert_eq!(
        quantile(0.95, &buckets(&[(0.1, 0.0), (f64::INFINITY, 0.0)])),
        None
    );
    assert_eq!(quantile(0.95, &buckets(&[(0.1, 3.0), (1.0, 5.0)])), None);
    assert_eq!(quantile(0.95, &buckets(&[(f64::INFINITY, 5.0)])), None);
    assert_eq!(
        quantile(f64::NAN, &buckets(&[(1.0, 1.0), (f64::INFINITY, 1.0)])),
        None
    );
    // Counts that dip (summed series, a torn scrape) are made cumulative first.
    let dip = buckets(&[(0.1, 10.0), (0.5, 8.0), (1.0, 20.0), (f64::INFINITY, 20.0)]);
    assert_eq!(quantile(0.5, &dip), Some(0.1));
}

#[test]
fn latency_percentiles_come_from_the_bucket_increase_not_the_totals() {
    let q = app_queries();
    // Before: a long history of fast requests.
    let before = scrape_values(&page(0, 0, 0, 0, [10_000, 10_000, 10_000, 10_000]), &q).unwrap();
    // Then 100 requests, all slow (0.5–1 s): the totals would still say "fast".
    let after = scrape_values(&page(0, 0, 0, 0, [10_000, 10_000, 10_100, 10_100]), &q).unwrap();
    let d = derive(&before, &after, 10.0);
    assert_eq!(d.latency_p50, Some(0.75));
    assert_eq!(d.latency_p95, Some(0.975));
    assert!((d.latency_p99.unwrap() - 0.995).abs() < 1e-12);
    assert_eq!(d.latency_quantile(0.9), d.latency_p90);
    assert!(quantile(0.95, &after.latency_buckets().unwrap()).unwrap() < 0.1);
}

#[test]
fn histograms_with_labels_are_summed_by_le() {
    let q = MetricQueries::new(None, None, Some(r#"lat_seconds{route!="/health"}"#)).unwrap();
    let text = r#"lat_seconds_bucket{route="/cart",le="0.5"} 3
lat_seconds_bucket{route="/cart",le="+Inf"} 4
lat_seconds_bucket{route="/pay",le="0.5"} 1
lat_seconds_bucket{route="/pay",le="+Inf"} 6
lat_seconds_bucket{route="/health",le="0.5"} 1000
lat_seconds_bucket{route="/health",le="+Inf"} 1000
"#;
    let scrape = scrape_values(text, &q).unwrap();
    assert_eq!(scrape.latency.as_ref().unwrap().0.len(), 2);
    assert_eq!(
        scrape.latency_buckets().unwrap(),
        buckets(&[(0.5, 4.0), (f64::INFINITY, 10.0)])
    );
}
