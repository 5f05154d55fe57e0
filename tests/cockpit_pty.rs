//! The real binary in a pseudo-terminal: the screen read through vt100 as a person would see
//! it, keys pressed as a person would press them.

mod support;

use std::time::Duration;

use support::gonogo::{known_hosts, release, target};
use support::pty::Pty;
use support::sshd::Sshd;

fn profile(sshd: &Sshd, dir: &std::path::Path, failing: bool) -> String {
    let kh = known_hosts(dir, &[sshd]);
    let check = if failing {
        "echo config missing >&2; exit 1"
    } else {
        "echo all good"
    };
    let body = format!(
        "{}\n[[step]]\nphase = \"Preflight\"\nname = \"Config present\"\ncheck = \"{check}\"\non = \"web\"\n\n[[step]]\ngate = \"Ship it to the fixture?\"\n\n[[step]]\nphase = \"Deploy\"\nname = \"Deploy\"\nrun = \"echo deployed > {dir}/deployed\"\non = \"web\"\n\n[[rollback]]\nname = \"Undo\"\nrun = \"echo undone > {dir}/undone\"\non = \"web\"\n",
        target("web-1", sshd, &["web"]),
        dir = dir.display()
    );
    let text = release("pty", &kh, &body);
    std::fs::write(dir.join("release.toml"), &text).expect("write profile");
    text
}

#[test]
fn the_release_runs_to_a_gate_the_operator_approves_and_it_finishes() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    profile(&sshd, work.path(), false);
    let mut pty = Pty::spawn(work.path(), "run release.toml", &[], "");
    pty.wait_text("[g] GO");
    assert!(
        pty.screen.screen().alternate_screen(),
        "the cockpit uses the alternate screen"
    );
    pty.answer("g", "Enter confirms GO");
    pty.wait_text("RELEASED");
    assert!(
        work.path().join("deployed").exists(),
        "the deploy step ran on the host"
    );
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
}

#[test]
fn a_failed_step_answered_rollback_on_the_modal_rolls_back() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    profile(&sshd, work.path(), true);
    let mut pty = Pty::spawn(work.path(), "run release.toml", &[], "");
    pty.wait_text("[t] RETRY");
    pty.wait_text("config missing");
    pty.answer("r", "Enter confirms ROLLBACK");
    // Confirmed the one way a rollback is confirmed, from a question as from R.
    pty.wait_text("[y] roll back");
    pty.press("y");
    pty.wait_text("ROLLED BACK");
    assert!(work.path().join("undone").exists(), "the rollback step ran");
    assert!(
        !work.path().join("deployed").exists(),
        "nothing after the failure ran"
    );
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(3), "{}", pty.contents());
}

#[test]
fn a_panic_leaves_the_terminal_restored_with_the_message() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    profile(&sshd, work.path(), false);
    let mut pty = Pty::spawn(
        work.path(),
        "run release.toml",
        &[("GONOGO_TEST_PANIC", "1")],
        "stty -a; echo STTY-DONE",
    );
    pty.wait_text("EXIT=");
    pty.wait_text("STTY-DONE");
    let screen = pty.contents();
    assert!(
        !pty.screen.screen().alternate_screen(),
        "back on the normal screen:\n{screen}"
    );
    assert!(
        screen.contains("injected panic"),
        "the panic message is shown:\n{screen}"
    );
    assert!(
        screen.contains(" icanon") && screen.contains(" echo"),
        "cooked mode again:\n{screen}"
    );
}

#[test]
fn an_encrypted_key_asks_its_passphrase_before_the_cockpit_starts() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let key = work.path().join("locked_key");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    // Authorise the new key on the fixture next to its own.
    let authorized = sshd.dir().join("authorized_keys");
    let mut keys = std::fs::read_to_string(&authorized).expect("authorized_keys");
    keys.push_str(&std::fs::read_to_string(key.with_extension("pub")).expect("pub"));
    std::fs::write(&authorized, keys).expect("authorize");
    let text = profile(&sshd, work.path(), false).replace(
        &sshd.identity().display().to_string(),
        &key.display().to_string(),
    );
    std::fs::write(work.path().join("release.toml"), text).expect("profile");
    let home = work.path().display().to_string();
    let mut pty = Pty::spawn(work.path(), "run release.toml", &[("HOME", &home)], "");
    pty.wait_text("passphrase for");
    pty.press("correct horse\r");
    pty.wait_text("[g] GO");
    pty.answer("g", "Enter confirms GO");
    pty.wait_text("RELEASED");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
}

/// `s` hands the terminal to a shell on the target, with gonogo's own SSH settings; the release
/// goes on underneath, and leaving the shell brings the cockpit back as it was.
#[test]
fn a_shell_on_a_target_and_back_while_the_release_runs() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let body = format!(
        "{}\n[[step]]\nname = \"Slow deploy\"\nrun = \"sleep 4; echo deploy-finished\"\non = \"web\"\n\n[[step]]\ngate = \"Release good?\"\n",
        target("web-1", &sshd, &["web"]),
    );
    std::fs::write(
        work.path().join("release.toml"),
        release("shell", &kh, &body),
    )
    .expect("write profile");
    let mut pty = Pty::spawn(work.path(), "run release.toml", &[], "");
    pty.wait_text("Slow deploy");
    pty.press("s");
    pty.wait_text("shell on web-1");
    assert!(
        !pty.screen.screen().alternate_screen(),
        "the shell has the normal screen"
    );
    pty.press("echo shell-$((6*7)) $(whoami)\r");
    pty.wait_text("shell-42");
    // The step finishes while the shell is open: the release did not wait for it.
    std::thread::sleep(Duration::from_secs(5));
    pty.press("exit\r");
    pty.wait_text("Release good?");
    assert!(
        pty.screen.screen().alternate_screen(),
        "the cockpit is back"
    );
    pty.wait_text("deploy-finished");
    pty.wait_text("opened a shell here");
    pty.press("q");
    pty.wait_text("Abort the release?");
    pty.press("y");
    pty.wait_text("EXIT=");
}

#[test]
fn a_recorded_session_replays_in_the_cockpit_with_no_host_left() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    profile(&sshd, work.path(), false);
    let ran = std::process::Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .current_dir(work.path())
        .args(["run", "release.toml", "--headless", "--yes"])
        .env("XDG_DATA_HOME", work.path().join("data"))
        .env_remove("SSH_AUTH_SOCK")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    assert_eq!(ran.status.code(), Some(0), "{ran:?}");
    // The host is gone: a replay needs nothing but the journal.
    drop(sshd);
    let sessions = work.path().join("data/gonogo/sessions");
    let journal = std::fs::read_dir(&sessions)
        .expect("sessions")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("a journal");
    let mut pty = Pty::spawn(
        work.path(),
        &format!("replay {}", journal.display()),
        &[],
        "",
    );
    pty.wait_text("REPLAY");
    pty.press("G");
    pty.wait_text("RELEASED");
    pty.wait_text("■ end");
    let screen = pty.contents();
    assert!(
        screen.contains("◆"),
        "the gate is on the timeline:\n{screen}"
    );
    assert!(screen.contains("✓ Deploy"), "{screen}");
    // The replay's own keys on its key line, none of the operator's.
    assert!(screen.contains("Space play/pause"), "{screen}");
    assert!(!screen.contains("R rollback"), "{screen}");
    // `?` is the replay's help; Esc closes it, and Esc again does not leave.
    pty.press("?");
    pty.wait_text("Replay (read-only");
    pty.press("\x1b");
    assert!(
        pty.read_until(Duration::from_secs(10), |s| !s
            .contains("Replay (read-only")),
        "Esc closes the help:\n{}",
        pty.contents()
    );
    pty.press("\x1b");
    assert!(
        !pty.read_until(Duration::from_millis(800), |s| s.contains("EXIT=")),
        "Esc never leaves a replay:\n{}",
        pty.contents()
    );
    assert!(pty.contents().contains("REPLAY"), "{}", pty.contents());
    // Back to the gate, with who decided it.
    pty.press("[");
    pty.wait_text("decided by");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
}
