//! The app on a simulated host: traffic, a Prometheus registry, `/health`, and log lines in the
//! styles of gunicorn and celery. It follows the host's files: `~/app/wanted` restarts it on
//! another release (health 503 and counters back to zero while it restarts, as a real process),
//! `~/app/running` says which release it runs.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::Scenario;
use super::host::NEXT;

/// The latency histogram's bucket bounds, in seconds (prometheus_client's defaults).
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5];
/// How long a restart keeps the app down.
const RESTART: Duration = Duration::from_millis(1500);
/// bad-release: how long after a restart onto the bad release its bug shows: once the carts
/// v1.4.2 cached (with their currency) have expired, longer than the canary's 30 s analysis,
/// so the bad build passes it and the watch window catches the bug.
const BUG_LATE: Duration = Duration::from_secs(45);
/// canary: how soon the bug shows on a host that runs the bad release, and how its share of
/// requests climbs (in hundredths of a percent): from 2% by 1% a second, up to 20%.
const BUG_SOON: Duration = Duration::from_secs(2);
const CLIMB_FROM: u64 = 200;
const CLIMB_BY_SECOND: u64 = 100;
const CLIMB_TO: u64 = 2_000;

/// One simulated host's app.
pub struct App {
    name: String,
    home: PathBuf,
    scenario: Scenario,
    rng: u64,
    running: String,
    running_since: Instant,
    restarting: Option<(Instant, String)>,
    pid: u32,
    /// Requests by status, the latency histogram (cumulative per bucket), its sum and count.
    by_status: Vec<(u16, u64)>,
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
    next_celery: Instant,
    /// When the payment provider next times out: an old error, seen before the deploy too.
    next_old_error: Instant,
}

impl App {
    pub fn new(name: &str, home: PathBuf, scenario: Scenario, now: Instant) -> Self {
        let seed = name.bytes().fold(0x9e37_79b9_7f4a_7c15_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let running = read(&home, "app/running").unwrap_or_default();
        App {
            name: name.to_string(),
            home,
            scenario,
            rng: seed,
            running,
            running_since: now,
            restarting: None,
            pid: 4100 + (seed % 800) as u32,
            by_status: Vec::new(),
            buckets: [0; BUCKETS.len()],
            sum: 0.0,
            count: 0,
            next_celery: now,
            next_old_error: now + Duration::from_millis(300 + seed % 500),
        }
    }

    /// `/health`: the status and the body.
    pub fn health(&self) -> (u16, String) {
        match &self.restarting {
            Some(_) => (503, "{\"status\": \"starting\"}\n".into()),
            None => (
                200,
                format!(
                    "{{\"status\": \"ok\", \"version\": \"{}\", \"db\": \"ok\"}}\n",
                    self.running
                ),
            ),
        }
    }

    /// `/metrics` in the Prometheus text format; none while the process restarts.
    pub fn metrics(&self) -> Option<String> {
        if self.restarting.is_some() {
            return None;
        }
        let mut out = String::new();
        out.push_str("# HELP http_requests_total Requests answered, by status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for (status, n) in &self.by_status {
            let _ = writeln!(out, "http_requests_total{{status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (le, n) in BUCKETS.iter().zip(self.buckets) {
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "http_request_duration_seconds_sum {:.3}", self.sum);
        let _ = writeln!(out, "http_request_duration_seconds_count {}", self.count);
        Some(out)
    }

    /// A tenth of a second of the host's life.
    pub fn tick(&mut self, now: Instant) {
        let mut gunicorn = Vec::new();
        let mut celery = Vec::new();
        self.restart_if_asked(now, &mut gunicorn);
        if self.restarting.is_none() {
            self.traffic(now, &mut gunicorn);
            if self.name == "web-1" && now >= self.next_celery {
                self.next_celery = now + Duration::from_millis(1200 + self.below(900));
                celery.push(self.celery_line());
            }
        }
        self.append("log/gunicorn.log", &gunicorn);
        self.append("log/celery.log", &celery);
    }

    fn restart_if_asked(&mut self, now: Instant, log: &mut Vec<String>) {
        match self.restarting.take() {
            Some((until, version)) if now >= until => {
                self.running = version;
                self.running_since = now;
                self.pid += 7;
                self.by_status.clear();
                self.buckets = [0; BUCKETS.len()];
                self.sum = 0.0;
                self.count = 0;
                let _ =
                    std::fs::write(self.home.join("app/running"), format!("{}\n", self.running));
                let pid = self.pid;
                log.push(self.gunicorn("INFO", "Starting gunicorn 23.0.0"));
                log.push(self.gunicorn("INFO", "Listening at: http://127.0.0.1:8000"));
                log.push(self.gunicorn("INFO", "Using worker: sync"));
                for worker in 1..=3 {
                    log.push(self.gunicorn(
                        "INFO",
                        &format!("Booting worker with pid: {}", pid + worker),
                    ));
                }
                log.push(self.gunicorn("INFO", &format!("acme-shop {} ready", self.running)));
            }
            Some(pending) => self.restarting = Some(pending),
            None => {
                let wanted = read(&self.home, "app/wanted");
                if let Some(wanted) = wanted.filter(|w| *w != self.running) {
                    log.push(self.gunicorn("INFO", "Handling signal: term"));
                    for worker in 1..=3 {
                        let line = format!("Worker exiting (pid: {})", self.pid + worker);
                        log.push(self.gunicorn("INFO", &line));
                    }
                    log.push(self.gunicorn("INFO", "Shutting down: Master"));
                    self.restarting = Some((now + RESTART, wanted));
                }
            }
        }
    }

    /// About 30 requests a second; one in eight is written to the access log.
    fn traffic(&mut self, now: Instant, log: &mut Vec<String>) {
        let failing = self.bug_share(now);
        let buggy = failing > 0;
        if now >= self.next_old_error {
            self.next_old_error = now + Duration::from_millis(15_000 + self.below(20_000));
            self.count_request(500, 10.0);
            log.extend(self.error_lines("/checkout/pay", false));
        }
        let requests = 1 + self.below(5);
        for _ in 0..requests {
            let roll = self.below(10_000);
            let (status, path) = match roll {
                _ if roll < failing => (500, "/checkout/confirm"),
                0..150 => (404, "/products/discontinued-mug"),
                150..2_000 => (200, "/api/cart"),
                2_000..3_000 => (302, "/login"),
                _ => (200, "/products"),
            };
            let mut latency = 0.012 + self.below(40) as f64 / 1000.0;
            if self.below(100) < 6 {
                latency += self.below(300) as f64 / 1000.0;
            }
            if buggy {
                latency *= 1.3;
            }
            self.count_request(status, latency);
            if status == 500 {
                log.extend(self.error_lines(path, buggy));
            } else if self.below(8) == 0 {
                log.push(self.access_line(status, path, latency));
            }
        }
    }

    /// The share of requests the bad release's bug fails now, in hundredths of a percent:
    /// none on the previous release, nor before the scenario's bug shows.
    fn bug_share(&self, now: Instant) -> u64 {
        if self.running != NEXT {
            return 0;
        }
        let up = now.duration_since(self.running_since);
        match self.scenario {
            Scenario::BadRelease if up >= BUG_LATE => 900,
            Scenario::Canary if up >= BUG_SOON => {
                let climbed = (up - BUG_SOON).as_millis() as u64 * CLIMB_BY_SECOND / 1000;
                (CLIMB_FROM + climbed).min(CLIMB_TO)
            }
            _ => 0,
        }
    }

    fn count_request(&mut self, status: u16, latency: f64) {
        match self.by_status.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => {
                self.by_status.push((status, 1));
                self.by_status.sort_unstable();
            }
        }
        for (le, n) in BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if latency <= *le {
                *n += 1;
            }
        }
        self.sum += latency;
        self.count += 1;
    }

    fn error_lines(&mut self, path: &str, buggy: bool) -> Vec<String> {
        let order = 81_000 + self.below(9_000);
        if buggy && path == "/checkout/confirm" {
            let line =
                format!("shop.checkout: confirm failed for order {order}: KeyError: 'currency'");
            vec![
                self.gunicorn("ERROR", &line),
                "Traceback (most recent call last):".into(),
                "  File \"/srv/acme-shop/shop/checkout/views.py\", line 212, in confirm".into(),
                "    total = order.totals[order.currency]".into(),
                "KeyError: 'currency'".into(),
            ]
        } else {
            let line =
                format!("payment provider timed out after 10.0s (order {order}), answered 500");
            vec![self.gunicorn("ERROR", &line)]
        }
    }

    fn access_line(&mut self, status: u16, path: &str, latency: f64) -> String {
        let client = format!("10.0.{}.{}", self.below(4), 2 + self.below(250));
        let size = 400 + self.below(9_000);
        let time = chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S +0000");
        format!(
            "{client} - - [{time}] \"GET {path} HTTP/1.1\" {status} {size} \"-\" \"Mozilla/5.0\" {latency:.3}s"
        )
    }

    fn gunicorn(&self, level: &str, text: &str) -> String {
        let time = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S +0000");
        format!("[{time}] [{}] [{level}] {text}", self.pid)
    }

    fn celery_line(&mut self) -> String {
        let task = [
            "send_receipt",
            "sync_stock",
            "reindex_product",
            "expire_carts",
        ][self.below(4) as usize];
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            self.below(1 << 32),
            self.below(1 << 16),
            self.below(1 << 12),
            self.below(1 << 16),
            self.below(1 << 48)
        );
        let took = 0.05 + self.below(400) as f64 / 1000.0;
        let time = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S,%3f");
        format!(
            "[{time}: INFO/ForkPoolWorker-{}] Task shop.tasks.{task}[{id}] succeeded in {took:.2}s: None",
            1 + self.below(4)
        )
    }

    fn append(&self, file: &str, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        let mut text = lines.join("\n");
        text.push('\n');
        let opened = std::fs::OpenOptions::new()
            .append(true)
            .open(self.home.join(file));
        if let Ok(mut f) = opened {
            let _ = f.write_all(text.as_bytes());
        }
    }

    /// xorshift64: a host's traffic is the same from run to run.
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A one-line file of the host's, trimmed; `None` when missing or empty.
fn read(home: &std::path::Path, file: &str) -> Option<String> {
    let text = std::fs::read_to_string(home.join(file)).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}
