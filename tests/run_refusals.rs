//! How `gonogo run --headless` refuses, stops and ends: nothing half-done, no lock left behind.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use support::gonogo::{Gonogo, known_hosts, release, target, text};
use support::sshd::Sshd;

/// Where the deploy lock of `release` lives for the fixture's user (the tests' own home).
fn lock_dir(profile: &str) -> PathBuf {
    let name = profile
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("release name");
    PathBuf::from(std::env::var("HOME").expect("HOME")).join(format!(".gonogo/locks/{name}.lock"))
}

#[test]
fn stdin_closed_at_a_gate_aborts_and_releases_the_lock() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let marker = work.path().join("deployed");
    let body = format!(
        "{}\n[[step]]\ngate = \"Deploy?\"\n\n[[step]]\nrun = \"touch {}\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[]),
        marker.display()
    );
    let profile = release("closed", &kh, &body);
    let out = Gonogo::new(&profile).run(&[], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    // Nobody can answer and nothing changed yet: the unattended policy aborts, as `policy`.
    assert!(
        t.contains("decided by policy at gate \"Deploy?\": abort ([policy] unattended = \"rollback\": nobody could answer the gate `Deploy?`; aborting: no host was changed)"),
        "{t}"
    );
    assert!(
        t.contains("gonogo: aborted: no host was changed; locks released"),
        "{t}"
    );
    assert!(!marker.exists(), "nothing ran after the gate: {t}");
    assert!(!lock_dir(&profile).exists(), "the lock was released: {t}");
}

#[test]
fn yes_passes_gates_but_never_decides_a_failure() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let body = format!(
        "{}\n[[step]]\ngate = \"Deploy?\"\n\n[[step]]\nmanual = \"Announce it\"\n\n[[step]]\ncheck = \"false\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[])
    );
    let profile = release("yes", &kh, &body);
    let out = Gonogo::new(&profile).run(&["--yes"], &[]);
    let t = text(&out);
    assert!(
        t.contains("decided by ") && t.contains(": go (--yes)") && t.contains(": done (--yes)"),
        "{t}"
    );
    assert!(t.contains("?? FAILED step false"), "{t}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the failure was not answered for the operator: {t}"
    );
    assert!(!lock_dir(&profile).exists(), "{t}");
}

#[test]
fn a_missing_required_variable_stops_before_connecting() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let body = format!(
        "[vars]\nversion = {{ required = true, description = \"tag to deploy\" }}\n\n{}\n[[step]]\ncheck = \"echo {{{{version}}}}\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[])
    );
    let out = Gonogo::new(&release("novar", &kh, &body)).run(&[], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("error: variable `version` (tag to deploy) has no value"),
        "{t}"
    );
    assert!(!t.contains("connected"), "{t}");
    assert!(
        !sshd.log().contains("Accepted publickey"),
        "no connection was made"
    );
}

#[test]
fn an_unreachable_host_is_refused_naming_host_port_and_cause() {
    let work = tempfile::tempdir().expect("work dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port();
    let body = format!(
        "[targets.web-1]\nhost = \"127.0.0.1\"\nport = {port}\n\n[[step]]\ncheck = \"true\"\non = \"web-1\"\n"
    );
    let out = Gonogo::new(&release("unreachable", &work.path().join("kh"), &body)).run(&[], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!(
            "cannot reach web-1: 127.0.0.1:{port}: connection refused"
        )),
        "{t}"
    );
    assert!(t.contains("refused to start: nothing ran"), "{t}");
}

#[test]
fn an_encrypted_key_in_a_headless_run_says_to_use_the_agent() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let key = work.path().join("locked_key");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    let body = format!(
        "[targets.web-1]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nidentity = \"{}\"\n\n[[step]]\ncheck = \"true\"\non = \"web-1\"\n",
        sshd.port(),
        sshd.user(),
        key.display()
    );
    let g = Gonogo::new(&release("encrypted", &kh, &body));
    let out = g
        .command(&[])
        .env("HOME", work.path())
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains("authentication as"), "{t}");
    assert!(
        t.contains(
            "encrypted and no terminal to ask its passphrase: add it to the agent with ssh-add"
        ),
        "{t}"
    );
}

#[test]
fn a_local_target_runs_on_this_machine() {
    let work = tempfile::tempdir().expect("work dir");
    let marker = work.path().join("local-ran");
    let body = format!(
        "[targets.here]\ntransport = \"local\"\n\n[[step]]\nrun = \"echo hello from $(uname -s) && touch {}\"\non = \"here\"\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n",
        marker.display()
    );
    let out = Gonogo::new(&release("local", &work.path().join("kh"), &body)).run(&[], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("[here] hello from Linux"), "{t}");
    assert!(marker.exists());
}

#[test]
fn sigterm_aborts_cleanly_and_releases_the_lock() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let body = format!(
        "{}\n[[step]]\ngate = \"Deploy?\"\n\n[[step]]\nrun = \"true\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[])
    );
    let profile = release("sigterm", &kh, &body);
    let g = Gonogo::new(&profile);
    let mut live = support::gonogo::Live::start(&g, &[]);
    live.wait_for("?? GATE");
    assert!(lock_dir(&profile).exists(), "the lock is held at the gate");
    let killed = Command::new("kill")
        .args(["-TERM", &live.pid().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    // Stdin stays open: the abort must come from the signal alone.
    live.wait_for("abort (SIGTERM)");
    live.wait_for("gonogo: aborted");
    let (code, t) = live.finish();
    assert_eq!(code, Some(1), "{t}");
    assert!(!lock_dir(&profile).exists(), "the lock was released: {t}");
}

#[test]
fn a_gate_needing_two_approvals_is_not_passed_by_one_person_saying_yes_twice() {
    let work = tempfile::tempdir().expect("work dir");
    let marker = work.path().join("ran");
    let body = format!(
        "[targets.here]\ntransport = \"local\"\n\n[[step]]\ngate = \"Two people agree?\"\napprovals = 2\n\n[[step]]\nrun = \"touch {}\"\non = \"here\"\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n",
        marker.display()
    );
    let out = Gonogo::new(&release("two-people", &work.path().join("kh"), &body))
        .run(&["--yes"], &["go"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("needs 2 approvals, 1 so far"), "{t}");
    assert!(
        t.contains("this gate needs another person's approval"),
        "{t}"
    );
    assert!(!marker.exists(), "nothing ran past the gate: {t}");
}

/// Alive, and not a zombie waiting to be reaped.
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[test]
fn abort_mid_step_stops_the_step_on_the_host_and_says_so() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let pidfile = work.path().join("pid");
    let body = format!(
        "{}\n[[step]]\nname = \"Long migration\"\nrun = \"echo $$ > {}; echo started; sleep 30; echo never\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[]),
        pidfile.display()
    );
    let profile = release("abort-mid", &kh, &body);
    let g = Gonogo::new(&profile);
    let mut live = support::gonogo::Live::start(&g, &[]);
    live.wait_for("[web-1] started");
    let pid = std::fs::read_to_string(&pidfile)
        .expect("the step wrote its pid")
        .trim()
        .to_string();
    assert!(running(&pid), "the step runs");
    live.say("abort");
    let (code, t) = live.finish();
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("Long migration on web-1: stopped with TERM"),
        "{t}"
    );
    assert!(
        !running(&pid),
        "the step's process was stopped on the host: {t}"
    );
    assert!(!lock_dir(&profile).exists(), "{t}");
}

#[test]
fn rolling_back_after_an_irreversible_step_names_it_and_needs_confirm() {
    let work = tempfile::tempdir().expect("work dir");
    let body = format!(
        "[targets.here]\ntransport = \"local\"\n\n[[step]]\ngate = \"Migrate?\"\n\n[[step]]\nname = \"Migrate\"\nrun = \"true\"\non = \"here\"\nirreversible = true\n\n[[step]]\ngate = \"Open traffic?\"\n\n[[rollback]]\nname = \"Undo\"\nrun = \"touch {}\"\non = \"here\"\n",
        work.path().join("undone").display()
    );
    let out = Gonogo::new(&release("irreversible", &work.path().join("kh"), &body))
        .run(&[], &["go", "rollback", "confirm"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains("!! Migrate is irreversible and already ran on here: rollback cannot undo it"),
        "{t}"
    );
    assert!(t.contains("answer: confirm / cancel"), "{t}");
    assert!(work.path().join("undone").exists(), "{t}");
}

#[test]
fn yes_is_refused_for_the_cockpit_instead_of_ignored() {
    let work = tempfile::tempdir().expect("work dir");
    let marker = work.path().join("ran");
    let body = format!(
        "[targets.here]\ntransport = \"local\"\n\n[[step]]\ngate = \"Ship?\"\n\n[[step]]\nrun = \"touch {}\"\non = \"here\"\n",
        marker.display()
    );
    let g = Gonogo::new(&release("yes-cockpit", &work.path().join("kh"), &body));
    let out = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .current_dir(g.dir.path())
        .env("XDG_DATA_HOME", g.dir.path().join("data"))
        .args(["run", "release.toml", "--yes"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("--yes answers gates for you only with --headless"),
        "{t}"
    );
    assert!(!marker.exists(), "{t}");
}
