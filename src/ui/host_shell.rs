//! `s`: the cockpit steps aside for an interactive shell on a target, as k9s does for a pod.
//! The run loop keeps running the release underneath; the cockpit stops drawing and reading
//! keys until the shell ends, then comes back as it was. The shell is the OpenSSH client with
//! gonogo's own settings for that target (`transport::openssh`), or the local shell for a
//! local target. Its keystrokes go to the shell and nowhere else: nothing of them is recorded.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write as _;

use ratatui::crossterm::{execute, terminal};
use tokio::sync::{mpsc, watch};

use crate::runtime::Input;

/// The program and arguments that open a shell on one target.
#[derive(Debug, Clone)]
pub struct ShellCommand {
    pub program: OsString,
    pub args: Vec<OsString>,
}

/// Pauses the terminal reader so that the shell alone reads the keyboard.
pub struct KeyReader {
    /// True: stop reading keys (the reader drops its event stream).
    pub pause: watch::Sender<bool>,
    /// True once the reader has stopped reading.
    pub idle: watch::Receiver<bool>,
}

pub struct HostShells {
    commands: HashMap<String, ShellCommand>,
    reader: std::sync::Arc<KeyReader>,
    inputs: mpsc::Sender<Input>,
}

impl HostShells {
    pub fn new(
        commands: HashMap<String, ShellCommand>,
        reader: KeyReader,
        inputs: mpsc::Sender<Input>,
    ) -> Self {
        HostShells {
            commands,
            reader: std::sync::Arc::new(reader),
            inputs,
        }
    }

    pub fn reaches(&self, target: &str) -> bool {
        self.commands.contains_key(target)
    }

    /// Hands the terminal to a shell on `target`; `Input::ShellEnded` comes back when it ends.
    pub fn open(&self, target: &str) {
        let Some(command) = self.commands.get(target).cloned() else {
            return;
        };
        let (reader, inputs, target) =
            (self.reader.clone(), self.inputs.clone(), target.to_string());
        tokio::spawn(async move {
            let _ = reader.pause.send(true);
            let mut idle = reader.idle.clone();
            let _ = idle.wait_for(|idle| *idle).await;
            let how = step_aside(&target, &command).await;
            let _ = reader.pause.send(false);
            let _ = inputs.send(Input::ShellEnded { target, how }).await;
        });
    }
}

/// Leaves the cockpit's screen, runs the shell on the terminal, and takes the screen back.
async fn step_aside(target: &str, command: &ShellCommand) -> String {
    // Ctrl-C in a shell that does not take the terminal for itself must not end gonogo.
    let _interrupts =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    ratatui::restore();
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "gonogo: shell on {target}; the release keeps running. Exit the shell to return.\r"
    );
    let _ = out.flush();
    // If gonogo itself ends meanwhile (SIGTERM, the terminal gone), the shell ends with it.
    let status = tokio::process::Command::new(&command.program)
        .args(&command.args)
        .stderr(crate::ui::screen::terminal_stderr())
        .kill_on_drop(true)
        .status()
        .await;
    let how = match status {
        Ok(s) => match s.code() {
            Some(code) => format!("exit {code}"),
            None => "ended by a signal".to_string(),
        },
        Err(e) => format!("could not start {}: {e}", command.program.to_string_lossy()),
    };
    let _ = terminal::enable_raw_mode();
    let _ = execute!(out, terminal::EnterAlternateScreen);
    how
}
