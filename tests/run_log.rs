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
}

/// Log records never reach the terminal.
fn stdout_has_log_lines(stdout: &[u8]) -> bool {
    String::from_utf8_lossy(stdout)
        .lines()
        .any(|l| l.contains(" INFO ") || l.contains("gonogo::runtime") || l.contains("LockTaken"))
}
