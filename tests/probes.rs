//! Health and metrics probes against a real HTTP server on loopback, switched by the test from
//! healthy to failing: what an operator relies on during a watch window.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use gonogo::probe::health::{self, Failure, HealthProbe};
use gonogo::probe::metrics::{MetricQueries, derive, scrape_values};
use gonogo::probe::tls::Tls;
use regex::Regex;

mod support;

#[derive(Clone, Copy, PartialEq)]
enum Health {
    Healthy,
    Unavailable,
    /// Answers 200 after this long.
    Slow(Duration),
    /// Answers 200 with a body saying the database is down.
    DatabaseDown,
}

/// What the service reports: its health and its counters since its process started.
struct Service {
    health: Health,
    ok: u64,
    errors: u64,
    /// Observations under 0.1 s, under 1 s, and in all.
    fast: u64,
    slow: u64,
    all: u64,
}

type Shared = Arc<Mutex<Service>>;

async fn health_page(State(service): State<Shared>) -> (StatusCode, &'static str) {
    let health = service.lock().unwrap().health;
    match health {
        Health::Healthy => (StatusCode::OK, r#"{"db": "up"}"#),
        Health::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "draining"),
        Health::Slow(delay) => {
            tokio::time::sleep(delay).await;
            (StatusCode::OK, r#"{"db": "up"}"#)
        }
        Health::DatabaseDown => (StatusCode::OK, r#"{"db": "down"}"#),
    }
}

async fn metrics_page(State(service): State<Shared>) -> String {
    let s = service.lock().unwrap();
    format!(
        r#"# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{{method="GET",status="200"}} {ok}
http_requests_total{{method="GET",status="502"}} {errors}
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{{le="0.1"}} {fast}
http_request_duration_seconds_bucket{{le="1"}} {slow}
http_request_duration_seconds_bucket{{le="+Inf"}} {all}
http_request_duration_seconds_count {all}
"#,
        ok = s.ok,
        errors = s.errors,
        fast = s.fast,
        slow = s.slow,
        all = s.all,
    )
}

async fn serve() -> (SocketAddr, Shared) {
    let service = Arc::new(Mutex::new(Service {
        health: Health::Healthy,
        ok: 0,
        errors: 0,
        fast: 0,
        slow: 0,
        all: 0,
    }));
    let app = Router::new()
        .route("/health", get(health_page))
        .route("/metrics", get(metrics_page))
        .with_state(service.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, service)
}

fn set(service: &Shared, health: Health) {
    service.lock().unwrap().health = health;
}

fn check(addr: SocketAddr, timeout: Duration) -> HealthProbe {
    HealthProbe::new(format!("http://{addr}/health"), 200, timeout)
        .with_body(Regex::new(r#""db": "up""#).unwrap())
}

#[tokio::test]
async fn a_direct_probe_sees_the_service_go_from_healthy_to_failing() {
    let (addr, service) = serve().await;
    let client = health::direct_client().unwrap();
    let check = check(addr, Duration::from_secs(5));

    let sample = health::probe(&client, &check).await;
    assert!(sample.ok, "{sample:?}");
    assert_eq!(
        (sample.status, sample.failure, sample.cert_days_left),
        (Some(200), None, None)
    );

    set(&service, Health::Unavailable);
    let sample = health::probe(&client, &check).await;
    assert!(!sample.ok);
    assert_eq!(sample.status, Some(503));
    assert_eq!(sample.error().unwrap(), "answered 503, expected 200");

    set(&service, Health::DatabaseDown);
    let sample = health::probe(&client, &check).await;
    assert!(
        !sample.ok,
        "a 200 saying the database is down is not healthy"
    );
    assert_eq!(sample.status, Some(200));
    assert!(
        matches!(sample.failure, Some(Failure::Body { .. })),
        "{sample:?}"
    );

    // Slower than before but within the timeout: ok, and the latency shows it.
    set(&service, Health::Slow(Duration::from_millis(150)));
    let sample = health::probe(&client, &check).await;
    assert!(sample.ok, "{sample:?}");
    assert!(sample.latency >= Duration::from_millis(150), "{sample:?}");

    set(&service, Health::Healthy);
    assert!(health::probe(&client, &check).await.ok, "recovers");
}

#[tokio::test]
async fn a_service_that_does_not_answer_in_time_is_a_timeout_not_a_refusal() {
    let (addr, service) = serve().await;
    let client = health::direct_client().unwrap();
    set(&service, Health::Slow(Duration::from_secs(30)));
    let timeout = Duration::from_millis(300);

    let sample = health::probe(&client, &check(addr, timeout)).await;
    assert!(!sample.ok);
    assert_eq!(sample.status, None);
    assert_eq!(sample.failure, Some(Failure::Timeout { after: timeout }));
    assert!(sample.latency >= timeout && sample.latency < Duration::from_secs(30));

    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let sample = health::probe_via(stream, &check(addr, timeout), &platform()).await;
    assert_eq!(sample.failure, Some(Failure::Timeout { after: timeout }));
}

#[tokio::test]
async fn nothing_listening_is_reported_as_a_refused_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = health::direct_client().unwrap();
    let sample = health::probe(&client, &check(addr, Duration::from_secs(5))).await;
    assert!(!sample.ok);
    assert_eq!(sample.failure, Some(Failure::Refused), "{sample:?}");
    assert!(sample.error().unwrap().contains("connection refused"));
}

#[tokio::test]
async fn a_probe_via_a_stream_sees_what_a_direct_one_sees() {
    let (addr, service) = serve().await;
    let check = check(addr, Duration::from_secs(5));
    let via = |addr| async move { tokio::net::TcpStream::connect(addr).await.unwrap() };
    let tls = platform();

    let sample = health::probe_via(via(addr).await, &check, &tls).await;
    assert!(sample.ok, "{sample:?}");
    assert_eq!(sample.status, Some(200));

    set(&service, Health::Unavailable);
    let sample = health::probe_via(via(addr).await, &check, &tls).await;
    assert_eq!(sample.status, Some(503));
    assert!(!sample.ok);

    set(&service, Health::DatabaseDown);
    let sample = health::probe_via(via(addr).await, &check, &tls).await;
    assert!(
        matches!(sample.failure, Some(Failure::Body { .. })),
        "{sample:?}"
    );
}

fn platform() -> Tls {
    Tls::platform().unwrap()
}

#[tokio::test]
async fn an_https_probe_via_a_stream_speaks_tls_checks_the_name_and_counts_the_days() {
    let service = support::https::serve(30).await;
    let via = || async { tokio::net::TcpStream::connect(service.addr).await.unwrap() };
    let trusting = Tls::with_roots(vec![service.ca_der.clone()]).unwrap();
    let check = HealthProbe::new("https://app.example/health", 200, Duration::from_secs(5));

    let sample = health::probe_via(via().await, &check, &trusting).await;
    assert!(sample.ok, "{sample:?}");
    assert_eq!(
        (sample.status, sample.cert_days_left),
        (Some(200), Some(30))
    );

    // The same service, but the name asked for is not the certificate's.
    let other = HealthProbe::new("https://db.example/health", 200, Duration::from_secs(5));
    let sample = health::probe_via(via().await, &other, &trusting).await;
    assert!(!sample.ok);
    let why = sample.error().unwrap();
    assert!(why.contains("not for this name"), "{why}");

    // A certificate from an authority this machine does not trust.
    let sample = health::probe_via(via().await, &check, &platform()).await;
    assert!(!sample.ok);
    let why = sample.error().unwrap();
    assert!(why.contains("not signed by a trusted authority"), "{why}");
}

async fn scrape(
    client: &reqwest::Client,
    addr: SocketAddr,
    queries: &MetricQueries,
) -> gonogo::probe::metrics::Scrape {
    let text = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    scrape_values(&text, queries).unwrap()
}

fn traffic(service: &Shared, ok: u64, errors: u64, fast: u64, slow: u64, very_slow: u64) {
    let mut s = service.lock().unwrap();
    s.ok += ok;
    s.errors += errors;
    s.fast += fast;
    s.slow += fast + slow;
    s.all += fast + slow + very_slow;
}

#[tokio::test]
async fn error_ratio_and_p95_come_from_two_real_scrapes_and_survive_a_restart() {
    let (addr, service) = serve().await;
    let client = health::direct_client().unwrap();
    let queries = MetricQueries::new(
        Some(r#"http_requests_total{status=~"5.."}"#),
        Some("http_requests_total"),
        Some("http_request_duration_seconds"),
    )
    .unwrap();

    traffic(&service, 1000, 5, 990, 10, 0);
    let baseline = scrape(&client, addr, &queries).await;
    // The deploy: 100 requests, 10 of them 502s, and most of them slow.
    traffic(&service, 90, 10, 20, 70, 10);
    let after_deploy = scrape(&client, addr, &queries).await;
    let d = derive(&baseline, &after_deploy, 10.0);
    assert_eq!(d.error_ratio, Some(0.1));
    assert_eq!(d.request_rate, Some(10.0));
    let p95 = d.latency_p95.unwrap();
    assert_eq!(
        p95, 1.0,
        "rank 95 falls in the +Inf bucket: the highest finite bound"
    );
    assert_eq!(d.resets, 0);

    // The process restarts: every counter starts again from zero, then 40 requests, 2 errors.
    {
        let mut s = service.lock().unwrap();
        (s.ok, s.errors, s.fast, s.slow, s.all) = (0, 0, 0, 0, 0);
    }
    traffic(&service, 38, 2, 40, 0, 0);
    let after_restart = scrape(&client, addr, &queries).await;
    let d = derive(&after_deploy, &after_restart, 10.0);
    assert_eq!(d.error_ratio, Some(2.0 / 40.0));
    assert_eq!(d.request_rate, Some(4.0));
    assert!(d.resets >= 3, "{d:?}");
    assert!(d.latency_p95.unwrap() <= 0.1, "{d:?}");
}
