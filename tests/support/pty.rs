//! The real binary in a pseudo-terminal: the screen read through vt100 as a person would see
//! it, keys pressed as a person would press them.

use std::io::Write as _;
use std::time::{Duration, Instant};

use expectrl::process::unix::WaitStatus;

const COLS: u16 = 100;
const ROWS: u16 = 30;

pub struct Pty {
    pub session: expectrl::session::OsSession,
    pub screen: vt100::Parser,
    /// A terminal like tmux: entering the alternate screen while on it keeps what it shows
    /// (vt100, like xterm, clears it).
    pub keeps_alternate_screen: bool,
    /// Every byte the program wrote, as it wrote it (not only what the screen shows now).
    pub raw: Vec<u8>,
}

impl Pty {
    /// Runs `gonogo ARGS` in `dir` on a 100×30 terminal; `after` runs in the same terminal
    /// once gonogo has exited (to look at the terminal's state).
    pub fn spawn(dir: &std::path::Path, args: &str, env: &[(&str, &str)], after: &str) -> Pty {
        Pty::spawn_sized((COLS, ROWS), dir, args, env, after)
    }

    /// [`Pty::spawn`] on a terminal of `(cols, rows)`.
    pub fn spawn_sized(
        (cols, rows): (u16, u16),
        dir: &std::path::Path,
        args: &str,
        env: &[(&str, &str)],
        after: &str,
    ) -> Pty {
        let bin = env!("CARGO_BIN_EXE_gonogo");
        Pty::spawn_program((cols, rows), dir, &format!("{bin} {args}"), env, after)
    }

    /// Any program line (`ssh …`) in a terminal of `(cols, rows)`, as for [`Pty::spawn`].
    pub fn spawn_program(
        (cols, rows): (u16, u16),
        dir: &std::path::Path,
        program: &str,
        env: &[(&str, &str)],
        after: &str,
    ) -> Pty {
        let script =
            format!("stty cols {cols} rows {rows}; {program}; echo \"EXIT=$? END\"; {after}");
        let mut command = std::process::Command::new("sh");
        command
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .env("TERM", "xterm-256color")
            .env("RUST_BACKTRACE", "0")
            .env("XDG_DATA_HOME", dir.join("data"))
            .env_remove("SSH_AUTH_SOCK");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut session = expectrl::session::Session::spawn(command).expect("spawn in a pty");
        // The spawn sets the pty to 80×24 from this side after the fork, which can land after
        // the child's `stty`: set the size from this side too (a late change is a SIGWINCH).
        let _ = session.get_process_mut().set_window_size(cols, rows);
        Pty {
            session,
            screen: vt100::Parser::new(
                rows.try_into().expect("rows"),
                cols.try_into().expect("cols"),
                0,
            ),
            keeps_alternate_screen: false,
            raw: Vec::new(),
        }
    }

    pub fn contents(&self) -> String {
        self.screen.screen().contents()
    }

    /// Reads what the program draws until `seen` holds for the screen or `limit` passes.
    pub fn read_until(&mut self, limit: Duration, seen: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 8192];
        loop {
            if seen(&self.contents()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            match self.session.try_read(&mut buf) {
                Ok(n) if n > 0 => {
                    self.raw.extend_from_slice(&buf[..n]);
                    let mut bytes = buf[..n].to_vec();
                    if self.keeps_alternate_screen && self.screen.screen().alternate_screen() {
                        bytes = without(&bytes, b"\x1b[?1049h");
                    }
                    self.screen.process(&bytes);
                    continue;
                }
                _ => {}
            }
            // Nothing to read yet: give the program a moment.
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn wait_text(&mut self, text: &str) {
        if !self.read_until(Duration::from_secs(60), |s| s.contains(text)) {
            panic!("never saw {text:?}; the screen:\n{}", self.contents());
        }
    }

    pub fn press(&mut self, keys: &str) {
        self.session.write_all(keys.as_bytes()).expect("type");
        self.session.flush().expect("flush");
    }

    /// Presses `key` until the modal shows `armed` (keys right after a question opens are
    /// ignored by design), then Enter.
    pub fn answer(&mut self, key: &str, armed: &str) {
        for _ in 0..20 {
            self.press(key);
            if self.read_until(Duration::from_millis(500), |s| s.contains(armed)) {
                self.press("\r");
                return;
            }
        }
        panic!("could not arm {armed:?}; the screen:\n{}", self.contents());
    }

    pub fn exit_code(&mut self) -> Option<i32> {
        self.wait_text(" END");
        let text = self.contents();
        let code = text
            .split("EXIT=")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok();
        match self.session.get_process().wait() {
            Ok(WaitStatus::Exited(_, _)) | Err(_) => {}
            Ok(_) => {}
        }
        code
    }
}

/// `bytes` with every `cut` taken out.
fn without(bytes: &[u8], cut: &[u8]) -> Vec<u8> {
    let mut kept = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(cut) {
            i += cut.len();
        } else {
            kept.push(bytes[i]);
            i += 1;
        }
    }
    kept
}
