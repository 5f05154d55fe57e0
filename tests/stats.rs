//! `gonogo stats` over a directory of real journals: releases run by the binary against a
//! local target, two in staging (released) and one in production (a step fails, the operator
//! rolls back), and a file that is not a journal, skipped with a warning.

mod support;

use std::path::Path;
use std::process::Command;

use support::gonogo::{Gonogo, text};

fn profile(environment: &str, locks: &Path, deploy: &str) -> String {
    format!(
        r#"version = 1
[release]
name = "acme-web"
environment = "{environment}"
version = "v1.2.1"
lock_dir = "{locks}"

[targets.here]
transport = "local"
roles = ["web"]

[[step]]
name = "Ready"
check = "true"
on = "web"

[[step]]
name = "Deploy"
run = "{deploy}"
on = "web"

[[rollback]]
name = "Previous release"
run = "echo back"
on = "web"
"#,
        locks = locks.display()
    )
}

fn release(
    journals: &Path,
    name: &str,
    environment: &str,
    deploy: &str,
    answers: &[&str],
) -> Option<i32> {
    let work = tempfile::tempdir().expect("work dir");
    let g = Gonogo::new(&profile(environment, &work.path().join("locks"), deploy));
    let record = journals.join(name);
    let record = record.to_str().expect("utf-8 path");
    let out = g.run(&["--yes", "--record", record], answers);
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 3)), "{}", text(&out));
    code
}

fn stats(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .arg("stats")
        .arg(dir)
        .args(args)
        .output()
        .expect("gonogo stats runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn stats_per_environment_count_deployments_failures_and_recovery() {
    let journals = tempfile::tempdir().expect("journals");
    let dir = journals.path();
    assert_eq!(
        release(dir, "a.jsonl", "staging", "echo deployed", &[]),
        Some(0)
    );
    assert_eq!(
        release(dir, "b.jsonl", "staging", "echo deployed", &[]),
        Some(0)
    );
    assert_eq!(
        release(
            dir,
            "c.jsonl",
            "production",
            "echo broken; exit 1",
            &["rollback"]
        ),
        Some(3)
    );
    std::fs::write(dir.join("notes.txt"), "not a journal\n").expect("write");

    let (code, json, stderr) = stats(dir, &["--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("skipped") && stderr.contains("notes.txt"),
        "{stderr}"
    );
    let s: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(s["journals"], 3);
    let production = &s["environments"][0];
    assert_eq!(production["environment"], "production");
    assert_eq!(production["releases"], 1);
    assert_eq!(production["deployments"], 1);
    assert_eq!(production["rolled_back"], 1);
    assert_eq!(production["change_failure_rate"], 1.0);
    assert_eq!(production["recoveries"], 1);
    assert!(production["mean_time_to_recovery_ms"].is_u64(), "{json}");
    let staging = &s["environments"][1];
    assert_eq!(staging["environment"], "staging");
    assert_eq!(staging["releases"], 2);
    assert_eq!(staging["released"], 2);
    assert_eq!(staging["change_failure_rate"], 0.0);
    assert_eq!(staging["deployments_per_week"], 2.0);
    assert!(staging["mean_time_to_recovery_ms"].is_null(), "{json}");
    assert!(staging["median_duration_ms"].is_u64(), "{json}");

    let (code, table, _) = stats(dir, &[]);
    assert_eq!(code, Some(0));
    let row = |env: &str| {
        table
            .lines()
            .find(|l| l.starts_with(env))
            .unwrap_or_else(|| panic!("no {env} row in:\n{table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        row("production").starts_with("production 1 1 1.0 100% (1 of 1) "),
        "{table}"
    );
    assert!(
        row("staging").starts_with("staging 2 2 2.0 0% (0 of 2) – "),
        "{table}"
    );
}

#[test]
fn a_directory_that_cannot_be_read_is_an_error() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, out, stderr) = stats(&dir.path().join("missing"), &[]);
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert!(stderr.contains("cannot read the directory"), "{stderr}");
}

/// The journal at `from` as it would read had gonogo died right after taking the lock and been
/// resumed 2m35s later: a `resumed` record and the lock's confirmation after the `lock_taken`.
fn interrupted_copy(from: &Path, to: &Path) {
    let text = std::fs::read_to_string(from).expect("the journal");
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let at = lines
        .iter()
        .position(|l| l["type"] == "lock_taken")
        .expect("a lock_taken record");
    let taken = lines[at].clone();
    let stopped = gonogo::journal::parse_timestamp(taken["ts"].as_str().expect("ts")).expect("ts");
    let mut resumed = taken.clone();
    resumed["type"] = "resumed".into();
    resumed["ts"] = gonogo::journal::timestamp(stopped + 155_000).into();
    resumed["data"] = serde_json::json!({
        "by": "ana@laptop",
        "stopped_at": stopped,
        "stopped_t": taken["t"],
    });
    let mut confirmed = taken.clone();
    confirmed["ts"] = resumed["ts"].clone();
    lines.insert(at + 1, resumed);
    lines.insert(at + 2, confirmed);
    let mut out = String::new();
    for (seq, mut line) in lines.into_iter().enumerate() {
        if seq > 0 {
            line["seq"] = seq.into();
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    std::fs::write(to, out).expect("write");
}

#[test]
fn sessions_gonogo_died_in_and_a_resume_finished_are_counted_interrupted() {
    let journals = tempfile::tempdir().expect("journals");
    let dir = journals.path();
    assert_eq!(
        release(dir, "a.jsonl", "staging", "echo deployed", &[]),
        Some(0)
    );
    interrupted_copy(&dir.join("a.jsonl"), &dir.join("b.jsonl"));

    let (code, json, stderr) = stats(dir, &["--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let s: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let staging = &s["environments"][0];
    assert_eq!(staging["releases"], 2, "{json}");
    assert_eq!(staging["released"], 2, "the resumed one ended too: {json}");
    assert_eq!(staging["interrupted"], 1, "{json}");

    let (code, table, _) = stats(dir, &[]);
    assert_eq!(code, Some(0));
    let head: Vec<&str> = table
        .lines()
        .next()
        .expect("a header")
        .split("  ")
        .collect();
    assert_eq!(
        head.last().map(|h| h.trim()),
        Some("interrupted"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("staging"))
        .unwrap_or_else(|| panic!("no staging row in:\n{table}"));
    assert_eq!(row.split_whitespace().last(), Some("1"), "{table}");
    assert!(
        table.contains("interrupted: gonogo died mid-release and was resumed"),
        "{table}"
    );
}
