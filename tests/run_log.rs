//! Every run writes its own log under `$XDG_STATE_HOME/gonogo/`, never to the terminal; the
//! summary at the end says where that log is.

mod support;

use std::os::unix::fs::PermissionsExt as _;

use support::gonogo::{Gonogo, release, text};

#[test]
fn a_failed_run_names_its_log_which_holds_what_happened_and_no_secret() {
    let work = tempfile::tempdir().expect("work dir");
    let state = work.path().join("state");
    let body = "[vars]\ntoken = { env = \"GONOGO_TEST_TOKEN\", secret = true }\n\n[targets.here]\ntransport = \"local\"\n\n[[step]]\nname = \"Check the token\"\ncheck = \"echo {{token}}; false\"\non = \"here\"\n";
    let g = Gonogo::new(&release("logged", &work.path().join("kh"), body));
    let out = g
        .command(&[])
        .env("XDG_STATE_HOME", &state)
        .env("GONOGO_TEST_TOKEN", "tok-log-5e1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("   log: "))
        .unwrap_or_else(|| panic!("no log path in:\n{t}"));
    assert!(
        path.starts_with(&state.join("gonogo").display().to_string()),
        "{t}"
    );
    let meta = std::fs::metadata(path).expect("the log exists");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let log = std::fs::read_to_string(path).expect("read the log");
    assert!(log.contains("LockTaken"), "{log}");
    assert!(log.contains("Exited"), "{log}");
    assert!(log.contains("run ends"), "{log}");
    assert!(!log.contains("tok-log-5e1"), "a secret in the log:\n{log}");
    assert!(!stdout_has_log_lines(&out.stdout), "{t}");

    // The journal, named on the terminal at the start and the end, holds the step's output
    // with the secret masked.
    let said = t
        .lines()
        .find_map(|l| l.strip_prefix("gonogo: recording to "))
        .unwrap_or_else(|| panic!("no journal path in:\n{t}"));
    assert!(
        t.contains(&format!(
            "gonogo: recorded to {said} (gonogo replay {said})"
        )),
        "{t}"
    );
    let journal = std::fs::read_to_string(said).expect("read the journal");
    assert!(journal.contains(r#""type":"exited""#), "{journal}");
    assert!(journal.contains("••••"), "{journal}");
    assert!(
        !journal.contains("tok-log-5e1"),
        "a secret in the journal:\n{journal}"
    );
    let sessions = g.dir.path().join("data/gonogo/sessions");
    assert!(said.starts_with(&sessions.display().to_string()), "{said}");
    assert_eq!(
        std::fs::metadata(&sessions).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

/// Log records never reach the terminal.
fn stdout_has_log_lines(stdout: &[u8]) -> bool {
    String::from_utf8_lossy(stdout)
        .lines()
        .any(|l| l.contains(" INFO ") || l.contains("gonogo::runtime") || l.contains("LockTaken"))
}
