//! `gonogo report`: the post-incident report of a journal. A production release written event
//! by event with the journal's own writer (times fixed, so the Markdown is snapshotted as it
//! is): checks retried, a manual item and a gate with notes, a link drop, the watch window's
//! health and metrics, a rollback proposal nobody answered, auto_rollback, new errors. Values
//! carry `|`, HTML and control characters that must reach the Markdown as text. A journal cut
//! off mid-release says where it stops and that the outcome is unknown.

use std::path::{Path, PathBuf};
use std::process::Command;

use gonogo::engine::watch::{HealthReading, MetricsReading};
use gonogo::engine::{
    Actor, Decision, Event, EventKind, Outcome, Release, RunId, StepList, Stream, Timer,
};
use gonogo::journal::{FORMAT, Header, HeaderTarget, VERSION, Writer};
use gonogo::profile::{self, Purpose, Source};

const PROFILE: &str = r#"version = 1
[release]
name = "acme-web"
environment = "production"
version = "{{version}}"

[vars]
version = "v1.2.1"

[targets.web-1]
host = "web-1.example.com"
roles = ["web", "migrate"]

[targets.web-2]
host = "web-2.example.com"
roles = ["web"]

[logs.gunicorn]
on = "web"
command = "journalctl -u gunicorn -f -n 0"
errors = 'ERROR'

[health.app]
url = "http://127.0.0.1:8000/health"
via = "web"

[metrics.app]
url = "http://127.0.0.1:8000/metrics"
via = "web-1"
errors = 'http_requests_total{status=~"5.."}'
requests = "http_requests_total"
latency = "http_request_duration_seconds"

[[step]]
phase = "Preflight"
name = "Env | vars present"
on = "web"
check = 'test -n "$DATABASE_URL"'
retries = 1

[[step]]
phase = "Preflight"
manual = "Database backup completed"

[[step]]
phase = "Preflight"
gate = "Go for production deploy of {{version}}?"

[[step]]
phase = "Deploy"
name = "Migrate"
on = "migrate"
run = "cd /var/www/app && ./venv/bin/alembic upgrade head"
irreversible = true

[[step]]
phase = "Deploy"
name = "Restart app servers"
on = "web"
serial = 1
run = "sudo systemctl restart gunicorn"

[watch]
duration = "10m"
rollback_on = ["error_ratio > 5% for 1m"]
auto_rollback = "60s"

[[rollback]]
name = "Check out the previous release"
on = "web"
run = "cd /var/www/app && git checkout $(cat PREVIOUS_REVISION) && sudo systemctl restart gunicorn"
"#;

/// 2026-11-23T13:41:04Z.
const T0: u64 = 1_795_441_264_000;

fn plan() -> gonogo::engine::ReleasePlan {
    let source = Source::new("profiles/web.toml", PROFILE);
    let (p, diags) = profile::load(&source);
    let p = p.unwrap_or_else(|| panic!("profile invalid: {diags:?}"));
    let mut diags = profile::Diagnostics::default();
    let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut diags);
    profile::release_plan(&p, &vars)
}

/// Writes events as a session would: to the journal, then to the engine.
struct Session {
    writer: Writer,
    release: Release,
    at: u64,
}

impl Session {
    fn new(path: &Path) -> Session {
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            gonogo: "0.1.0".into(),
            session: "20261123T134104Z-9396e6c7650f751e".into(),
            profile: "profiles/web.toml".into(),
            profile_sha256: "e0ee5a6f0c1d2b3a4e5f60718293a4b5c6d7e8f9".into(),
            release: "acme-web".into(),
            environment: "production".into(),
            operator: "ana@laptop".into(),
            login: String::new(),
            terminal: None,
            started: "2026-11-23T13:41:04.000Z".into(),
            targets: vec![
                HeaderTarget {
                    name: "web-1".into(),
                    address: "web-1.example.com".into(),
                },
                HeaderTarget {
                    name: "web-2".into(),
                    address: "web-2.example.com".into(),
                },
            ],
            present: None,
        };
        Session {
            writer: Writer::create(path, &header).expect("journal"),
            release: Release::default(),
            at: T0,
        }
    }

    fn send(&mut self, after_ms: u64, kind: EventKind) {
        self.at += after_ms;
        let event = Event::new(self.at, kind);
        self.writer.event(&event);
        self.release.apply(&event);
    }

    fn decide(&mut self, after_ms: u64, decision: Decision, note: Option<&str>) {
        self.send(
            after_ms,
            EventKind::Decided {
                by: "ana".into(),
                decision,
                note: note.map(str::to_string),
                actor: Actor::Person,
            },
        );
    }

    fn exit(
        &mut self,
        after_ms: u64,
        list: StepList,
        step: usize,
        target: &str,
        attempt: u32,
        status: i32,
    ) {
        self.send(
            after_ms,
            EventKind::Exited {
                run: run(list, step, target, attempt),
                status,
            },
        );
    }

    fn health(&mut self, after_ms: u64, via: &str, ok: bool) {
        self.send(
            after_ms,
            EventKind::HealthSampled {
                check: "app".into(),
                via: Some(via.into()),
                reading: HealthReading {
                    ok,
                    status: Some(if ok { 200 } else { 503 }),
                    latency_ms: 12,
                    error: (!ok).then(|| "503, expected 200".to_string()),
                    cert_days: None,
                },
            },
        );
    }

    fn metrics(&mut self, after_ms: u64, ratio: f64, p95: f64) {
        self.send(
            after_ms,
            EventKind::MetricsSampled {
                source: "app".into(),
                via: Some("web-1".into()),
                reading: MetricsReading {
                    error_ratio: Some(ratio),
                    request_rate: Some(40.0),
                    latency_p95_ms: Some(p95),
                    ..MetricsReading::default()
                },
            },
        );
    }

    fn log(&mut self, after_ms: u64, target: &str, line: &str) {
        self.send(
            after_ms,
            EventKind::LogLines {
                target: target.into(),
                tail: "gunicorn".into(),
                lines: vec![line.into()],
            },
        );
    }
}

fn run(list: StepList, step: usize, target: &str, attempt: u32) -> RunId {
    RunId {
        list,
        step,
        target: target.into(),
        attempt,
    }
}

/// A part of the release: some events.
type Part = Box<dyn Fn(&mut Session)>;

/// Writes the release up to `stop` parts (all of them: `usize::MAX`) and returns its journal.
fn journal(dir: &Path, name: &str, stop: usize) -> (PathBuf, Release) {
    let path = dir.join(name);
    let mut s = Session::new(&path);
    let main = StepList::Main;
    let mut steps: Vec<Part> = vec![
        Box::new(|s| {
            s.send(
                0,
                EventKind::Started {
                    session: "20261123T134104Z-9396e6c7650f751e".into(),
                    operator: "ana".into(),
                    plan: Box::new(plan()),
                },
            )
        }),
        Box::new(|s| {
            for t in ["web-1", "web-2"] {
                s.send(300, EventKind::Connected { target: t.into() });
            }
            for t in ["web-1", "web-2"] {
                s.send(200, EventKind::LockTaken { target: t.into() });
            }
        }),
        Box::new(|s| {
            s.health(1_000, "web-1", true);
            s.health(10, "web-2", true);
            s.metrics(10, 0.01, 110.0);
            s.log(
                100,
                "web-1",
                "ERROR 2026-11-23 worker 4 timed out (known noise)",
            );
        }),
        Box::new(move |s| {
            s.exit(1_000, main, 0, "web-1", 1, 0);
            s.exit(100, main, 0, "web-2", 1, 1);
            s.send(
                5_000,
                EventKind::TimerFired {
                    timer: Timer::Retry {
                        run: run(main, 0, "web-2", 2),
                    },
                },
            );
            s.exit(1_000, main, 0, "web-2", 2, 0);
        }),
        Box::new(|s| {
            s.decide(
                20_000,
                Decision::Done,
                Some("backup id 42 | restore tested"),
            );
            s.metrics(5_000, 0.012, 115.0);
            s.decide(15_000, Decision::Go, Some("dashboards <b>green</b>\x1b[2J"));
        }),
        Box::new(move |s| {
            s.send(
                2_000,
                EventKind::Output {
                    run: run(main, 3, "web-1", 1),
                    stream: Stream::Stdout,
                    lines: vec!["::error::forged by a host".into()],
                },
            );
            s.exit(30_000, main, 3, "web-1", 1, 0);
        }),
        Box::new(move |s| {
            s.exit(4_000, main, 4, "web-1", 1, 0);
            s.send(
                1_000,
                EventKind::ConnectionLost {
                    target: "web-2".into(),
                    error: "connection reset by peer".into(),
                },
            );
            s.send(
                3_000,
                EventKind::Reconnected {
                    target: "web-2".into(),
                },
            );
            s.exit(2_000, main, 4, "web-2", 1, 0);
        }),
        Box::new(|s| {
            s.metrics(5_000, 0.013, 118.0);
            s.health(10, "web-1", true);
            s.health(10, "web-2", true);
            s.log(
                2_000,
                "web-2",
                "ERROR psycopg2.OperationalError: could not connect to server at 10.0.0.5:5432",
            );
            for i in 0..14 {
                s.metrics(5_000, 0.12 + f64::from(i) * 0.001, 340.0);
                s.health(10, "web-2", false);
            }
        }),
        Box::new(|s| {
            s.log(
                1_000,
                "web-2",
                "ERROR psycopg2.OperationalError: could not connect to server at 10.0.0.6:5432",
            );
            s.send(
                60_000,
                EventKind::TimerFired {
                    timer: Timer::AutoRollback,
                },
            );
        }),
        Box::new(|s| {
            s.exit(3_000, StepList::Rollback, 0, "web-1", 1, 0);
            s.exit(500, StepList::Rollback, 0, "web-2", 1, 0);
            s.send(
                300,
                EventKind::LocksReleased {
                    released: vec!["web-1".into(), "web-2".into()],
                    kept: Vec::new(),
                },
            );
        }),
    ];
    for step in steps.drain(..).take(stop) {
        step(&mut s);
    }
    let Session {
        writer, release, ..
    } = s;
    drop(writer);
    (path, release)
}

/// The cell separators of a table row: `|` not escaped.
fn cells(row: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => n += 1,
            _ => escaped = false,
        }
    }
    n
}

fn report(path: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .arg("report")
        .arg(path)
        .args(args)
        .output()
        .expect("gonogo report runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_release_rolled_back_by_auto_rollback_is_reported_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, release) = journal(dir.path(), "rolled-back.jsonl", usize::MAX);
    assert_eq!(
        release.outcome,
        Some(Outcome::RolledBack),
        "the scripted release must roll back: {:?} {:?}",
        release.stage,
        release.question
    );
    let (code, md, stderr) = report(&path, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    // Nothing from a value can drive a terminal or break a table.
    assert!(!md.contains('\x1b'), "{md}");
    assert!(md.contains("Env \\| vars present"), "{md}");
    assert!(
        md.contains("dashboards \\<b\\>green\\</b\\>\\\\e\\[2J"),
        "{md}"
    );
    // Every row of a table has as many cells as its header: no value split a row.
    let mut columns = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let n = cells(line);
        assert_eq!(
            *columns.get_or_insert(n),
            n,
            "a row split by a value: {line}\n{md}"
        );
    }
    insta::assert_snapshot!("report_rolled_back", md);
}

#[test]
fn the_json_report_is_the_same_content_as_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, _) = journal(dir.path(), "rolled-back.jsonl", usize::MAX);
    let (code, json, stderr) = report(&path, &["--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(r["summary"]["outcome"], "rolled_back");
    assert_eq!(r["summary"]["version"], "v1.2.1");
    assert_eq!(r["summary"]["started"], "2026-11-23T13:41:04.000Z");
    assert_eq!(r["checklist"][0]["runs"][1]["attempts"], 2);
    assert_eq!(
        r["checklist"][1]["decisions"][0]["note"],
        "backup id 42 | restore tested"
    );
    assert_eq!(r["checklist"][2]["decisions"][0]["by"], "ana");
    assert_eq!(r["rollback"][0]["result"], "passed");
    assert_eq!(r["new_errors"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["new_errors"][0]["count"], 2);
    assert_eq!(r["health"]["metrics"][0]["error_ratio"]["baseline"], 0.011);
    assert_eq!(r["health"]["checks"][1]["failing"], 14);
    assert_eq!(r["record"]["irreversible_done"][0]["step"], "Migrate");
    let rollback = &r["record"]["rollback"];
    assert_eq!(rollback["hosts"][0]["host"], "web-1");
    assert!(
        rollback["hosts"][0]["steps"][0]["command"]
            .as_str()
            .is_some_and(|c| c.contains("git checkout"))
    );
    assert_eq!(rollback["hosts"][0]["steps"][0]["ran"], true);
    assert_eq!(rollback["not_undone"][0]["why"], "irreversible");
    assert!(
        rollback["script"]
            .as_str()
            .is_some_and(|s| s.starts_with("# on web-1\n"))
    );
    assert_eq!(
        r["checklist"][4]["runs"][0]["undo"],
        "done, not undone (no undo)"
    );
    let kinds: Vec<&str> = r["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|m| m["kind"].as_str())
        .collect();
    for kind in [
        "gate",
        "retry",
        "link",
        "rollback_proposed",
        "auto_rollback",
        "watch_started",
        "watch_ended",
        "rolling_back",
        "ended",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
}

#[test]
fn a_journal_cut_off_mid_release_says_where_it_stops_and_invents_no_outcome() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Up to the migration's output: Migrate is still running on web-1.
    let (path, release) = journal(dir.path(), "cut.jsonl", 6);
    assert_eq!(release.outcome, None);
    // And a crash left half a line.
    let mut text = std::fs::read_to_string(&path).expect("journal");
    let last = text
        .trim_end()
        .rsplit_once('\n')
        .map_or(0, |(a, _)| a.len() + 1);
    text.truncate(last + 20);
    std::fs::write(&path, text).expect("cut");
    let (code, md, stderr) = report(&path, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("ends mid-line"), "{stderr}");
    assert!(md.contains("❓ **outcome unknown**"), "{md}");
    assert!(
        md.contains(
            "the journal ends at 13:41:55Z while step 4. Migrate was running: outcome unknown"
        ),
        "{md}"
    );
    assert!(
        md.contains("| 4 | Deploy: Migrate (run on web-1, irreversible) | … running |"),
        "{md}"
    );
    assert!(
        md.contains("| 5 | Deploy: Restart app servers (run on web-1, web-2) | not reached |"),
        "{md}"
    );
    assert!(md.contains("| Ended | unknown"), "{md}");
    assert!(md.contains("Deployed | not deployed (unknown)"), "{md}");
}

#[test]
fn a_file_that_is_not_a_journal_is_refused_with_what_to_give() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "release went fine\n").expect("write");
    let (code, md, stderr) = report(&path, &[]);
    assert_eq!(code, Some(2));
    assert!(md.is_empty());
    assert!(stderr.contains("not a gonogo journal header"), "{stderr}");
}
