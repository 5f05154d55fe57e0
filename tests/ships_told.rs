//! What ships, told everywhere but the cockpit, through the real binary: a git repository made
//! here with twelve commits between two tags, two local targets that say they run v1.4.2, and
//! a real webhook on loopback. The start notification carries `v1.4.2 → v1.5.0 · 12 changes`
//! and the first ten changes; the report says the previous version, the rollback target and
//! the change list, in Markdown and JSON; a secret the `changes` command prints is masked in
//! all of it. `plan` prints the commands that find what ships; `check` says how to get a
//! `{{previous}}`.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use support::gonogo::{Gonogo, text};

/// The secret `changes` prints (and a commit message carries): it must be seen nowhere.
const SECRET: &str = "s3cr3t-ships-77ab";

type Bodies = Arc<Mutex<Vec<String>>>;

/// A webhook on 127.0.0.1:0, from its own thread: its URL and the bodies it was posted.
fn webhook() -> (String, Bodies) {
    let bodies = Bodies::default();
    let state = bodies.clone();
    let port = support::http::serve(Router::new().fallback(hook).with_state(state));
    (format!("http://127.0.0.1:{port}/hook"), bodies)
}

async fn hook(State(bodies): State<Bodies>, body: String) -> &'static str {
    bodies.lock().unwrap().push(body);
    "ok"
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// A repository with v1.4.2, then twelve commits (one names the secret), tagged v1.5.0.
fn repository(dir: &Path) {
    git(dir, &["init", "-q"]);
    git(
        dir,
        &["commit", "-q", "--allow-empty", "-m", "the release before"],
    );
    git(dir, &["tag", "v1.4.2"]);
    for n in 1..=12 {
        let message = match n {
            7 => format!("change 7: rotate the key {SECRET}"),
            n => format!("change {n}"),
        };
        git(dir, &["commit", "-q", "--allow-empty", "-m", &message]);
    }
    git(dir, &["tag", "v1.5.0"]);
}

const PROFILE: &str = r#"version = 1
[release]
name = "ships-told"
environment = "staging"
version = "{{version}}"
lock_dir = "LOCKS"
current = "echo v1.4.2"
changes = "git log --oneline {{previous}}..{{version}}; echo token={{token}} >&2; echo token={{token}}"

[vars]
version = "v1.5.0"
token = { env = "SHIPS_TOKEN", secret = true }
hook = { env = "SHIPS_WEBHOOK", secret = true }

[targets.web-1]
transport = "local"
roles = ["web"]

[targets.web-2]
transport = "local"
roles = ["web"]

[[step]]
name = "Ready"
check = "true"
on = "web"

[[step]]
gate = "Go for {{version}}?"

[[step]]
name = "Deploy"
run = "echo deploying over {{previous}}"
undo = "echo back to {{previous}}"
on = "web"

[notify]
webhook = "{{hook}}"
"#;

fn gonogo() -> Gonogo {
    let g = Gonogo::new("");
    let locks = g.dir.path().join("locks");
    let text = PROFILE.replace("LOCKS", &locks.display().to_string());
    std::fs::write(g.dir.path().join("release.toml"), text).expect("profile");
    repository(g.dir.path());
    g
}

fn report(g: &Gonogo, journal: &Path, json: bool) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gonogo"));
    command.current_dir(g.dir.path()).arg("report").arg(journal);
    if json {
        command.args(["--format", "json"]);
    }
    let out = command.output().expect("gonogo report");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn texts(bodies: &Bodies) -> Vec<String> {
    (bodies.lock().unwrap().iter())
        .map(|b| {
            let v: serde_json::Value = serde_json::from_str(b).expect("a JSON body");
            v["text"].as_str().expect("a text").to_string()
        })
        .collect()
}

#[test]
fn what_ships_reaches_the_start_notification_and_the_report_with_secrets_masked() {
    let (url, bodies) = webhook();
    let g = gonogo();
    let journal = g.dir.path().join("release.jsonl");
    let mut command = g.command(&["--record", &journal.display().to_string()]);
    command
        .env("SHIPS_WEBHOOK", &url)
        .env("SHIPS_TOKEN", SECRET);
    let mut child = command.spawn().expect("start gonogo");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "go").expect("answer");
    }
    let out = child.wait_with_output().expect("gonogo finishes");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!t.contains(SECRET), "{t}");

    // The start waits for what ships, and comes before the gate's decision.
    let texts = texts(&bodies);
    let start = (texts.iter())
        .position(|m| m.contains("started ships-told"))
        .unwrap_or_else(|| panic!("{texts:#?}"));
    let gate = (texts.iter())
        .position(|m| m.contains("Go for v1.5.0?"))
        .unwrap_or_else(|| panic!("{texts:#?}"));
    assert!(start < gate, "{texts:#?}");
    let started = &texts[start];
    assert!(
        started.contains("What ships: v1.4.2 → v1.5.0 · 13 changes"),
        "{started}"
    );
    assert!(started.contains("\nChanges:\n- "), "{started}");
    assert!(started.contains(" change 12\n"), "{started}");
    assert!(started.contains(" change 3\n"), "{started}");
    assert!(!started.contains(" change 2\n"), "the first ten: {started}");
    assert!(started.ends_with("\n… 3 more"), "{started}");
    for body in bodies.lock().unwrap().iter() {
        assert!(!body.contains(SECRET), "{body}");
    }
    let journal_text = std::fs::read_to_string(&journal).expect("the journal");
    assert!(!journal_text.contains(SECRET), "{journal_text}");
    the_report_says_what_shipped(&g, &journal);
}

/// The report of that journal, in Markdown and JSON: the previous version, the rollback target,
/// the change list, the status message's Changes, no secret.
fn the_report_says_what_shipped(g: &Gonogo, journal: &Path) {
    let md = report(g, journal, false);
    assert!(!md.contains(SECRET), "{md}");
    assert!(md.contains("| Previous version | v1.4.2 |"), "{md}");
    assert!(md.contains("| Rollback target | v1.4.2 |"), "{md}");
    assert!(md.contains("## Changes\n"), "{md}");
    assert!(md.contains("**v1.4.2 → v1.5.0 · 13 changes**"), "{md}");
    assert!(md.contains("change 7: rotate the key "), "{md}");
    assert!(md.contains("- token="), "{md}");
    let status = md
        .split("## Status message")
        .nth(1)
        .expect("a status message");
    assert!(
        status.contains("What shipped: v1.4.2 → v1.5.0 · 13 changes"),
        "{status}"
    );
    assert!(status.contains("Changes:\n- "), "{status}");
    assert!(
        status.contains("… 3 more\n\nOn the hosts:\n- Deploy on web-1: done"),
        "{status}"
    );

    let json = report(g, journal, true);
    assert!(!json.contains(SECRET), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["ships"]["said"], "v1.4.2 → v1.5.0 · 13 changes", "{json}");
    assert_eq!(v["ships"]["changes"]["total"], 13, "{json}");
    assert_eq!(v["ships"]["previous"][0]["version"], "v1.4.2", "{json}");
    assert_eq!(v["record"]["previous_version"], "v1.4.2", "{json}");
    assert_eq!(v["record"]["rollback_target"], "v1.4.2", "{json}");
    // The record's rollback runs each host's undo with its own version.
    let script = v["record"]["rollback"]["script"]
        .as_str()
        .expect("a script");
    assert!(
        script.contains("# on web-1\n# Undo Deploy\necho back to v1.4.2\n"),
        "{script}"
    );
}

#[test]
fn plan_prints_the_commands_that_find_what_ships() {
    let g = gonogo();
    let out = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .current_dir(g.dir.path())
        .args(["plan", "release.toml"])
        .env("SHIPS_TOKEN", SECRET)
        .env("SHIPS_WEBHOOK", "http://127.0.0.1:9/hook")
        .output()
        .expect("gonogo plan");
    let md = text(&out);
    assert!(out.status.success(), "{md}");
    assert!(md.contains("## What ships\n"), "{md}");
    assert!(md.contains("on every target"), "{md}");
    assert!(md.contains("`echo v1.4.2`"), "{md}");
    assert!(
        md.contains("here (in the profile's directory): `git log --oneline {{previous}}..v1.5.0"),
        "{md}"
    );
    assert!(!md.contains(SECRET), "{md}");
    // The plan cannot know a host's previous version: it says when it is filled in.
    assert!(
        md.contains("undo on the hosts where it ran: `echo back to {{previous}}`\n  `{{previous}}`: filled in per host when the release runs, with the version `[release] current` finds there (not known before)"),
        "{md}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .current_dir(g.dir.path())
        .args(["plan", "release.toml", "--format", "json"])
        .env("SHIPS_TOKEN", SECRET)
        .output()
        .expect("gonogo plan");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["ships"]["current"], "echo v1.4.2", "{json}");
    assert!(
        json["ships"]["changes"]
            .as_str()
            .is_some_and(|c| c.starts_with("git log --oneline")),
        "{json}"
    );
    assert!(!json.to_string().contains(SECRET), "{json}");
}

#[test]
fn previous_without_current_says_how_to_get_it() {
    let g = Gonogo::new(
        r#"version = 1
[release]
name = "shop"
environment = "staging"

[targets.web-1]
transport = "local"

[[step]]
name = "Deploy"
run = "true"
undo = "deploy {{previous}}"
on = "web-1"
"#,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .current_dir(g.dir.path())
        .args(["check", "release.toml"])
        .env("NO_COLOR", "1")
        .output()
        .expect("gonogo check");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("`{{previous}}` is not a declared variable"),
        "{t}"
    );
    assert!(
        t.contains("set [release] current = \"COMMAND\" (it prints the version running on each host): {{previous}} is what it found"),
        "{t}"
    );
}
