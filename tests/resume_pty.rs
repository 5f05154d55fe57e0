//! `gonogo resume` in the cockpit after gonogo was killed with -9: the terminal may still be on
//! the dead cockpit's screen, and the resume says a few lines before its cockpit starts. The
//! resumed cockpit's first frame is its own, whole: nothing left over, nothing drawn over it.

mod support;

use std::time::Duration;

use support::gonogo::{Gonogo, Live, release, target};
use support::pty::Pty;
use support::sshd::Sshd;

#[test]
fn the_resumed_cockpit_draws_its_first_frame_whole_over_what_the_crash_left() {
    let sshd = Sshd::start();
    let body = format!(
        "{}\n[[step]]\nname = \"Migrate\"\nrun = \"echo migrating; sleep 3; echo migrated\"\non = \"web\"\n\n\
         [[step]]\ngate = \"Go on?\"\n\n[[step]]\nname = \"After\"\ncheck = \"echo after\"\non = \"web\"\n",
        target("web-1", &sshd, &["web"]),
    );
    let g = Gonogo::new(&release("resume-pty", sshd.known_hosts(), &body));
    let mut live = Live::start(&g, &["--yes"]);
    live.wait_for("[web-1] migrating");
    live.kill_9();

    // What a cockpit killed with -9 leaves: the alternate screen still on, its text on it.
    let dir = g.dir.path();
    let runtime = dir.join("runtime");
    std::fs::create_dir_all(&runtime).expect("runtime dir");
    let bin = env!("CARGO_BIN_EXE_gonogo");
    let program = format!(
        "printf '\\033[?1049h\\033[5;3HLEFT-BY-THE-CRASH\\033[20;40HSTALE-FRAME'; {bin} resume"
    );
    let state = dir.join("state");
    let env = [
        ("XDG_STATE_HOME", state.to_str().expect("utf-8")),
        ("XDG_RUNTIME_DIR", runtime.to_str().expect("utf-8")),
    ];
    let mut pty = Pty::spawn_program((100, 30), dir, &program, &env, "");
    // As in tmux, where an operator found the resumed cockpit drawn over the crash's screen.
    pty.keeps_alternate_screen = true;
    pty.wait_text("Go on?");
    // A few frames in: still nothing but the cockpit.
    pty.read_until(Duration::from_millis(700), |_| false);
    let screen = pty.contents();
    for stray in [
        "LEFT-BY-THE-CRASH",
        "STALE-FRAME",
        "resuming session",
        "recording to",
        "follow it live",
    ] {
        assert!(
            !screen.contains(stray),
            "{stray:?} on the cockpit:\n{screen}"
        );
    }
    assert!(screen.contains("Migrate"), "{screen}");

    // Ctrl-L redraws it whole, in the gate's modal too.
    pty.press("\x0c");
    pty.read_until(Duration::from_millis(300), |_| false);
    assert!(pty.contents().contains("Go on?"), "{}", pty.contents());
    pty.answer("g", "Enter confirms GO");
    pty.wait_text("RELEASED");
    pty.press("q");
    assert_eq!(pty.exit_code(), Some(0), "{}", pty.contents());
}
