//! The service the probes reach: `/health` and a Prometheus `/metrics` page on 127.0.0.1,
//! served by axum from a thread of the bench process, counting what it answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// What the service answered: health checks and metrics scrapes.
#[derive(Default)]
pub struct Served {
    pub health: AtomicU64,
    pub metrics: AtomicU64,
}

impl Served {
    /// Requests answered so far, both pages.
    pub fn answered(&self) -> u64 {
        self.health.load(Ordering::Relaxed) + self.metrics.load(Ordering::Relaxed)
    }
}

/// A Prometheus page as an app exposes it: requests by method, route and status, and a latency
/// histogram per route, the counters growing with time (about 1% of requests 5xx).
fn metrics_text(secs: f64) -> String {
    const ROUTES: [&str; 5] = [
        "/",
        "/api/orders",
        "/api/orders/:id",
        "/checkout",
        "/health",
    ];
    const BUCKETS: [&str; 12] = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
    ];
    // Share of requests under each bucket's bound.
    const SHARE: [f64; 12] = [
        0.05, 0.2, 0.45, 0.7, 0.85, 0.93, 0.97, 0.99, 0.997, 0.999, 1.0, 1.0,
    ];
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(
        "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n",
    );
    for (i, route) in ROUTES.iter().enumerate() {
        let rate = 40.0 * (i + 1) as f64;
        for (status, share) in [("200", 0.97), ("404", 0.02), ("500", 0.008), ("503", 0.002)] {
            let n = (secs * rate * share).floor();
            out.push_str(&format!(
                "http_requests_total{{method=\"GET\",route=\"{route}\",status=\"{status}\"}} {n}\n"
            ));
        }
    }
    out.push_str("# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n");
    for (i, route) in ROUTES.iter().enumerate() {
        let count = (secs * 40.0 * (i + 1) as f64).floor();
        for (le, share) in BUCKETS.iter().zip(SHARE) {
            out.push_str(&format!(
                "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {}\n",
                (count * share).floor()
            ));
        }
        out.push_str(&format!(
            "http_request_duration_seconds_sum{{route=\"{route}\"}} {:.3}\nhttp_request_duration_seconds_count{{route=\"{route}\"}} {count}\n",
            count * 0.061
        ));
    }
    out.push_str("# HELP process_resident_memory_bytes Resident memory.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 8.4e+07\n");
    out
}

/// Serves `/health` and `/metrics` on 127.0.0.1 from a thread of its own; returns the port.
pub fn serve(served: Arc<Served>) -> u16 {
    use axum::Router;
    use axum::extract::State;
    use axum::routing::get;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let started = Instant::now();
            let app = Router::new()
                .route(
                    "/health",
                    get(|State((s, _)): State<(Arc<Served>, Instant)>| async move {
                        s.health.fetch_add(1, Ordering::Relaxed);
                        r#"{"status":"ok","db":"up"}"#
                    }),
                )
                .route(
                    "/metrics",
                    get(|State((s, t)): State<(Arc<Served>, Instant)>| async move {
                        s.metrics.fetch_add(1, Ordering::Relaxed);
                        metrics_text(t.elapsed().as_secs_f64())
                    }),
                )
                .with_state((served, started));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr").port())
                .expect("port");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    rx.recv().expect("the server's port")
}
