//! Running the real gonogo binary against fixture hosts: profiles, answers on stdin, output
//! read line by line as it comes.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::sshd::Sshd;

/// `[targets.NAME]` for a fixture, with its key and port.
pub fn target(name: &str, sshd: &Sshd, roles: &[&str]) -> String {
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
pub fn release(name: &str, known_hosts: &Path, body: &str) -> String {
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

pub struct Gonogo {
    pub dir: tempfile::TempDir,
}

impl Gonogo {
    pub fn new(profile: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("release.toml"), profile).expect("write profile");
        Gonogo { dir }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
        cmd.current_dir(self.dir.path())
            .args(["run", "release.toml", "--headless"])
            .args(args)
            .env_remove("SSH_AUTH_SOCK")
            // Each test's run logs stay in its own directory.
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            // And its journals.
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs with `answers` typed on stdin, one per line, then stdin closed.
    pub fn run(&self, args: &[&str], answers: &[&str]) -> Output {
        let mut child = self.command(args).spawn().expect("start gonogo");
        let mut stdin = child.stdin.take().expect("stdin");
        for a in answers {
            writeln!(stdin, "{a}").expect("answer");
        }
        drop(stdin);
        child.wait_with_output().expect("gonogo finishes")
    }
}

/// A gonogo still running, whose stdout is read line by line as it comes.
pub struct Live {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Live {
    pub fn start(g: &Gonogo, args: &[&str]) -> Live {
        Live::spawn(g.command(args))
    }

    /// Starts a command made with [`Gonogo::command`] (to add environment variables).
    pub fn spawn(mut command: Command) -> Live {
        let mut child = command.spawn().expect("start gonogo");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Live {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to a minute) for a line containing `needle`.
    pub fn wait_for(&mut self, needle: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            match self
                .lines
                .recv_timeout(std::time::Duration::from_millis(200))
            {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(_) => break,
            }
        }
        panic!("no line with {needle:?} in:\n{}", self.seen.join("\n"));
    }

    /// Reads lines until none came for `quiet`: what was said so far is in `seen`.
    pub fn settle(&mut self, quiet: std::time::Duration) {
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            self.seen.push(line);
        }
    }

    /// The first line seen so far that contains `needle`.
    pub fn line_with(&self, needle: &str) -> Option<&str> {
        self.seen
            .iter()
            .find(|l| l.contains(needle))
            .map(String::as_str)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no goodbye, the laptop's process is gone; what runs on the hosts goes on.
    pub fn kill_9(self) {
        let killed = Command::new("kill")
            .args(["-9", &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let _ = self.finish();
    }

    pub fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write answer");
    }

    /// Closes stdin, waits for the exit, returns the code and everything printed.
    pub fn finish(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("gonogo exits");
        self.seen.extend(self.lines.iter());
        (status.code(), self.seen.join("\n"))
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "--- exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Both fixtures' host keys in one known_hosts file.
pub fn known_hosts(dir: &Path, servers: &[&Sshd]) -> std::path::PathBuf {
    let path = dir.join("known_hosts");
    let lines: Vec<String> = servers
        .iter()
        .map(|s| std::fs::read_to_string(s.known_hosts()).expect("fixture known_hosts"))
        .collect();
    std::fs::write(&path, lines.concat()).expect("write known_hosts");
    path
}

/// Headless lines without their `HH:MM:SS ` time, for tests that read whole lines.
pub fn untimed(text: &str) -> String {
    text.lines()
        .map(|l| match l.split_once(' ') {
            Some((time, rest)) if time.len() == 8 && time.as_bytes()[2] == b':' => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}
