//! The safety promises, against real OpenSSH servers: a step never runs twice and never ends
//! unexplained, stopping is confirmed, locks mean something, secrets stay off the host's
//! process list, and a chatty shell does not confuse gonogo.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::gonogo::{Gonogo, Live, known_hosts, release, target, text};
use support::sshd::{Sshd, SshdOptions};

/// Alive, and not a zombie waiting to be reaped.
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Waits (up to 10 s) for a file a step writes, and returns its trimmed text.
fn wait_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.trim().is_empty()
        {
            return text.trim().to_string();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} never written", path.display());
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// A profile whose link gives up quickly: 1 s to connect, 2 s to come back.
fn impatient(profile: String) -> String {
    profile.replace(
        "[ssh]\n",
        "[ssh]\nconnect_timeout = \"1s\"\nreconnect_budget = \"2s\"\n",
    )
}

#[test]
fn a_timeout_stops_every_process_of_the_step_even_those_ignoring_term_before_it_fails() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let (c1, c2) = (work.path().join("c1"), work.path().join("c2"));
    // One child ignores TERM; the other also left the step's process group (job control).
    let body = format!(
        "{}\n[[step]]\nname = \"Stubborn\"\nrun = '''sh -c 'trap \"\" TERM; echo $$ > {}; exec sleep 600' &\nset -m\nsh -c 'trap \"\" TERM; echo $$ > {}; exec sleep 600' &\nset +m\necho started\nwait'''\non = \"web-1\"\ntimeout = \"2s\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[]),
        c1.display(),
        c2.display()
    );
    let g = Gonogo::new(&release("stubborn", &kh, &body));
    let mut live = Live::start(&g, &[]);
    live.wait_for("[web-1] started");
    let (p1, p2) = (wait_file(&c1), wait_file(&c2));
    live.wait_for("Stubborn on web-1: timed out after 2s: stopping it on the host");
    live.wait_for("Stubborn failed on web-1: timed out after 2s");
    assert!(!running(&p1), "the child ignoring TERM was killed");
    assert!(
        !running(&p2),
        "the child in its own process group was killed"
    );
    live.wait_for("?? FAILED step Stubborn");
    live.say("abort");
    let (code, t) = live.finish();
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("killed: it ignored TERM for 5s"), "{t}");
}

#[test]
fn rollback_starts_only_after_the_cancelled_step_has_stopped() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let log = work.path().join("log");
    let body = format!(
        "[vars]\nlog = \"{}\"\n\n{}\n[[step]]\nname = \"Deploy\"\nrun = \"trap 'sleep 1; echo step-cleanup >> {{{{log}}}}; exit 1' TERM; echo started; sleep 60 & wait\"\non = \"web-1\"\n\n[[rollback]]\nname = \"Undo\"\nrun = \"echo rollback >> {{{{log}}}}\"\non = \"web-1\"\n",
        log.display(),
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&release("ordered", &kh, &body));
    let mut live = Live::start(&g, &[]);
    live.wait_for("[web-1] started");
    live.say("rollback");
    live.wait_for("Deploy on web-1: stopped with TERM");
    live.wait_for("gonogo: rolled back");
    let (code, t) = live.finish();
    assert_eq!(code, Some(3), "{t}");
    let stop = t.find("Deploy on web-1: stopped").expect("stop line");
    let rolling = t.find("== rolling back").expect("rollback header");
    assert!(stop < rolling, "said stopped before rolling back: {t}");
    assert_eq!(
        std::fs::read_to_string(&log).expect("log"),
        "step-cleanup\nrollback\n",
        "the step's TERM handler finished before the rollback ran: {t}"
    );
}

#[test]
fn a_step_result_is_reported_once_even_after_its_timeout_would_have_fired() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let body = format!(
        "{}\n[[step]]\nname = \"Database reachable\"\ncheck = \"true\"\non = \"web-1\"\ntimeout = \"1s\"\n\n[[step]]\ngate = \"Go on?\"\n",
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&release("once", &kh, &body));
    let mut live = Live::start(&g, &[]);
    live.wait_for("?? GATE");
    // Past the finished check's timeout: nothing about it may be said again.
    std::thread::sleep(Duration::from_millis(2500));
    live.say("go");
    live.wait_for("gonogo: released");
    let (code, t) = live.finish();
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(
        t.matches("Database reachable passed on web-1").count(),
        1,
        "{t}"
    );
}

/// A `Migrate` step on web-1 that counts its runs in the file `counter`, says `started`, sleeps
/// `seconds`, then says `finished`; a rollback that does nothing.
fn counted_migrate(sshd: &Sshd, counter: &Path, seconds: u32) -> String {
    format!(
        "[vars]\ncounter = \"{}\"\n\n{}\n[[step]]\nname = \"Migrate\"\nrun = \"n=$(cat {{{{counter}}}} 2>/dev/null || echo 0); echo $((n + 1)) > {{{{counter}}}}; echo started; sleep {seconds}; echo finished\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        counter.display(),
        target("web-1", sshd, &[])
    )
}

/// The release ended well, its step re-attached to and run exactly once.
fn released_once(code: Option<i32>, t: &str, counter: &Path) {
    assert_eq!(code, Some(0), "the step's own status: {t}");
    assert!(
        t.contains("[web-1] finished"),
        "re-attached to the run: {t}"
    );
    assert_eq!(
        std::fs::read_to_string(counter).expect("counter").trim(),
        "1",
        "the step ran exactly once: {t}"
    );
}

#[test]
fn a_link_lost_past_its_budget_leaves_the_outcome_unknown_and_retry_reattaches_without_rerunning() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let counter = work.path().join("counter");
    let body = counted_migrate(&sshd, &counter, 5);
    let g = Gonogo::new(&impatient(release("unknown", &kh, &body)));
    let mut live = Live::start(&g, &[]);
    live.wait_for("[web-1] started");
    // The network goes: connections cut, and new ones never answered.
    signal(sshd.pid(), "-STOP");
    sshd.drop_connections();
    live.wait_for("Migrate on web-1: outcome unknown: connection lost");
    live.wait_for("?? FAILED step Migrate");
    signal(sshd.pid(), "-CONT");
    live.say("retry");
    live.wait_for("gonogo: released");
    let (code, t) = live.finish();
    assert!(t.contains("the step may still be running"), "{t}");
    released_once(code, &t, &counter);
}

#[test]
fn gonogos_shells_killed_on_the_host_mid_step_neither_fail_the_step_nor_run_it_again() {
    // A deploy account whose login shell is dash, as `useradd` makes on Debian: its `sh -c`
    // outlives the killed shell and ends with status 137, not a signal.
    let sshd = Sshd::start_with(SshdOptions {
        extra_config: "ForceCommand /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n",
        ..SshdOptions::default()
    });
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let counter = work.path().join("counter");
    let body = counted_migrate(&sshd, &counter, 2);
    let g = Gonogo::new(&release("shells-killed", &kh, &body));
    let mut live = Live::start(&g, &[]);
    live.wait_for("[web-1] started");
    assert!(sshd.kill_shells() > 0, "the step's shell was found");
    live.wait_for("gonogo: released");
    let (code, t) = live.finish();
    released_once(code, &t, &counter);
}

#[test]
fn a_secret_is_never_in_a_process_list_nor_left_on_the_host() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let token = format!("tok-{}-ps-secret", std::process::id());
    let body = format!(
        "[vars]\ntoken = {{ env = \"GONOGO_TEST_TOKEN\", secret = true }}\n\n{}\n[[step]]\nname = \"Use the token\"\nrun = \"test -n {{{{token}}}} && echo started && sleep 3\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&release("ps", &kh, &body));
    let mut cmd = g.command(&[]);
    cmd.env("GONOGO_TEST_TOKEN", &token);
    let mut live = Live::spawn(cmd);
    live.wait_for("[web-1] started");
    let mut shown = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(args) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&args).contains(&token)
        {
            shown.push(String::from_utf8_lossy(&args).replace('\0', " "));
        }
    }
    assert!(shown.is_empty(), "the secret shows in ps: {shown:?}");
    // The step has read its command: no file on the host holds it while the step runs on.
    let leaks = files_holding(&token);
    assert!(
        leaks.is_empty(),
        "while the step runs, files hold the secret: {leaks:?}"
    );
    let start = live.line_with("(session ").expect("start line");
    let id = start
        .split("(session ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .expect("session id");
    let session = home().join(".gonogo/runs").join(id);
    let name = support::gonogo::untimed(start);
    let name = name
        .strip_prefix("gonogo: release ")
        .and_then(|r| r.split(' ').next())
        .expect("release name");
    let lock = home().join(format!(".gonogo/locks/{name}.lock"));
    assert_eq!(
        (mode(&lock) & 0o777, mode(&lock.join("info")) & 0o777),
        (0o700, 0o600),
        "the default lock is private"
    );
    let mut modes = Vec::new();
    walk(&session, &mut |p| modes.push((p.to_path_buf(), mode(p))));
    assert!(!modes.is_empty());
    for (p, m) in &modes {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(m & 0o777, want, "{} is {m:o}", p.display());
    }
    live.wait_for("gonogo: released");
    let (code, t) = live.finish();
    assert_eq!(code, Some(0), "{t}");
    assert!(!session.exists(), "the run directory is removed: {t}");
    let leaks = files_holding(&token);
    assert!(leaks.is_empty(), "files still hold the secret: {leaks:?}");
}

/// The files under ~/.gonogo that hold `secret`.
fn files_holding(secret: &str) -> Vec<std::path::PathBuf> {
    let mut leaks = Vec::new();
    walk(&home().join(".gonogo"), &mut |p| {
        if std::fs::read(p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(secret)) {
            leaks.push(p.to_path_buf());
        }
    });
    leaks
}

fn home() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var("HOME").expect("HOME"))
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).expect("metadata").permissions().mode()
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    f(dir);
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}

#[test]
fn a_session_whose_lock_was_broken_stops_before_its_next_step_and_says_who_broke_it() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let deployed = work.path().join("deployed");
    let body = format!(
        "{}\n[[step]]\ngate = \"Deploy?\"\n\n[[step]]\nname = \"Deploy\"\nrun = \"echo $$ >> {}\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[]),
        deployed.display()
    );
    let g = Gonogo::new(&release("broken", &kh, &body));
    let mut first = Live::start(&g, &[]);
    first.wait_for("?? GATE");
    let mut second = Live::start(&g, &["--break-lock", "first one went home, asked ana"]);
    second.wait_for("?? GATE");
    first.say("go");
    first.wait_for("the deploy lock was taken over by ");
    let (code, t) = first.finish();
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("first one went home, asked ana"), "why: {t}");
    assert!(t.contains("this session stops before `Deploy`"), "{t}");
    assert!(
        !deployed.exists(),
        "the first session ran nothing more: {t}"
    );
    assert!(
        !t.contains("locks released"),
        "the lock is not the first session's to release: {t}"
    );
    second.say("abort");
    let (code, t) = second.finish();
    assert_eq!(code, Some(1), "{t}");
    assert!(t.contains("locks released on web-1"), "{t}");
}

#[test]
fn break_lock_refuses_while_the_previous_sessions_step_runs_and_stop_previous_stops_it() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let pidfile = work.path().join("pid");
    let body = format!(
        "{}\n[[step]]\nname = \"Long\"\nrun = \"echo $$ > {}; echo started; sleep 60\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[]),
        pidfile.display()
    );
    let g = Gonogo::new(&release("crashed", &kh, &body));
    let mut crashed = Live::start(&g, &[]);
    crashed.wait_for("[web-1] started");
    let pid = wait_file(&pidfile);
    // The laptop dies: no abort, no unlock.
    signal(crashed.pid(), "-KILL");
    let _ = crashed.finish();
    assert!(running(&pid));

    let out = g.run(&["--break-lock", "laptop died"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains("whose steps still run there: step-1-web-1-1"),
        "{t}"
    );
    assert!(t.contains("--stop-previous"), "{t}");
    assert!(running(&pid), "nothing was stopped without asking: {t}");

    std::fs::remove_file(&pidfile).expect("reset");
    let mut next = Live::start(&g, &["--break-lock", "laptop died", "--stop-previous"]);
    next.wait_for("that session left on web-1: step-1-web-1-1 was running");
    assert!(!running(&pid), "the previous session's step was stopped");
    let left = next
        .line_with("that session left on web-1")
        .expect("leftover line")
        .to_string();
    assert!(left.contains("stopped, removed"), "{left}");
    next.wait_for("[web-1] started");
    next.say("abort");
    let (code, t) = next.finish();
    assert_eq!(code, Some(1), "{t}");
}

#[test]
fn a_lock_that_could_not_be_released_is_named_with_how_to_remove_it() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let body = format!(
        "{}\n[[step]]\ngate = \"Proceed?\"\n",
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&impatient(release("kept", &kh, &body)));
    let mut live = Live::start(&g, &[]);
    live.wait_for("?? GATE");
    signal(sshd.pid(), "-STOP");
    sshd.drop_connections();
    live.say("abort");
    live.wait_for("!! lock kept on web-1: could not release it");
    live.wait_for("once checked, remove it with: ssh web-1 rm -rf ~/.gonogo/locks/");
    let (code, t) = live.finish();
    signal(sshd.pid(), "-CONT");
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("gonogo: aborted: no host was changed; 1 lock kept: web-1"),
        "{t}"
    );
    assert!(!t.contains("locks released"), "{t}");
    // The command gonogo gave removes the very lock it kept (run here: the host is this machine).
    let kept = t
        .lines()
        .find_map(|l| l.split("remove it with: ssh web-1 rm -rf ~/").nth(1))
        .unwrap_or_else(|| panic!("no removal command:\n{t}"));
    let lock = home().join(kept.trim());
    assert!(lock.join("info").exists(), "{}: {t}", lock.display());
    std::fs::remove_dir_all(&lock).expect("remove the kept lock");
}

#[test]
fn the_lock_lives_where_the_profile_says() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let locks = work.path().join("shared-locks");
    let body = format!(
        "{}\n[[step]]\ngate = \"Proceed?\"\n",
        target("web-1", &sshd, &[])
    );
    let profile = release("placed", &kh, &body).replace(
        "environment = \"staging\"\n",
        &format!(
            "environment = \"staging\"\nlock_dir = \"{}\"\n",
            locks.display()
        ),
    );
    let g = Gonogo::new(&profile);
    let mut live = Live::start(&g, &[]);
    live.wait_for("?? GATE");
    let held: Vec<_> = std::fs::read_dir(&locks)
        .expect("the lock directory was made")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(
        held[0].starts_with("placed-") && held[0].ends_with(".lock"),
        "{held:?}"
    );
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(p).expect("lock").permissions().mode() & 0o777
    };
    let lock = locks.join(&held[0]);
    assert_eq!(
        (mode(&lock), mode(&lock.join("info"))),
        (0o755, 0o644),
        "a shared lock can be read by the other accounts"
    );
    live.say("abort");
    let (code, t) = live.finish();
    assert_eq!(code, Some(1), "{t}");
    assert_eq!(std::fs::read_dir(&locks).expect("locks").count(), 0, "{t}");
}

#[test]
fn an_account_whose_shell_prints_a_banner_still_works() {
    let sshd = Sshd::start_with(SshdOptions {
        extra_config: "ForceCommand echo 'Welcome to web-1: authorised use only'; echo 'motd: disk 91% full' >&2; exec sh -c \"$SSH_ORIGINAL_COMMAND\"",
        ..SshdOptions::default()
    });
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let body = format!(
        "{}\n[[step]]\nname = \"Version\"\ncheck = \"echo version-42\"\non = \"web-1\"\nexpect = '^version-42$'\n",
        target("web-1", &sshd, &[])
    );
    let out = Gonogo::new(&release("banner", &kh, &body)).run(&[], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("[web-1] version-42"), "{t}");
    assert!(
        !t.contains("Welcome to web-1"),
        "the banner is not step output: {t}"
    );
    assert!(!t.contains("disk 91% full"), "{t}");
    assert!(t.contains("locks released on web-1"), "{t}");
}

#[test]
fn a_secret_used_as_a_host_or_user_is_masked_in_connection_errors() {
    let work = tempfile::tempdir().expect("work dir");
    let body = "[vars]\nhost = { env = \"GONOGO_TEST_HOST\", secret = true }\nwho = { env = \"GONOGO_TEST_USER\", secret = true }\n\n[targets.db]\nhost = \"{{host}}\"\nuser = \"{{who}}\"\nport = 1\n\n[[step]]\ncheck = \"true\"\non = \"db\"\n";
    let g = Gonogo::new(&impatient(release(
        "masked-host",
        &work.path().join("kh"),
        body,
    )));
    let out = g
        .command(&[])
        .env("GONOGO_TEST_HOST", "127.0.0.1")
        .env("GONOGO_TEST_USER", "svc-8f2e-secret")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains("cannot reach db: ••••:1: connection refused"),
        "{t}"
    );
    assert!(!t.contains("127.0.0.1"), "{t}");
    assert!(!t.contains("svc-8f2e-secret"), "{t}");
}
