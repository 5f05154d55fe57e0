//! The drivers' side of what ships: `[release] current` on every target (read-only, like a
//! lock script), `changes` on this machine, `pending` on its target, and `{{previous}}` put
//! into each command once each host's version is known.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::engine::EventKind;
use crate::engine::ships::{Found, LIST_KEPT};
use crate::transport::lines::Redactor;
use crate::transport::ssh::ExecEnd;
use crate::transport::{Link, script};

/// What `{{previous}}` reads in a command until each host's version is known: the drivers
/// put that host's version, shell-quoted, in its place before running it.
pub const PREVIOUS_TOKEN: &str = "GONOGO_PREVIOUS_VERSION_9f2c";

/// The real commands that find what ships (secrets included: never in an event).
#[derive(Debug, Clone, Default)]
pub struct ShipsWork {
    /// `current` on each target, with that target's values.
    pub current: HashMap<String, String>,
    /// `changes`, `{{previous}}` as [`PREVIOUS_TOKEN`], and the directory it runs in.
    pub changes: Option<(String, std::path::PathBuf)>,
    /// `pending` and the target it runs on.
    pub pending: Option<(String, String)>,
}

/// `command` with each `{{previous}}` of it as `previous` (shell-quoted); `None` when it needs
/// one that is not known.
pub fn with_previous(command: &str, previous: Option<&str>) -> Option<String> {
    if !command.contains(PREVIOUS_TOKEN) {
        return Some(command.to_string());
    }
    Some(command.replace(PREVIOUS_TOKEN, &crate::shell::shell_word(previous?)))
}

/// `current` on one target: its first line, trimmed, or why there is none.
pub async fn find_version(
    link: Arc<Link>,
    command: String,
    redactor: Arc<Redactor>,
    events: mpsc::Sender<EventKind>,
) {
    let target = link.target.clone();
    let said = match link.answer(&script::contained(&command)).await {
        Ok((ExecEnd::Exited(0), out, err)) => {
            let first = out.lines().map(str::trim).find(|l| !l.is_empty());
            match first {
                Some(line) => {
                    Ok(crate::text::printable(&redactor.mask(line.to_string())).into_owned())
                }
                None => Err("`current` printed no version".to_string()),
            }
            .map_err(|e| e + &stderr_said(&err, &redactor))
        }
        Ok((end, _, err)) => Err(format!(
            "`current` {}{}",
            ended(&end),
            stderr_said(&err, &redactor)
        )),
        Err(e) => Err(e.to_string()),
    };
    let (version, error) = match said {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    let _ = events
        .send(EventKind::VersionFound {
            target,
            version,
            error,
        })
        .await;
}

/// How a command that did not exit 0 ended, in words.
fn ended(end: &ExecEnd) -> String {
    match end {
        ExecEnd::Exited(code) => format!("exited {code}"),
        ExecEnd::Signalled(signal) => format!("was killed by {signal}"),
        ExecEnd::Lost => "lost its connection".to_string(),
    }
}

fn stderr_said(err: &str, redactor: &Redactor) -> String {
    match err.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!(
            ": {}",
            crate::text::printable(&redactor.mask(line.to_string()))
        ),
        None => String::new(),
    }
}

/// A command's output as a list: its first lines (cleaned, masked) and how many in all.
pub fn listed(out: &str, redactor: &Redactor) -> Found {
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    Found {
        total: lines.len(),
        lines: lines
            .iter()
            .take(LIST_KEPT)
            .map(|l| crate::text::printable(&redactor.mask(l.to_string())).into_owned())
            .collect(),
        error: None,
    }
}

/// `changes` on this machine, in the profile's directory.
pub async fn find_changes(
    command: String,
    dir: std::path::PathBuf,
    redactor: Arc<Redactor>,
    events: mpsc::Sender<EventKind>,
) {
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let found = match tokio::time::timeout(std::time::Duration::from_secs(60), output).await {
        Ok(Ok(out)) if out.status.success() => {
            listed(&String::from_utf8_lossy(&out.stdout), &redactor)
        }
        Ok(Ok(out)) => failed(
            format!("`changes` exited {}", out.status.code().unwrap_or(-1)),
            &String::from_utf8_lossy(&out.stderr),
            &redactor,
        ),
        Ok(Err(e)) => failed(format!("`changes` could not run: {e}"), "", &redactor),
        Err(_) => failed("`changes` gave no answer in 60s".into(), "", &redactor),
    };
    let _ = events.send(EventKind::ChangesFound { found }).await;
}

/// `pending` on its target.
pub async fn find_pending(
    link: Arc<Link>,
    command: String,
    redactor: Arc<Redactor>,
    events: mpsc::Sender<EventKind>,
) {
    let target = link.target.clone();
    let found = match link.answer(&script::contained(&command)).await {
        Ok((ExecEnd::Exited(0), out, _)) => listed(&out, &redactor),
        Ok((end, _, err)) => failed(format!("`pending` {}", ended(&end)), &err, &redactor),
        Err(e) => failed(e.to_string(), "", &redactor),
    };
    let _ = events.send(EventKind::PendingFound { target, found }).await;
}

fn failed(why: String, stderr: &str, redactor: &Redactor) -> Found {
    Found {
        error: Some(why + &stderr_said(stderr, redactor)),
        ..Found::default()
    }
}
