//! Canary batches on three real hosts: three OpenSSH servers, each with its own app (the real
//! `prometheus_client` app of tests/support/app.rs) on its own port, reached through target
//! variables (`[targets.web-N] vars = { app_port = …, release_file = … }`). The Deploy phase
//! goes one host at a time, each batch watched against the hosts not yet deployed.
//!
//! A bad build (three requests in ten answer 500) is caught in batch 1: only web-1 ran a step
//! of the phase, only web-1 is rolled back, and the end says web-2 and web-3 never received it.
//! A good build promotes through every batch, each one only after its whole analysis.

mod support;

use std::path::{Path, PathBuf};

use support::app::{App, start_app};
use support::gonogo::{Gonogo, Live, known_hosts, release, target};
use support::sshd::Sshd;

const HOSTS: [&str; 3] = ["web-1", "web-2", "web-3"];
const ANALYSIS_MS: u64 = 4_000;

/// The three hosts, each with its app and the file that says which build that app runs.
struct Fleet {
    _servers: Vec<Sshd>,
    _apps: Vec<App>,
    files: Vec<PathBuf>,
    profile: String,
}

fn fleet(dir: &Path) -> Fleet {
    let servers: Vec<Sshd> = HOSTS.iter().map(|_| Sshd::start()).collect();
    let kh = known_hosts(dir, &servers.iter().collect::<Vec<_>>());
    let mut apps = Vec::new();
    let mut files = Vec::new();
    let mut targets = String::new();
    for (host, sshd) in HOSTS.iter().zip(&servers) {
        let home = dir.join(host);
        std::fs::create_dir_all(&home).expect("app dir");
        let file = home.join("running");
        std::fs::write(&file, "v1").expect("v1 runs");
        let app = start_app(&home, &file);
        targets.push_str(&target(host, sshd, &["web"]));
        targets.push_str(&format!(
            "vars = {{ app_port = \"{}\", release_file = \"{}\" }}\n\n",
            app.port,
            file.display()
        ));
        apps.push(app);
        files.push(file);
    }
    let body = format!(
        r#"[vars]
version = "v1.5.0"
build = {{ required = true, description = "the build the Deploy phase switches to" }}
app_port = "8000"
release_file = "/nonexistent"

{targets}
[health.app]
url = "http://127.0.0.1:{{{{app_port}}}}/health"
via = "web"
every = "500ms"

[metrics.app]
url = "http://127.0.0.1:{{{{app_port}}}}/metrics"
via = "web"
requests = "http_requests_total"
errors = 'http_requests_total{{status=~"5.."}}'
latency = "http_request_duration_seconds"
every = "500ms"

[[step]]
phase = "Preflight"
name = "The app's release file is there"
on = "web"
check = "test -f {{{{release_file}}}}"

[[step]]
phase = "Deploy"
name = "Switch to {{{{build}}}}"
on = "web"
run = "printf %s {{{{build}}}} > {{{{release_file}}}}"
undo = "printf v1 > {{{{release_file}}}}"

[phases.Deploy]
batches = [1, "50%", "100%"]
analysis = "{ANALYSIS_MS}ms"
promote = "auto"

[watch]
duration = "3s"
short_because = "a test"
rollback_on = ["error_ratio > control + 5% for 2s", "health failing for 5s"]
auto_rollback = "1s"
"#
    );
    let profile = release("canary", &kh, &body).replacen(
        "environment = \"staging\"\n",
        "environment = \"staging\"\nversion = \"{{version}}\"\n",
        1,
    );
    Fleet {
        _servers: servers,
        _apps: apps,
        files,
        profile,
    }
}

fn running(fleet: &Fleet) -> Vec<String> {
    fleet
        .files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("release file"))
        .collect()
}

/// The journal's records: (type, t in microseconds, data).
fn records(dir: &Path) -> Vec<(String, u64, serde_json::Value)> {
    let sessions = dir.join("data/gonogo/sessions");
    let journal = std::fs::read_dir(&sessions)
        .expect("sessions dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a journal");
    std::fs::read_to_string(journal)
        .expect("journal")
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|r| {
            let kind = r["type"].as_str().unwrap_or_default().to_string();
            (kind, r["t"].as_u64().unwrap_or_default(), r["data"].clone())
        })
        .collect()
}

/// The hosts any step of the Deploy phase ran on (a run's output or its exit), from the
/// journal: plan steps with a batch.
fn deploy_hosts(records: &[(String, u64, serde_json::Value)]) -> Vec<String> {
    let plan = &records
        .iter()
        .find(|(k, _, _)| k == "started")
        .expect("started")
        .2["plan"];
    let batched = |step: u64| !plan["steps"][step as usize]["batch"].is_null();
    let mut hosts: Vec<String> = records
        .iter()
        .filter(|(k, _, _)| k == "exited" || k == "output")
        .map(|(_, _, d)| &d["run"])
        .filter(|run| run["list"] == "main" && batched(run["step"].as_u64().unwrap_or(0)))
        .filter_map(|run| run["target"].as_str().map(str::to_string))
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

#[test]
fn a_bad_build_is_caught_in_batch_one_and_only_its_host_rolls_back() {
    let g = Gonogo::new("");
    let dir = g.dir.path();
    let fleet = fleet(dir);
    std::fs::write(dir.join("release.toml"), &fleet.profile).expect("profile");
    let mut live = Live::start(&g, &["--yes", "--set", "build=bad"]);
    live.wait_for("Deploy · batch 1/3 begins on web-1");
    live.wait_for("ROLLBACK PROPOSED: error_ratio > control + 5% for 2s held");
    let (code, all) = live.finish();
    assert_eq!(code, Some(3), "rolled back: {all}");
    assert!(
        all.contains("batch 1/3 breached against the control"),
        "{all}"
    );
    assert!(
        all.contains("caught on web-1 (batch 1 of 3); web-2, web-3 never received v1.5.0"),
        "{all}"
    );
    assert_eq!(running(&fleet), ["v1", "v1", "v1"], "{all}");
    let records = records(dir);
    assert_eq!(deploy_hosts(&records), ["web-1"], "{all}");
    // The rollback ran on web-1 alone.
    let rolled: Vec<&str> = records
        .iter()
        .filter(|(k, _, d)| k == "exited" && d["run"]["list"] == "rollback")
        .filter_map(|(_, _, d)| d["run"]["target"].as_str())
        .collect();
    assert_eq!(rolled, ["web-1"], "{all}");
}

#[test]
fn a_good_build_promotes_through_every_batch_after_each_analysis() {
    let g = Gonogo::new("");
    let dir = g.dir.path();
    let fleet = fleet(dir);
    std::fs::write(dir.join("release.toml"), &fleet.profile).expect("profile");
    let out = g.run(&["--yes", "--set", "build=v2"], &[]);
    let all = support::gonogo::text(&out);
    assert_eq!(out.status.code(), Some(0), "released: {all}");
    assert_eq!(running(&fleet), ["v2", "v2", "v2"], "{all}");
    let records = records(dir);
    assert_eq!(deploy_hosts(&records), HOSTS, "{all}");
    let judged: Vec<&str> = records
        .iter()
        .filter(|(k, _, _)| k == "batch_judged")
        .filter_map(|(_, _, d)| d["verdict"].as_str())
        .collect();
    assert_eq!(judged, ["healthy", "healthy"], "{all}");
    // Between one batch's last exit and the next batch's start: at least the analysis.
    for (batch, host) in [(2, "web-1"), (3, "web-2")] {
        let ended = records
            .iter()
            .filter(|(k, _, d)| k == "exited" && d["run"]["target"] == host)
            .map(|(_, t, _)| *t)
            .max()
            .expect("the batch's exit");
        let next = records
            .iter()
            .find(|(k, _, d)| k == "batch_started" && d["batch"] == batch)
            .map(|(_, t, _)| *t)
            .expect("the next batch");
        assert!(
            next - ended >= ANALYSIS_MS * 1000,
            "batch {batch} began {} ms after batch {}'s last step: {all}",
            (next - ended) / 1000,
            batch - 1
        );
    }
}
