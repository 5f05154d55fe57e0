//! Steps run on the host detached from the SSH channel, with output and exit status kept in
//! `~/.gonogo/runs/SESSION/RUN/`; gonogo streams from there and re-attaches after a drop, so a
//! lost connection neither kills a step nor runs it twice. Also the deploy lock.
//!
//! Needs a POSIX `sh`, `setsid`, and GNU `tail` (`--pid`) on the host, as on any Linux.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Link;
use super::lines::{LineSplitter, Redactor};
use super::ssh::ExecEnd;
use crate::engine::{EventKind, RunId, StepList, Stream};
use crate::profile::template::shell_word;

/// `"$HOME"/.gonogo/runs/'SESSION'`: where a session's runs live on a host.
fn session_dir(session: &str) -> String {
    format!("\"$HOME\"/.gonogo/runs/{}", shell_word(session))
}

fn run_dir(session: &str, run: &RunId) -> String {
    let list = match run.list {
        StepList::Main => "step",
        StepList::Rollback => "rollback",
    };
    let name = format!("{list}-{}-{}-{}", run.step + 1, run.target, run.attempt);
    format!("{}/{}", session_dir(session), shell_word(&name))
}

/// One script per attach: start the command unless this run's directory exists already (what
/// makes attaching again after a reconnect safe: the step never runs twice), stream stdout and
/// stderr from byte offsets until the step has ended, and exit with the step's status.
///
/// The `tail`s follow a watcher child of this shell, which ends once the status file is written
/// (all output is in the files by then) or the step's process is gone; a child is reaped at
/// once, an orphaned step may not be.
pub fn attach_script(
    session: &str,
    run: &RunId,
    command: &str,
    out_from: u64,
    err_from: u64,
) -> String {
    format!(
        r#"d={dir}
mkdir -p {session} || {{ echo "gonogo: cannot make the run directory under ~/.gonogo on this host" >&2; exit {NO_STATUS}; }}
if mkdir "$d" 2>/dev/null; then
  printf '%s\n' {command} > "$d/cmd"
  : > "$d/out"; : > "$d/err"
  nohup setsid sh -c 'sh "$1/cmd" >"$1/out" 2>"$1/err" </dev/null; echo $? >"$1/status.tmp"; mv "$1/status.tmp" "$1/status"' gonogo-step "$d" >/dev/null 2>&1 </dev/null &
  echo $! > "$d/pid"
fi
pid=$(cat "$d/pid")
( while [ ! -f "$d/status" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done ) &
w=$!
tail -c +{out} --pid="$w" -s 0.05 -f "$d/out" &
tail -c +{err} --pid="$w" -s 0.05 -f "$d/err" >&2 &
wait
[ -f "$d/status" ] && exit "$(cat "$d/status")"
exit {NO_STATUS}"#,
        dir = run_dir(session, run),
        session = session_dir(session),
        command = shell_word(command),
        out = out_from + 1,
        err = err_from + 1,
    )
}

/// The attach script's exit code when the step left no status; a step may exit 255 itself, so
/// that code is confirmed with [`status_script`].
const NO_STATUS: u32 = 255;

fn status_script(session: &str, run: &RunId) -> String {
    format!(
        "cat {}/status 2>/dev/null || echo none",
        run_dir(session, run)
    )
}

/// Stops the step's whole process group: TERM, then KILL if it lingers.
pub fn cancel_script(session: &str, run: &RunId) -> String {
    format!(
        r#"d={dir}
[ -f "$d/pid" ] || exit 0
pid=$(cat "$d/pid")
kill -TERM "-$pid" 2>/dev/null || exit 0
for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.2; done
kill -KILL "-$pid" 2>/dev/null
exit 0"#,
        dir = run_dir(session, run)
    )
}

/// Runs one step on one target to its end, through drops of the link, and reports it as events.
pub async fn drive(
    link: Arc<Link>,
    session: String,
    run: RunId,
    command: String,
    redactor: Arc<Redactor>,
    events: mpsc::Sender<EventKind>,
) {
    let end = attach(&link, &session, &run, &command, &redactor, &events).await;
    let _ = events
        .send(match end {
            Ok(status) => EventKind::Exited { run, status },
            Err(error) => EventKind::RunFailed {
                run,
                error: redactor.mask(error),
            },
        })
        .await;
}

async fn attach(
    link: &Link,
    session: &str,
    run: &RunId,
    command: &str,
    redactor: &Redactor,
    events: &mpsc::Sender<EventKind>,
) -> Result<i32, String> {
    let mut offsets = [0u64; 2];
    let mut splitters = [LineSplitter::default(), LineSplitter::default()];
    let code = loop {
        let (tx, mut rx) = mpsc::channel::<(Stream, Vec<u8>)>(64);
        let script = attach_script(session, run, command, offsets[0], offsets[1]);
        let stream_lines = async {
            while let Some((stream, data)) = rx.recv().await {
                let i = stream as usize;
                offsets[i] += data.len() as u64;
                let mut lines = Vec::new();
                splitters[i].push(&data, &mut |line| lines.push(redactor.mask(line)));
                send_lines(events, run, stream, lines).await;
            }
        };
        let (end, ()) = tokio::join!(link.exec(&script, tx), stream_lines);
        match end? {
            ExecEnd::Lost => link.reconnect().await?,
            ExecEnd::Exited(code) => break code,
            ExecEnd::Signalled(signal) => {
                return Err(format!(
                    "the step's watcher was killed on the host ({signal})"
                ));
            }
        }
    };
    for (i, stream) in [Stream::Stdout, Stream::Stderr].into_iter().enumerate() {
        let mut last = Vec::new();
        splitters[i].finish(&mut |line| last.push(redactor.mask(line)));
        send_lines(events, run, stream, last).await;
    }
    match code {
        NO_STATUS => loop {
            match link.output(&status_script(session, run)).await? {
                (ExecEnd::Lost, _, _) => link.reconnect().await?,
                (_, out, _) => {
                    return out.trim().parse::<i32>().map_err(|_| {
                        "the step's process ended without an exit status (killed on the host?)"
                            .to_string()
                    });
                }
            }
        },
        code => Ok(code as i32),
    }
}

async fn send_lines(
    events: &mpsc::Sender<EventKind>,
    run: &RunId,
    stream: Stream,
    lines: Vec<String>,
) {
    if !lines.is_empty() {
        let _ = events
            .send(EventKind::Output {
                run: run.clone(),
                stream,
                lines,
            })
            .await;
    }
}
