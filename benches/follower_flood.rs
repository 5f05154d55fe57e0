//! Ten log tails flooding the cockpit over SSH: 10 targets (one real OpenSSH server on
//! 127.0.0.1, ten connections) each follow a generator writing 10,000 numbered lines a second
//! for 60 s, 100,000 lines a second together. Targets: no line lost (the generators' own count
//! against the counts gonogo's end-of-run summary gives per log tail: lines read, lines
//! dropped), gonogo's peak RSS under 100 MB, key-to-screen p99 under 16 ms while the flood runs.
//! The real binary runs in a pseudo-terminal, with its logs pane on screen, read through vt100.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write as _;

use expectrl::process::Healthcheck as _;
use std::time::{Duration, Instant};

use support::gonogo::{known_hosts, release, target};
use support::sshd::{Sshd, SshdOptions};

const TARGETS: usize = 10;
const LINES_PER_SECOND: usize = 10_000;
const SECONDS: usize = 60;

/// Writes `rate` numbered lines a second for `secs` seconds in 10 ms ticks, then its count and
/// how long it took to `out.PID`, then idles: a log tail whose command ends is restarted.
const GENERATOR: &str = r#"import os, sys, time
rate, secs, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
tick = rate // 100
pad = "x" * 40
n, start = 0, time.time()
due = start
for _ in range(secs * 100):
    sys.stdout.write("".join(f"gunicorn[{os.getpid()}]: {n + i:09d} GET /api/orders/12345 200 12ms {pad}\n" for i in range(tick)))
    sys.stdout.flush()
    n += tick
    due += 0.01
    time.sleep(max(0, due - time.time()))
with open(f"{out}.{os.getpid()}", "w") as f:
    f.write(f"{n} {time.time() - start:.3f}\n")
time.sleep(3600)
"#;

struct Pty {
    session: expectrl::session::OsSession,
    screen: vt100::Parser,
    /// Everything read, once `keep` is set: the summary comes after the cockpit leaves.
    kept: Vec<u8>,
    keep: bool,
}

impl Pty {
    fn pump(&mut self) {
        let mut buf = [0u8; 65536];
        while let Ok(n) = self.session.try_read(&mut buf) {
            if n == 0 {
                break;
            }
            self.screen.process(&buf[..n]);
            if self.keep {
                self.kept.extend_from_slice(&buf[..n]);
            }
        }
    }

    /// Time until the screen satisfies `seen`, reading all the while.
    fn until(&mut self, limit: Duration, seen: impl Fn(&str) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            self.pump();
            if seen(&self.screen.screen().contents()) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "not seen within {limit:?}:\n{}",
                self.screen.screen().contents()
            );
            std::thread::yield_now();
        }
    }

    fn press(&mut self, keys: &str) {
        self.session.write_all(keys.as_bytes()).expect("type");
        self.session.flush().expect("flush");
    }

    /// Reads for `how_long`, so gonogo never waits on its terminal.
    fn read_for(&mut self, how_long: Duration) {
        let start = Instant::now();
        while start.elapsed() < how_long {
            self.pump();
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// A field of /proc/PID/status in MB (`VmRSS`, `VmHWM`).
fn status_mb(pid: &str, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU seconds the process used so far (user and system), from /proc/PID/stat.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Per log tail, from the summary: `logs tN:gunicorn: R lines read, D dropped`.
fn summary_counts(text: &str) -> Vec<(String, u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let rest = &l[l.find("logs t")? + 5..];
            let (tail, rest) = rest.split_once(": ")?;
            let (read, rest) = rest.split_once(" lines read, ")?;
            let dropped = match rest.split_whitespace().next()? {
                "none" => 0,
                n => n.parse().ok()?,
            };
            Some((tail.to_string(), read.parse().ok()?, dropped))
        })
        .collect()
}

fn main() {
    // `cargo test --all-targets` runs benches too: this one takes two minutes.
    if !std::env::args().any(|a| a == "--bench") {
        println!("follower_flood: a benchmark; run it with `cargo bench --bench follower_flood`");
        return;
    }
    // Ten connections at once: above sshd's default MaxStartups of 10.
    let sshd = Sshd::start_with(SshdOptions {
        extra_config: "MaxStartups 100\nMaxSessions 100\n",
        ..SshdOptions::default()
    });
    let work = tempfile::tempdir().expect("work dir");
    let dir = work.path();
    std::fs::write(dir.join("flood.py"), GENERATOR).expect("generator");
    let kh = known_hosts(dir, &[&sshd]);
    let targets: String = (1..=TARGETS)
        .map(|i| target(&format!("t{i}"), &sshd, &["web"]))
        .collect::<Vec<_>>()
        .join("\n");
    let d = dir.display();
    let body = format!(
        "{targets}\n[logs.gunicorn]\non = \"web\"\ncommand = \"python3 {d}/flood.py {LINES_PER_SECOND} {SECONDS} {d}/written\"\n\n[[step]]\nname = \"Wait out the flood\"\ncheck = \"while [ $(ls {d} | grep -c '^written') -lt {TARGETS} ]; do sleep 0.2; done; sleep 3\"\non = \"t1\"\ntimeout = \"5m\"\n"
    );
    std::fs::write(dir.join("release.toml"), release("flood", &kh, &body)).expect("profile");
    let bin = env!("CARGO_BIN_EXE_gonogo");
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "stty cols 120 rows 40; exec {bin} run release.toml"
        ))
        .current_dir(dir)
        .env("TERM", "xterm-256color")
        .env("XDG_STATE_HOME", dir.join("state"))
        // The session's journal (about 600 MB for the minute) stays with the bench's files.
        .env("XDG_DATA_HOME", dir.join("data"))
        .env_remove("SSH_AUTH_SOCK");
    let session = expectrl::session::Session::spawn(command).expect("pty");
    let pid = session.get_process().pid().to_string();
    let mut pty = Pty {
        session,
        screen: vt100::Parser::new(
            40.try_into().expect("rows"),
            120.try_into().expect("cols"),
            0,
        ),
        kept: Vec::new(),
        keep: false,
    };
    pty.until(Duration::from_secs(60), |s| {
        s.contains("Wait out the flood")
    });
    pty.press("l");
    pty.until(Duration::from_secs(30), |s| s.contains("GET /api/orders"));
    let flood = Instant::now();
    // Let every log tail get going, then sample keys through the rest of the minute.
    pty.read_for(Duration::from_secs(3));
    let mut samples = Vec::new();
    let mut rss = Vec::new();
    while flood.elapsed() < Duration::from_secs(SECONDS as u64 - 2) {
        pty.press("?");
        samples.push(pty.until(Duration::from_secs(10), |s| s.contains("Help (Esc closes")));
        pty.press("\x1b");
        samples.push(pty.until(Duration::from_secs(10), |s| !s.contains("Help (Esc closes")));
        rss.extend(status_mb(&pid, "VmRSS"));
        pty.read_for(Duration::from_millis(400));
    }
    pty.until(Duration::from_secs(180), |s| s.contains("RELEASED"));
    let took = flood.elapsed();
    let peak = status_mb(&pid, "VmHWM").expect("gonogo's peak RSS");
    let cpu = cpu_seconds(&pid).unwrap_or(0.0);
    pty.keep = true;
    pty.press("q");
    let deadline = Instant::now() + Duration::from_secs(30);
    while pty.session.is_alive().unwrap_or(false) && Instant::now() < deadline {
        pty.read_for(Duration::from_millis(50));
    }
    pty.read_for(Duration::from_millis(200));
    let after = String::from_utf8_lossy(&pty.kept).replace('\r', "");

    let mut written = 0u64;
    let mut slowest = 0f64;
    for entry in std::fs::read_dir(dir).expect("work dir").flatten() {
        if !entry.file_name().to_string_lossy().starts_with("written.") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("count");
        let mut fields = text.split_whitespace();
        written += fields
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        let secs: f64 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
        slowest = slowest.max(secs);
    }
    let counts = summary_counts(&after);
    let read: u64 = counts.iter().map(|c| c.1).sum();
    let dropped: u64 = counts.iter().map(|c| c.2).sum();

    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: usize| samples[(samples.len() * q / 100).min(samples.len() - 1)];
    rss.sort_by(f64::total_cmp);
    println!(
        "{TARGETS} log tails over SSH, {} lines/s together for {SECONDS} s (the slowest generator took {slowest:.1} s; release ended {:.1} s after the flood began)",
        TARGETS * LINES_PER_SECOND,
        took.as_secs_f64()
    );
    println!(
        "lines: {written} written, {read} read by gonogo, {dropped} said dropped, {} unaccounted for ({} log tails in the summary)",
        written as i64 - read as i64 - dropped as i64,
        counts.len()
    );
    println!(
        "gonogo RSS: peak {peak:.1} MB (VmHWM), during the flood median {:.1} MB; CPU {cpu:.1} s in all, about {:.0}% of one core through the flood",
        rss.get(rss.len() / 2).copied().unwrap_or(0.0),
        cpu * 100.0 / took.as_secs_f64()
    );
    println!(
        "key-to-screen during the flood: median {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        ms(at(50)),
        ms(at(99)),
        ms(*samples.last().expect("samples")),
        samples.len()
    );
    assert_eq!(counts.len(), TARGETS, "the summary:\n{after}");
}
