//! The terminal while a cockpit (run, resume, demo, follow, replay) has it: drawn whole from
//! its first frame, and nothing written over it. Whatever would reach stderr meanwhile (a
//! library's warning, a child process that inherited it) goes to the run log instead, and is
//! said again on the terminal once the cockpit has given it back: nothing drawn over the
//! cockpit, nothing lost.

use std::io::{BufRead as _, Write as _};
use std::os::fd::{AsFd as _, OwnedFd};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::Backend;

/// The terminal's own stderr while it is set aside: a host shell (`s`) writes there.
static TERMINAL_STDERR: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// How many of the lines written to stderr under the cockpit are kept to say afterwards.
const KEPT: usize = 100;

/// Forgets what the terminal shows and clears it, so the next frame is drawn whole: the first
/// frame (a crashed gonogo may have left its screen behind, and a line written before the
/// cockpit started may sit on it), Ctrl-L, and the return from a host shell. `clear` would ask
/// the terminal where its cursor is, a reply the key reader may take; `resize` does not.
pub fn redraw_whole<B: Backend>(terminal: &mut Terminal<B>) {
    if let Ok(size) = terminal.size() {
        let _ = terminal.resize(size.into());
    }
}

/// The cockpit's hold on the terminal; `give_back` (or dropping it) restores the terminal,
/// then stderr, then says what was written to stderr meanwhile.
pub struct Screen {
    aside: Option<StderrAside>,
    /// Still the cockpit's: not given back yet.
    held: bool,
}

impl Screen {
    /// Takes the terminal for a cockpit: raw mode, the alternate screen, cleared, and stderr
    /// set aside.
    pub fn take() -> (ratatui::DefaultTerminal, Screen) {
        let mut terminal = ratatui::init();
        redraw_whole(&mut terminal);
        let aside = StderrAside::start();
        (terminal, Screen { aside, held: true })
    }

    /// The terminal as it was, and what stderr got meanwhile, said on it.
    pub fn give_back(mut self) {
        self.restore();
    }

    fn restore(&mut self) {
        self.held = false;
        ratatui::restore();
        let Some(aside) = self.aside.take() else {
            return;
        };
        let held = aside.end();
        if held.is_empty() {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "gonogo: written to stderr while the cockpit was up:");
        for line in held {
            let _ = writeln!(err, "  {}", crate::text::printable(&line));
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        // Unwinding from a panic: its hook gave the terminal back and said the message; leaving
        // the alternate screen again would move the cursor back over that message.
        if std::thread::panicking() {
            put_back();
            return;
        }
        if self.held {
            self.restore();
        }
    }
}

/// stderr into a pipe read by a thread that logs each line and keeps the last ones.
struct StderrAside {
    held: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl StderrAside {
    /// `None` (stderr left as it is) when the pipe cannot be made.
    fn start() -> Option<StderrAside> {
        let stderr = std::io::stderr();
        let saved = stderr.as_fd().try_clone_to_owned().ok()?;
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).ok()?;
        let held = Arc::new(Mutex::new(Vec::new()));
        let kept = held.clone();
        let reader = std::thread::Builder::new()
            .name("stderr-aside".into())
            .spawn(move || read_aside(read, &kept))
            .ok()?;
        rustix::stdio::dup2_stderr(&write).ok()?;
        drop(write);
        *TERMINAL_STDERR.lock().unwrap_or_else(|e| e.into_inner()) = Some(saved);
        restore_on_panic();
        Some(StderrAside { held, reader })
    }

    /// stderr back to the terminal; the lines read meanwhile. A child still holding the pipe
    /// open is not waited for longer than a moment.
    fn end(self) -> Vec<String> {
        put_back();
        let until = Instant::now() + Duration::from_millis(200);
        while !self.reader.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::mem::take(&mut *self.held.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn read_aside(read: OwnedFd, kept: &Mutex<Vec<String>>) {
    let reader = std::io::BufReader::new(std::fs::File::from(read));
    for line in reader.split(b'\n').map_while(Result::ok) {
        let line = String::from_utf8_lossy(&line).trim_end().to_string();
        tracing::warn!(target: "gonogo::stderr", "{}", crate::text::printable(&line));
        let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() == KEPT {
            kept.remove(0);
        }
        kept.push(line);
    }
}

/// stderr back on the terminal (a no-op when it is not set aside).
fn put_back() {
    let Ok(mut saved) = TERMINAL_STDERR.try_lock() else {
        return;
    };
    if let Some(fd) = saved.take() {
        let _ = rustix::stdio::dup2_stderr(&fd);
    }
}

/// A panic's message goes to the terminal, not to the log alone.
fn restore_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        put_back();
        previous(info);
    }));
}

/// The terminal's stderr for a child that talks to the operator (a host shell): the terminal
/// itself while the cockpit has set stderr aside.
pub fn terminal_stderr() -> Stdio {
    let saved = TERMINAL_STDERR.lock().unwrap_or_else(|e| e.into_inner());
    match saved.as_ref().and_then(|fd| fd.try_clone().ok()) {
        Some(fd) => Stdio::from(fd),
        None => Stdio::inherit(),
    }
}
