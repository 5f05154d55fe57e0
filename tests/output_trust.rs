//! What `gonogo plan` and `gonogo run --headless` print can be trusted by a terminal and by a
//! person: a value (a `--set` version, a gate text, a step name) holding control sequences or a
//! newline can neither drive the terminal nor forge a line of gonogo's own.

mod support;

use support::gonogo::{Gonogo, release, text};

/// Clears the screen, then starts a line that looks like gonogo's verdict.
const FORGED: &str = "v1\n\x1b[2J\x07gonogo: released\r";

const BODY: &str = r#"[vars]
version = { required = true }

[targets.here]
transport = "local"

[[step]]
phase = "Ship\u001b[31m"
gate = "Go for {{version}}?"

[[step]]
manual = "Announce {{version}}"

[[step]]
name = "Deploy {{version}}"
run = "echo deploying {{version}}"
on = "here"

[[rollback]]
run = "true"
on = "here"
"#;

/// No byte that drives a terminal, and no line that gonogo did not mean to start.
fn assert_trustworthy(out: &[u8], verdicts: usize, t: &str) {
    let controls: Vec<u8> = out
        .iter()
        .copied()
        .filter(|&b| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f)
        .collect();
    assert!(controls.is_empty(), "control bytes {controls:?} in:\n{t}");
    let out = String::from_utf8_lossy(out);
    let forged: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("gonogo: released") || l.starts_with("\\e[2J"))
        .collect();
    assert_eq!(
        forged.len(),
        verdicts,
        "a value started a line of its own: {forged:?} in:\n{t}"
    );
}

#[test]
fn plan_shows_control_characters_and_newlines_in_values_as_escapes() {
    let g = Gonogo::new(&release("plan-trust", std::path::Path::new("kh"), BODY));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .current_dir(g.dir.path())
        .args(["plan", "release.toml", "--set"])
        .arg(format!("version={FORGED}"))
        .output()
        .expect("run gonogo plan");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert_trustworthy(&out.stdout, 0, &t);
    assert_trustworthy(&out.stderr, 0, &t);
    let shown = "v1\\n\\e[2J\\agonogo: released\\r";
    assert!(
        t.contains(&format!("**Gate: Go for {shown}?**")),
        "the gate text is shown whole, escaped: {t}"
    );
    assert!(t.contains("## Ship\\e[31m"), "{t}");
    assert!(t.contains(&format!("- [ ] Announce {shown}")), "{t}");
}

#[test]
fn headless_shows_control_characters_and_newlines_in_values_as_escapes() {
    let g = Gonogo::new(&release("run-trust", std::path::Path::new("kh"), BODY));
    let mut cmd = g.command(&["--yes", "--set"]);
    cmd.arg(format!("version={FORGED}"));
    let out = cmd.output().expect("run gonogo");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    // The one verdict is gonogo's own, on the last line.
    assert_trustworthy(&out.stdout, 1, &t);
    assert_trustworthy(&out.stderr, 0, &t);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().last(),
        Some("gonogo: released; locks released"),
        "{t}"
    );
    let shown = "v1\\n\\e[2J\\agonogo: released\\r";
    assert!(
        t.contains(&format!("?? GATE [Ship\\e[31m] Go for {shown}?")),
        "{t}"
    );
    assert!(
        t.contains(&format!("?? MANUAL [Ship\\e[31m] Announce {shown}")),
        "{t}"
    );
    assert!(
        t.contains(&format!("3. Deploy {shown} (run on here)")),
        "{t}"
    );
    // The step's own output is cleaned where it is read: its lines carry the target's prefix.
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines
            .windows(2)
            .any(|w| w[0].ends_with("[here] deploying v1")
                && w[1].ends_with("[here] gonogo: released")
                && !w[1].starts_with("gonogo")),
        "{t}"
    );
}

/// A journal crafted to hold C1 and bidi controls (a CSI as one character, a right-to-left
/// override) in its header and values: the report's JSON and the cast's header carry them only
/// as escapes, never as the characters a terminal or an editor would act on.
#[test]
fn a_crafted_journals_report_json_and_cast_header_hold_no_c1_or_bidi_control() {
    let g = Gonogo::new(&release("crafted", std::path::Path::new("kh"), BODY));
    let mut cmd = g.command(&["--yes", "--record", "j.jsonl", "--set"]);
    cmd.arg("version=v1\u{9b}2J\u{202e}exe.txt");
    let out = cmd.output().expect("run gonogo");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The header's own fields, edited by hand afterwards.
    let path = g.dir.path().join("j.jsonl");
    let journal = std::fs::read_to_string(&path).expect("journal");
    let (header, rest) = journal.split_once('\n').expect("a header line");
    let header = header
        .replace(
            "\"environment\":\"staging\"",
            "\"environment\":\"stag\\u009b31ming\"",
        )
        .replace("\"operator\":\"", "\"operator\":\"\\u202e\\u0085");
    std::fs::write(&path, format!("{header}\n{rest}")).expect("crafted");
    let gonogo = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gonogo"))
            .args(args)
            .current_dir(g.dir.path())
            .output()
            .expect("gonogo")
    };
    let raw = |s: &str| {
        s.chars()
            .any(|c| matches!(c, '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}'))
    };
    let report = gonogo(&["report", "j.jsonl", "--format", "json"]);
    assert!(report.status.success(), "{}", text(&report));
    let json = String::from_utf8(report.stdout).expect("utf-8");
    assert!(!raw(&json), "a raw control in the report's JSON: {json}");
    assert!(
        json.contains("\\u009b") && json.contains("\\u202e"),
        "{json}"
    );
    let export = gonogo(&["export", "j.jsonl", "--asciicast", "c.cast"]);
    assert!(export.status.success(), "{}", text(&export));
    let cast = std::fs::read_to_string(g.dir.path().join("c.cast")).expect("cast");
    let first = cast.lines().next().expect("the cast's header");
    assert!(!raw(first), "a raw control in the cast's header: {first}");
    let _: serde_json::Value = serde_json::from_str(first).expect("the header is JSON");
}
