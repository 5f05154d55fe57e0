//! A log tail flooding its host's log never slows the release: on the same target and the same
//! SSH connection, a step's output all arrives, the step ends when it ends, a cancel stops the
//! next one, and the flood's dropped lines are reported instead. Against a real OpenSSH server.

mod support;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::gonogo::{Gonogo, known_hosts, release, target};
use support::sshd::Sshd;

const FLOOD: &str = "flood-line-0123456789-abcdefghijklmnopqrstuvwxyz";

/// gonogo headless, whose flood lines are counted rather than kept (there are millions).
struct Flooded {
    child: std::process::Child,
    lines: mpsc::Receiver<(Instant, String)>,
    flood: Arc<AtomicU64>,
    seen: Vec<String>,
}

impl Flooded {
    fn start(g: &Gonogo) -> Flooded {
        let mut child = g.command(&[]).spawn().expect("start gonogo");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        let flood = Arc::new(AtomicU64::new(0));
        let counted = flood.clone();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                // Every line of the log tail, the last one too (cut short when it was stopped).
                if line.contains("[web-1:flood] ") {
                    counted.fetch_add(1, Ordering::Relaxed);
                } else if tx.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        Flooded {
            child,
            lines,
            flood,
            seen: Vec::new(),
        }
    }

    /// When the first line containing `needle` arrived (waiting up to two minutes).
    fn wait_for(&mut self, needle: &str) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok((at, line)) = self.lines.recv_timeout(Duration::from_millis(200)) {
                let found = line.contains(needle);
                self.seen.push(line);
                if found {
                    return at;
                }
            }
        }
        panic!("no line with {needle:?} in:\n{}", self.seen.join("\n"));
    }

    fn say(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("answer");
    }
}

#[test]
fn a_flooding_log_tail_neither_delays_a_step_on_its_host_nor_its_cancel_and_says_what_it_dropped() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().expect("work dir");
    let kh = known_hosts(work.path(), &[&sshd]);
    let body = format!(
        "{}\n[logs.flood]\non = \"web-1\"\ncommand = \"yes {FLOOD}\"\n\n[[step]]\nname = \"Count\"\nrun = \"sleep 1; seq 1 2000; echo counted\"\non = \"web-1\"\n\n[[step]]\nname = \"Long\"\nrun = \"echo long-begins; sleep 600\"\non = \"web-1\"\n\n[[rollback]]\nrun = \"true\"\non = \"web-1\"\n",
        target("web-1", &sshd, &[])
    );
    let g = Gonogo::new(&release("flood", &kh, &body));
    let mut run = Flooded::start(&g);
    let flooding = run.wait_for("logs web-1:flood: following");
    let counted = run.wait_for("[web-1] counted");
    let ok = run.wait_for("Count passed on web-1");
    // Not a benchmark: a bound far above the step's 1 s, which a stalled session would pass.
    assert!(
        ok.duration_since(flooding) < Duration::from_secs(10),
        "the step took {:?} behind the flood",
        ok.duration_since(flooding)
    );
    let begins = run.wait_for("[web-1] long-begins");
    assert!(
        begins.duration_since(ok) < Duration::from_secs(10),
        "the next step started {:?} after the last one ended",
        begins.duration_since(ok)
    );
    run.say("abort");
    let stopped = run.wait_for("Long on web-1: stopped with TERM");
    assert!(
        stopped.duration_since(begins) < Duration::from_secs(10),
        "the cancel took {:?} behind the flood",
        stopped.duration_since(begins)
    );
    drop(run.child.stdin.take());
    let status = run.child.wait().expect("gonogo exits");
    while let Ok((_, line)) = run.lines.recv_timeout(Duration::from_secs(5)) {
        run.seen.push(line);
    }
    let t = run.seen.join("\n");
    assert_eq!(status.code(), Some(1), "aborted: {t}");
    // Every line of the step's output, in order: step output is never dropped.
    let numbers: Vec<u32> = run
        .seen
        .iter()
        .filter_map(|l| l.split_once("[web-1] ")?.1.parse().ok())
        .collect();
    assert_eq!(numbers, (1..=2000).collect::<Vec<u32>>(), "{t}");
    let dropped: u64 = run
        .seen
        .iter()
        .filter_map(|l| {
            let (_, rest) = l.split_once("logs web-1:flood: ")?;
            rest.split_once(" lines dropped")?.0.parse::<u64>().ok()
        })
        .sum();
    let shown = run.flood.load(Ordering::Relaxed);
    assert!(dropped > 0, "a flood through headless drops lines: {t}");
    assert!(shown > 0, "and still shows some");
    // The summary's count is what was shown and said dropped, line for line.
    assert!(
        t.contains(&format!(
            "logs web-1:flood: {shown} lines read, {dropped} dropped"
        )),
        "{shown} shown, {dropped} said dropped: {t}"
    );
    eprintln!(
        "flood: {shown} lines shown, {dropped} dropped; the step's 2000 lines were all shown, ok {:?} after the log tail started ({:?} after its last line), the cancel confirmed {:?} after the step began",
        ok.duration_since(flooding),
        ok.duration_since(counted),
        stopped.duration_since(begins)
    );
}
