//! A tiny Python web app instrumented with the real `prometheus_client` package (a
//! request-duration histogram and a requests counter by status, exposed by
//! `generate_latest`), loaded by its own threads. Which release runs is read from a file at each
//! request: `v1` answers in about 5 ms, `v2` in about 50 ms, `bad` in 5 ms with three requests
//! in ten answered 500. The app needs `prometheus_client` for `python3` (scripts/test installs
//! it); without it a test fails and says how to install it.

#![allow(dead_code)]

use std::io::{BufRead as _, Read as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const INSTALL: &str = "python3 -m pip install prometheus_client";

/// The app. `python3 app.py RELEASE_FILE`: serves `/work` (the requests its own load threads
/// make: 5 ms of work under v1, 50 ms under v2, as RELEASE_FILE says at each request),
/// `/health` and `/metrics` on 127.0.0.1 and a port the system picks, printed on stdout. It
/// exits when its stdin closes, so it never outlives the test that started it.
const APP: &str = r#"
import os, random, sys, threading, time, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter,
                               Histogram, generate_latest)

RELEASE_FILE = sys.argv[1]
WORK = {"v1": 0.005, "v2": 0.050, "bad": 0.005}
FAIL = {"bad": 0.3}

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
            status = 500 if random.random() < FAIL.get(release, 0) else 200
            REQUESTS.labels(status=str(status)).inc()
            self.answer(status, release.encode() + b"\n", "text/plain")
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
        except urllib.error.HTTPError:
            pass
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
pub struct App {
    child: Child,
    pub port: u16,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails, naming the install command, when `python3` cannot import `prometheus_client`.
pub fn require_prometheus_client() {
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
pub fn start_app(dir: &Path, release_file: &Path) -> App {
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
