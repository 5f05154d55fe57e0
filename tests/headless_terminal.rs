//! Headless at a terminal: a person types answers as questions come. An answer typed before its
//! question is said to be not kept, so a `go` typed while a step runs approves no later gate
//! (piped answers, written ahead on purpose, still wait for their questions).

mod support;

use support::gonogo::{Gonogo, Live, release};

#[test]
fn a_go_typed_at_a_terminal_while_a_step_runs_approves_no_gate() {
    let work = tempfile::tempdir().expect("work dir");
    let body = "[targets.here]\ntransport = \"local\"\n\n[[step]]\nname = \"Build\"\nrun = \"echo building; sleep 2\"\non = \"here\"\n\n[[step]]\ngate = \"Ship it?\"\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n";
    let g = Gonogo::new(&release("typed", &work.path().join("kh"), body));
    // util-linux `script` gives gonogo a real terminal on stdin; what we type goes through it.
    let mut command = std::process::Command::new("script");
    command
        .args(["-qfec"])
        .arg(format!(
            "{} run release.toml --headless",
            env!("CARGO_BIN_EXE_gonogo")
        ))
        .arg("/dev/null")
        .current_dir(g.dir.path())
        .env("XDG_STATE_HOME", g.dir.path().join("state"))
        .env("XDG_DATA_HOME", g.dir.path().join("data"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut live = Live::spawn(command);
    live.wait_for("[here] building");
    live.say("go");
    live.wait_for("`go` not kept: nothing is asked now");
    live.wait_for("?? GATE");
    live.say("no-go");
    live.wait_for("gonogo: aborted");
    let (_, t) = live.finish();
    assert!(t.contains(": no-go"), "{t}");
    assert!(
        !t.lines()
            .any(|l| l.contains("decided by") && l.ends_with(": go")),
        "the early go approved the gate: {t}"
    );
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
