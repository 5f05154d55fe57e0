//! `gonogo run --headless` against real OpenSSH servers started by the tests.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use support::gonogo::{Gonogo, Live, known_hosts, release, target, text};
use support::sshd::Sshd;

#[test]
fn a_release_runs_checks_a_manual_item_a_gate_and_a_serial_action_on_two_hosts() {
    let (a, b) = (Sshd::start(), Sshd::start());
    let work = tempfile::tempdir().expect("work dir");
    let marks = work.path().display();
    let body = format!(
        "{}{}
[[step]]
phase = \"Preflight\"
name = \"Hosts answer\"
check = \"echo ready-$((40 + 2))\"
on = \"web\"
expect = 'ready-42'

[[step]]
manual = \"Tell support we deploy\"

[[step]]
gate = \"Go for the restart?\"

[[step]]
phase = \"Deploy\"
name = \"Restart\"
run = \"echo restarted >> {marks}/$(date +%N)-restart && sleep 0.3\"
on = \"web\"
serial = 1

[[rollback]]
run = \"true\"
on = \"web\"
",
        target("web-1", &a, &["web"]),
        target("web-2", &b, &["web"]),
    );
    let kh = known_hosts(work.path(), &[&a, &b]);
    let g = Gonogo::new(&release("two-hosts", &kh, &body));
    let out = g.run(&[], &["done", "go"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("[web-1] ready-42") && t.contains("[web-2] ready-42"),
        "{t}"
    );
    assert!(
        t.contains("?? MANUAL [Preflight] Tell support we deploy"),
        "{t}"
    );
    assert!(t.contains("?? GATE [Preflight] Go for the restart?"), "{t}");
    assert!(t.contains("gonogo: released"), "{t}");
    let restarts = std::fs::read_dir(work.path())
        .expect("work dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with("-restart"))
        })
        .count();
    assert_eq!(restarts, 2, "the restart ran once on each host: {t}");
}

const FAILING_CHECK: &str = "
[[step]]
name = \"Config present\"
check = \"test -f {{flag}}\"
on = \"web\"

[[step]]
name = \"Deploy\"
run = \"touch {{flag}}.deployed\"
on = \"web\"

[[rollback]]
name = \"Put back\"
run = \"touch {{flag}}.rolled-back\"
on = \"web\"
";

fn failing_check_release(sshd: &Sshd, dir: &Path) -> (Gonogo, std::path::PathBuf) {
    let flag = dir.join("config");
    let body = format!(
        "[vars]\nflag = \"{}\"\n\n{}{FAILING_CHECK}",
        flag.display(),
        target("web-1", sshd, &["web"])
    );
    let kh = known_hosts(dir, &[sshd]);
    (Gonogo::new(&release("failing", &kh, &body)), flag)
}

#[test]
fn a_failed_check_answered_rollback_runs_the_rollback_and_exits_3() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let (g, flag) = failing_check_release(&sshd, work.path());
    let out = g.run(&[], &["rollback"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains("?? FAILED step Config present: web-1 (exit 1)"),
        "{t}"
    );
    assert!(t.contains("== rolling back"), "{t}");
    assert!(
        flag.with_extension("rolled-back").exists(),
        "the rollback step ran: {t}"
    );
    assert!(
        !flag.with_extension("deployed").exists(),
        "nothing after the failure ran: {t}"
    );
    assert!(t.contains("gonogo: rolled back"), "{t}");
}

#[test]
fn a_failed_check_retried_after_the_cause_is_fixed_passes() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let (g, flag) = failing_check_release(&sshd, work.path());
    let mut live = Live::start(&g, &[]);
    live.wait_for("?? FAILED step Config present");
    std::fs::write(&flag, "fixed").expect("fix the cause");
    live.say("retry");
    live.wait_for("gonogo: released");
    let (code, t) = live.finish();
    assert_eq!(code, Some(0), "{t}");
    assert!(flag.with_extension("deployed").exists(), "{t}");
}

#[test]
fn a_changed_host_key_is_refused_before_any_command() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let other = support::sshd::keygen(&work.path().join("other"), "someone-else");
    let kh = work.path().join("known_hosts");
    std::fs::write(
        &kh,
        format!("# the old key\n[127.0.0.1]:{} {other}\n", sshd.port()),
    )
    .expect("known_hosts");
    let marker = work.path().join("ran");
    let body = format!(
        "{}\n[[step]]\ncheck = \"touch {}\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[]),
        marker.display()
    );
    let g = Gonogo::new(&release("changed", &kh, &body));
    let out = g.run(&[], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains("HOST KEY CHANGED"), "{t}");
    assert!(
        t.contains(&format!("{}:2", kh.display())),
        "names the file and line: {t}"
    );
    assert!(!marker.exists(), "no command ran: {t}");
    // Even --accept-new-host-keys never accepts a changed key.
    let out = g.run(&["--accept-new-host-keys"], &[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(!marker.exists());
}

#[test]
fn an_unknown_host_is_refused_unless_accepted_and_then_recorded_hashed() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = work.path().join("known_hosts");
    let body = format!(
        "{}\n[[step]]\ncheck = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&release("unknown", &kh, &body));
    let out = g.run(&[], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains("unknown host key SHA256:"), "{t}");
    assert!(
        t.contains("--accept-new-host-keys"),
        "says how to accept it: {t}"
    );

    let out = g.run(&["--accept-new-host-keys"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = std::fs::read_to_string(&kh).expect("known_hosts written");
    assert!(written.starts_with("|1|"), "hashed: {written}");
    let found = Command::new("ssh-keygen")
        .args(["-F", &format!("[127.0.0.1]:{}", sshd.port()), "-f"])
        .arg(&kh)
        .output()
        .expect("ssh-keygen");
    assert!(
        found.status.success(),
        "OpenSSH finds the entry gonogo wrote"
    );
    // And from now on it is trusted without the flag.
    assert_eq!(g.run(&[], &[]).status.code(), Some(0));
}

#[test]
fn a_lock_held_by_another_session_refuses_and_break_lock_takes_it_over() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let body = format!(
        "{}\n[[step]]\ngate = \"Proceed?\"\n\n[[step]]\nrun = \"true\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&release("locked", &kh, &body));
    let mut first = Live::start(&g, &[]);
    first.wait_for("?? GATE");

    let out = g.run(&[], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains("web-1 is locked by "), "{t}");
    assert!(
        t.contains(&format!("@{}", gethostname())) && t.contains(" since "),
        "names the holder: {t}"
    );

    let out = g.run(
        &[
            "--break-lock",
            "first session hung, checked with ana",
            "--yes",
        ],
        &[],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("broke the lock of ") && t.contains("first session hung, checked with ana"),
        "{t}"
    );

    first.say("abort");
    let (code, t) = first.finish();
    assert_eq!(code, Some(1), "{t}");
}

fn gethostname() -> String {
    String::from_utf8(Command::new("hostname").output().expect("hostname").stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

#[test]
fn a_dropped_connection_mid_step_reconnects_and_the_step_runs_exactly_once() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let counter = work.path().join("counter");
    let body = format!(
        "[vars]\ncounter = \"{}\"\n\n{}\n[[step]]\nname = \"Migrate\"\nrun = \"n=$(cat {{{{counter}}}} 2>/dev/null || echo 0); echo $((n + 1)) > {{{{counter}}}}; echo started; sleep 3; echo finished\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        counter.display(),
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&release("drop", &kh, &body));
    let mut live = Live::start(&g, &[]);
    live.wait_for("[web-1] started");
    assert!(
        sshd.drop_connections() > 0,
        "the sshd serving gonogo was killed"
    );
    live.wait_for("link to web-1 lost");
    live.wait_for("link to web-1 back");
    live.wait_for("gonogo: released");
    let (code, t) = live.finish();
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains("[web-1] finished"), "the output resumed: {t}");
    assert_eq!(
        t.matches("[web-1] started").count(),
        1,
        "no line twice: {t}"
    );
    assert_eq!(
        std::fs::read_to_string(&counter).expect("counter").trim(),
        "1",
        "ran exactly once: {t}"
    );
}

#[test]
fn values_stay_literal_and_secrets_never_show() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let pwned = work.path().join("pwned");
    let out_file = work.path().join("out");
    let body = format!(
        "[vars]\nevil = {{ required = true }}\nout = \"{}\"\ntoken = {{ env = \"GONOGO_TEST_TOKEN\", secret = true }}\n\n{}\n[[step]]\nrun = \"printf '%s' {{{{evil}}}} > {{{{out}}}}\"\non = \"web-1\"\n\n[[step]]\nname = \"Use the token\"\nrun = \"echo using {{{{token}}}}; echo token={{{{token}}}} >&2\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        out_file.display(),
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&release("quoting", &kh, &body));
    let evil = format!("'; touch {}; '", pwned.display());
    let out = g
        .command(&["--set", &format!("evil={evil}")])
        .env("GONOGO_TEST_TOKEN", "tok-8c1f-secret")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!pwned.exists(), "the value was not run as a command: {t}");
    assert_eq!(std::fs::read_to_string(&out_file).expect("out"), evil);
    assert!(!t.contains("tok-8c1f-secret"), "a secret leaked: {t}");
    assert!(
        t.contains("[web-1] using ••••") && t.contains("[web-1]! token=••••"),
        "{t}"
    );
}

/// A step's command runs whole, as written, in a shell of its own: its `exit` is its status, its
/// EXIT trap runs, it sees no arguments and none of gonogo's own variables (nor its own text in
/// one), and its `cd` does not
/// follow the next step. The last line has no newline. A long command (the host reads it another
/// way) runs whole too.
#[test]
fn a_steps_command_runs_whole_in_a_shell_of_its_own() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let long = format!("n=0\n{}echo \"counted $n\"", "n=$((n + 1))\n".repeat(40));
    let run = "trap 'echo \"trap ran in $PWD\"' EXIT\necho \"args:$#:${gonogo_run-}:${gonogo_line-}:${gonogo_n-}:${gonogo_cmd-}:\"\ncd /\nexit 7";
    let body = format!(
        "{}\n[[step]]\nname = \"Long\"\nrun = '''\n{long}'''\non = \"web-1\"\n\n[[step]]\nname = \"Own shell\"\nrun = '''\n{run}'''\non = \"web-1\"\n\n[[rollback]]\nname = \"Put back\"\nrun = \"echo put back in $PWD\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&release("own-shell", &kh, &body));
    let out = g.run(&[], &["rollback"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("[web-1] counted 40\n"), "{t}");
    assert!(t.contains("[web-1] args:0:::::\n"), "{t}");
    assert!(t.contains("[web-1] trap ran in /\n"), "{t}");
    assert!(t.contains("FAILED step Own shell: web-1 (exit 7)"), "{t}");
    let home = std::env::var("HOME").expect("HOME");
    assert!(t.contains(&format!("[web-1] put back in {home}")), "{t}");
}

/// An HTTP service on loopback answering 200 to anything; counts the requests it answered.
fn counting_service() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (port, hits)
}

#[test]
fn each_target_runs_and_probes_with_its_own_values_quoted_like_any_other() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let ((one, hits_one), (two, hits_two)) = (counting_service(), counting_service());
    // Nothing listens on the [vars] port: a probe that used it would fail the watch.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let body = format!(
        r#"[vars]
marker = "from [vars]"
port = "{closed}"

{}vars = {{ marker = "it's \"one\" $(echo no)", port = "{one}" }}

{}vars = {{ marker = "two  spaced", port = {two} }}

[[step]]
name = "Say"
run = "echo {{{{marker}}}}"
on = "web"

[health.app]
url = "http://127.0.0.1:{{{{port}}}}/health"
via = "web"
every = "200ms"

[watch]
duration = "2s"
rollback_on = ["health failing for 1s"]

[[rollback]]
run = "true"
on = "web"
"#,
        target("web-1", &sshd, &["web"]),
        target("web-2", &sshd, &["web"]),
    );
    let kh = known_hosts(work.path(), &[&sshd]);
    let g = Gonogo::new(&release("own-values", &kh, &body));
    let out = g.run(&["--yes"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("[web-1] it's \"one\" $(echo no)\n"), "{t}");
    assert!(t.contains("[web-2] two  spaced\n"), "{t}");
    assert!(!t.contains("from [vars]") && !t.contains("] no\n"), "{t}");
    // The command shown: each target's value is its own.
    assert!(t.contains("$ echo {{marker}}\n"), "{t}");
    assert!(t.contains("health app via web-1: 200"), "{t}");
    assert!(t.contains("health app via web-2: 200"), "{t}");
    let hits = |h: &std::sync::atomic::AtomicUsize| h.load(std::sync::atomic::Ordering::SeqCst);
    assert!(hits(&hits_one) > 0 && hits(&hits_two) > 0, "{t}");
}
