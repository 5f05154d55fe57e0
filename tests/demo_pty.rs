//! `gonogo demo` in a real 80×24 pseudo-terminal, played to the end with key presses as a
//! person new to gonogo would: the manual item, the production gate, the watch window, the
//! final gate.

mod support;

use std::time::Duration;

use support::pty::Pty;

/// Arms GO at a production gate and types `go` before Enter.
fn go(pty: &mut Pty) {
    for _ in 0..20 {
        pty.press("g");
        if pty.read_until(Duration::from_millis(500), |s| {
            s.contains("Type go and press Enter")
        }) {
            pty.press("go");
            pty.wait_text("> go_");
            pty.press("\r");
            return;
        }
    }
    panic!("could not arm GO; the screen:\n{}", pty.contents());
}

#[test]
fn the_happy_demo_plays_to_the_end_in_an_80x24_terminal() {
    let home = tempfile::tempdir().expect("home");
    let tmp = tempfile::tempdir().expect("tmp");
    let home_s = home.path().display().to_string();
    let tmp_s = tmp.path().display().to_string();
    let mut pty = Pty::spawn_sized(
        (80, 24),
        tmp.path(),
        "demo --watch 5s",
        &[
            ("HOME", &home_s),
            ("TMPDIR", &tmp_s),
            ("XDG_DATA_HOME", ""),
            ("XDG_STATE_HOME", ""),
        ],
        "",
    );
    pty.wait_text("DEMO happy, simulated hosts");
    pty.wait_text("MANUAL ITEM");
    assert!(
        pty.contents().contains("✓ These are gonogo's"),
        "{}",
        pty.contents()
    );
    pty.answer("d", "Enter confirms DONE");
    pty.wait_text("PRODUCTION GATE");
    go(&mut pty);
    pty.wait_text("watch ");
    pty.wait_text("Release good?");
    go(&mut pty);
    pty.wait_text("RELEASED");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
    let left: Vec<_> = std::fs::read_dir(home.path()).expect("home").collect();
    assert!(left.is_empty(), "nothing in $HOME: {left:?}");
}
