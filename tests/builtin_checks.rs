//! Built-in checks end to end: the real binary, a real sshd as the target, and a real HTTPS
//! service on loopback whose certificate a test CA signed (trusted the way a company CA is:
//! `SSL_CERT_FILE`). `http` and `tls_days_left` go through the target's SSH connection;
//! `dns` and `disk_free` run on the host. What an operator relies on: each passes or fails for
//! the reason it says, in words.

mod support;

use support::gonogo::{Gonogo, release, target, text};
use support::sshd::Sshd;

/// The HTTPS service, served from its own thread for as long as the test runs.
fn https_service(days_left: i64) -> support::https::HttpsService {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            tx.send(support::https::serve(days_left).await)
                .expect("started");
            std::future::pending::<()>().await
        });
    });
    rx.recv().expect("the service started")
}

fn step(check: &str) -> String {
    format!("[[step]]\ncheck = {check}\non = \"web-1\"\n\n")
}

#[test]
fn built_in_checks_run_from_the_target_and_say_why_they_fail() {
    let sshd = Sshd::start();
    let service = https_service(30);
    let port = service.addr.port();
    let body = [
        target("web-1", &sshd, &["web"]),
        // The same service watched as a health check through the same connection.
        format!(
            "\n[health.app]\nurl = \"https://localhost:{port}/health\"\nvia = \"web\"\nevery = \"200ms\"\n\n"
        ),
        step(&format!(
            r#"{{ http = "https://localhost:{port}/health", expect = 200 }}"#
        )),
        step(&format!(
            r#"{{ tls_days_left = "localhost:{port}", min = 14 }}"#
        )),
        step(r#"{ dns = "localhost", expect = "127.0.0.1" }"#),
        step(r#"{ disk_free = "/", min = "1M" }"#),
        // From here on each one fails, and is skipped by the answers below.
        step(&format!(
            r#"{{ tls_days_left = "localhost:{port}", min = 60 }}"#
        )),
        step(&format!(
            r#"{{ http = "https://localhost:{port}/missing" }}"#
        )),
        step(r#"{ dns = "localhost", expect = ["127.0.0.1", "192.0.2.7"] }"#),
        step(r#"{ disk_free = "/", min = "1000T" }"#),
        step(r#"{ dns = "no-such-name.invalid" }"#),
    ]
    .concat();
    let g = Gonogo::new(&release("builtin", sshd.known_hosts(), &body));
    let ca = g.dir.path().join("ca.pem");
    std::fs::write(&ca, &service.ca_pem).expect("write the CA");
    let mut run = g.command(&[]);
    run.env("SSL_CERT_FILE", &ca);
    let mut child = run.spawn().expect("start gonogo");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        for _ in 0..5 {
            writeln!(stdin, "skip it fails on purpose").expect("answer");
        }
    }
    let out = child.wait_with_output().expect("gonogo finishes");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");

    let expected = [
        // Through the SSH connection, with TLS checked for the name: a 200 and the days left.
        "[web-1] GET https://localhost:PORT/health: 200 in",
        "certificate: 30 days left",
        "[web-1] TLS localhost:PORT: the certificate has 30 days left (14 required)",
        "[web-1] localhost resolves to 127.0.0.1",
        "free on / (",
        "[web-1]! TLS localhost:PORT: the certificate has 30 days left, fewer than the 60 required: renew it",
        "[web-1]! GET https://localhost:PORT/missing: answered 404, expected 200",
        "[web-1]! missing: 192.0.2.7",
        "[web-1]! ",
        ", below the minimum 1000T",
        "[web-1]! no-such-name.invalid does not resolve on this host",
        // The health check through the same connection, over TLS.
        "ok   health app via web-1: 200 in",
    ];
    for line in expected {
        let line = line.replace("PORT", &port.to_string());
        assert!(shown.contains(&line), "missing {line:?} in:\n{shown}");
    }
    // Four passed, five failed and were skipped, each for its own reason.
    assert_eq!(shown.matches("skipped: ").count(), 5, "{shown}");
}

#[test]
fn an_expired_or_untrusted_certificate_fails_the_check_with_the_reason() {
    let sshd = Sshd::start();
    let expired = https_service(-3);
    let body = [
        target("web-1", &sshd, &["web"]),
        "\n".into(),
        step(&format!(
            r#"{{ tls_days_left = "localhost:{}" }}"#,
            expired.addr.port()
        )),
    ]
    .concat();
    let g = Gonogo::new(&release("builtin-tls", sshd.known_hosts(), &body));
    let ca = g.dir.path().join("ca.pem");
    std::fs::write(&ca, &expired.ca_pem).expect("write the CA");

    let mut trusted = g.command(&[]);
    trusted.env("SSL_CERT_FILE", &ca);
    let out = trusted.output().expect("gonogo finishes");
    let shown = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "aborted at the failed check:\n{shown}"
    );
    assert!(shown.contains("the certificate has expired"), "{shown}");

    // A certificate in date but from a CA this machine does not trust: said, not a days count.
    let untrusted = https_service(30);
    let body = [
        target("web-1", &sshd, &["web"]),
        "\n".into(),
        step(&format!(
            r#"{{ tls_days_left = "localhost:{}" }}"#,
            untrusted.addr.port()
        )),
    ]
    .concat();
    let g = Gonogo::new(&release("builtin-tls", sshd.known_hosts(), &body));
    let out = g.run(&[], &[]);
    let shown = text(&out);
    assert!(
        shown.contains("not signed by a trusted authority"),
        "{shown}"
    );
    assert!(!shown.contains("days left"), "{shown}");
}
