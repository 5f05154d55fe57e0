//! `gonogo demo --headless --yes`: each scenario from start to its exit code, on the simulated
//! hosts the binary starts itself, leaving nothing in `$HOME` and nothing running.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Demo {
    home: tempfile::TempDir,
    tmp: tempfile::TempDir,
}

impl Demo {
    fn new() -> Demo {
        Demo {
            home: tempfile::tempdir().expect("home"),
            tmp: tempfile::tempdir().expect("tmp"),
        }
    }

    /// `gonogo demo --headless --yes ARGS` with an empty `$HOME` and its own `$TMPDIR`.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gonogo"))
            .args(["demo", "--headless", "--yes"])
            .args(args)
            .env("HOME", self.home.path())
            .env("TMPDIR", self.tmp.path())
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("GITHUB_ACTIONS")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run gonogo demo")
    }

    /// The demo's own directory under `$TMPDIR` (beside it, without `XDG_RUNTIME_DIR`, the
    /// follow sockets' `gonogo-UID`).
    fn dir(&self) -> PathBuf {
        let dirs: Vec<PathBuf> = std::fs::read_dir(self.tmp.path())
            .expect("tmp")
            .map(|e| e.expect("entry").path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("gonogo-demo-"))
            })
            .collect();
        assert_eq!(dirs.len(), 1, "one demo directory: {dirs:?}");
        dirs[0].clone()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file and directory under `base`, relative to it.
fn files(base: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![base.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(base).unwrap_or(&path).to_path_buf());
            if path.is_dir() {
                dirs.push(path);
            }
        }
    }
    out
}

/// Processes whose command line mentions `needle` (a log tail left behind would).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(cmdline);
        }
    }
    found
}

#[test]
fn happy_releases_and_leaves_nothing_in_home_and_nothing_running() {
    let demo = Demo::new();
    let out = demo.run(&["--watch", "4s"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("gonogo: DEMO happy, simulated hosts:"),
        "{all}"
    );
    assert!(all.contains("ok   health app via web-2: 200"), "{all}");
    // What ships, at the first gate: the version each host runs now, and the changes.
    assert!(all.contains("web-1 runs v1.4.2 now"), "{all}");
    assert!(
        all.contains("what ships: v1.4.2 → v1.5.0 · 6 changes"),
        "{all}"
    );
    assert!(
        all.contains("[web-1:gunicorn] "),
        "log lines followed: {all}"
    );
    // The canary's analysis was clean: batch 2 promoted by gonogo, and it really ran.
    assert!(
        all.contains("[web-3] gunicorn active (running) on v1.5.0"),
        "{all}"
    );
    assert!(all.contains("==> watch window: 4s"), "{all}");
    assert!(all.contains("?? FINAL GATE"), "{all}");
    assert!(all.contains("gonogo: released; locks released"), "{all}");
    assert!(
        !all.contains("new error since the deploy"),
        "the old payment error was seen before the deploy: {all}"
    );
    assert_eq!(
        files(demo.home.path()),
        Vec::<PathBuf>::new(),
        "nothing in $HOME"
    );
    let dir = demo.dir();
    assert!(dir.join("session.jsonl").is_file(), "the journal stays");
    let journal = std::fs::read_to_string(dir.join("session.jsonl")).expect("journal");
    assert!(
        journal.contains(
            r#""type":"batch_promoted","data":{"phase":"Deploy","batch":2,"of":2,"by":"gonogo"}"#
        ),
        "the analysis promoted batch 2 by itself"
    );
    assert!(!dir.join("hosts").exists(), "the simulated hosts are gone");
    let shown = dir.join("session.jsonl").display().to_string();
    assert!(all.contains(&format!("gonogo replay {shown}")), "{all}");
    let left = processes_mentioning(&dir.display().to_string());
    assert!(left.is_empty(), "left running: {left:?}");
}

#[test]
fn bad_release_is_rolled_back_by_auto_rollback_with_the_evidence() {
    let demo = Demo::new();
    let out = demo.run(&["--scenario", "bad-release"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    // Its bug shows only after the canary's analysis: batch 2 ran, then the watch caught it.
    assert!(
        all.contains("[web-3] gunicorn active (running) on v1.5.0"),
        "the canary passed: {all}"
    );
    assert!(!all.contains("never received"), "{all}");
    // The 5xx ratio's rule holds first as a rule; the error lines' rate may beat it on a slow
    // machine: either is the evidence of the same bug.
    assert!(
        all.contains("?? ROLLBACK PROPOSED: error_ratio > 5% for 15s held")
            || all.contains("?? ROLLBACK PROPOSED: log_errors > 30/min for 30s held"),
        "{all}"
    );
    assert!(all.contains("new error since the deploy"), "{all}");
    assert!(all.contains("KeyError: 'currency'"), "{all}");
    assert!(
        all.contains("auto_rollback decides when it is due"),
        "--yes never answers a proposal: {all}"
    );
    assert!(all.contains("auto_rollback at rollback proposal"), "{all}");
    assert!(
        all.contains("[web-3] gunicorn active (running) on v1.4.2"),
        "{all}"
    );
    assert!(all.contains("gonogo: rolled back; locks released"), "{all}");
}

/// Each (list, plan step, target) the journal shows a run of, with the plan's steps.
fn runs(journal: &Path) -> (Vec<serde_json::Value>, Vec<(String, usize, String)>) {
    let text = std::fs::read_to_string(journal).expect("journal");
    let mut steps = Vec::new();
    let mut runs = Vec::new();
    for line in text.lines() {
        let event: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        if event["type"] == "started" {
            steps = event["data"]["plan"]["steps"]
                .as_array()
                .expect("steps")
                .clone();
        }
        let run = &event["data"]["run"];
        if let (Some(list), Some(step), Some(target)) = (
            run["list"].as_str(),
            run["step"].as_u64(),
            run["target"].as_str(),
        ) {
            let seen = (list.to_string(), step as usize, target.to_string());
            if !runs.contains(&seen) {
                runs.push(seen);
            }
        }
    }
    (steps, runs)
}

#[test]
fn canary_catches_the_bad_build_on_web_1_and_rolls_back_web_1_alone() {
    let demo = Demo::new();
    let out = demo.run(&["--scenario", "canary"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("gonogo: DEMO canary, simulated hosts:"),
        "{all}"
    );
    // The analysis of batch 1 compares web-1 with the control, and that is what catches it.
    assert!(
        all.contains("?? ROLLBACK PROPOSED: error_ratio > control + 2% for 10s held"),
        "{all}"
    );
    assert!(
        all.contains(" web-2 (control) "),
        "the control's values: {all}"
    );
    assert!(all.contains("KeyError: 'currency'"), "{all}");
    assert!(all.contains("auto_rollback at rollback proposal"), "{all}");
    assert!(
        all.contains("caught on web-1 (batch 1 of 2); web-2, web-3 never received v1.5.0"),
        "{all}"
    );
    assert!(
        all.contains("[web-1] gunicorn active (running) on v1.4.2"),
        "{all}"
    );
    assert!(all.contains("   web-2: nothing changed"), "{all}");
    assert!(all.contains("   web-3: nothing changed"), "{all}");
    assert!(
        all.contains("gonogo: rolled back: caught on web-1 (batch 1 of 2); web-2, web-3 never received v1.5.0; locks released"),
        "{all}"
    );
    // The journal: no Deploy step ran on web-2 or web-3, and the rollback touched web-1 only.
    let (steps, runs) = runs(&demo.dir().join("session.jsonl"));
    let deploy: Vec<&(String, usize, String)> = (runs.iter())
        .filter(|(list, step, _)| list == "main" && steps[*step]["phase"] == "Deploy")
        .collect();
    assert!(!deploy.is_empty(), "{runs:?}");
    assert!(deploy.iter().all(|(_, _, t)| t == "web-1"), "{runs:?}");
    let rollback: Vec<&(String, usize, String)> = runs
        .iter()
        .filter(|(list, _, _)| list == "rollback")
        .collect();
    assert!(!rollback.is_empty(), "{runs:?}");
    assert!(rollback.iter().all(|(_, _, t)| t == "web-1"), "{runs:?}");
}

#[test]
fn flaky_host_fails_once_and_the_demo_says_it_answers_retry() {
    let demo = Demo::new();
    let out = demo.run(&["--scenario", "flaky-host", "--watch", "3s"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("still syncing from the build server"), "{all}");
    assert!(
        all.contains("Release v1.5.0 is on every web host, checksums match failed on web-2"),
        "{all}"
    );
    assert!(
        all.contains("the demo answers retry itself (only in gonogo demo --headless --yes)"),
        "{all}"
    );
    assert!(
        all.contains(": retry (gonogo demo)") && all.contains("decided by root at step"),
        "{all}"
    );
    assert!(all.contains("gonogo: released; locks released"), "{all}");
}

#[test]
fn failed_migration_rolls_back_and_says_what_it_cannot_undo() {
    let demo = Demo::new();
    let out = demo.run(&["--scenario", "failed-migration"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("LockNotAvailable"), "{all}");
    assert!(all.contains("the demo answers rollback itself"), "{all}");
    assert!(
        all.contains(
            "alembic upgrade head is irreversible and already ran on web-1: rollback cannot undo it"
        ),
        "{all}"
    );
    // Nothing after the migration ran, so nothing is undone, and the rollback says the
    // migration stays; the [[rollback]] check runs on web-1, which the migration changed
    // (web-2 and web-3, which no Deploy batch reached, are left alone).
    assert!(
        all.contains("web-1: Every changed host runs its previous release again\n"),
        "{all}"
    );
    assert!(
        all.contains("MANUAL [Rollback] The schema stays migrated"),
        "{all}"
    );
    assert!(all.contains("web-2: nothing changed"), "{all}");
    assert!(!all.contains("never received"), "no batch began: {all}");
    assert!(
        all.contains("undo: alembic upgrade head: failed, not undone (irreversible) on web-1"),
        "{all}"
    );
    assert!(all.contains("gonogo: rolled back; locks released"), "{all}");
}

#[test]
fn mixed_fleet_stops_before_anything_runs_and_names_each_version() {
    let demo = Demo::new();
    let out = demo.run(&["--scenario", "mixed-fleet"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(all.contains("web-3 runs v1.4.1 now"), "{all}");
    assert!(all.contains("web-1 runs v1.4.2 now"), "{all}");
    // The refusal names each version and its hosts (in whichever order they answered).
    let refusal = (all.lines())
        .find(|l| l.contains("refused to start: the hosts run different versions ("))
        .unwrap_or_else(|| panic!("the refusal: {all}"));
    assert!(refusal.contains("web-3 on v1.4.1"), "{refusal}");
    assert!(refusal.contains(" on v1.4.2"), "{refusal}");
    assert!(
        refusal.contains("web-1") && refusal.contains("web-2"),
        "{refusal}"
    );
    assert!(refusal.contains("--allow-mixed \"REASON\""), "{refusal}");
    assert!(
        all.contains("gonogo: refused to start: nothing ran"),
        "{all}"
    );
    for host in ["web-1", "web-2", "web-3"] {
        assert!(all.contains(&format!("{host}: nothing changed")), "{all}");
    }
    // The journal: not one step ran, on any host.
    let (_, runs) = runs(&demo.dir().join("session.jsonl"));
    assert!(runs.is_empty(), "nothing ran: {runs:?}");
}

#[test]
fn yes_needs_headless_and_the_watch_a_sane_length() {
    let demo = Demo::new();
    let out = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .args(["demo", "--yes"])
        .env("HOME", demo.home.path())
        .env("TMPDIR", demo.tmp.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only with --headless"));
    let out = demo.run(&["--watch", "1s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--watch takes 2s to 60m"));
}
