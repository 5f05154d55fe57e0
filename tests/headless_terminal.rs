//! Headless at a terminal: a person types answers as questions come. An answer typed before its
//! question is said to be not kept, so a `go` typed while a step runs approves no later gate
//! (piped answers, written ahead on purpose, still wait for their questions).

mod support;

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use support::gonogo::{Gonogo, release};

/// Reads the terminal until `needle` shows up (or 30 s pass); returns all it read.
fn read_until(session: &mut expectrl::session::OsSession, seen: &mut String, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        assert!(Instant::now() < deadline, "no {needle:?} in:\n{seen}");
        match session.try_read(&mut buf) {
            Ok(0) => std::thread::sleep(Duration::from_millis(20)),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[test]
fn a_go_typed_at_a_terminal_while_a_step_runs_approves_no_gate() {
    let work = tempfile::tempdir().expect("work dir");
    let body = "[targets.here]\ntransport = \"local\"\n\n[[step]]\nname = \"Build\"\nrun = \"echo building; sleep 2\"\non = \"here\"\n\n[[step]]\ngate = \"Ship it?\"\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n";
    let g = Gonogo::new(&release("typed", &work.path().join("kh"), body));
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gonogo"));
    command
        .args(["run", "release.toml", "--headless"])
        .current_dir(g.dir.path());
    let mut session = expectrl::session::Session::spawn(command).expect("spawn in a pty");
    let mut seen = String::new();
    read_until(&mut session, &mut seen, "[here] building");
    session.write_all(b"go\n").expect("type go");
    read_until(
        &mut session,
        &mut seen,
        "`go` not kept: nothing is asked now",
    );
    read_until(&mut session, &mut seen, "?? GATE");
    // Still asking: the early go did not count.
    std::thread::sleep(Duration::from_millis(300));
    let mut rest = [0u8; 4096];
    if let Ok(n) = session.try_read(&mut rest) {
        seen.push_str(&String::from_utf8_lossy(&rest[..n]));
    }
    assert!(!seen.contains("decided by"), "{seen}");
    session.write_all(b"no-go\n").expect("answer");
    read_until(&mut session, &mut seen, "gonogo: aborted");
    assert!(seen.contains(": no-go"), "{seen}");
    let _ = session.read_to_string(&mut seen);
}

#[test]
fn lines_carry_the_time_and_a_quiet_step_gets_a_heartbeat() {
    let work = tempfile::tempdir().expect("work dir");
    let body = "[targets.here]\ntransport = \"local\"\n\n[[step]]\nname = \"Quiet\"\nrun = \"sleep 3\"\non = \"here\"\n";
    let g = Gonogo::new(&release("heartbeat", &work.path().join("kh"), body));
    let out = g
        .command(&[])
        .env("GONOGO_HEARTBEAT_MS", "1000")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    let t = support::gonogo::text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stamped = |l: &str| {
        let b = l.as_bytes();
        b.len() > 9
            && b[..8].iter().enumerate().all(|(i, c)| {
                if i == 2 || i == 5 {
                    *c == b':'
                } else {
                    c.is_ascii_digit()
                }
            })
            && b[8] == b' '
    };
    let release_lines: Vec<&str> = stdout
        .lines()
        .take_while(|l| !l.starts_with("== summary"))
        .collect();
    assert!(release_lines.iter().all(|l| stamped(l)), "{t}");
    assert!(
        release_lines
            .iter()
            .any(|l| l.contains("...  still running Quiet: here (")),
        "{t}"
    );
}
