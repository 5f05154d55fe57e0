//! A secret that spans several lines (a private key, a certificate) never shows in a run's
//! output, however a step prints it.

mod support;

use support::gonogo::{Gonogo, Live, release, text};

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

/// A secret typed in a note or a reason never shows nor is recorded: the run's output, its
/// journal and its report hold it masked.
#[test]
fn a_secret_typed_in_a_note_or_a_reason_is_masked_everywhere() {
    use std::io::BufRead as _;
    use std::io::Write as _;
    let work = tempfile::tempdir().expect("work dir");
    let body = "[vars]\ntoken = { env = \"TEST_TOKEN\", secret = true }\n\n[targets.here]\ntransport = \"local\"\n\n[[step]]\ngate = \"Go?\"\n\n[[step]]\nmanual = \"Tell support\"\n\n[[step]]\nrun = \"true\"\non = \"here\"\n\n[[rollback]]\nrun = \"true\"\non = \"here\"\n";
    let g = Gonogo::new(&release("secret-notes", &work.path().join("kh"), body));
    let runtime = g.dir.path().join("runtime");
    std::fs::create_dir_all(&runtime).expect("runtime dir");
    let mut cmd = g.command(&["--record", "journal.jsonl"]);
    cmd.env("TEST_TOKEN", "tok-8f3a91")
        .env("XDG_RUNTIME_DIR", &runtime);
    let mut live = Live::spawn(cmd);
    live.wait_for("?? GATE");
    // A follower on the session's socket, reading everything the session streams.
    let socket = std::fs::read_dir(runtime.join("gonogo"))
        .expect("the sockets' directory")
        .next()
        .expect("the session's socket")
        .expect("entry")
        .path();
    let mut follower = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    follower
        .write_all(b"{\"name\":\"watcher\",\"via\":\"this machine\"}\n")
        .expect("join");
    let stream = std::io::BufReader::new(follower.try_clone().expect("clone"));
    let streamed = std::thread::spawn(move || {
        stream
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
            .join("\n")
    });
    live.wait_for("watcher follows the session");
    live.say("go -- checked, the token is tok-8f3a91");
    live.say("skip told them tok-8f3a91 by phone");
    let (code, t) = live.finish();
    assert_eq!(code, Some(0), "{t}");
    assert!(!t.contains("tok-8f3a91"), "{t}");
    assert!(t.contains("checked, the token is ••••"), "{t}");
    let streamed = streamed.join().expect("the follower's stream");
    assert!(streamed.contains("told them ••••"), "{streamed}");
    assert!(
        !streamed.contains("tok-8f3a91"),
        "the follow stream: {streamed}"
    );
    let journal = std::fs::read_to_string(g.dir.path().join("journal.jsonl")).expect("journal");
    assert!(!journal.contains("tok-8f3a91"), "{journal}");
    let gonogo = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gonogo"))
            .args(args)
            .current_dir(g.dir.path())
            .output()
            .expect("gonogo")
    };
    let report = gonogo(&["report", "journal.jsonl", "--format", "json"]);
    let json = String::from_utf8_lossy(&report.stdout);
    assert!(json.contains("told them ••••"), "{json}");
    assert!(!json.contains("tok-8f3a91"), "{json}");
    let export = gonogo(&["export", "journal.jsonl", "--asciicast", "s.cast"]);
    assert!(export.status.success(), "{}", text(&export));
    let cast = std::fs::read_to_string(g.dir.path().join("s.cast")).expect("cast");
    assert!(!cast.contains("tok-8f3a91"), "the cast holds the secret");
    let logs = std::fs::read_dir(g.dir.path().join("state/gonogo")).expect("the run log");
    for log in logs {
        let log = std::fs::read_to_string(log.expect("entry").path()).expect("log");
        assert!(log.contains("Decided"), "the log records decisions: {log}");
        assert!(!log.contains("tok-8f3a91"), "the run log: {log}");
    }
}
