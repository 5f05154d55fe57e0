//! Rollback that tells the truth, end to end against real OpenSSH servers: each step's `undo`
//! runs on the hosts where the step started, latest first; a CI release nobody can answer is
//! rolled back by the unattended policy (or left as it is, and said so); the release record's
//! rollback is a script a shell can read.

mod support;

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use support::gonogo::{Gonogo, Live, known_hosts, release, target, text};
use support::sshd::Sshd;

/// The port of the server a command runs through: tells the three fixtures apart, since they
/// share this machine's user and home.
const HOST: &str = r#"P=$(echo "$SSH_CONNECTION" | cut -d' ' -f4)"#;

fn log_of(path: &Path, ports: &HashMap<String, &str>) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (what, port) = l.split_once(' ').expect("WHAT PORT");
            format!("{what} {}", ports.get(port).copied().unwrap_or(port))
        })
        .collect()
}

/// Stage everywhere (with its undo), warm caches everywhere (no undo), then a serial restart
/// (with its undo) that fails on web-2: the operator rolls back.
#[test]
fn a_serial_step_failing_on_its_second_host_is_undone_where_it_started_latest_first() {
    let servers = [Sshd::start(), Sshd::start(), Sshd::start()];
    let g = Gonogo::new("");
    let dir = g.dir.path();
    let log = dir.join("hosts.log");
    let kh = known_hosts(dir, &servers.iter().collect::<Vec<_>>());
    let ports: HashMap<String, &str> = servers
        .iter()
        .zip(["web-1", "web-2", "web-3"])
        .map(|(s, n)| (s.port().to_string(), n))
        .collect();
    let logged = |what: &str| format!(r#"{HOST}; echo "{what} $P" >> '{}'"#, log.display());
    let body = format!(
        r#"{}{}{}
[[step]]
name = "Stage"
on = "web"
run = '''{stage}'''
undo = '''{unstage}'''

[[step]]
name = "Warm caches"
on = "web"
run = '''{warm}'''

[[step]]
name = "Restart"
on = "web"
serial = 1
run = '''{restart}; test "$P" != {web2}'''
undo = '''{unrestart}'''

[[rollback]]
name = "Flush the CDN"
on = "changed"
run = '''{flush}'''

[[rollback]]
manual = "Schema stays at head: confirm v1.4.2 runs on it or page the DBA"
"#,
        target("web-1", &servers[0], &["web"]),
        target("web-2", &servers[1], &["web"]),
        target("web-3", &servers[2], &["web"]),
        stage = logged("stage"),
        unstage = logged("unstage"),
        warm = logged("warm"),
        restart = logged("restart"),
        unrestart = logged("unrestart"),
        flush = logged("flush"),
        web2 = servers[1].port(),
    );
    std::fs::write(dir.join("release.toml"), release("undo", &kh, &body)).expect("profile");
    let mut live = Live::start(&g, &["--record", "journal.jsonl"]);
    live.wait_for("?? FAILED step Restart");
    live.say("rollback");
    live.wait_for("?? MANUAL [Rollback] Schema stays at head");
    live.say("done");
    let (code, all) = live.finish();
    assert_eq!(code, Some(3), "{all}");

    let lines = log_of(&log, &ports);
    let at = |l: &str| {
        lines
            .iter()
            .position(|x| x == l)
            .unwrap_or_else(|| panic!("{l} not run: {lines:?}\n{all}"))
    };
    assert!(
        !lines
            .iter()
            .any(|l| l.ends_with("web-3") && l.contains("restart")),
        "the restart never started on web-3, so it is not undone there: {lines:?}"
    );
    assert!(
        at("unrestart web-2") < at("unrestart web-1"),
        "latest first: {lines:?}"
    );
    for host in ["web-1", "web-2", "web-3"] {
        assert!(
            at(&format!("unstage {host}")) > at("unrestart web-1"),
            "{lines:?}"
        );
        assert!(
            at(&format!("flush {host}")) > at(&format!("unstage {host}")),
            "{lines:?}"
        );
    }
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("unstage")).count(),
        3,
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("unwarm")),
        "nothing undoes the cache warming"
    );
    // What the end says, per host, as it happened.
    assert!(all.contains("== rolling back, host by host:"), "{all}");
    assert!(
        all.contains("web-2: Undo Restart -> Undo Stage -> Flush the CDN"),
        "{all}"
    );
    assert!(all.contains("web-3: Undo Stage -> Flush the CDN"), "{all}");
    assert!(
        all.contains("not undone (no undo): Warm caches on web-1, web-2, web-3"),
        "{all}"
    );
    assert!(
        all.contains("undo: Restart: ↺ undone on web-1, web-2; never ran on web-3"),
        "{all}"
    );
    assert!(
        all.contains("undo: Warm caches: done, not undone (no undo) on web-1, web-2, web-3"),
        "{all}"
    );
    assert!(
        !all.contains("Warm caches rolled back"),
        "nothing claims what no undo did: {all}"
    );

    // The release record's rollback is a script: a shell reads it, a person can run it.
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .args(["report", "journal.jsonl"])
        .current_dir(dir)
        .output()
        .expect("report");
    let md = String::from_utf8_lossy(&report.stdout).into_owned();
    let script = sh_block(&md);
    assert!(script.contains("# on web-1\n"), "{script}");
    assert!(
        script
            .contains("# MANUAL: Schema stays at head: confirm v1.4.2 runs on it or page the DBA"),
        "{script}"
    );
    assert!(
        script.contains("# NOT UNDONE: Warm caches on web-1, web-2, web-3 (no undo)"),
        "{script}"
    );
    assert!(!md.contains("(on ,"), "no empty host: {md}");
    let mut sh = std::process::Command::new("sh")
        .arg("-n")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    sh.stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script");
    let checked = sh.wait_with_output().expect("sh -n");
    assert!(
        checked.status.success(),
        "sh -n: {}\n{script}",
        String::from_utf8_lossy(&checked.stderr)
    );
    // Run as written, web-1's part undoes web-1 (the commands are the profile's).
    let web1: String = script
        .split("# on ")
        .find(|part| part.starts_with("web-1\n"))
        .expect("web-1's part")
        .to_string();
    assert!(web1.contains("unrestart"), "{web1}");
}

/// The ```sh block of the report's release record.
fn sh_block(md: &str) -> String {
    let start = md.find("```sh\n").expect("an sh block") + "```sh\n".len();
    let end = md[start..].find("\n```").expect("its end") + start;
    md[start..=end].to_string()
}

/// A service whose health follows the release a file says runs: v2 answers 503.
fn service(current: Arc<std::path::PathBuf>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let current = current.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf);
                let runs = std::fs::read_to_string(current.as_path()).unwrap_or_default();
                let status = if runs.trim() == "v2" {
                    "503 Service Unavailable"
                } else {
                    "200 OK"
                };
                let body = format!("runs {}", runs.trim());
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// GET /health as a person would check it after the job ended.
fn health(port: u16) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(stream, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    answer
}

/// One host behind a real sshd, a deploy that breaks its health, a watch that sees it.
fn bad_release(policy: &str) -> (Gonogo, Sshd, std::path::PathBuf, u16) {
    let sshd = Sshd::start();
    let g = Gonogo::new("");
    let dir = g.dir.path();
    let current = dir.join("current");
    std::fs::write(&current, "v1").expect("v1 runs");
    let port = service(Arc::new(current.clone()));
    let kh = known_hosts(dir, &[&sshd]);
    let body = format!(
        r#"{}{policy}
[[step]]
name = "Deploy v2"
on = "web"
run = "printf v2 > '{file}'"
undo = "printf v1 > '{file}'"

[health.app]
url = "http://127.0.0.1:{port}/health"
via = "web"
every = "200ms"

[watch]
duration = "10m"
rollback_on = ["health failing for 1s"]
"#,
        target("web-1", &sshd, &["web"]),
        file = current.display(),
    );
    std::fs::write(dir.join("release.toml"), release("ci", &kh, &body)).expect("profile");
    (g, sshd, current, port)
}

#[test]
fn in_ci_with_nobody_to_answer_a_bad_release_is_rolled_back_and_serves_the_previous_release() {
    let (g, _sshd, current, port) = bad_release("");
    let summary = g.dir.path().join("step-summary.md");
    let mut cmd = g.command(&["--yes"]);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let mut child = cmd.spawn().expect("gonogo");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("gonogo ends");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert_eq!(std::fs::read_to_string(&current).unwrap(), "v1", "{all}");
    assert!(health(port).starts_with("HTTP/1.1 200"), "{all}");
    assert!(
        all.contains("decided by policy at rollback proposal \"health failing for 1s\": rollback confirmed ([policy] unattended = \"rollback\": nobody could answer the rollback proposal (health failing for 1s); changed on web-1: rolling back)"),
        "{all}"
    );
    assert!(!all.contains("safely"), "{all}");
    assert!(all.contains("undo: Deploy v2: ↺ undone on web-1"), "{all}");
    for annotation in [
        "::error title=rollback proposed%3A health failing for 1s::on web-1",
        "::error title=gonogo%3A the unattended policy decided::[policy] unattended = \"rollback\"",
        "::warning title=gonogo%3A rolled back::rolled back%0Aundo: Deploy v2: ↺ undone on web-1",
    ] {
        assert!(all.contains(annotation), "{annotation}\n{all}");
    }
    let md = std::fs::read_to_string(&summary).expect("the job summary");
    assert!(md.starts_with("**rolled back**\n"), "{md}");
    // The journal says who decided: the policy, never a person or --yes.
    let journal = std::fs::read_dir(g.dir.path().join("data/gonogo/sessions"))
        .expect("sessions")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("a journal");
    let recorded = std::fs::read_to_string(journal).expect("journal");
    assert!(
        recorded
            .lines()
            .any(|l| l.contains("\"type\":\"decided\"") && l.contains("\"actor\":\"policy\"")),
        "{recorded}"
    );
}

#[test]
fn unattended_abort_leaves_the_hosts_as_they_are_and_names_them() {
    let (g, _sshd, current, _port) = bad_release("\n[policy]\nunattended = \"abort\"\n");
    let out = g.run(&["--yes"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert_eq!(std::fs::read_to_string(&current).unwrap(), "v2", "{all}");
    assert!(
        all.contains("aborting: left changed on web-1"),
        "the policy's decision names the hosts: {all}"
    );
    assert!(
        all.contains("gonogo: aborted: left changed on web-1; locks released"),
        "{all}"
    );
    assert!(!all.contains("safely"), "{all}");
    // --unattended on the command line wins over the profile.
    let (g, _sshd, current, _port) = bad_release("\n[policy]\nunattended = \"abort\"\n");
    let out = g.run(&["--yes", "--unattended", "rollback"], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&current).unwrap(), "v1");
}
