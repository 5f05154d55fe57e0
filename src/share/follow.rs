//! `gonogo follow [SESSION]`: a running session, live and read-only, in this terminal at its own
//! size. The session's journal file gives the state so far (a late joiner sees exactly the
//! operator's release), the socket every record after it; a follower that fell behind is told
//! to resync and reads the file again. Keys scroll, filter and switch panes; `m` mirrors what
//! the operator has on screen; nothing here can answer, roll back or open a shell.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt as _;
use ratatui::crossterm::event::{Event as TermEvent, EventStream};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::mpsc;

use super::socket::{Hello, Join, RESYNC};
use super::watching::Watching;
use crate::drivers::DriversOff;
use crate::engine::EventKind;
use crate::journal::Entry;
use crate::runtime::{self, Clock, Input, Record, Rewind, Source};
use crate::ui::cockpit::Cockpit;
use crate::ui::theme::Theme;

/// `gonogo follow`'s options.
#[derive(Debug, Clone, Default)]
pub struct FollowArgs {
    /// A session id, or the start of one; default: the one running, when it is this login's.
    pub session: Option<String>,
    /// Who follows, as the operator sees it (default: this user's name).
    pub name: Option<String>,
    /// `--approver NAME`: follows as NAME and may approve gates of `approvals = 2` or more.
    pub approver: Option<String>,
    /// `--present`, with the `--mask` patterns.
    pub present: Option<Vec<String>>,
}

/// Why following a session stopped (or never began).
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(transparent)]
    Pick(#[from] super::sessions::PickError),
    #[error("cannot reach {}: {source}", .path.display())]
    Reach {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot join: {0}")]
    Join(#[source] std::io::Error),
    /// The socket could not be read.
    #[error("{0}")]
    Socket(#[source] std::io::Error),
    #[error("the session closed the connection")]
    Closed,
    /// The session answered with words instead of its hello (a refusal): they are shown.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Journal(#[from] crate::journal::ReadError),
    #[error(
        "the journal {} does not hold record {upto}: the session's writer is behind or failing",
        .path.display()
    )]
    Behind { path: PathBuf, upto: u64 },
    #[error(transparent)]
    Mask(#[from] crate::ui::present::MaskError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

pub fn run(args: &FollowArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match runtime {
        Ok(rt) => rt.block_on(follow(args)),
        Err(e) => Err(FollowError::Runtime(e)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "gonogo follow: {}",
                crate::text::printable_lines(&e.to_string())
            );
            ExitCode::from(1)
        }
    }
}

/// Where a follower stands in the session's journal: the records that come over the socket,
/// put in order, a gap filled from the file, a resync read from the file again. What it gives
/// is folded by the run loop (a recorded `Source`), never here.
pub struct Sequence {
    /// The last record given.
    seq: u64,
    path: PathBuf,
}

impl Sequence {
    /// The journal at `path` as it stands, from the nearest snapshot of its index: a rewind
    /// to it, then every record after it, and where that leaves off.
    pub fn load(path: &Path) -> Result<(Self, Vec<Record>), FollowError> {
        let opened = crate::journal::open(path)?;
        let mut sequence = Sequence {
            seq: opened.from.seq,
            path: path.to_path_buf(),
        };
        let from = opened.from;
        let mut records = vec![Record::Rewind(Box::new(Rewind {
            release: from.release,
            view: from.view,
            at: from.last.map(|(_, at)| at),
        }))];
        for line in opened.journal.lines {
            sequence.seq = sequence.seq.max(line.seq);
            records.push(Record::Line(std::sync::Arc::new(line)));
        }
        Ok((sequence, records))
    }

    /// The last record given.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// One record's line from the socket: what to fold next, in order; a gap is filled from
    /// the file; a resync starts over from the file.
    pub fn record(&mut self, text: &str) -> Result<Vec<Record>, FollowError> {
        if text == RESYNC {
            // The records start with a rewind: the state is rebuilt from the file.
            let (fresh, records) = Sequence::load(&self.path)?;
            *self = fresh;
            return Ok(records);
        }
        let Some(line) = crate::journal::parse_line(text) else {
            // A type this gonogo does not know: its number still counts.
            if let Ok(numbered) = serde_json::from_str::<Numbered>(text) {
                self.seq = self.seq.max(numbered.seq);
            }
            return Ok(Vec::new());
        };
        if line.seq <= self.seq {
            return Ok(Vec::new());
        }
        let mut records = Vec::new();
        if line.seq > self.seq + 1 {
            records = self.catch_up(line.seq - 1)?;
        }
        if line.seq == self.seq + 1 {
            self.seq = line.seq;
            records.push(Record::Line(std::sync::Arc::new(line)));
        }
        Ok(records)
    }

    /// Reads the journal file until it holds record `upto` (the writer puts what it holds on
    /// disk at least once a second): the records this follower has not seen.
    fn catch_up(&mut self, upto: u64) -> Result<Vec<Record>, FollowError> {
        let mut records = Vec::new();
        for _ in 0..50 {
            let journal = crate::journal::read(&self.path)?;
            let last = journal.last().0;
            for line in journal.lines {
                if line.seq > self.seq && line.seq <= upto {
                    self.seq = line.seq;
                    records.push(Record::Line(std::sync::Arc::new(line)));
                }
            }
            if upto == u64::MAX || last >= upto {
                return Ok(records);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(FollowError::Behind {
            path: self.path.clone(),
            upto,
        })
    }
}

#[derive(serde::Deserialize)]
struct Numbered {
    seq: u64,
}

/// How this follower reached the machine: through SSH (the colleague's address) or here.
fn via() -> String {
    match std::env::var("SSH_CONNECTION") {
        Ok(c) => format!("ssh from {}", c.split_whitespace().next().unwrap_or("?")),
        Err(_) => "this machine".into(),
    }
}

type SocketLines = tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>;

async fn follow(args: &FollowArgs) -> Result<(), FollowError> {
    let picked = super::sessions::pick(args.session.as_deref())?;
    let path = picked.path;
    let name = args
        .approver
        .clone()
        .or_else(|| args.name.clone())
        .unwrap_or_else(crate::transport::ssh_config::local_user);
    let stream = tokio::net::UnixStream::connect(&path)
        .await
        .map_err(|source| FollowError::Reach {
            path: path.clone(),
            source,
        })?;
    let (read, mut write) = stream.into_split();
    let join = Join {
        name: name.clone(),
        via: via(),
        approver: args.approver.is_some(),
    };
    let join = serde_json::to_string(&join).expect("plain data");
    write
        .write_all(format!("{join}\n").as_bytes())
        .await
        .map_err(FollowError::Join)?;
    let mut lines = BufReader::new(read).lines();
    let first = lines
        .next_line()
        .await
        .map_err(FollowError::Socket)?
        .ok_or(FollowError::Closed)?;
    let hello: Hello =
        serde_json::from_str(&first).map_err(|_| FollowError::Refused(first.clone()))?;
    let (sequence, so_far) = Sequence::load(&hello.journal)?;
    let plan = planned(&so_far).cloned().unwrap_or_default();
    let presenter = args
        .present
        .as_ref()
        .map(|masks| crate::ui::present::Presenter::new(&plan, masks))
        .transpose()?;
    let (terminal, screen) = crate::ui::screen::Screen::take();
    let mut cockpit = Cockpit::new(terminal, &name, Theme::from_env()).read_only();
    if args.approver.is_some() {
        cockpit = cockpit.approver();
    }
    cockpit.ui.following = Some(hello.operator.clone());
    // Whose session this is, first: on a shared account it may be another person's.
    cockpit.ui.notice = Some(super::sessions::whose(&hello, &crate::login::login()));
    cockpit.ui.present = presenter;
    let result = watch(cockpit, (sequence, so_far), (lines, write), &hello).await;
    screen.give_back();
    result
}

/// The plan of the session, from its first record.
fn planned(records: &[Record]) -> Option<&crate::engine::ReleasePlan> {
    records.iter().find_map(|r| match r {
        Record::Line(line) => match &line.entry {
            Entry::Event(e) => match &e.kind {
                EventKind::Started { plan, .. } => Some(plan.as_ref()),
                _ => None,
            },
            Entry::View(_) => None,
        },
        Record::Rewind(rewind) => rewind
            .release
            .started_at
            .is_some()
            .then_some(&rewind.release.plan),
        Record::Beat(_) => None,
    })
}

/// The followed session through the run loop: the socket's records (in order, by the
/// `Sequence`) are its source, the drivers are off, the front end is the read-only cockpit.
async fn watch<B: ratatui::backend::Backend>(
    cockpit: Cockpit<B>,
    (sequence, so_far): (Sequence, Vec<Record>),
    (lines, write): (SocketLines, tokio::net::unix::OwnedWriteHalf),
    hello: &Hello,
) -> Result<(), FollowError> {
    let (records_tx, records) = mpsc::channel(1024);
    let (inputs_tx, inputs) = mpsc::channel(256);
    let reader = tokio::spawn(read_socket(
        sequence,
        so_far,
        lines,
        records_tx,
        inputs_tx.clone(),
    ));
    let (votes, votes_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_votes(write, votes_rx));
    let keys = tokio::spawn(read_keys(inputs_tx.clone()));
    let who = (hello.operator.clone(), hello.journal.clone());
    let mut watching = Watching::new(cockpit, who, votes, inputs_tx);
    let source = Source::Recorded { records, inputs };
    // The follower is on the session's machine: its clock is the session's.
    runtime::play(
        DriversOff::default(),
        &mut watching,
        source,
        Clock::system(),
    )
    .await;
    drop(watching);
    keys.abort();
    writer.abort();
    if !reader.is_finished() {
        reader.abort();
        return Ok(());
    }
    reader.await.unwrap_or(Ok(()))
}

/// The socket's lines, as records in order, into the loop; what fails is said by leaving.
async fn read_socket(
    mut sequence: Sequence,
    so_far: Vec<Record>,
    mut lines: SocketLines,
    records: mpsc::Sender<Record>,
    inputs: mpsc::Sender<Input>,
) -> Result<(), FollowError> {
    let mut pending = so_far;
    loop {
        for record in pending.drain(..) {
            if records.send(record).await.is_err() {
                return Ok(());
            }
        }
        let Ok(Some(line)) = lines.next_line().await else {
            return Ok(());
        };
        match sequence.record(&line) {
            Ok(next) => pending = next,
            Err(e) => {
                let _ = inputs.send(Input::Terminate(e.to_string())).await;
                return Err(e);
            }
        }
    }
}

async fn write_votes(
    mut write: tokio::net::unix::OwnedWriteHalf,
    mut votes: mpsc::UnboundedReceiver<String>,
) {
    while let Some(line) = votes.recv().await {
        let _ = write.write_all(line.as_bytes()).await;
    }
}

/// Keys and resizes from the follower's terminal, and a beat for the clock, into the loop.
async fn read_keys(inputs: mpsc::Sender<Input>) {
    let mut keys = EventStream::new();
    let mut beat = tokio::time::interval(Duration::from_millis(100));
    loop {
        let input = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(key))) => Input::Key(key),
                Some(Ok(TermEvent::Resize(..))) => Input::Resize,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => Input::Terminate("the terminal went away".into()),
            },
            _ = beat.tick() => Input::Tick,
        };
        let last = matches!(input, Input::Terminate(_));
        if inputs.send(input).await.is_err() || last {
            return;
        }
    }
}
