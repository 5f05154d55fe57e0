//! `gonogo follow [SESSION]`: a running session, live and read-only, in this terminal at its own
//! size. The session's journal file gives the state so far (a late joiner sees exactly the
//! operator's release), the socket every record after it; a follower that fell behind is told
//! to resync and reads the file again. Keys scroll, filter and switch panes; `m` mirrors what
//! the operator has on screen; nothing here can answer, roll back or open a shell.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt as _;
use ratatui::crossterm::event::{
    Event as TermEvent, EventStream, KeyCode, KeyEventKind, KeyModifiers,
};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use super::socket::{self, Hello, Join, RESYNC};
use crate::engine::{Decision, EventKind, Release, VoteRecord};
use crate::journal::Entry;
use crate::replay::{Recorded, RecordedView};
use crate::runtime::{Frontend as _, Input, now_ms};
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

pub fn run(args: &FollowArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match runtime {
        Ok(rt) => rt.block_on(follow(args)),
        Err(e) => Err(format!("cannot start the async runtime: {e}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gonogo follow: {}", crate::text::printable_lines(&e));
            ExitCode::from(1)
        }
    }
}

/// The release as followed: rebuilt from the journal, then record by record, through the same
/// fold of records a replay uses.
pub struct Followed {
    recorded: Recorded,
    path: PathBuf,
}

impl Followed {
    /// The release as the journal at `path` has it now.
    pub fn load(path: &Path) -> Result<Self, String> {
        let mut followed = Followed {
            recorded: Recorded::default(),
            path: path.to_path_buf(),
        };
        followed.catch_up(u64::MAX)?;
        Ok(followed)
    }

    pub fn release(&self) -> &Release {
        self.recorded.release()
    }

    /// What the operator has on screen, as the view records say.
    pub fn view(&self) -> &RecordedView {
        &self.recorded.view
    }

    /// The last record applied.
    pub fn seq(&self) -> u64 {
        self.recorded.seq
    }

    /// One record's line from the socket: applied in order; a gap is filled from the file. A
    /// vote's judgement (the engine's, made as it applied the vote) comes back, for the follower
    /// who voted.
    pub fn record(&mut self, text: &str) -> Result<Option<VoteRecord>, String> {
        if text == RESYNC {
            *self = Followed::load(&self.path)?;
            return Ok(None);
        }
        let Some(line) = crate::journal::parse_line(text) else {
            // A type this gonogo does not know: its number still counts.
            if let Ok(numbered) = serde_json::from_str::<Numbered>(text) {
                self.recorded.seq = self.seq().max(numbered.seq);
            }
            return Ok(None);
        };
        if line.seq <= self.seq() {
            return Ok(None);
        }
        if line.seq > self.seq() + 1 {
            self.catch_up(line.seq - 1)?;
        }
        let voted =
            matches!(&line.entry, Entry::Event(e) if matches!(e.kind, EventKind::Voted { .. }));
        if line.seq == self.seq() + 1 {
            self.recorded.line(&line);
            return Ok(voted
                .then(|| self.release().votes.last().cloned())
                .flatten());
        }
        Ok(None)
    }

    /// Reads the journal file until it holds record `upto` (the writer puts what it holds on
    /// disk at least once a second), applying what this follower has not seen.
    fn catch_up(&mut self, upto: u64) -> Result<(), String> {
        for _ in 0..50 {
            let journal = crate::journal::read(&self.path).map_err(|e| e.to_string())?;
            let last = journal.last().0;
            for line in &journal.lines {
                if line.seq > self.seq() && line.seq <= upto {
                    self.recorded.line(line);
                }
            }
            if upto == u64::MAX || last >= upto {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "the journal {} does not hold record {upto}: the session's writer is behind or failing",
            self.path.display()
        ))
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

async fn follow(args: &FollowArgs) -> Result<(), String> {
    let picked = super::sessions::pick(args.session.as_deref()).map_err(|e| e.to_string())?;
    let path = picked.path;
    let name = args
        .approver
        .clone()
        .or_else(|| args.name.clone())
        .unwrap_or_else(crate::transport::ssh_config::local_user);
    let stream = tokio::net::UnixStream::connect(&path)
        .await
        .map_err(|e| format!("cannot reach {}: {e}", path.display()))?;
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
        .map_err(|e| format!("cannot join: {e}"))?;
    let mut lines = BufReader::new(read).lines();
    let first = lines
        .next_line()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the session closed the connection")?;
    let hello: Hello = serde_json::from_str(&first).map_err(|_| first.clone())?;
    let mut followed = Followed::load(&hello.journal)?;
    let presenter = args
        .present
        .as_ref()
        .map(|masks| crate::ui::present::Presenter::new(&followed.release().plan, masks))
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
    let result = watch(
        &mut cockpit,
        &mut followed,
        (&mut lines, &mut write),
        &hello,
    )
    .await;
    drop(cockpit);
    screen.give_back();
    result
}

async fn watch<B: ratatui::backend::Backend>(
    cockpit: &mut Cockpit<B>,
    followed: &mut Followed,
    (lines, write): (
        &mut tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>,
        &mut tokio::net::unix::OwnedWriteHalf,
    ),
    hello: &Hello,
) -> Result<(), String> {
    let mut keys = EventStream::new();
    let mut beat = tokio::time::interval(Duration::from_millis(100));
    let mut mirror = false;
    let mut open = true;
    cockpit.refresh(followed.release());
    loop {
        tokio::select! {
            line = lines.next_line(), if open => match line {
                Ok(Some(line)) => {
                    if let Some(said) = followed.record(&line)?.map(|v| vote_said(&v)) {
                        cockpit.ui.notice = Some(said);
                    }
                    cockpit.refresh(followed.release());
                    if mirror {
                        cockpit.ui.show_recorded(followed.view());
                    }
                }
                _ => {
                    open = false;
                    cockpit.ui.notice = Some(format!(
                        "the session ended; q leaves (gonogo replay {})",
                        hello.journal.display()
                    ));
                    cockpit.refresh(followed.release());
                }
            },
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(key))) if key.kind == KeyEventKind::Press => {
                    let typing = cockpit.ui.filter_input.is_some() || cockpit.ui.picker.is_some();
                    let ctrl_c = key.code == KeyCode::Char('c')
                        && key.modifiers.contains(KeyModifiers::CONTROL);
                    if ctrl_c || (!typing && key.code == KeyCode::Char('q')) {
                        return Ok(());
                    }
                    if !typing && key.code == KeyCode::Char('m') {
                        mirror = !mirror;
                        cockpit.ui.notice = Some(if mirror {
                            format!("mirroring {}'s view (m: your own)", hello.operator)
                        } else {
                            "your own view (m: mirror the operator's)".to_string()
                        });
                        if mirror {
                            cockpit.ui.show_recorded(followed.view());
                        }
                        cockpit.refresh(followed.release());
                    } else if let Some(EventKind::Decided { decision: Decision::Go, note, .. }) =
                        cockpit.input(Input::Key(key), followed.release(), now_ms())
                    {
                        send_vote(write, followed.release(), note).await;
                        cockpit.ui.notice = Some("GO sent: the session judges it".into());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ok(()),
            },
            _ = beat.tick() => {
                cockpit.input(Input::Tick, followed.release(), now_ms());
            }
        }
        cockpit.flush(followed.release(), now_ms());
    }
}

/// What this follower is told of a vote.
fn vote_said(vote: &VoteRecord) -> String {
    match &vote.refused {
        None => format!("GO from {} counted", vote.name),
        Some(why) => format!("GO from {} refused: {why}", vote.name),
    }
}

/// This follower's GO at the open gate, bound to the digest of what it has on screen.
async fn send_vote(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    release: &Release,
    note: Option<String>,
) {
    let Some(crate::engine::Question::Gate { step }) = release.question else {
        return;
    };
    let vote = socket::VoteLine {
        vote: socket::VoteAt {
            step,
            digest: release.screen_digest(step),
            note,
        },
    };
    let line = serde_json::to_string(&vote).expect("plain data");
    let _ = write.write_all(format!("{line}\n").as_bytes()).await;
}
