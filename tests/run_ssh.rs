//! `gonogo run --headless` against real OpenSSH servers started by the tests.

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::sshd::Sshd;

/// `[targets.NAME]` for a fixture, with its key and port.
fn target(name: &str, sshd: &Sshd, roles: &[&str]) -> String {
    format!(
        "[targets.{name}]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nidentity = \"{}\"\nroles = [{}]\n",
        sshd.port(),
        sshd.user(),
        sshd.identity().display(),
        roles
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A unique release name per test: locks live in the (shared) home of the test user.
fn release(name: &str, known_hosts: &Path, body: &str) -> String {
    let unique = format!("{name}-{}-{}", std::process::id(), rand_suffix());
    format!(
        "version = 1\n[release]\nname = \"{unique}\"\nenvironment = \"staging\"\n\n[ssh]\nknown_hosts = \"{}\"\n\n{body}",
        known_hosts.display()
    )
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos()
        % 1_000_000
}

struct Gonogo {
    dir: tempfile::TempDir,
}

impl Gonogo {
    fn new(profile: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("release.toml"), profile).expect("write profile");
        Gonogo { dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
        cmd.current_dir(self.dir.path())
            .args(["run", "release.toml", "--headless"])
            .args(args)
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs with `answers` typed on stdin, one per line, then stdin closed.
    fn run(&self, args: &[&str], answers: &[&str]) -> Output {
        let mut child = self.command(args).spawn().expect("start gonogo");
        let mut stdin = child.stdin.take().expect("stdin");
        for a in answers {
            writeln!(stdin, "{a}").expect("answer");
        }
        drop(stdin);
        child.wait_with_output().expect("gonogo finishes")
    }
}

fn text(out: &Output) -> String {
    format!(
        "--- exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Both fixtures' host keys in one known_hosts file.
fn known_hosts(dir: &Path, servers: &[&Sshd]) -> std::path::PathBuf {
    let path = dir.join("known_hosts");
    let lines: Vec<String> = servers
        .iter()
        .map(|s| std::fs::read_to_string(s.known_hosts()).expect("fixture known_hosts"))
        .collect();
    std::fs::write(&path, lines.concat()).expect("write known_hosts");
    path
}

#[test]
fn a_release_runs_checks_a_manual_item_a_gate_and_a_serial_action_on_two_hosts() {
    let (a, b) = (Sshd::start(), Sshd::start());
    let work = tempfile::tempdir().expect("work dir");
    let marks = work.path().display();
    let body = format!(
        "{}{}
[[step]]
phase = \"Preflight\"
name = \"Hosts answer\"
check = \"echo ready-$((40 + 2))\"
on = \"web\"
expect = 'ready-42'

[[step]]
manual = \"Tell support we deploy\"

[[step]]
gate = \"Go for the restart?\"

[[step]]
phase = \"Deploy\"
name = \"Restart\"
run = \"echo restarted >> {marks}/$(date +%N)-restart && sleep 0.3\"
on = \"web\"
serial = 1

[[rollback]]
run = \"true\"
on = \"web\"
",
        target("web-1", &a, &["web"]),
        target("web-2", &b, &["web"]),
    );
    let kh = known_hosts(work.path(), &[&a, &b]);
    let g = Gonogo::new(&release("two-hosts", &kh, &body));
    let out = g.run(&[], &["done", "go"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("[web-1] ready-42") && t.contains("[web-2] ready-42"),
        "{t}"
    );
    assert!(
        t.contains("?? MANUAL [Preflight] Tell support we deploy"),
        "{t}"
    );
    assert!(t.contains("?? GATE [Preflight] Go for the restart?"), "{t}");
    assert!(t.contains("gonogo: released"), "{t}");
    let restarts = std::fs::read_dir(work.path())
        .expect("work dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with("-restart"))
        })
        .count();
    assert_eq!(restarts, 2, "the restart ran once on each host: {t}");
}
