//! The summary at the end of a run: outcome and length, every decision with who and why,
//! retries, skips, irreversible steps done, where each host stands, and the log.

mod support;

use support::gonogo::{Gonogo, release, text};

#[test]
fn a_run_ends_with_a_summary_of_what_happened_and_who_decided() {
    let work = tempfile::tempdir().expect("work dir");
    let flag = work.path().join("warm");
    let body = format!(
        "[vars]\nflag = \"{}\"\n\n[targets.here]\ntransport = \"local\"\n\n[[step]]\nname = \"Cache warm\"\ncheck = \"test -f {{{{flag}}}} || {{ touch {{{{flag}}}}; false; }}\"\non = \"here\"\nretries = 1\nretry_delay = \"100ms\"\n\n[[step]]\nmanual = \"Tell support\"\n\n[[step]]\ngate = \"Migrate?\"\n\n[[step]]\nname = \"Migrate\"\nrun = \"true\"\non = \"here\"\nirreversible = true\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n",
        flag.display()
    );
    let out = Gonogo::new(&release("summary", &work.path().join("kh"), &body)).run(
        &[],
        &["skip nobody on call tonight", "go -- dashboards green"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("== summary: "))
        .collect();
    let has = |needle: &str| summary.iter().any(|l| l.contains(needle));
    assert!(has("to staging: released after"), "{t}");
    assert!(has(": skip: nobody on call tonight"), "{t}");
    assert!(has(": go (dashboards green)"), "{t}");
    assert!(has("retried: Cache warm on here (2 attempts)"), "{t}");
    assert!(has("skipped: Tell support: nobody on call tonight"), "{t}");
    assert!(has("irreversible, done on here: Migrate"), "{t}");
    assert!(has("here: Migrate done"), "{t}");
    assert!(has("log: "), "{t}");
    assert_eq!(
        summary.last().copied(),
        Some("gonogo: released; locks released"),
        "{t}"
    );
}
