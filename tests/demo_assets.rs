//! assets/: the recorded demo session (made by scripts/demo-assets) still reads with this
//! gonogo: it replays (re-rendered frame by frame into a cast), its report generates, and the
//! README shows what the assets hold.

use std::process::Command;

const JOURNAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-session.jsonl");

fn gonogo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .args(args)
        .output()
        .expect("run gonogo")
}

#[test]
fn the_recorded_demo_reports_a_rollback_on_the_evidence() {
    let out = gonogo(&["report", JOURNAL]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{md}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(md.contains("⚠️ **rolled back**"), "{md}");
    assert!(
        md.contains("> **Rehearsal:** DEMO bad-release, simulated hosts"),
        "{md}"
    );
    assert!(
        md.contains("rollback proposed: \"error\\_ratio \\> 5% for 15s\" held"),
        "{md}"
    );
    assert!(
        md.contains("KeyError: 'currency'"),
        "the new error signature: {md}"
    );
    let json = gonogo(&["report", JOURNAL, "--format", "json"]);
    assert!(json.status.success());
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json report");
    assert_eq!(parsed["summary"]["outcome"], "rolled_back", "{parsed}");
}

#[test]
fn the_recorded_demo_replays_into_a_cast_with_the_proposal_on_screen() {
    let dir = tempfile::tempdir().expect("dir");
    let cast = dir.path().join("demo.cast");
    let out = gonogo(&[
        "export",
        JOURNAL,
        "--asciicast",
        cast.to_str().expect("path"),
        "--size",
        "100x30",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&cast).expect("cast");
    let header: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("header")).expect("header json");
    assert_eq!(header["width"], 100);
    assert!(
        text.contains("ROLLBACK PROPOSED"),
        "the proposal's modal was on screen"
    );
    assert!(
        text.contains("ROLLED BACK"),
        "the end as the operator saw it"
    );
    let gif = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.gif")).expect("gif");
    assert!(gif.starts_with(b"GIF89a"), "assets/demo.gif is a GIF");
}

#[test]
fn the_readme_opens_with_the_demo() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let gif = readme.find("assets/demo.gif").expect("the GIF");
    let demo = readme
        .find("cargo run --release -- demo")
        .expect("the demo command");
    let tests = readme.find("scripts/test").expect("the test command");
    let replay = readme
        .find("gonogo replay assets/demo-session.jsonl")
        .or_else(|| readme.find("-- replay assets/demo-session.jsonl"))
        .expect("how to replay the recorded session");
    assert!(
        gif < demo && demo < tests && tests < replay,
        "GIF, set-up commands, replay"
    );
}
