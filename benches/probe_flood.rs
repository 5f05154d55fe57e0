//! Canary analysis on a 20-host role: 20 targets (one real OpenSSH server on 127.0.0.1, twenty
//! connections, `role = web`) each probed every second for `[health.app]` and `[metrics.app]`
//! through its own SSH link (direct-tcpip), against a real HTTP server on loopback (axum, in
//! this process). Target: the cockpit's key-to-screen p99 under 16 ms during the watch window.
//! The real binary runs in a pseudo-terminal, read through vt100; `?` opens help, Esc closes
//! it. The samples gonogo took are counted in its journal (`--record`), the requests that
//! reached the server by the server; gonogo's CPU comes from /proc/PID/stat over the window.
//! In the same run: a control first (the same release and links, no probes, 30 s), and after,
//! the standard tools doing the same probes: twenty `ssh -N -L` tunnels and `curl` once a second
//! through each.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use expectrl::process::Healthcheck as _;

use support::gonogo::{known_hosts, release, target};
use support::sshd::{Sshd, SshdOptions};

#[path = "probe_flood/service.rs"]
mod service;
use service::{Served, serve};

const TARGETS: usize = 20;
/// The window sampled, once the watch has begun.
const SECONDS: u64 = 60;
/// The control's window: the same release without probes.
const CONTROL_SECONDS: u64 = 30;
/// The standard tools' window.
const OPENSSH_SECONDS: u64 = 20;
const HELP: &str = "Help (Esc closes";

struct Pty {
    session: expectrl::session::OsSession,
    screen: vt100::Parser,
    /// Bytes gonogo wrote to its terminal.
    written: usize,
}

impl Pty {
    fn pump(&mut self) {
        let mut buf = [0u8; 65536];
        while let Ok(n) = self.session.try_read(&mut buf) {
            if n == 0 {
                break;
            }
            self.screen.process(&buf[..n]);
            self.written += n;
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

/// CPU seconds of /proc/PID/stat: its own (user and system), or with `children` those of the
/// children it waited for.
fn cpu_seconds(pid: &str, children: bool) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let (u, s) = if children { (13, 14) } else { (11, 12) };
    let ticks: f64 = fields.get(u)?.parse::<f64>().ok()? + fields.get(s)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU seconds of sshd's connection processes and everything under them.
fn sshd_cpu(sshd: &Sshd) -> f64 {
    fn tree(pid: u32, total: &mut f64) {
        *total += cpu_seconds(&pid.to_string(), false).unwrap_or(0.0);
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            tree(child, total);
        }
    }
    let mut total = 0.0;
    for pid in sshd.session_pids() {
        tree(pid, &mut total);
    }
    total
}

/// The wall clock as the journal's `ts` writes it: such strings sort as the times do.
fn ts_now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The journal's health and metrics samples stamped within `[from, to)`, and the targets its
/// health samples came through.
fn journal_counts(
    path: &std::path::Path,
    (from, to): (&str, &str),
) -> (u64, u64, std::collections::BTreeSet<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (mut health, mut metrics) = (0, 0);
    let mut via = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once(r#""ts":""#) else {
            continue;
        };
        let ts = rest.split_once('"').map_or("", |(ts, _)| ts);
        if ts < from || ts >= to {
            continue;
        }
        if line.contains(r#""type":"health_sampled""#) {
            health += 1;
            if let Some(rest) = line.split_once(r#""via":""#).map(|(_, r)| r)
                && let Some((name, _)) = rest.split_once('"')
            {
                via.insert(name.to_string());
            }
        } else if line.contains(r#""type":"metrics_sampled""#) {
            metrics += 1;
        }
    }
    (health, metrics, via)
}

/// Twenty `ssh -N -L` tunnels (one per host, like gonogo's twenty links) and one `curl` a
/// second fetching `/health` and `/metrics` through each: the same probes with the standard
/// tools. Returns (requests made, failed, CPU of ssh and curl, of sshd's side) over the window.
fn openssh(sshd: &Sshd, port: u16) -> (u64, u64, f64, f64) {
    let ports: Vec<u16> = (0..TARGETS)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("addr").port()
        })
        .collect();
    let mut tunnels: Vec<std::process::Child> = ports
        .iter()
        .map(|p| {
            // The fixture's own settings (as `Sshd::ssh_command`), the forward before the host.
            std::process::Command::new("ssh")
                .args([
                    "-F",
                    "/dev/null",
                    "-N",
                    "-o",
                    "ExitOnForwardFailure=yes",
                    "-L",
                ])
                .arg(format!("{p}:127.0.0.1:{port}"))
                .arg("-i")
                .arg(sshd.identity())
                .args(["-p", &sshd.port().to_string(), "-o", "IdentitiesOnly=yes"])
                .arg(format!(
                    "-oUserKnownHostsFile={}",
                    sshd.known_hosts().display()
                ))
                .args([
                    "-o",
                    "GlobalKnownHostsFile=/dev/null",
                    "-o",
                    "BatchMode=yes",
                ])
                .args(["-o", "LogLevel=ERROR"])
                .arg(format!("{}@127.0.0.1", sshd.user()))
                .stdin(std::process::Stdio::null())
                .env_remove("SSH_AUTH_SOCK")
                .spawn()
                .expect("ssh -L")
        })
        .collect();
    let ready = Instant::now();
    for p in &ports {
        while std::net::TcpStream::connect(("127.0.0.1", *p)).is_err() {
            assert!(ready.elapsed() < Duration::from_secs(30), "ssh -L {p}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let me = std::process::id().to_string();
    let ssh_cpu = |ts: &[std::process::Child]| -> f64 {
        ts.iter()
            .filter_map(|t| cpu_seconds(&t.id().to_string(), false))
            .sum()
    };
    let (ssh0, curl0, host0) = (
        ssh_cpu(&tunnels),
        cpu_seconds(&me, true).unwrap_or(0.0),
        sshd_cpu(sshd),
    );
    let (mut made, mut failed) = (0, 0);
    let start = Instant::now();
    let mut due = start;
    while start.elapsed() < Duration::from_secs(OPENSSH_SECONDS) {
        let mut curls: Vec<std::process::Child> = ports
            .iter()
            .map(|p| {
                std::process::Command::new("curl")
                    .args(["-sf", "-m", "2", "-o", "/dev/null", "-o", "/dev/null"])
                    .arg(format!("http://127.0.0.1:{p}/health"))
                    .arg(format!("http://127.0.0.1:{p}/metrics"))
                    .spawn()
                    .expect("curl")
            })
            .collect();
        for c in &mut curls {
            made += 2;
            if !c.wait().expect("curl").success() {
                failed += 2;
            }
        }
        due += Duration::from_secs(1);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    let client = ssh_cpu(&tunnels) - ssh0 + cpu_seconds(&me, true).unwrap_or(0.0) - curl0;
    let host = sshd_cpu(sshd) - host0;
    for t in &mut tunnels {
        let _ = t.kill();
        let _ = t.wait();
    }
    (made, failed, client, host)
}

/// The release: one quick step, then the watch window the probes run through; without
/// `probes`, the same release with no `[health]` or `[metrics]` (the control).
fn profile(sshd: &Sshd, dir: &std::path::Path, port: u16, probes: bool) -> String {
    let kh = known_hosts(dir, &[sshd]);
    let targets: String = (1..=TARGETS)
        .map(|i| target(&format!("t{i}"), sshd, &["web"]))
        .collect::<Vec<_>>()
        .join("\n");
    let probes = if probes {
        format!(
            r#"[health.app]
url = "http://127.0.0.1:{port}/health"
via = "web"
every = "1s"

[metrics.app]
url = "http://127.0.0.1:{port}/metrics"
via = "web"
errors = 'http_requests_total{{status=~"5.."}}'
requests = "http_requests_total"
latency = "http_request_duration_seconds"
every = "1s"
"#
        )
    } else {
        String::new()
    };
    let rules = if probes.is_empty() {
        "[]"
    } else {
        r#"[
  "error_ratio > 5% for 30s",
  "latency_p95 > 2x baseline for 30s",
  "health failing for 30s",
]"#
    };
    let body = format!(
        r#"{targets}
{probes}
[[step]]
name = "Deploy the canary"
on = "t1"
run = "true"

[watch]
duration = "{watch}s"
short_because = "a benchmark of the probes"
rollback_on = {rules}

[[rollback]]
name = "Put the previous release back"
on = "t1"
run = "true"
"#,
        watch = SECONDS + 60,
    );
    release("probes", &kh, &body)
}

/// What one cockpit session measured over its window.
struct Window {
    took: f64,
    /// Key-to-screen, sorted; and those during which the server answered probes.
    samples: Vec<Duration>,
    amid: Vec<Duration>,
    /// Health and metrics samples in the journal, and the targets health came through.
    health: u64,
    metrics: u64,
    via: usize,
    /// Requests the server answered.
    answered: u64,
    cpu: f64,
    host: f64,
    peak: f64,
    rss: f64,
    written: usize,
}

/// The release in the cockpit in a pseudo-terminal; once its watch window has begun, `?` and
/// Esc for `secs` seconds, then `q`.
fn cockpit(sshd: &Sshd, port: u16, served: &Served, probes: bool, secs: u64) -> Window {
    let work = tempfile::tempdir().expect("work dir");
    let dir = work.path();
    std::fs::write(dir.join("release.toml"), profile(sshd, dir, port, probes)).expect("profile");
    let journal = dir.join("session.jsonl");
    let bin = env!("CARGO_BIN_EXE_gonogo");
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "stty cols 120 rows 40; exec {bin} run release.toml --record {}",
            journal.display()
        ))
        .current_dir(dir)
        .env("TERM", "xterm-256color")
        .env("XDG_STATE_HOME", dir.join("state"))
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
        written: 0,
    };
    pty.until(Duration::from_secs(90), |s| s.contains("watch"));
    // Let every probe settle in, then sample keys through the window.
    pty.read_for(Duration::from_secs(3));
    if std::env::var_os("PROBE_FLOOD_SCREEN").is_some() {
        println!("{}", pty.screen.screen().contents());
    }
    let answered0 = served.answered();
    let (cpu0, host0) = (cpu_seconds(&pid, false).unwrap_or(0.0), sshd_cpu(sshd));
    let window = Instant::now();
    let from = ts_now();
    pty.written = 0;
    let (mut samples, mut amid, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    while window.elapsed() < Duration::from_secs(secs) {
        for (key, open) in [("?", true), ("\x1b", false)] {
            let before = served.answered();
            pty.press(key);
            let took = pty.until(Duration::from_secs(10), |s| s.contains(HELP) == open);
            samples.push(took);
            if served.answered() > before {
                amid.push(took);
            }
        }
        rss.extend(status_mb(&pid, "VmRSS"));
        pty.read_for(Duration::from_millis(400));
    }
    let took = window.elapsed().as_secs_f64();
    let to = ts_now();
    let written = pty.written;
    let cpu = cpu_seconds(&pid, false).unwrap_or(0.0) - cpu0;
    let host = sshd_cpu(sshd) - host0;
    let answered = served.answered() - answered0;
    // The journal is forced to disk at least once a second.
    pty.read_for(Duration::from_millis(1500));
    let (health, metrics, via) = journal_counts(&journal, (&from, &to));
    let peak = status_mb(&pid, "VmHWM").expect("gonogo's peak RSS");
    let seen = pty.screen.screen().contents();
    pty.press("q");
    pty.until(Duration::from_secs(10), |s| {
        s.contains("Abort the release?")
    });
    pty.press("y");
    let deadline = Instant::now() + Duration::from_secs(60);
    while pty.session.is_alive().unwrap_or(false) && Instant::now() < deadline {
        pty.read_for(Duration::from_millis(50));
    }
    if probes {
        assert_eq!(via.len(), TARGETS, "every target probed:\n{seen}");
    }
    samples.sort();
    amid.sort();
    rss.sort_by(f64::total_cmp);
    Window {
        took,
        samples,
        amid,
        health,
        metrics,
        via: via.len(),
        answered,
        cpu,
        host,
        peak,
        rss: rss.get(rss.len() / 2).copied().unwrap_or(0.0),
        written,
    }
}

/// `median p99 max (N samples)` of sorted latencies.
fn latencies(sorted: &[Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: usize| sorted.get((sorted.len() * q / 100).min(sorted.len().saturating_sub(1)));
    format!(
        "median {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        at(50).map_or(0.0, |d| ms(*d)),
        at(99).map_or(0.0, |d| ms(*d)),
        sorted.last().map_or(0.0, |d| ms(*d)),
        sorted.len()
    )
}

fn main() {
    // `cargo test --all-targets` runs benches too: this one takes three minutes.
    if !std::env::args().any(|a| a == "--bench") {
        println!("probe_flood: a benchmark; run it with `cargo bench --bench probe_flood`");
        return;
    }
    // Twenty connections at once: above sshd's default MaxStartups of 10.
    let sshd = Sshd::start_with(SshdOptions {
        extra_config: "MaxStartups 100\nMaxSessions 100\n",
        ..SshdOptions::default()
    });
    let served = Arc::new(Served::default());
    let port = serve(served.clone());
    // The control first: the same cockpit, the same twenty links, no probes.
    let control = cockpit(&sshd, port, &served, false, CONTROL_SECONDS);
    let w = cockpit(&sshd, port, &served, true, SECONDS);
    let (made, failed, ssh_cpu, ssh_host) = openssh(&sshd, port);

    let took = w.took;
    let expected = TARGETS as f64 * took;
    println!(
        "{TARGETS} targets over SSH, [health.app] and [metrics.app] via the role every 1s, sampled {took:.1} s into the watch window"
    );
    println!(
        "samples in gonogo's journal: health {} ({:.1}/s), metrics {} ({:.1}/s), against {expected:.0} each expected; health samples came through {} targets; the server answered {} requests",
        w.health,
        w.health as f64 / took,
        w.metrics,
        w.metrics as f64 / took,
        w.via,
        w.answered,
    );
    println!(
        "gonogo: CPU {:.2} s ({:.1}% of one core; {:.2} ms per probe); sshd's side {:.2} s ({:.1}%); RSS peak {:.1} MB (VmHWM), median {:.1} MB; {:.1} KB/s to its terminal",
        w.cpu,
        w.cpu * 100.0 / took,
        w.cpu * 1000.0 / w.answered.max(1) as f64,
        w.host,
        w.host * 100.0 / took,
        w.peak,
        w.rss,
        w.written as f64 / 1024.0 / took,
    );
    println!(
        "the control, no probes ({:.1} s): CPU {:.2} s ({:.1}% of one core); RSS peak {:.1} MB; {:.1} KB/s to its terminal",
        control.took,
        control.cpu,
        control.cpu * 100.0 / control.took,
        control.peak,
        control.written as f64 / 1024.0 / control.took,
    );
    println!(
        "OpenSSH + curl, the same probes ({TARGETS} `ssh -N -L` tunnels, one curl per host a second, {OPENSSH_SECONDS} s): {made} requests, {failed} failed; ssh + curl CPU {ssh_cpu:.2} s ({:.1}% of one core; {:.2} ms per probe); sshd's side {ssh_host:.2} s ({:.1}%)",
        ssh_cpu * 100.0 / OPENSSH_SECONDS as f64,
        ssh_cpu * 1000.0 / made.max(1) as f64,
        ssh_host * 100.0 / OPENSSH_SECONDS as f64,
    );
    println!("key-to-screen during the window: {}", latencies(&w.samples));
    println!(
        "  of which while the server was answering probes: {}",
        latencies(&w.amid)
    );
    println!("  the control, no probes: {}", latencies(&control.samples));
}
