//! Steps run on the host detached from the SSH channel, with output and exit status kept in
//! `~/.gonogo/runs/SESSION/RUN/` (mode 0700); gonogo streams from there and re-attaches after a
//! drop, so a lost connection neither kills a step nor runs it twice.
//!
//! On the host a run directory holds `cmd` (the command, emptied as soon as the step has read
//! it: it may hold a secret), `pid` (the step's session leader, written by itself before the
//! command starts), `out`, `err` and, once it ended, `status`. `pid` and `status` are written
//! in one `write` each by a process that is alive until they are whole: a reader that finds one
//! empty knows its writer is at work. Needs a POSIX `sh`, `setsid`, GNU `tail` (`--pid`, and
//! `---disable-inotify`, its switch to polling, there since it learned inotify) and /proc, as on
//! any Linux.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Link;
use super::lines::{MaskedLines, Redactor};
use super::lock::Holder;
use super::script::{MEMBERS_FN, OWNER_FN, STOP_FN};
use super::ssh::ExecEnd;
use crate::engine::{EventKind, RunId, StepList, Stream};
use crate::shell::shell_word;

/// At most this many output chunks (up to 32 KB each, as the SSH channel delivers them) go in
/// one event.
const CHUNKS_PER_EVENT: usize = 4;

/// How long a cancelled step has between TERM and KILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

fn run_dir(holder: &Holder, run: &RunId) -> String {
    let list = match run.list {
        StepList::Main => "step",
        StepList::Rollback => "rollback",
    };
    let name = format!("{list}-{}-{}-{}", run.step + 1, run.target, run.attempt);
    format!("{}/{}", holder.session_dir(), shell_word(&name))
}

/// How often `tail` looks for more output and for the step's end, in seconds: an end is seen
/// 2.5 ms later on average, for about 1% of a core per stream while a step runs.
const TAIL_EVERY: &str = "0.005";

/// A command of up to this many lines is read with the shell's own `read` (nothing forked); a
/// longer one with `cat` (a loop that appends line by line grows as the square of the length:
/// 3 s for 5,000 lines in dash).
const READ_LINES: u32 = 32;

/// The attach script's exit code when it has something to say beyond the step's own status;
/// a step may exit with it too, so it is confirmed with [`status_script`].
const ASK_STATUS: u32 = 255;

/// One script per attach: start the command unless this run's directory exists already (what
/// makes attaching again after a reconnect safe: the step never runs twice), stream stdout and
/// stderr from byte offsets until the step has ended, and exit with the step's status.
///
/// A new run starts only while the deploy lock is still this session's. The step writes its own
/// pid before its command starts, so a run that started can always be found and stopped; it
/// reads its command into memory and empties `cmd` before running it, so the command (which may
/// hold a secret) is on the host's disk only until the step has started; the command's first
/// line begins by unsetting the variable that held it (on that line: the command's line numbers
/// stay its own), so the step cannot read its text.
///
/// The host forks little beyond the step (see docs/architecture.md, "How a step travels"): the
/// attach that starts the step follows it by the pid it started, with nothing to wait for. An
/// attach to a step that started earlier follows it only while its pid is still a live session
/// leader of its own session, as the step's is; a step that had ended (or died) before this
/// attach is read to the end, never followed through a pid reused since.
///
/// `tail` looks at the files and the pid every [`TAIL_EVERY`] seconds and reads to the end once
/// the step's session leader (which writes the status before it exits) is gone. Not inotify:
/// closing an inotify instance waits for the kernel's SRCU grace period, 15-20 ms measured on a
/// 2-core VM, paid by each step's end.
pub fn attach_script(
    holder: &Holder,
    run: &RunId,
    command: &str,
    from: [u64; 2],
    may_start: bool,
) -> String {
    format!(
        r#"d={dir}
l={lock}
{OWNER_FN}
pid=
if [ ! -d "$d" ] && [ {may_start} = no ]; then exit {ASK_STATUS}; fi
if [ ! -d "$d" ]; then
  owner; [ "$o" = {sid} ] || exit {ASK_STATUS}
  [ -d {session} ] || mkdir -p {session} || {{ echo "gonogo: cannot make its run directory under ~/.gonogo" >&2; exit {ASK_STATUS}; }}
  if mkdir "$d" 2>/dev/null; then
    printf '%s\n' {command} > "$d/cmd"
    : > "$d/out"; : > "$d/err"
    setsid sh -c '
      gonogo_run=$1; set --
      echo $$ > "$gonogo_run/pid" || exit 1
      gonogo_cmd=; gonogo_n=0
      while IFS= read -r gonogo_line || [ -n "$gonogo_line" ]; do
        gonogo_n=$((gonogo_n + 1)); [ $gonogo_n -gt {READ_LINES} ] && break
        gonogo_cmd="$gonogo_cmd$gonogo_line
"
      done < "$gonogo_run/cmd"
      [ $gonogo_n -gt {READ_LINES} ] && gonogo_cmd=$(cat "$gonogo_run/cmd")
      : > "$gonogo_run/cmd"
      ( unset gonogo_run gonogo_line gonogo_n; eval "unset gonogo_cmd; $gonogo_cmd" ) >"$gonogo_run/out" 2>"$gonogo_run/err" </dev/null
      echo $? >"$gonogo_run/status"
    ' gonogo-step "$d" >/dev/null 2>&1 </dev/null &
    pid=$!
  fi
fi
if [ -z "$pid" ]; then
  i=0
  while [ ! -s "$d/pid" ] && [ ! -s "$d/status" ]; do
    i=$((i + 1)); [ $i -gt 1000 ] && exit {ASK_STATUS}
    sleep 0.01
  done
  {{ read -r pid < "$d/pid"; }} 2>/dev/null
  if [ ! -s "$d/status" ] && {{ read -r st < "/proc/$pid/stat"; }} 2>/dev/null; then
    set -- ${{st##*) }}
    [ "$1" != Z ] && [ "$4" = "$pid" ] || pid=
  else pid=
  fi
fi
set --
[ -n "$pid" ] && set -- --pid="$pid" -s {TAIL_EVERY} ---disable-inotify -f
tail -c +{out} "$@" "$d/out" &
tail -c +{err} "$@" "$d/err" >&2 &
wait
[ -s "$d/status" ] && {{ read -r st < "$d/status"; exit "$st"; }}
exit {ASK_STATUS}"#,
        dir = run_dir(holder, run),
        lock = holder.lock_dir(),
        session = holder.session_dir(),
        sid = shell_word(&holder.session),
        command = shell_word(command),
        out = from[0] + 1,
        err = from[1] + 1,
        may_start = if may_start { "yes" } else { "no" },
    )
}

/// What became of a run, read from its directory: `ended N`, `running`, `gone` (its processes
/// died without a status), `unstarted` (never got a pid), `lock-lost` + the lock's info, or
/// `no-run`.
fn status_script(holder: &Holder, run: &RunId) -> String {
    format!(
        r#"d={dir}
l={lock}
{MEMBERS_FN}
{OWNER_FN}
i=0
while [ -f "$d/pid" ] && [ ! -s "$d/pid" ] && [ $i -lt 100 ]; do sleep 0.01; i=$((i + 1)); done
if [ -s "$d/status" ]; then read -r st < "$d/status"; echo "ended $st"
elif [ -s "$d/pid" ]; then
  read -r pid < "$d/pid"
  if [ -n "$(members)" ]; then echo running
  elif [ -s "$d/status" ]; then read -r st < "$d/status"; echo "ended $st"
  else echo gone; fi
elif [ -d "$d" ]; then echo unstarted
elif owner; [ "$o" != {sid} ]; then echo lock-lost; cat "$l/info" 2>/dev/null
else echo no-run; fi"#,
        dir = run_dir(holder, run),
        lock = holder.lock_dir(),
        sid = shell_word(&holder.session),
    )
}

/// Stops everything the step started: TERM to every process in its session and process group,
/// a grace period, then KILL, and waits until none is left. Answers `stopped TERM`,
/// `stopped KILL`, `ended N` (it had ended), `unstarted`, `no-dir` (no run directory: it never
/// started there, or it was removed), or `alive PIDS` if something survived.
pub fn cancel_script(holder: &Holder, run: &RunId) -> String {
    let ticks = STOP_GRACE.as_millis() / 100;
    format!(
        r#"d={dir}
{MEMBERS_FN}
{STOP_FN}
[ -d "$d" ] || {{ echo no-dir; exit 0; }}
i=0
while [ ! -s "$d/pid" ] && [ ! -s "$d/status" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
pid=; {{ read -r pid < "$d/pid"; }} 2>/dev/null
if [ -z "$pid" ]; then rm -f "$d/cmd"; echo unstarted; exit 0; fi
if [ -z "$(members)" ]; then
  rm -f "$d/cmd"; st=none; [ -s "$d/status" ] && read -r st < "$d/status"
  echo "ended $st"; exit 0
fi
stop {ticks} || {{ echo alive $(members); exit 0; }}
rm -f "$d/cmd"
echo "stopped $how""#,
        dir = run_dir(holder, run),
    )
}

/// What a run came to, as the attach saw it.
enum End {
    Exited(i32),
    /// Known to have ended without running to completion, or never started.
    Failed(String),
    /// Nobody can tell: the step may still be running.
    Lost(String),
    LockLost(String),
}

/// Runs one step on one target to its end, through drops of the link, and reports it as one
/// event: exited, failed, lost (outcome unknown) or refused for a lock taken over.
/// `run`, and whether the journal shows it started (then it is attached to, never started).
pub async fn drive(
    link: Arc<Link>,
    holder: Arc<Holder>,
    (run, started): (RunId, bool),
    command: String,
    redactor: Arc<Redactor>,
    events: mpsc::Sender<EventKind>,
) {
    let end = attach(&link, &holder, &run, &command, started, &redactor, &events).await;
    let kind = match end {
        End::Exited(status) => EventKind::Exited { run, status },
        End::Failed(error) => EventKind::RunFailed {
            run,
            error: redactor.mask(error),
        },
        End::Lost(error) => EventKind::RunLost {
            run,
            error: redactor.mask(error),
        },
        End::LockLost(holder) => EventKind::LockLost { run, holder },
    };
    let _ = events.send(kind).await;
}

#[allow(clippy::too_many_arguments)]
async fn attach(
    link: &Link,
    holder: &Holder,
    run: &RunId,
    command: &str,
    started: bool,
    redactor: &Arc<Redactor>,
    events: &mpsc::Sender<EventKind>,
) -> End {
    // Once an attach may have started the step, later ones only attach: a run directory
    // removed meanwhile must not start it a second time.
    let mut may_start = !started;
    let mut output = RunOutput::new(redactor);
    let mut watcher_deaths = 0;
    // Attaching again after the attach ended early backs off, so a host that keeps ending it
    // is not asked in a tight loop.
    let mut pause = Duration::from_millis(50);
    let end = loop {
        let (tx, mut rx) = mpsc::channel::<(Stream, Vec<u8>)>(16);
        let script = attach_script(holder, run, command, output.offsets, may_start);
        // This attach could start the step: a missing directory then means it could not.
        let could_start = std::mem::replace(&mut may_start, false);
        let judged = |end: End| {
            if could_start {
                end
            } else {
                gone_is_unknown(end)
            }
        };
        let (end, ()) = tokio::join!(link.exec(&script, tx), output.read(&mut rx, events, run));
        match end {
            Err(error) => break End::Lost(error.to_string()),
            Ok(ExecEnd::Lost) => {
                if let Err(error) = link.reconnect().await {
                    break End::Lost(error.to_string());
                }
            }
            Ok(ExecEnd::Exited(code)) if code != ASK_STATUS => break End::Exited(code as i32),
            // Still running (`None`): attach again.
            Ok(ExecEnd::Exited(_)) => {
                if let Some(end) = confirm(link, holder, run).await {
                    break judged(end);
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Ok(ExecEnd::Signalled(signal)) => {
                watcher_deaths += 1;
                match confirm(link, holder, run).await {
                    Some(end) => break judged(end),
                    None if watcher_deaths < 3 => {
                        tokio::time::sleep(Duration::from_millis(200)).await
                    }
                    None => {
                        break End::Lost(format!(
                            "gonogo's watcher on the host keeps being killed ({signal})"
                        ));
                    }
                }
            }
        }
    };
    output.finish(events, run).await;
    end
}

/// A run's output as its attaches read it: how much of each stream came (an attach again
/// starts there), each stream split into lines masked before any cut at the line cap, so a
/// secret is never split in two.
struct RunOutput {
    offsets: [u64; 2],
    splitters: [MaskedLines; 2],
}

impl RunOutput {
    fn new(redactor: &Arc<Redactor>) -> Self {
        RunOutput {
            offsets: [0; 2],
            splitters: [
                MaskedLines::new(redactor.clone()),
                MaskedLines::new(redactor.clone()),
            ],
        }
    }

    /// One attach's output, until it ends. What arrived while the last event waited goes in
    /// one event: a flood reaches the release in fewer, fuller events; a trickle still goes
    /// line by line as it comes.
    async fn read(
        &mut self,
        rx: &mut mpsc::Receiver<(Stream, Vec<u8>)>,
        events: &mpsc::Sender<EventKind>,
        run: &RunId,
    ) {
        let mut ready = Vec::with_capacity(CHUNKS_PER_EVENT);
        while rx.recv_many(&mut ready, CHUNKS_PER_EVENT).await > 0 {
            let mut lines = Vec::new();
            let mut current = ready[0].0;
            for (stream, data) in ready.drain(..) {
                if stream != current {
                    send_lines(events, run, current, std::mem::take(&mut lines)).await;
                    current = stream;
                }
                let i = stream as usize;
                self.offsets[i] += data.len() as u64;
                self.splitters[i].push(&data, &mut |line| lines.push(line));
            }
            send_lines(events, run, current, lines).await;
        }
    }

    /// The run ended: each stream's last line, unfinished or not.
    async fn finish(mut self, events: &mpsc::Sender<EventKind>, run: &RunId) {
        for (i, stream) in [Stream::Stdout, Stream::Stderr].into_iter().enumerate() {
            let mut last = Vec::new();
            self.splitters[i].finish(&mut |line| last.push(line));
            send_lines(events, run, stream, last).await;
        }
    }
}

/// A run that may have started and whose directory is not there: nobody can say whether it
/// ran, so its outcome is unknown (never "could not start": that would invite a second run).
fn gone_is_unknown(end: End) -> End {
    match end {
        End::Failed(why) if why == NO_RUN => End::Lost(
            "its run directory on the host is gone (removed, or the host was rebuilt): the step may have run; its outcome is unknown".into(),
        ),
        other => other,
    }
}

const NO_RUN: &str =
    "the step could not be started: its run directory could not be made under ~/.gonogo";

/// Reads what became of a run whose attach did not bring back its status. `None`: it still
/// runs, attach again.
async fn confirm(link: &Link, holder: &Holder, run: &RunId) -> Option<End> {
    let script = status_script(holder, run);
    let out = match link.answer(&script).await {
        Err(error) => return Some(End::Lost(error.to_string())),
        Ok((_, out, _)) => out,
    };
    let (verdict, rest) = out.split_once('\n').unwrap_or((out.trim(), ""));
    let verdict = verdict.trim();
    if let Some(code) = verdict.strip_prefix("ended ") {
        return Some(match code.trim().parse::<i32>() {
            Ok(code) => End::Exited(code),
            Err(_) => End::Failed(format!("the step left an unreadable status ({code})")),
        });
    }
    Some(match verdict {
        "running" => return None,
        "gone" => End::Failed(
            "the step's processes are gone and left no exit status (killed on the host, or the host restarted)"
                .into(),
        ),
        "unstarted" => End::Failed(
            "the step never started on the host (the link dropped while it was being started): nothing ran"
                .into(),
        ),
        "lock-lost" => End::LockLost(super::lock::describe(rest)),
        "no-run" => End::Failed(NO_RUN.into()),
        other => End::Lost(format!("unexpected answer from the host: {other:?}")),
    })
}

/// Sends the cancel (reconnecting if it must) and reports what the host confirmed.
pub async fn stop(
    link: Arc<Link>,
    holder: Arc<Holder>,
    run: RunId,
    events: mpsc::Sender<EventKind>,
) {
    let script = cancel_script(&holder, &run);
    let kind = match link.answer(&script).await {
        Err(error) => EventKind::StopFailed {
            run,
            error: error.to_string(),
        },
        Ok((_, out, err)) => stopped(run, out.trim(), err.trim()),
    };
    let _ = events.send(kind).await;
}

fn stopped(run: RunId, answer: &str, err: &str) -> EventKind {
    let grace = humantime::format_duration(STOP_GRACE);
    let how = match answer.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["stopped", "TERM"] => "stopped with TERM".to_string(),
        ["stopped", "KILL"] => format!("killed: it ignored TERM for {grace}"),
        ["ended", "none"] => "had already ended".to_string(),
        ["ended", code] => format!("had already ended (exit {code})"),
        ["unstarted"] => "had not started: nothing ran".to_string(),
        // Nothing says whether it ran: it may never have started there, or its directory was
        // removed while it ran. Not "stopped", not "nothing ran": unknown.
        ["no-dir"] => {
            return EventKind::StopFailed {
                run,
                error: "its run directory is not on the host (it never started there, or it was removed): nothing of it can be found to stop".into(),
            };
        }
        ["alive", pids @ ..] => {
            return EventKind::StopFailed {
                run,
                error: format!("processes {} survived KILL", pids.join(" ")),
            };
        }
        _ => {
            return EventKind::StopFailed {
                run,
                error: format!("unexpected answer from the host: {answer:?} {err}"),
            };
        }
    };
    EventKind::RunStopped { run, how }
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
