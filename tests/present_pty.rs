//! Presenter mode everywhere it shows: a release run with `--present` in a real terminal, and
//! its replay, never write the addresses the hosts printed or the operator typed, in any byte
//! of the terminal's stream: not on the cockpit, not in a modal, not in the summary printed
//! after the cockpit has gone.

mod support;

use support::pty::Pty;

const PROFILE: &str = r#"version = 1
[release]
name = "present-test"
environment = "staging"

[targets.web-1]
transport = "local"

[[step]]
name = "Database reachable"
check = "echo db at 10.1.2.3, on call ops@example.com"
on = "web-1"

[[step]]
gate = "Ship it?"

[[step]]
name = "Deploy"
run = "echo deployed to 10.1.2.3"
on = "web-1"
"#;

const SECRETS: [&str; 2] = ["10.1.2.3", "ops@example.com"];

fn never_shown(pty: &Pty, what: &str) {
    let stream = String::from_utf8_lossy(&pty.raw);
    for secret in SECRETS {
        assert!(
            !stream.contains(secret),
            "{what}: {secret} written to the terminal:\n{}",
            pty.contents()
        );
    }
    assert!(stream.contains('•'), "{what}: nothing was masked");
}

#[test]
fn a_presented_run_and_its_replay_never_write_an_address_to_the_terminal() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("release.toml"), PROFILE).expect("profile");
    let mut pty = Pty::spawn(
        dir.path(),
        "run release.toml --present",
        &[("NO_COLOR", "1")],
        "",
    );
    pty.wait_text("Ship it?");
    // A note typed with addresses in it: shown in the modal, told in the summary after.
    for _ in 0..20 {
        pty.press("g");
        if pty.read_until(std::time::Duration::from_millis(500), |s| {
            s.contains("Enter confirms GO")
        }) {
            break;
        }
    }
    pty.press("\t");
    pty.press("paged ops@example.com from 10.1.2.3");
    pty.wait_text("paged ");
    pty.press("\t");
    pty.press("\r");
    pty.wait_text("RELEASED");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
    let stream = String::from_utf8_lossy(&pty.raw).to_string();
    assert!(
        stream.contains("decided by"),
        "the summary was printed:\n{stream}"
    );
    never_shown(&pty, "the run");

    // The journal keeps what happened (it is not a screen); its replay masks it again.
    let sessions = dir.path().join("data/gonogo/sessions");
    let journal = std::fs::read_dir(&sessions)
        .expect("sessions")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("a journal");
    let text = std::fs::read_to_string(&journal).expect("journal");
    assert!(
        text.contains("\"present\":[]"),
        "the header says it was presented"
    );
    let mut replay = Pty::spawn(
        dir.path(),
        &format!("replay {}", journal.display()),
        &[],
        "",
    );
    replay.wait_text("REPLAY");
    replay.press("G");
    replay.wait_text("■ end");
    replay.press("i");
    replay.wait_text("decided by");
    replay.press("q");
    assert_eq!(replay.exit_code(), Some(0), "{}", replay.contents());
    never_shown(&replay, "the replay");
}
