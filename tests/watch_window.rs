//! The watch window end to end: the real binary, a local target, and a real HTTP service on
//! loopback whose /health and /metrics the test switches from healthy to failing during the
//! watch. What an operator relies on: a healthy watch ends released; a failing one proposes a
//! rollback with its evidence, and `auto_rollback` carries it out when nobody answers.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use support::gonogo::{Gonogo, Live};

#[derive(Default)]
struct Service {
    failing: bool,
    /// No errors while healthy, and no 5xx series at all until the first one.
    clean: bool,
    ok: u64,
    errors: u64,
}

type Shared = Arc<Mutex<Service>>;

async fn health_page(State(s): State<Shared>) -> StatusCode {
    if s.lock().unwrap().failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

/// Counters that grow at each scrape: 1 error in 100 while healthy (none when clean), 30 in
/// 100 when failing.
async fn metrics_page(State(s): State<Shared>) -> String {
    let mut s = s.lock().unwrap();
    let bad = match (s.failing, s.clean) {
        (true, _) => 30,
        (false, true) => 0,
        (false, false) => 1,
    };
    s.ok += 100 - bad;
    s.errors += bad;
    let errors = if s.errors > 0 {
        format!("http_requests_total{{status=\"500\"}} {}\n", s.errors)
    } else {
        String::new()
    };
    format!(
        "# TYPE http_requests_total counter\nhttp_requests_total{{status=\"200\"}} {}\n{errors}",
        s.ok
    )
}

/// Serves on 127.0.0.1:0 from its own thread; returns the port and the switch.
fn service() -> (u16, Shared) {
    let shared = Shared::default();
    let state = shared.clone();
    let app = Router::new()
        .route("/health", get(health_page))
        .route("/metrics", get(metrics_page))
        .with_state(state);
    (support::http::serve(app), shared)
}

fn profile(port: u16, watch: &str, rules: &str) -> String {
    format!(
        r#"version = 1
[release]
name = "watch-{unique}"
environment = "staging"
lock_dir = "LOCKS"

[targets.web-1]
transport = "local"
roles = ["web"]

[[step]]
name = "Deploy"
run = "echo deployed"
on = "web"

[health.app]
url = "http://127.0.0.1:{port}/health"
via = "web"
every = "200ms"

[metrics.app]
url = "http://127.0.0.1:{port}/metrics"
errors = 'http_requests_total{{status=~"5.."}}'
requests = "http_requests_total"
every = "200ms"

[watch]
duration = "{watch}"
rollback_on = [{rules}]
auto_rollback = "1s"

[[rollback]]
name = "Undo"
run = "echo undone"
on = "web"
"#,
        unique = std::process::id(),
    )
}

fn gonogo(text: &str) -> Gonogo {
    let g = Gonogo::new("");
    let locks = g.dir.path().join("locks");
    let text = text.replace("LOCKS", &locks.display().to_string());
    std::fs::write(g.dir.path().join("release.toml"), text).expect("profile");
    g
}

#[test]
fn a_healthy_watch_holds_its_duration_and_releases() {
    let (port, _service) = service();
    let g = gonogo(&profile(
        port,
        "3s",
        "\"health failing for 1s\", \"error_ratio > 5% for 1s\"",
    ));
    let out = g.run(&["--yes"], &[]);
    let text = support::gonogo::text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("health app via web-1: 200"), "{text}");
    assert!(!text.contains("ROLLBACK PROPOSED"), "{text}");
}

#[test]
fn a_failing_service_during_the_watch_is_rolled_back_by_auto_rollback() {
    let (port, service) = service();
    let g = gonogo(&profile(port, "10m", "\"error_ratio > 5% for 1s\""));
    let mut live = Live::start(&g, &["--yes"]);
    live.wait_for("==> watch window");
    service.lock().unwrap().failing = true;
    live.wait_for("ROLLBACK PROPOSED: error_ratio > 5% for 1s held");
    live.wait_for("values:");
    let (code, text) = live.finish();
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("health app via web-1 failing: "), "{text}");
    assert!(text.contains("undone"), "the rollback ran: {text}");
    assert!(
        text.contains("auto_rollback at rollback proposal \"error_ratio > 5% for 1s\": rollback confirmed (nobody answered the rollback proposal within 1s)"),
        "recorded as auto_rollback's decision: {text}"
    );
}

/// Before the app's first 5xx there is no error series to read: the error rate is 0.00%, and
/// nothing anywhere reads "-0.00".
#[test]
fn no_error_series_yet_reads_as_zero_never_negative_zero() {
    let (port, service) = service();
    service.lock().unwrap().clean = true;
    let g = gonogo(&profile(port, "2s", "\"error_ratio > 5% for 1s\""));
    let out = g.run(&["--yes"], &[]);
    let text = support::gonogo::text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("?? FINAL GATE"), "{text}");
    assert!(text.contains("errors 0.00%"), "{text}");
    assert!(!text.contains("-0.0"), "{text}");
}

/// The proposal's values are in the rule's unit (percent for a `5%` rule, the baseline too),
/// each naming the host its metrics were read through.
#[test]
fn a_proposals_values_read_in_the_rules_unit_and_name_their_host() {
    let (port, service) = service();
    let text = profile(port, "10m", "\"error_ratio > 5% for 1s\"").replace(
        "requests = \"http_requests_total\"\n",
        "requests = \"http_requests_total\"\nvia = \"web\"\n",
    );
    let g = gonogo(&text);
    let mut live = Live::start(&g, &["--yes"]);
    live.wait_for("==> watch window");
    service.lock().unwrap().failing = true;
    live.wait_for("values:");
    let (code, text) = live.finish();
    assert_eq!(code, Some(3), "{text}");
    let values = text
        .lines()
        .find(|l| l.contains("values:"))
        .expect("the proposal's values");
    let each: Vec<&str> = values
        .split("values:")
        .nth(1)
        .unwrap_or_default()
        .split(", ")
        .map(str::trim)
        .collect();
    assert!(!each.is_empty(), "{values}");
    for value in &each {
        // "14:15:15Z web-1 30.00%"
        let words: Vec<&str> = value.split(' ').collect();
        assert_eq!(words.len(), 3, "{value} in {values}");
        assert!(words[0].ends_with('Z'), "{value}");
        assert_eq!(words[1], "web-1", "{value}");
        assert_eq!(words[2], "30.00%", "{value}");
    }
    if let Some(base) = text
        .lines()
        .find(|l| l.contains("baseline before the deploy:"))
    {
        assert!(base.trim_end().ends_with('%'), "{base}");
    }
    assert!(!text.contains("-0.0"), "{text}");
}

/// In production, `done` in the watch is not the end: it leads to the final gate, and the
/// release is released only on its `go`.
#[test]
fn done_in_a_production_watch_leads_to_the_final_gate() {
    let (port, _service) = service();
    let text = profile(port, "10m", "\"health failing for 1s\"")
        .replace("environment = \"staging\"", "environment = \"production\"");
    let g = gonogo(&text);
    let mut live = Live::start(&g, &[]);
    live.wait_for("==> watch window");
    live.say("done");
    live.wait_for("?? FINAL GATE: the watch was ended early");
    live.wait_for("answer: go / rollback");
    live.say("go");
    let (code, text) = live.finish();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("released"), "{text}");
}

/// A CI log reader tells a healthy watch from a hung job: a status line every 15 s with each
/// rule's state, and the hosts' log lines folded per minute with their count.
#[test]
fn headless_says_how_the_watch_stands_every_15s_and_folds_the_logs_in_ci() {
    let (port, _service) = service();
    let g = gonogo(&profile(port, "20s", "\"health failing for 1s\""));
    let log = g.dir.path().join("app.log");
    std::fs::write(&log, "").expect("log");
    let text = std::fs::read_to_string(g.dir.path().join("release.toml")).expect("profile");
    let text = text.replace(
        "[watch]",
        &format!(
            "[logs.app]\non = \"web\"\ncommand = \"tail -F -n 0 '{}'\"\nerrors = 'ERROR'\n\n[watch]\nshort_because = \"a test\"",
            log.display()
        ),
    );
    std::fs::write(g.dir.path().join("release.toml"), text).expect("profile");
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let writing = writing.clone();
        let log = log.clone();
        std::thread::spawn(move || {
            use std::io::Write as _;
            let mut n = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&log)
                    .expect("append");
                writeln!(f, "GET /products 200 request {n}").expect("line");
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        })
    };
    let mut cmd = g.command(&["--yes"]);
    cmd.env("GITHUB_ACTIONS", "true");
    let out = cmd.output().expect("gonogo");
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    writer.join().expect("writer");
    let text = support::gonogo::text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("...  watching: "), "{text}");
    assert!(text.contains("     health failing for 1s: ok"), "{text}");
    assert!(text.contains("::group::logs from "), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("   ") && l.ends_with(" log lines")),
        "{text}"
    );
    assert!(text.contains("FINAL GATE: the watch window held"), "{text}");
}

/// A watch whose metrics never answer cannot judge its error rule: its time runs out, it is
/// held over once, and the final gate is not "held". `--yes` does not answer it: the unattended
/// policy rolls the release back.
#[test]
fn yes_never_passes_a_final_gate_whose_rule_could_not_judge() {
    let (port, _service) = service();
    let text = profile(port, "3s", "\"error_ratio > 5% for 1s\"")
        .replace(
            &format!("url = \"http://127.0.0.1:{port}/metrics\""),
            "url = \"http://127.0.0.1:9/metrics\"",
        )
        .replace("[watch]", "[watch]\nshort_because = \"a test\"");
    let g = gonogo(&text);
    let out = g.run(&["--yes"], &[]);
    let shown = support::gonogo::text(&out);
    assert_eq!(out.status.code(), Some(3), "{shown}");
    assert!(
        shown.contains("watch extended 5s: error_ratio > 5% for 1s: cannot judge: source failing"),
        "{shown}"
    );
    assert!(
        shown.contains("FINAL GATE: the watch's time ran out, NOT all clear"),
        "{shown}"
    );
    assert!(
        shown.contains("--yes does not answer a final gate in doubt"),
        "{shown}"
    );
    assert!(
        shown.contains("decided by policy") && shown.contains(": rollback"),
        "{shown}"
    );
    assert!(!shown.contains("the watch window held"), "{shown}");
}
