//! A secret that spans several lines (a private key, a certificate) never shows in a run's
//! output, however a step prints it.

mod support;

use support::gonogo::{Gonogo, release, text};

/// Shaped like a real OpenSSH key; it opens nothing.
const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDxq1MX3l2uUJ1kNbX4o0E8rSxPrJ7U0e4o2h6eS1qPaAAAAJgnT6s2J0+r
NgAAAAtzc2gtZWQyNTUxOQAAACDxq1MX3l2uUJ1kNbX4o0E8rSxPrJ7U0e4o2h6eS1qPaA
-----END OPENSSH PRIVATE KEY-----
";

#[test]
fn a_multi_line_secret_printed_by_a_step_is_masked_line_by_line() {
    let work = tempfile::tempdir().expect("work dir");
    let key_file = work.path().join("id_deploy");
    std::fs::write(&key_file, KEY).expect("write key");
    let body = format!(
        "[vars]\nkey = {{ env = \"TEST_KEY\", secret = true }}\n\n[targets.here]\ntransport = \"local\"\n\n[[step]]\nname = \"Show the deploy key\"\nrun = \"cat {0}; echo; sed -n 3p {0} >&2\"\non = \"here\"\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n",
        key_file.display()
    );
    let out = Gonogo::new(&release("secret-lines", &work.path().join("kh"), &body))
        .command(&[])
        .env("TEST_KEY", KEY)
        .output()
        .expect("run gonogo");
    let t = support::gonogo::untimed(&text(&out));
    assert_eq!(out.status.code(), Some(0), "{t}");
    for line in KEY.lines() {
        assert!(!t.contains(line), "{line:?} leaked:\n{t}");
    }
    assert!(t.contains("[here] ••••\n[here] ••••"), "{t}");
    assert!(t.contains("[here]! ••••"), "stderr is masked too: {t}");
}
