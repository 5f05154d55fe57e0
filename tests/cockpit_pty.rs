//! The real binary in a pseudo-terminal: the screen read through vt100 as a person would see
//! it, keys pressed as a person would press them.

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use expectrl::process::unix::WaitStatus;
use support::gonogo::{known_hosts, release, target};
use support::sshd::Sshd;

const COLS: u16 = 100;
const ROWS: u16 = 30;

struct Pty {
    session: expectrl::session::OsSession,
    screen: vt100::Parser,
}

impl Pty {
    /// Runs `gonogo ARGS` in `dir` on a 100×30 terminal; `after` runs in the same terminal
    /// once gonogo has exited (to look at the terminal's state).
    fn spawn(dir: &std::path::Path, args: &str, env: &[(&str, &str)], after: &str) -> Pty {
        let bin = env!("CARGO_BIN_EXE_gonogo");
        let script =
            format!("stty cols {COLS} rows {ROWS}; {bin} {args}; echo \"EXIT=$? END\"; {after}");
        let mut command = std::process::Command::new("sh");
        command
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .env("TERM", "xterm-256color")
            .env("RUST_BACKTRACE", "0")
            .env("XDG_DATA_HOME", dir.join("data"))
            .env_remove("SSH_AUTH_SOCK");
        for (k, v) in env {
            command.env(k, v);
        }
        let session = expectrl::session::Session::spawn(command).expect("spawn in a pty");
        Pty {
            session,
            screen: vt100::Parser::new(
                ROWS.try_into().expect("rows"),
                COLS.try_into().expect("cols"),
                0,
            ),
        }
    }

    fn contents(&self) -> String {
        self.screen.screen().contents()
    }

    /// Reads what the program draws until `seen` holds for the screen or `limit` passes.
    fn read_until(&mut self, limit: Duration, seen: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 8192];
        loop {
            if seen(&self.contents()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            match self.session.try_read(&mut buf) {
                Ok(n) if n > 0 => {
                    self.screen.process(&buf[..n]);
                    continue;
                }
                _ => {}
            }
            // Nothing to read yet: give the program a moment.
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_text(&mut self, text: &str) {
        if !self.read_until(Duration::from_secs(60), |s| s.contains(text)) {
            panic!("never saw {text:?}; the screen:\n{}", self.contents());
        }
    }

    fn press(&mut self, keys: &str) {
        self.session.write_all(keys.as_bytes()).expect("type");
        self.session.flush().expect("flush");
    }

    /// Presses `key` until the modal shows `armed` (keys right after a question opens are
    /// ignored by design), then Enter.
    fn answer(&mut self, key: &str, armed: &str) {
        for _ in 0..20 {
            self.press(key);
            if self.read_until(Duration::from_millis(500), |s| s.contains(armed)) {
                self.press("\r");
                return;
            }
        }
        panic!("could not arm {armed:?}; the screen:\n{}", self.contents());
    }

    fn exit_code(&mut self) -> Option<i32> {
        self.wait_text(" END");
        let text = self.contents();
        let code = text
            .split("EXIT=")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok();
        match self.session.get_process().wait() {
            Ok(WaitStatus::Exited(_, _)) | Err(_) => {}
            Ok(_) => {}
        }
        code
    }
}

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
        .next()
        .expect("a journal")
        .expect("entry")
        .path();
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
    // Back to the gate, with who decided it.
    pty.press("[");
    pty.wait_text("“Ship it to the fixture?”: go by");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
}
