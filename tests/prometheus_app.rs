//! A baseline rule judging real software: a tiny Python web app instrumented with the real
//! `prometheus_client` package (a request-duration histogram and a requests counter by status,
//! exposed by `generate_latest`), behind a real OpenSSH server whose tunnel the probes go
//! through (`via = "web"`). Its requests take about 5 ms while `v1` runs and about 50 ms once
//! the deploy step has switched it to `v2`: the p95 climbs tenfold, and
//! `latency_p95 > 3x baseline` must see it against the baseline taken before the deploy,
//! propose the rollback with that baseline in milliseconds, and `auto_rollback` must undo the
//! deploy.
//!
//! The app needs `prometheus_client` for `python3` (scripts/test installs it). Without it this
//! test fails and says how to install it: it never passes by skipping.

mod support;

use std::io::{BufRead as _, Read as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::gonogo::{Gonogo, Live, known_hosts, release, target};
use support::sshd::Sshd;

const INSTALL: &str = "python3 -m pip install prometheus_client";

/// The app. `python3 app.py RELEASE_FILE`: serves `/work` (the requests its own load threads
/// make: 5 ms of work under v1, 50 ms under v2, as RELEASE_FILE says at each request),
/// `/health` and `/metrics` on 127.0.0.1 and a port the system picks, printed on stdout. It
/// exits when its stdin closes, so it never outlives the test that started it.
const APP: &str = r#"
import os, sys, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter,
                               Histogram, generate_latest)

RELEASE_FILE = sys.argv[1]
WORK = {"v1": 0.005, "v2": 0.050}

registry = CollectorRegistry()
DURATION = Histogram(
    "http_request_duration_seconds", "Time spent answering a request", ["route"],
    buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1), registry=registry)
REQUESTS = Counter(
    "http_requests_total", "Requests answered, by status", ["status"], registry=registry)


def running():
    try:
        with open(RELEASE_FILE) as f:
            return f.read().strip()
    except OSError:
        return "v1"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/metrics":
            self.answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)
        elif self.path == "/health":
            self.answer(200, b"ok\n", "text/plain")
        elif self.path == "/work":
            with DURATION.labels(route="/work").time():
                release = running()
                time.sleep(WORK.get(release, 0.005))
            REQUESTS.labels(status="200").inc()
            self.answer(200, release.encode() + b"\n", "text/plain")
        else:
            REQUESTS.labels(status="404").inc()
            self.answer(404, b"not found\n", "text/plain")

    def answer(self, status, body, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def load(port):
    url = "http://127.0.0.1:%d/work" % port
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                r.read()
        except Exception as e:
            print("load:", e, file=sys.stderr, flush=True)
            time.sleep(0.1)


def orphaned():
    sys.stdin.read()
    os._exit(0)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
port = server.server_address[1]
for _ in range(4):
    threading.Thread(target=load, args=(port,), daemon=True).start()
threading.Thread(target=orphaned, daemon=True).start()
print(port, flush=True)
server.serve_forever()
"#;

/// The app's process, killed when the test ends (however it ends).
struct App {
    child: Child,
    port: u16,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails, naming the install command, when `python3` cannot import `prometheus_client`.
fn require_prometheus_client() {
    let out = Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): this test needs python3 and prometheus_client ({INSTALL})"));
    assert!(
        out.status.success(),
        "python3 cannot import prometheus_client: install it with `{INSTALL}` (scripts/test does)\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts the app in `dir`, reading which release runs from `release_file`.
fn start_app(dir: &Path, release_file: &Path) -> App {
    require_prometheus_client();
    let script = dir.join("app.py");
    std::fs::write(&script, APP).expect("write app.py");
    let stderr_path = dir.join("app.stderr");
    let stderr = std::fs::File::create(&stderr_path).expect("app.stderr");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(release_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start python3 app.py");
    let stdout = child.stdout.take().expect("app stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    // The child is owned by the guard from here: a failure below still kills it.
    let mut app = App { child, port: 0 };
    let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
    match line.trim().parse() {
        Ok(port) => app.port = port,
        Err(_) => {
            let _ = app.child.kill();
            let _ = app.child.wait();
            let mut said = String::new();
            let _ = std::fs::File::open(&stderr_path).map(|mut f| f.read_to_string(&mut said));
            panic!("the app printed no port (got {line:?}); its stderr:\n{said}");
        }
    }
    app
}

#[test]
fn a_p95_ten_times_the_baseline_after_the_deploy_is_rolled_back() {
    let g = Gonogo::new("");
    let dir = g.dir.path();
    let current = dir.join("current");
    std::fs::write(&current, "v1").expect("v1 runs");
    let app = start_app(dir, &current);
    let port = app.port;
    let sshd = Sshd::start();
    let kh = known_hosts(dir, &[&sshd]);
    let body = format!(
        r#"{}
[[step]]
name = "Deploy v2"
on = "web"
run = "printf v2 > '{file}'"
undo = "printf v1 > '{file}'"

[health.app]
url = "http://127.0.0.1:{port}/health"
via = "web"
every = "500ms"

[metrics.app]
url = "http://127.0.0.1:{port}/metrics"
via = "web"
requests = "http_requests_total"
errors = 'http_requests_total{{status=~"5.."}}'
latency = "http_request_duration_seconds"
every = "500ms"

[watch]
duration = "2m"
short_because = "a test"
rollback_on = ["latency_p95 > 3x baseline for 3s"]
auto_rollback = "1s"
"#,
        target("web-1", &sshd, &["web"]),
        file = current.display(),
    );
    std::fs::write(dir.join("release.toml"), release("prom", &kh, &body)).expect("profile");

    let mut live = Live::start(&g, &["--yes"]);
    // The deploy waits for the baseline: two readings of the app's histogram.
    live.wait_for("ok   baseline 2/2 readings");
    live.wait_for("==> watch window");
    live.wait_for("ROLLBACK PROPOSED: latency_p95 > 3x baseline for 3s held");
    live.wait_for("baseline before the deploy:");
    let (code, all) = live.finish();
    let app_said = std::fs::read_to_string(dir.join("app.stderr")).unwrap_or_default();
    let all = format!("{all}\n--- app stderr\n{app_said}");

    assert_eq!(code, Some(3), "rolled back: {all}");
    assert!(
        all.contains("waiting for the baseline: baseline "),
        "the deploy waited for the baseline: {all}"
    );
    let base = all
        .lines()
        .find(|l| l.contains("baseline before the deploy:"))
        .expect("the proposal's baseline");
    // "   baseline before the deploy: 9.75ms (the rule's limit: 3x = 29.25ms)"
    let ms = base
        .split("baseline before the deploy: ")
        .nth(1)
        .and_then(|rest| rest.split("ms").next())
        .and_then(|n| n.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("the baseline in milliseconds: {base}\n{all}"));
    assert!(
        ms > 0.0,
        "a baseline taken from the app's histogram: {base}\n{all}"
    );
    assert!(base.contains("(the rule's limit: 3x = "), "{base}\n{all}");
    assert!(all.contains("health app via web-1: 200"), "{all}");
    assert!(all.contains("rollback confirmed"), "{all}");
    assert!(all.contains("undo: Deploy v2: ↺ undone on web-1"), "{all}");
    assert_eq!(
        std::fs::read_to_string(&current).expect("release file"),
        "v1",
        "v1 runs again: {all}"
    );
    drop(app);
}
