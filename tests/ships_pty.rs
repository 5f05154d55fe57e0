//! A version every host already runs, in a real terminal: the cockpit asks whether to deploy
//! it again, the operator types the reason and the release goes on; the journal keeps the
//! answer, and its replay shows the question as the operator saw it.

mod support;

use std::time::Duration;

use support::pty::Pty;

const PROFILE: &str = r#"version = 1
[release]
name = "ships-pty"
environment = "staging"
version = "v2"
current = "echo v2"
lock_dir = "LOCKS"

[targets.web-1]
transport = "local"
roles = ["web"]

[targets.web-2]
transport = "local"
roles = ["web"]

[[step]]
name = "Deploy over {{previous}}"
run = "echo deployed"
on = "web"
"#;

#[test]
fn a_version_already_running_is_deployed_again_with_a_typed_reason_and_replayed() {
    let dir = tempfile::tempdir().expect("dir");
    let locks = dir.path().join("locks");
    let profile = PROFILE.replace("LOCKS", &locks.display().to_string());
    std::fs::write(dir.path().join("release.toml"), profile).expect("profile");
    let mut pty = Pty::spawn(dir.path(), "run release.toml", &[("NO_COLOR", "1")], "");
    pty.wait_text("ALREADY DEPLOYED");
    pty.wait_text("Every host runs v2 already");
    // Keys right after a question opens are ignored by design: press until it is armed.
    for _ in 0..20 {
        pty.press("e");
        if pty.read_until(Duration::from_millis(500), |s| {
            s.contains("reason (required)")
        }) {
            break;
        }
    }
    pty.press("config only");
    pty.wait_text("config only");
    pty.press("\r");
    pty.wait_text("RELEASED");
    let screen = pty.contents();
    assert!(
        screen.contains("Deploy over v2"),
        "{{previous}} filled in: {screen}"
    );
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());

    let sessions = dir.path().join("data/gonogo/sessions");
    let journal = (std::fs::read_dir(&sessions).expect("sessions"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a journal");
    let text = std::fs::read_to_string(&journal).expect("journal");
    assert!(text.contains(r#""decision":"redeploy""#), "{text}");
    assert!(text.contains("config only"), "{text}");

    let mut replay = Pty::spawn(
        dir.path(),
        &format!("replay {}", journal.display()),
        &[("NO_COLOR", "1")],
        "",
    );
    replay.wait_text("REPLAY");
    replay.wait_text("Every host runs v2 already");
    replay.press("G");
    replay.wait_text("■ end");
    replay.press("[");
    replay.wait_text("decided by");
    replay.press("q");
    assert_eq!(replay.exit_code(), Some(0), "{}", replay.contents());
}
