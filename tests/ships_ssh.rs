//! What ships, on two real hosts (two OpenSSH servers): `[release] current` reads each host's
//! release file before anything runs, `{{previous}}` takes each host back to its own version,
//! a fleet that disagrees is refused (exit 4) unless `--allow-mixed` gives a reason, and the
//! change list comes from a real git repository made here, three commits between two tags.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::gonogo::{Gonogo, known_hosts, release, target, text};
use support::sshd::Sshd;

const HOSTS: [&str; 2] = ["web-1", "web-2"];

struct Fleet {
    _servers: Vec<Sshd>,
    files: Vec<PathBuf>,
}

/// Two hosts, each running `versions[i]` (its release file), and the profile for them in
/// `dir`: deploy writes the new version, its undo writes `{{previous}}` back, and a check
/// after it fails when `fail_after` (so the unattended policy rolls back).
fn fleet(dir: &Path, versions: [&str; 2], changes: &str, fail_after: bool) -> Fleet {
    let servers: Vec<Sshd> = HOSTS.iter().map(|_| Sshd::start()).collect();
    let kh = known_hosts(dir, &servers.iter().collect::<Vec<_>>());
    let mut targets = String::new();
    let mut files = Vec::new();
    for ((host, sshd), version) in HOSTS.iter().zip(&servers).zip(versions) {
        let file = dir.join(format!("{host}.running"));
        std::fs::write(&file, format!("{version}\n")).expect("release file");
        targets.push_str(&target(host, sshd, &["web"]));
        targets.push_str(&format!(
            "vars = {{ release_file = \"{}\" }}\n\n",
            file.display()
        ));
        files.push(file);
    }
    let verify = if fail_after { "false" } else { "true" };
    let body = format!(
        r#"[vars]
version = "v1.5.0"
release_file = "/nonexistent"

{targets}
[[step]]
name = "ready"
check = "test -f {{{{release_file}}}}"
on = "web"

[[step]]
gate = "Go for {{{{version}}}}?"

[[step]]
name = "Deploy {{{{version}}}}"
on = "web"
run = "printf '%s\n' {{{{version}}}} > {{{{release_file}}}}"
undo = "printf '%s\n' {{{{previous}}}} > {{{{release_file}}}}"

[[step]]
name = "Verify"
on = "web"
check = "{verify}"
"#
    );
    let head = format!(
        "environment = \"staging\"\nversion = \"{{{{version}}}}\"\ncurrent = \"cat {{{{release_file}}}}\"\n{changes}"
    );
    let profile = release("ships", &kh, &body).replacen("environment = \"staging\"\n", &head, 1);
    std::fs::write(dir.join("release.toml"), profile).expect("profile");
    Fleet {
        _servers: servers,
        files,
    }
}

fn running(fleet: &Fleet) -> Vec<String> {
    (fleet.files.iter())
        .map(|f| {
            std::fs::read_to_string(f)
                .expect("release file")
                .trim()
                .to_string()
        })
        .collect()
}

fn journal(dir: &Path) -> String {
    let sessions = dir.join("data/gonogo/sessions");
    let path = std::fs::read_dir(&sessions)
        .expect("sessions")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a journal");
    std::fs::read_to_string(path).expect("journal")
}

/// A git repository with v1.4.2, three commits, then v1.5.0.
fn repository(dir: &Path) {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "ana")
            .env("GIT_AUTHOR_EMAIL", "ana@example.com")
            .env("GIT_COMMITTER_NAME", "ana")
            .env("GIT_COMMITTER_EMAIL", "ana@example.com")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    let commit = |n: &str| {
        std::fs::write(dir.join("app.py"), n).expect("write");
        git(&["add", "app.py"]);
        git(&["commit", "-q", "-m", n]);
    };
    commit("Start");
    git(&["tag", "v1.4.2"]);
    for n in ["Fix the cart total", "Add the wishlist", "Faster checkout"] {
        commit(n);
    }
    git(&["tag", "v1.5.0"]);
}

#[test]
fn hosts_that_agree_roll_back_to_their_previous_version_and_the_changes_are_listed() {
    let g = Gonogo::new("");
    let dir = g.dir.path();
    repository(dir);
    let changes = "changes = \"git log --oneline {{previous}}..{{version}}\"\n";
    let fleet = fleet(dir, ["v1.4.2", "v1.4.2"], changes, true);
    let out = g.run(&["--yes"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "rolled back: {all}");
    assert!(all.contains("web-1 runs v1.4.2 now"), "{all}");
    assert!(
        all.contains("what ships: v1.4.2 → v1.5.0 · 3 changes"),
        "{all}"
    );
    for change in ["Fix the cart total", "Add the wishlist", "Faster checkout"] {
        assert!(all.contains(change), "{change}: {all}");
    }
    // Each host back on what it ran: the undo read `{{previous}}` per host.
    assert_eq!(running(&fleet), ["v1.4.2", "v1.4.2"], "{all}");
    let journal = journal(dir);
    assert!(journal.contains(r#""type":"version_found""#), "{journal}");
    assert!(journal.contains(r#""type":"changes_found""#) && journal.contains("Faster checkout"));
}

#[test]
fn hosts_that_disagree_are_refused_before_anything_runs() {
    let g = Gonogo::new("");
    let dir = g.dir.path();
    let fleet = fleet(dir, ["v1.4.2", "v1.4.1"], "", false);
    let out = g.run(&["--yes"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(4), "refused: {all}");
    assert!(all.contains("web-1 on v1.4.2; web-2 on v1.4.1"), "{all}");
    assert!(all.contains("--allow-mixed"), "{all}");
    assert!(!all.contains("==> "), "no step ran: {all}");
    assert_eq!(running(&fleet), ["v1.4.2", "v1.4.1"]);
    let recorded = journal(dir);
    assert!(
        recorded.contains(r#""type":"refused""#)
            && recorded.contains("web-1 on v1.4.2; web-2 on v1.4.1"),
        "the journal holds why: {recorded}"
    );
}

#[test]
fn a_fleet_already_on_the_version_is_refused_headless_unless_redeploy_gives_a_reason() {
    let g = Gonogo::new("");
    let dir = g.dir.path();
    let fleet = fleet(dir, ["v1.5.0", "v1.5.0"], "", false);
    // `--yes` answers gates, never whether to deploy again; and a person typing ahead is not
    // asked either.
    let out = g.run(&["--yes"], &["redeploy because"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(4), "refused: {all}");
    let said = "every host already runs v1.5.0: nothing to ship; run with --redeploy \"REASON\" to deploy it again";
    assert!(all.contains(&format!("refused to start: {said}")), "{all}");
    assert!(
        all.contains(&format!("   refused: {said}")),
        "the summary says why: {all}"
    );
    assert!(!all.contains("==> "), "no step ran: {all}");
    let recorded = journal(dir);
    assert!(recorded.contains(r#""type":"refused""#), "{recorded}");
    assert!(recorded.contains(r#""decision":"abort""#), "{recorded}");
    let journal_path = (std::fs::read_dir(dir.join("data/gonogo/sessions")).expect("sessions"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a journal");
    let report = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .arg("report")
        .arg(&journal_path)
        .output()
        .expect("gonogo report");
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("every host already runs v1.5.0"),
        "{report}"
    );
    std::fs::remove_dir_all(dir.join("data/gonogo/sessions")).expect("start afresh");

    let out = g.run(&["--yes", "--redeploy", "the config changed"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "released: {all}");
    assert_eq!(running(&fleet), ["v1.5.0", "v1.5.0"]);
    assert!(!journal(dir).contains(r#""type":"refused""#));
}

#[test]
fn allow_mixed_records_the_reason_and_rolls_each_host_back_to_its_own() {
    let g = Gonogo::new("");
    let dir = g.dir.path();
    let fleet = fleet(dir, ["v1.4.2", "v1.4.1"], "", true);
    let out = g.run(
        &["--yes", "--allow-mixed", "web-2 missed last week's deploy"],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "rolled back: {all}");
    assert!(
        all.contains("what ships: v1.4.2 / v1.4.1 → v1.5.0"),
        "{all}"
    );
    assert_eq!(running(&fleet), ["v1.4.2", "v1.4.1"], "{all}");
    assert!(journal(dir).contains(r#""allow_mixed":"web-2 missed last week's deploy""#));
}

#[test]
fn a_changes_command_that_fails_is_a_warning_not_a_failed_release() {
    let g = Gonogo::new("");
    let dir = g.dir.path();
    // Not a git repository: `git log` fails.
    let changes = "changes = \"git log --oneline {{previous}}..{{version}}\"\n";
    let fleet = fleet(dir, ["v1.4.2", "v1.4.2"], changes, false);
    let out = g.run(&["--yes"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "released: {all}");
    assert!(
        all.contains("!!   no change list: `changes` exited 128"),
        "{all}"
    );
    assert!(
        all.contains("changes: not found (`changes` exited 128"),
        "the gate says so: {all}"
    );
    assert_eq!(running(&fleet), ["v1.5.0", "v1.5.0"]);
}
