//! `[notify]` end to end: the real binary, a local target, and a real webhook on loopback that
//! records what it is posted. What a team relies on: the start, each gate decision, a failure,
//! the rollback and the end arrive in order, in the format asked for; a webhook that hangs or
//! fails never holds up or fails the release, and says so; its URL is never shown anywhere.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use support::gonogo::{Gonogo, text};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Answer(u16),
    /// Takes the request and never answers.
    Hang,
}

#[derive(Default)]
struct Hook {
    /// Every body posted, in the order it arrived.
    bodies: Vec<String>,
    answered: usize,
}

type Shared = Arc<Mutex<Hook>>;

/// The secret part of the webhook's URL: it must be seen nowhere.
const TOKEN: &str = "T0KEN-hooks-b1a9c3";

/// A webhook on 127.0.0.1:0, from its own thread; returns its URL and what it recorded.
fn webhook(mode: Mode) -> (String, Shared) {
    let shared = Shared::default();
    let state = (shared.clone(), mode);
    let port = support::http::serve(Router::new().fallback(hook).with_state(state));
    (format!("http://127.0.0.1:{port}/services/{TOKEN}"), shared)
}

async fn hook(State((shared, mode)): State<(Shared, Mode)>, body: String) -> StatusCode {
    shared.lock().unwrap().bodies.push(body);
    match mode {
        Mode::Hang => std::future::pending().await,
        Mode::Answer(code) => {
            shared.lock().unwrap().answered += 1;
            StatusCode::from_u16(code).expect("a status")
        }
    }
}

fn profile(steps: &str, notify: &str) -> String {
    format!(
        r#"version = 1
[release]
name = "notify-{unique}"
environment = "staging"
version = "v1.2.1"
lock_dir = "LOCKS"

[vars]
hook = {{ env = "TEST_NOTIFY_WEBHOOK", secret = true }}

[targets.here]
transport = "local"

{steps}

[[rollback]]
name = "Undo"
run = "echo undone"
on = "here"

[notify]
webhook = "{{{{hook}}}}"
{notify}
"#,
        unique = std::process::id(),
    )
}

const GATE_THEN_DEPLOY: &str = r#"[[step]]
gate = "Go for staging?"

[[step]]
name = "Deploy"
run = "echo deployed"
on = "here"
"#;

fn gonogo(text: &str) -> Gonogo {
    let g = Gonogo::new("");
    let locks = g.dir.path().join("locks");
    let text = text.replace("LOCKS", &locks.display().to_string());
    std::fs::write(g.dir.path().join("release.toml"), text).expect("profile");
    g
}

/// Runs headless with the webhook's URL in the environment and `answers` on stdin.
fn run(g: &Gonogo, url: &str, args: &[&str], answers: &[&str]) -> std::process::Output {
    use std::io::Write as _;
    let mut command = g.command(args);
    command.env("TEST_NOTIFY_WEBHOOK", url);
    let mut child = command.spawn().expect("start gonogo");
    let mut stdin = child.stdin.take().expect("stdin");
    for a in answers {
        writeln!(stdin, "{a}").expect("answer");
    }
    drop(stdin);
    child.wait_with_output().expect("gonogo finishes")
}

/// Every file gonogo wrote under `dir` (journals, run logs), as text.
fn written(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                out.push((path, text));
            }
        }
    }
    out
}

/// The session's journal: its path and text.
fn journal_file(g: &Gonogo) -> (std::path::PathBuf, String) {
    written(&g.dir.path().join("data"))
        .into_iter()
        .find(|(p, _)| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a journal")
}

fn journal(g: &Gonogo) -> String {
    journal_file(g).1
}

/// The URL is nowhere: not on stdout or stderr, not in the journal or the run log, not in a
/// message.
fn assert_url_unseen(g: &Gonogo, out: &std::process::Output, hook: &Shared) {
    let t = text(out);
    assert!(!t.contains(TOKEN), "{t}");
    for dir in ["data", "state"] {
        let files = written(&g.dir.path().join(dir));
        assert!(!files.is_empty(), "nothing written under {dir}");
        for (path, text) in files {
            assert!(!text.contains(TOKEN), "{}:\n{text}", path.display());
        }
    }
    for body in &hook.lock().unwrap().bodies {
        assert!(!body.contains(TOKEN), "{body}");
    }
}

fn texts(hook: &Shared) -> Vec<String> {
    hook.lock()
        .unwrap()
        .bodies
        .iter()
        .map(|b| {
            let v: serde_json::Value = serde_json::from_str(b).expect("a JSON body");
            v["text"].as_str().expect("a text").to_string()
        })
        .collect()
}

/// The index of the first of `texts` that contains `needle`, after `from`.
fn position(texts: &[String], needle: &str, from: usize) -> usize {
    texts
        .iter()
        .skip(from)
        .position(|t| t.contains(needle))
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("no message with {needle:?} after #{from} in:\n{texts:#?}"))
}

#[test]
fn start_gate_failure_rollback_and_end_are_posted_in_order_to_slack() {
    let (url, hook) = webhook(Mode::Answer(200));
    let steps = format!(
        "{GATE_THEN_DEPLOY}\n[[step]]\nname = \"Migrate\"\nrun = \"echo migrating; exit 3\"\non = \"here\"\n"
    );
    let g = gonogo(&profile(&steps, ""));
    let out = run(&g, &url, &[], &["go -- dashboards green", "rollback"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "rolled back: {t}");
    // Slack's form: one object with `text` alone.
    for body in &hook.lock().unwrap().bodies {
        let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
        let keys: Vec<&String> = v.as_object().expect("an object").keys().collect();
        assert_eq!(keys, ["text"], "{body}");
    }
    let texts = texts(&hook);
    let started = position(&texts, "started notify-", 0);
    assert!(texts[started].contains("v1.2.1 to staging"), "{texts:#?}");
    let gate = position(&texts, "at gate \"Go for staging?\": go", started);
    assert!(texts[gate].contains("(dashboards green)"), "{texts:#?}");
    let failed = position(&texts, "step 3. Migrate failed on here: exit 3", gate);
    let rolling = position(&texts, "rollback starting", failed);
    assert!(
        texts[rolling].contains("Reason: ")
            && texts[rolling].contains("at step 3. Migrate: rollback"),
        "{texts:#?}"
    );
    let end = position(&texts, "staging rollback executed", rolling);
    assert!(
        texts[end].contains("Rolled back with: Undo on here (done)"),
        "{texts:#?}"
    );
    assert_eq!(
        end,
        texts.len() - 1,
        "the end is the last message: {texts:#?}"
    );
    assert!(!t.contains("notify:"), "every message was delivered: {t}");
    assert_url_unseen(&g, &out, &hook);
}

#[test]
fn the_json_format_carries_the_event_and_the_release() {
    let (url, hook) = webhook(Mode::Answer(204));
    let g = gonogo(&profile(GATE_THEN_DEPLOY, "format = \"json\""));
    let out = run(&g, &url, &["--yes"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let bodies: Vec<serde_json::Value> = hook
        .lock()
        .unwrap()
        .bodies
        .iter()
        .map(|b| serde_json::from_str(b).expect("JSON"))
        .collect();
    let events: Vec<&str> = bodies
        .iter()
        .map(|b| b["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["started", "gate_decided", "ended"], "{bodies:#?}");
    for b in &bodies {
        assert!(b["release"].as_str().unwrap().starts_with("notify-"), "{b}");
        assert_eq!(b["version"], "v1.2.1", "{b}");
        assert_eq!(b["environment"], "staging", "{b}");
        assert!(!b["operator"].as_str().unwrap().is_empty(), "{b}");
        assert!(b["time"].as_str().unwrap().ends_with('Z'), "{b}");
        assert!(!b["text"].as_str().unwrap().is_empty(), "{b}");
    }
    assert!(
        bodies[1]["text"].as_str().unwrap().contains(": go (--yes)"),
        "{bodies:#?}"
    );
    let end = bodies[2]["text"].as_str().unwrap();
    assert!(end.starts_with("✅ notify-"), "{end}");
    assert!(
        end.contains("v1.2.1 deployed to staging successfully"),
        "{end}"
    );
    assert!(end.contains("Changes:\n- Deploy on here: done\n"), "{end}");
    assert!(
        end.contains("Validation:\n- Checklist: 2 of 2 steps passed"),
        "{end}"
    );
    assert_url_unseen(&g, &out, &hook);
}

#[test]
fn a_webhook_that_never_answers_holds_up_nothing() {
    let (url, hook) = webhook(Mode::Hang);
    let g = gonogo(&profile(GATE_THEN_DEPLOY, ""));
    let out = run(&g, &url, &["--yes"], &[]);
    let t = text(&out);
    // The release went its whole way while the webhook held its first request.
    assert_eq!(out.status.code(), Some(0), "{t}");
    let (got, answered) = {
        let h = hook.lock().unwrap();
        (h.bodies.len(), h.answered)
    };
    assert!(got >= 1, "{t}");
    assert_eq!(answered, 0, "{t}");
    // The gate was decided before anything said the webhook failed: nothing waited on it.
    let journal = journal(&g);
    let first = |kind: &str| {
        journal
            .lines()
            .position(|l| l.contains(&format!("\"type\":\"{kind}\"")))
            .unwrap_or_else(|| panic!("no {kind} in:\n{journal}"))
    };
    assert!(first("decided") < first("notify_failed"), "{journal}");
    assert!(
        first("locks_released") < first("notify_failed"),
        "{journal}"
    );
    // What was never delivered is said, and journaled, each message by name.
    assert!(
        t.contains("!!   notify: release started not delivered"),
        "{t}"
    );
    assert!(
        t.contains("!!   notify: release ended (released) not delivered"),
        "{t}"
    );
    assert!(
        t.contains("notify: 3 messages not delivered"),
        "the summary: {t}"
    );
    assert_url_unseen(&g, &out, &hook);
}

#[test]
fn a_webhook_answering_500_is_retried_reported_and_the_release_still_released() {
    let (url, hook) = webhook(Mode::Answer(500));
    let g = gonogo(&profile(GATE_THEN_DEPLOY, ""));
    let out = run(&g, &url, &["--yes"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("gonogo: released"), "{t}");
    let said = concat!(
        "!!   notify: release started not delivered: ",
        "the webhook answered 500 Internal Server Error (3 attempts)"
    );
    assert!(t.contains(said), "{t}");
    assert!(
        t.lines()
            .any(|l| l.contains("notify: ") && l.contains("messages not delivered")),
        "{t}"
    );
    // Three attempts at the first message, in order, before the next one.
    let texts = texts(&hook);
    assert!(texts.len() >= 3, "{texts:#?}");
    assert!(
        texts[..3].iter().all(|m| m.contains("started notify-")),
        "{texts:#?}"
    );
    let journal = journal(&g);
    let failed = journal
        .lines()
        .find(|l| l.contains("\"type\":\"notify_failed\""))
        .unwrap_or_else(|| panic!("{journal}"));
    assert!(failed.contains("\"attempts\":3"), "{failed}");
    assert!(failed.contains("answered 500"), "{failed}");
    // The report's timeline says so too.
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .arg("report")
        .arg(journal_file(&g).0)
        .output()
        .expect("gonogo report");
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("release started not delivered: the webhook answered 500"),
        "{report}"
    );
    assert!(!report.contains(TOKEN), "{report}");
    assert_url_unseen(&g, &out, &hook);
}

/// Under GitHub Actions a notification not delivered is a warning annotation on the job.
#[test]
fn under_github_actions_a_notification_not_delivered_is_a_warning() {
    let (url, hook) = webhook(Mode::Answer(500));
    let g = gonogo(&profile(GATE_THEN_DEPLOY, ""));
    let mut command = g.command(&["--yes"]);
    command
        .env("TEST_NOTIFY_WEBHOOK", &url)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", g.dir.path().join("summary.md"))
        .stdin(std::process::Stdio::null());
    let out = command.output().expect("gonogo");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains(concat!(
            "::warning title=notification not delivered::release started not delivered: ",
            "the webhook answered 500 Internal Server Error (3 attempts)"
        )),
        "{t}"
    );
    assert_url_unseen(&g, &out, &hook);
}

#[test]
fn a_status_update_comes_every_period_while_the_release_runs() {
    let (url, hook) = webhook(Mode::Answer(200));
    let steps = "[[step]]\nname = \"Warm caches\"\nrun = \"sleep 3\"\non = \"here\"\n";
    let g = gonogo(&profile(steps, "every = \"1s\""));
    let out = run(&g, &url, &["--yes"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let texts = texts(&hook);
    let update = position(&texts, "⏳ notify-", 0);
    let update = &texts[update];
    for part in [
        "v1.2.1 to staging: in progress for ",
        "Now: step 1. Warm caches running on here (1 of 1)",
        "Changes:\n- Warm caches on here: still running",
        "Validation:\n- Checklist: 0 of 1 steps passed",
        "Monitoring:\n",
    ] {
        assert!(update.contains(part), "{part:?} in:\n{update}");
    }
    // None after the end: the end message says it all.
    let end = position(&texts, "deployed to staging successfully", 0);
    assert_eq!(end, texts.len() - 1, "{texts:#?}");
    assert!(
        t.contains("status updates more often than once a minute"),
        "{t}"
    );
    assert_url_unseen(&g, &out, &hook);
}

#[test]
fn an_empty_webhook_or_not_a_url_is_a_warning_and_the_release_runs() {
    let g = gonogo(&profile(GATE_THEN_DEPLOY, ""));
    let mut command = g.command(&["--yes"]);
    command.env("TEST_NOTIFY_WEBHOOK", "");
    let out = command.output().expect("gonogo runs");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains(
            "gonogo: warning: [notify] webhook `{{hook}}` is empty: nothing will be posted this run"
        ),
        "{t}"
    );
    // Not a URL: said without showing it (it may be a secret mistyped).
    let mut command = g.command(&["--yes"]);
    command.env("TEST_NOTIFY_WEBHOOK", "hooks.example.com/T0KEN");
    let out = command.output().expect("gonogo runs");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("gonogo: warning: [notify] webhook `••••` is not an http(s) URL"),
        "{t}"
    );
    assert!(!t.contains("T0KEN"), "{t}");
}
