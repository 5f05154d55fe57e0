//! gonogo's own log, for the operator and whoever debugs a run after it: a file per run under
//! `$XDG_STATE_HOME/gonogo/` (`~/.local/state/gonogo/` when unset), never the terminal the
//! cockpit draws on. It holds what the run loop saw (events as the engine got them: output
//! masked, no commands) and what the drivers did; `GONOGO_LOG` sets the level (`info` by
//! default, `debug` adds every event).

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// Lines waiting for the log's writing thread before new ones are dropped (the default,
/// 128,000, is 4 MB of queue slots, all written to at start, in every run).
const LOG_LINES_QUEUED: usize = 8 * 1024;

/// The log of this run; keep it alive for the run (it flushes the file when dropped).
pub struct RunLog {
    pub path: PathBuf,
    _flush: tracing_appender::non_blocking::WorkerGuard,
}

/// Where the logs go: `$XDG_STATE_HOME/gonogo`, else `~/.local/state/gonogo`.
pub fn dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/state")))?;
    Some(state.join("gonogo"))
}

/// Starts the log of a `gonogo run`; `None` (and a word on stderr) when it cannot be written: a
/// release does not fail for want of a log file.
pub fn start() -> Option<RunLog> {
    start_in(&dir()?)
}

/// Starts the log of a run in `dir` (`gonogo demo` keeps everything in its own directory).
pub fn start_in(dir: &Path) -> Option<RunLog> {
    let dir = dir.to_path_buf();
    let opened = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .and_then(|()| {
            let name = format!(
                "run-{}-{}.log",
                chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
                std::process::id()
            );
            let path = dir.join(name);
            std::fs::OpenOptions::new()
                .create_new(true)
                .write(true)
                .mode(0o600)
                .open(&path)
                .map(|file| (path, file))
        });
    let (path, mut file) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!(
                "gonogo: no log file this run ({}: {e})",
                crate::text::printable(&dir.display().to_string())
            );
            return None;
        }
    };
    let _ = writeln!(file, "gonogo {} log", env!("CARGO_PKG_VERSION"));
    let (writer, flush) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_LINES_QUEUED)
        .finish(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("GONOGO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
    if installed.is_err() {
        return None;
    }
    Some(RunLog {
        path,
        _flush: flush,
    })
}
