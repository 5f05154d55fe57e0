//! Log tails (`[logs.NAME]`): each tail's command runs on each of its targets from the
//! start of the release to its end, and its lines come back as events tagged by target and
//! tail. Two tasks per tail: the read loop, which only hands chunks to the tail's
//! own [`Backlog`] and so never holds up the SSH session the steps share; and the drain, which
//! cuts them into lines (lossy UTF-8, control sequences stripped, capped, secrets masked) and
//! sends them on, taking no more than its share of the release's event queue.
//!
//! Nothing is left on a host: the command runs under a small script whose stdin stays open;
//! when it ends (gonogo stops the tail or dies, the channel closes, the connection drops),
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

/// Bytes of output a tail may hold before its oldest go.
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

/// One tail on one target, with its real command (secrets included: never in an event).
#[derive(Debug, Clone)]
pub struct TailSpec {
    pub name: String,
    pub target: String,
    pub command: String,
}

/// The script a tail runs on its host (or here, for a local target): the command in the
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

/// Runs one tail until `stop` turns true: starts it, restarts it after its command ends or
/// its link drops (reconnecting the link), and reports lines, drops, and each down and up.
pub async fn follow(
    link: Arc<Link>,
    spec: TailSpec,
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
    spec: TailSpec,
    redactor: Arc<Redactor>,
    events: mpsc::Sender<EventKind>,
) {
    let mut drain = Drain::new(spec, redactor, events);
    loop {
        backlog.ready.notified().await;
        loop {
            room_for_logs(&drain.events).await;
            let taken = backlog.take(LINES_PER_EVENT, BYTES_PER_EVENT);
            match drain.turn(taken).await {
                Next::Stop => return,
                Next::Wait => break,
                Next::Take => {}
            }
        }
    }
}

/// What the drain does after one take.
enum Next {
    /// The backlog closed or the release stopped listening.
    Stop,
    /// The take was empty: wait until the read loop buffers more.
    Wait,
    /// Take again.
    Take,
}

/// The drain's state between takes: each stream's line in progress and the lines not yet sent.
struct Drain {
    spec: TailSpec,
    redactor: Arc<Redactor>,
    events: mpsc::Sender<EventKind>,
    streams: [MaskedLines; 2],
    /// Per stream: the bytes up to the next newline are the rest of a line already dropped.
    skipping: [bool; 2],
    out: Vec<String>,
}

impl Drain {
    fn new(spec: TailSpec, redactor: Arc<Redactor>, events: mpsc::Sender<EventKind>) -> Self {
        let streams = fresh(&redactor);
        Drain {
            spec,
            redactor,
            events,
            streams,
            skipping: [false; 2],
            out: Vec::new(),
        }
    }

    /// Sends one take on: what was lost, then its entries in order, lines batched between words.
    async fn turn(&mut self, taken: Taken) -> Next {
        let idle = taken.entries.is_empty() && taken.lost == 0;
        if taken.lost > 0 {
            let dropped = EventKind::LogsDropped {
                target: self.spec.target.clone(),
                tail: self.spec.name.clone(),
                count: taken.lost,
            };
            if !self.send(dropped).await {
                return Next::Stop;
            }
        }
        for s in 0..2 {
            if taken.gap[s] {
                self.streams[s] = MaskedLines::new(self.redactor.clone());
            }
            self.skipping[s] |= taken.skip[s];
        }
        for entry in taken.entries {
            let word = match entry {
                Entry::Chunk(stream, data) => {
                    self.chunk(stream as usize, &data);
                    continue;
                }
                Entry::Up { gap_ms } => EventKind::TailUp {
                    target: self.spec.target.clone(),
                    tail: self.spec.name.clone(),
                    gap_ms,
                },
                Entry::Down { error } => self.down(error),
            };
            if !self.flush().await || !self.send(word).await {
                return Next::Stop;
            }
        }
        if taken.closed {
            self.finish();
        }
        if !self.flush().await || taken.closed {
            return Next::Stop;
        }
        if idle { Next::Wait } else { Next::Take }
    }

    /// Cuts a chunk of stream `s` into lines, first skipping the rest of a line already dropped.
    fn chunk(&mut self, s: usize, mut data: &[u8]) {
        if self.skipping[s] {
            let Some(newline) = memchr::memchr(b'\n', data) else {
                return;
            };
            data = &data[newline + 1..];
            self.skipping[s] = false;
        }
        let out = &mut self.out;
        self.streams[s].push(data, &mut |line| out.push(line));
    }

    /// The tail stopped: what the last run left without a newline ends here.
    fn down(&mut self, error: String) -> EventKind {
        self.finish();
        self.streams = fresh(&self.redactor);
        self.skipping = [false; 2];
        EventKind::TailDown {
            target: self.spec.target.clone(),
            tail: self.spec.name.clone(),
            error,
        }
    }

    /// Ends each stream's line in progress.
    fn finish(&mut self) {
        let out = &mut self.out;
        for lines in &mut self.streams {
            lines.finish(&mut |line| out.push(line));
        }
    }

    /// Sends the lines gathered so far as one event; false once the release stopped listening.
    async fn flush(&mut self) -> bool {
        if self.out.is_empty() {
            return true;
        }
        let lines = std::mem::take(&mut self.out);
        self.send(EventKind::LogLines {
            target: self.spec.target.clone(),
            tail: self.spec.name.clone(),
            lines,
        })
        .await
    }

    async fn send(&self, kind: EventKind) -> bool {
        self.events.send(kind).await.is_ok()
    }
}

fn fresh(redactor: &Arc<Redactor>) -> [MaskedLines; 2] {
    [
        MaskedLines::new(redactor.clone()),
        MaskedLines::new(redactor.clone()),
    ]
}
