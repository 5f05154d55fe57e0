//! Log followers (`[logs.NAME]`): each follower's command runs on each of its targets from the
//! start of the release to its end, and its lines come back as events tagged by target and
//! follower. Two tasks per follower: the read loop, which only hands chunks to the follower's
//! own [`Backlog`] and so never holds up the SSH session the steps share; and the drain, which
//! cuts them into lines (lossy UTF-8, control sequences stripped, capped, secrets masked) and
//! sends them on, taking no more than its share of the release's event queue.
//!
//! Nothing is left on a host: the command runs under a small script whose stdin stays open;
//! when it ends (gonogo stops the follower or dies, the channel closes, the connection drops),
//! the script's watchdog kills the command's whole process group (TERM, 2 s, KILL). No PTY is
//! used: the script and the command (which may hold a secret) reach the host on stdin, where a
//! terminal would echo them and cut long lines, and stdout and stderr stay apart.

mod backlog;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

pub use backlog::{Backlog, Entry, Taken};

use crate::engine::EventKind;
use crate::shell::shell_word;
use crate::transport::Link;
use crate::transport::lines::{MaskedLines, Redactor};
use crate::transport::script::{AfterBegin, BEGIN};
use crate::transport::ssh::ExecEnd;

/// Bytes of output a follower may hold before its oldest go.
pub const BACKLOG_BYTES: usize = 1 << 20;
/// About this many lines go in one event, so a flood reaches the release in small pieces.
const LINES_PER_EVENT: usize = 1024;
const BYTES_PER_EVENT: usize = 256 * 1024;
/// Log events may fill at most this fraction (1/N) of the release's event queue; the rest is
/// the steps', so a step's output never waits behind a flood of log lines.
const QUEUE_SHARE: usize = 8;
/// Restarting a command that keeps ending waits longer each time, up to this.
const RESTART_MAX: Duration = Duration::from_secs(30);
/// A command that ran this long was steady: the next restart waits the least again.
const STEADY: Duration = Duration::from_secs(30);

/// One follower on one target, with its real command (secrets included: never in an event).
#[derive(Debug, Clone)]
pub struct FollowerSpec {
    pub name: String,
    pub target: String,
    pub command: String,
}

/// The script a follower runs on its host (or here, for a local target): the command in the
/// foreground of the script's process group, and a watchdog that kills the group once stdin
/// ends. `eval` keeps the command out of every process's arguments and makes a syntax error in
/// it an error of the command, after the marker, rather than a script that never starts.
pub fn script(command: &str) -> String {
    format!(
        r#"{{
umask 077
printf '%s\n' {BEGIN}
printf '%s\n' {BEGIN} >&2
exec 3<&0
( trap '' TERM; cat <&3 >/dev/null 2>&1; kill -TERM 0; sleep 2; kill -KILL 0 ) >/dev/null 2>&1 &
exec 3<&-
c={command}
eval "$c" </dev/null
exit $?
}}
"#,
        command = shell_word(command)
    )
}

/// Runs one follower until `stop` turns true: starts it, restarts it after its command ends or
/// its link drops (reconnecting the link), and reports lines, drops, and each down and up.
pub async fn follow(
    link: Arc<Link>,
    spec: FollowerSpec,
    redactor: Arc<Redactor>,
    events: mpsc::Sender<EventKind>,
    mut stop: watch::Receiver<bool>,
) {
    let backlog = Arc::new(Backlog::new(BACKLOG_BYTES));
    let drain = tokio::spawn(drain(
        backlog.clone(),
        spec.clone(),
        redactor.clone(),
        events,
    ));
    let text = script(&spec.command);
    let mut down_since: Option<Instant> = None;
    let mut pause = Duration::from_secs(1);
    while !*stop.borrow() {
        let began = Instant::now();
        let mut begin = AfterBegin::default();
        let mut up = false;
        let end = {
            let mut sink = |stream, data| {
                let passed = begin.pass(stream, data);
                if !up && begin.started() {
                    up = true;
                    let gap_ms = down_since
                        .take()
                        .map(|since| u64::try_from(since.elapsed().as_millis()).unwrap_or(0));
                    backlog.push(Entry::Up { gap_ms });
                }
                if let Some(data) = passed {
                    backlog.push(Entry::Chunk(stream, data));
                }
            };
            link.follow(&text, &mut sink, &mut stop).await
        };
        if *stop.borrow() {
            break;
        }
        let error = match &end {
            Err(e) => e.to_string(),
            Ok(ExecEnd::Lost) => "the connection dropped".to_string(),
            Ok(_) if !begin.started() => begin.explain(),
            Ok(ExecEnd::Exited(code)) => format!("its command ended (exit {code})"),
            Ok(ExecEnd::Signalled(signal)) => format!("its command was killed ({signal})"),
        };
        if down_since.is_none() {
            down_since = Some(Instant::now());
            backlog.push(Entry::Down {
                error: redactor.mask(error),
            });
        }
        if matches!(end, Ok(ExecEnd::Lost)) && !reconnect(&link, &mut stop).await {
            break;
        }
        if began.elapsed() >= STEADY {
            pause = Duration::from_secs(1);
        } else {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            pause = (pause * 2).min(RESTART_MAX);
        }
    }
    backlog.close();
    let _ = drain.await;
}

/// Gets the link back, trying again after each budget runs out; false once stopped.
async fn reconnect(link: &Link, stop: &mut watch::Receiver<bool>) -> bool {
    loop {
        let back = tokio::select! {
            back = link.reconnect() => back.is_ok(),
            _ = stop.wait_for(|s| *s) => return false,
        };
        if back {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(RESTART_MAX) => {}
            _ = stop.wait_for(|s| *s) => return false,
        }
    }
}

/// Waits until log events hold no more than their share of the event queue.
async fn room_for_logs(events: &mpsc::Sender<EventKind>) {
    let share = events.max_capacity() / QUEUE_SHARE;
    while events.max_capacity() - events.capacity() > share && !events.is_closed() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Turns what the read loop buffered into events, in order, until the backlog closes.
async fn drain(
    backlog: Arc<Backlog>,
    spec: FollowerSpec,
    redactor: Arc<Redactor>,
    events: mpsc::Sender<EventKind>,
) {
    let fresh = || {
        [
            MaskedLines::new(redactor.clone()),
            MaskedLines::new(redactor.clone()),
        ]
    };
    let mut streams = fresh();
    // Per stream: the bytes up to the next newline are the rest of a line already dropped.
    let mut skipping = [false; 2];
    let mut out: Vec<String> = Vec::new();
    let send = |kind: EventKind| {
        let events = events.clone();
        async move { events.send(kind).await.is_ok() }
    };
    let batch = |lines: Vec<String>| EventKind::LogLines {
        target: spec.target.clone(),
        follower: spec.name.clone(),
        lines,
    };
    loop {
        backlog.ready.notified().await;
        loop {
            room_for_logs(&events).await;
            let taken = backlog.take(LINES_PER_EVENT, BYTES_PER_EVENT);
            let idle = taken.entries.is_empty() && taken.lost == 0;
            if taken.lost > 0 {
                let dropped = EventKind::LogsDropped {
                    target: spec.target.clone(),
                    follower: spec.name.clone(),
                    count: taken.lost,
                };
                if !send(dropped).await {
                    return;
                }
            }
            for s in 0..2 {
                if taken.gap[s] {
                    streams[s] = MaskedLines::new(redactor.clone());
                }
                skipping[s] |= taken.skip[s];
            }
            for entry in taken.entries {
                let word = match entry {
                    Entry::Chunk(stream, data) => {
                        let s = stream as usize;
                        let mut data = &data[..];
                        if skipping[s] {
                            let Some(newline) = memchr::memchr(b'\n', data) else {
                                continue;
                            };
                            data = &data[newline + 1..];
                            skipping[s] = false;
                        }
                        streams[s].push(data, &mut |line| out.push(line));
                        continue;
                    }
                    Entry::Up { gap_ms } => EventKind::FollowerUp {
                        target: spec.target.clone(),
                        follower: spec.name.clone(),
                        gap_ms,
                    },
                    Entry::Down { error } => {
                        // What the last run left without a newline ends here.
                        for lines in &mut streams {
                            lines.finish(&mut |line| out.push(line));
                        }
                        streams = fresh();
                        skipping = [false; 2];
                        EventKind::FollowerDown {
                            target: spec.target.clone(),
                            follower: spec.name.clone(),
                            error,
                        }
                    }
                };
                if !out.is_empty() && !send(batch(std::mem::take(&mut out))).await {
                    return;
                }
                if !send(word).await {
                    return;
                }
            }
            if taken.closed {
                for lines in &mut streams {
                    lines.finish(&mut |line| out.push(line));
                }
            }
            if !out.is_empty() && !send(batch(std::mem::take(&mut out))).await {
                return;
            }
            if taken.closed {
                return;
            }
            if idle {
                break;
            }
        }
    }
}
