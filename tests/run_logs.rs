//! Log tails against a real OpenSSH server (and the local shell): their lines come back
//! tagged by target and log tail, cleaned of terminal sequences, and nothing they started is
//! left running on the host after a normal end, after gonogo is killed, or after the
//! connection is cut (then they come back and say how long the gap was).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::gonogo::{Gonogo, Live, known_hosts, release, target};
use support::sshd::Sshd;

/// Live processes (not zombies) whose command line contains every one of `words`.
fn processes_with(words: &[&str]) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| {
                    s.rsplit(')')
                        .next()
                        .is_some_and(|r| r.trim_start().starts_with('Z'))
                })
                .unwrap_or(true);
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                .unwrap_or_default();
            !zombie && words.iter().all(|w| cmdline.contains(w))
        })
        .collect()
}

/// The `tail -F` processes following `log`.
fn tails(log: &Path) -> Vec<u32> {
    processes_with(&["tail", &log.display().to_string()])
}

/// Waits (up to 15 s) until `check` holds; false if it never did.
fn eventually(check: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// One target, a log tail of `log` whose errors are `ERROR`, and a manual item that holds the
/// release open until the test says `done`. The log tail is a pipeline, as `journalctl | grep`
/// would be: GNU `tail -F` alone notices a closed stdout, but an idle pipeline never writes and
/// would stay on the host for good.
fn following(name: &str, kh: &Path, target_table: &str, log: &Path) -> Gonogo {
    let body = format!(
        "{target_table}\n[logs.app]\non = \"web-1\"\ncommand = \"tail -F {} | cat\"\nerrors = 'ERROR'\n\n[[step]]\nmanual = \"Watch the logs\"\n",
        log.display()
    );
    Gonogo::new(&release(name, kh, &body))
}

#[test]
fn lines_come_back_tagged_and_cleaned_and_the_log_tail_is_gone_after_the_end() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let log = work.path().join("app.log");
    std::fs::write(&log, "").expect("log file");
    let g = following("logs-end", &kh, &target("web-1", &sshd, &[]), &log);
    let mut live = Live::start(&g, &[]);
    live.wait_for("logs web-1:app: following");
    assert!(
        eventually(|| tails(&log).len() == 1),
        "one tail on the host"
    );
    // A title, colours, a screen clear and a cursor move: none of them reaches the terminal.
    std::fs::write(
        &log,
        "\x1b]0;owned title\x07\x1b[31mERROR red\x1b[0m \x1b[2J\x1b[10;1Hmoved\nplain line\n",
    )
    .expect("append");
    live.wait_for("[web-1:app] plain line");
    live.say("done");
    let (code, t) = live.finish();
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains("[web-1:app] ERROR red moved"), "{t}");
    assert!(
        t.contains("logs web-1:app: 2 lines read, none dropped"),
        "the summary counts what the log tail read: {t}"
    );
    assert!(!t.contains('\x1b') && !t.contains('\x07'), "{t:?}");
    assert!(
        eventually(|| tails(&log).is_empty()),
        "tail left on the host after gonogo ended: {:?}\n{t}",
        tails(&log)
    );
}

#[test]
fn a_log_tail_is_gone_from_the_host_when_gonogo_is_killed() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let log = work.path().join("app.log");
    std::fs::write(&log, "before\n").expect("log file");
    let g = following("logs-killed", &kh, &target("web-1", &sshd, &[]), &log);
    let mut live = Live::start(&g, &[]);
    live.wait_for("[web-1:app] before");
    assert!(eventually(|| tails(&log).len() == 1));
    let ok = Command::new("kill")
        .args(["-KILL", &live.pid().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let (code, t) = live.finish();
    assert_eq!(code, None, "killed: {t}");
    assert!(
        eventually(|| tails(&log).is_empty()),
        "tail outlived gonogo's connection: {:?}",
        tails(&log)
    );
}

#[test]
fn a_cut_connection_kills_the_log_tail_on_the_host_and_it_comes_back_with_its_gap() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let log = work.path().join("app.log");
    std::fs::write(&log, "").expect("log file");
    let g = following("logs-cut", &kh, &target("web-1", &sshd, &[]), &log);
    let mut live = Live::start(&g, &[]);
    live.wait_for("logs web-1:app: following");
    assert!(eventually(|| tails(&log).len() == 1));
    let before = tails(&log);
    assert!(sshd.drop_connections() > 0);
    assert!(
        eventually(|| !before.iter().any(|p| tails(&log).contains(p))),
        "the tail of the cut connection is still running: {before:?}"
    );
    live.wait_for("logs web-1:app down: the connection dropped");
    live.wait_for("logs web-1:app: following again after a gap of");
    std::fs::write(&log, "after the gap\n").expect("append");
    live.wait_for("[web-1:app] after the gap");
    assert_eq!(tails(&log).len(), 1, "exactly one log tail again");
    live.say("done");
    let (code, t) = live.finish();
    assert_eq!(code, Some(0), "{t}");
    assert!(eventually(|| tails(&log).is_empty()), "{:?}", tails(&log));
}

#[test]
fn a_local_log_tail_runs_in_its_own_group_and_dies_with_gonogo() {
    let work = tempfile::tempdir().expect("work dir");
    let kh = work.path().join("known_hosts");
    let local = "[targets.web-1]\ntransport = \"local\"\n";
    for kill in [false, true] {
        let log = work.path().join(format!("local-{kill}.log"));
        std::fs::write(&log, "here\n").expect("log file");
        let g = following("logs-local", &kh, local, &log);
        let mut live = Live::start(&g, &[]);
        live.wait_for("[web-1:app] here");
        assert!(eventually(|| tails(&log).len() == 1));
        let tail = tails(&log)[0];
        let group = std::fs::read_to_string(format!("/proc/{tail}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()?
                    .split_whitespace()
                    .nth(2)?
                    .parse::<u32>()
                    .ok()
            });
        assert_ne!(group, Some(std::process::id()), "not in the test's group");
        if kill {
            assert!(
                Command::new("kill")
                    .args(["-KILL", &live.pid().to_string()])
                    .status()
                    .expect("kill")
                    .success()
            );
        } else {
            live.say("done");
        }
        let (code, t) = live.finish();
        assert_eq!(code, if kill { None } else { Some(0) }, "{t}");
        assert!(
            eventually(|| tails(&log).is_empty()),
            "local tail left (killed: {kill}): {:?}",
            tails(&log)
        );
    }
}

#[test]
fn a_log_tail_whose_command_ends_is_down_then_restarted() {
    let work = tempfile::tempdir().expect("work dir");
    let kh = work.path().join("known_hosts");
    let body = "[targets.web-1]\ntransport = \"local\"\n\n[logs.once]\non = \"web-1\"\ncommand = \"echo hello; exit 3\"\n\n[[step]]\nmanual = \"Watch\"\n";
    let g = Gonogo::new(&release("logs-ends", &kh, body));
    let mut live = Live::start(&g, &[]);
    live.wait_for("[web-1:once] hello");
    live.wait_for("logs web-1:once down: its command ended (exit 3)");
    live.wait_for("logs web-1:once: following again after a gap of");
    live.say("done");
    let (code, t) = live.finish();
    assert_eq!(code, Some(0), "{t}");
}

#[test]
fn a_secret_in_a_log_tail_command_is_in_no_process_list_and_masked_in_its_lines() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let secret = format!("hunter2-{}", std::process::id());
    let body = format!(
        "[vars]\ntoken = {{ env = \"FOLLOW_TOKEN\", secret = true }}\n\n{}\n[logs.app]\non = \"web-1\"\ncommand = \"echo token={{{{token}}}}; while :; do sleep 1; done\"\n\n[[step]]\nmanual = \"Watch\"\n",
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&release("logs-secret", &kh, &body));
    let mut command = g.command(&[]);
    command.env("FOLLOW_TOKEN", &secret);
    let mut live = Live::spawn(command);
    live.wait_for("[web-1:app] token=••••");
    assert!(
        eventually(|| !processes_with(&["sleep 1"]).is_empty()),
        "the log tail runs"
    );
    assert_eq!(
        processes_with(&[&secret]),
        Vec::<u32>::new(),
        "in no command line"
    );
    live.say("done");
    let (code, t) = live.finish();
    assert_eq!(code, Some(0), "{t}");
    assert!(!t.contains(&secret), "{t}");
}
