//! The running session's follow socket: `$XDG_RUNTIME_DIR/gonogo/SESSION.sock` (the directory
//! 0700, the socket 0600, the peer's uid checked). A follower says who it is, gets a hello
//! (where the journal is), then every record the journal writes, as it writes it. A follower
//! that lags is told to resync from the journal file; the operator's loop never waits for one.

use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf, UCred};
use tokio::sync::{broadcast, mpsc};

use crate::engine::{EventKind, Via};

/// The follow protocol's version, in the hello.
pub const PROTOCOL: u32 = 1;
/// How many records a follower may fall behind before it is told to resync.
pub const BACKLOG: usize = 4096;

/// The first line a follower reads: which session, whose, and where its journal is. Sent as
/// soon as the session accepts the connection (before the follower says who it is), so
/// `gonogo follow` can list the sessions running without joining any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub follow: u32,
    pub session: String,
    pub journal: PathBuf,
    pub release: String,
    pub environment: String,
    pub operator: String,
    /// The operator's login (see `crate::login`); empty from a gonogo that did not say.
    #[serde(default)]
    pub login: String,
    /// When the session started (RFC 3339), as its journal's header says.
    #[serde(default)]
    pub started: String,
}

/// The first line a follower writes: who follows, whether they may approve, and how they
/// say they reached this machine (the session checks: see [`via`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Join {
    pub name: String,
    pub via: String,
    #[serde(default)]
    pub approver: bool,
}

/// A follower's GO at the open gate, bound to what it had on screen
/// (`Release::screen_digest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteLine {
    pub vote: VoteAt,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteAt {
    pub step: usize,
    pub digest: String,
    pub note: Option<String>,
}

/// What the server says besides records: fall back to the journal file.
pub const RESYNC: &str = r#"{"resync":true}"#;

/// Why the follow socket (or its directory) could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error(
        "cannot make {}: {source}\n  help: {parent} (XDG_RUNTIME_DIR, or the temp directory) must \
         exist and be writable: set XDG_RUNTIME_DIR to your runtime directory, e.g. /run/user/{uid}",
        .dir.display()
    )]
    MakeDir {
        dir: PathBuf,
        parent: String,
        uid: u32,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", .dir.display())]
    ReadDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a directory of this user: refusing to use it", .dir.display())]
    NotOwn { dir: PathBuf },
    /// `mode`: `0700` for the directory, `0600` for the socket.
    #[error("cannot make {} private ({mode}): {source}", .path.display())]
    Private {
        path: PathBuf,
        mode: &'static str,
        source: std::io::Error,
    },
    #[error("cannot open the follow socket {}: {source}", .path.display())]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the sockets live: `$XDG_RUNTIME_DIR/gonogo`, else `$TMPDIR/gonogo-UID`; made 0700 and
/// refused when another user owns it.
pub fn dir() -> Result<PathBuf, SocketError> {
    let uid = own_uid();
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(runtime) => Path::new(&runtime).join("gonogo"),
        None => std::env::temp_dir().join(format!("gonogo-{uid}")),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            let parent = dir
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            return Err(SocketError::MakeDir {
                dir,
                parent,
                uid,
                source,
            });
        }
    }
    let meta = match std::fs::symlink_metadata(&dir) {
        Ok(meta) => meta,
        Err(source) => return Err(SocketError::ReadDir { dir, source }),
    };
    if !meta.is_dir() || meta.uid() != uid {
        return Err(SocketError::NotOwn { dir });
    }
    if meta.mode() & 0o077 != 0
        && let Err(source) = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
    {
        return Err(SocketError::Private {
            path: dir,
            mode: "0700",
            source,
        });
    }
    Ok(dir)
}

/// This process's user id (the owner of `/proc/self`).
pub fn own_uid() -> u32 {
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

/// The follow socket of a running session; dropping it removes the socket file.
pub struct Server {
    path: PathBuf,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Server {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens the session's socket. `records` carries every journal line; joins and leaves go to
/// `events` (journaled, shown to the operator).
pub fn serve(
    hello: Hello,
    records: broadcast::Sender<Arc<str>>,
    events: mpsc::Sender<EventKind>,
    inputs: mpsc::Sender<crate::runtime::Input>,
) -> Result<Server, SocketError> {
    let path = dir()?.join(format!("{}.sock", hello.session));
    // A resumed session takes its socket back: one its killed gonogo left, that nobody answers
    // on, is replaced (one that answers is another live gonogo's: left alone).
    if path.exists() && std::os::unix::net::UnixStream::connect(&path).is_err() {
        let _ = std::fs::remove_file(&path);
    }
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(source) => return Err(SocketError::Bind { path, source }),
    };
    if let Err(source) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
        return Err(SocketError::Private {
            path,
            mode: "0600",
            source,
        });
    }
    let hello = Arc::new(hello);
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            // Subscribed before the hello: nothing written after the follower read the journal
            // file is lost to it.
            tokio::spawn(follower(
                stream,
                hello.clone(),
                records.subscribe(),
                (events.clone(), inputs.clone()),
            ));
        }
    });
    Ok(Server { path, accept })
}

/// One follower, from its join to its leaving.
async fn follower(
    stream: UnixStream,
    hello: Arc<Hello>,
    mut rx: broadcast::Receiver<Arc<str>>,
    (events, inputs): (mpsc::Sender<EventKind>, mpsc::Sender<crate::runtime::Input>),
) {
    let (read, mut write) = stream.into_split();
    let Some(cred) = peer_checked(&mut write).await else {
        return;
    };
    if !said_hello(&mut write, &hello).await {
        return;
    }
    let mut reader = BufReader::new(read);
    let mut pending = Vec::new();
    let Some(join) = read_join(&mut reader, &mut pending, &mut write).await else {
        return;
    };
    let who = Follower::joined(&join, cred.pid());
    let _ = events
        .send(EventKind::Joined {
            name: who.name.clone(),
            via: who.via.clone(),
            approver: who.approver,
        })
        .await;
    let why = relay(
        &mut write,
        &mut reader,
        &mut pending,
        &mut rx,
        &inputs,
        &who,
    )
    .await;
    let _ = events
        .send(EventKind::Left {
            name: who.name,
            why,
        })
        .await;
}

/// The peer's credentials when it is the user running this session; anyone else is told no.
async fn peer_checked(write: &mut OwnedWriteHalf) -> Option<UCred> {
    let uid = own_uid();
    let cred = write.as_ref().peer_cred().ok();
    let peer = cred.map(|c| c.uid());
    if peer != Some(uid) {
        tracing::warn!(?peer, "follow: refused a connection from another user");
        let _ = write
            .write_all(b"refused: only the user running this session may follow it\n")
            .await;
        return None;
    }
    cred
}

/// Sends the hello line; false when the follower already went away.
async fn said_hello(write: &mut OwnedWriteHalf, hello: &Hello) -> bool {
    let hello_line = serde_json::to_string(hello).expect("plain data");
    write
        .write_all(format!("{hello_line}\n").as_bytes())
        .await
        .is_ok()
}

/// The follower's join line, read within ten seconds; without one it is told no.
async fn read_join(
    reader: &mut BufReader<OwnedReadHalf>,
    pending: &mut Vec<u8>,
    write: &mut OwnedWriteHalf,
) -> Option<Join> {
    let join = tokio::time::timeout(Duration::from_secs(10), capped_line(reader, pending)).await;
    let Some(join) = join
        .ok()
        .and_then(Result::ok)
        .flatten()
        .and_then(|l| serde_json::from_str::<Join>(&l).ok())
    else {
        let _ = write.write_all(b"refused: say who follows first\n").await;
        return None;
    };
    Some(join)
}

/// Who follows, as the session records it.
struct Follower {
    name: String,
    via: Via,
    approver: bool,
}

impl Follower {
    /// Names and addresses come from the follower: made printable and short before anyone
    /// sees or records them.
    fn joined(join: &Join, pid: Option<i32>) -> Follower {
        let clean = |s: &str| {
            crate::text::printable(s)
                .chars()
                .take(64)
                .collect::<String>()
        };
        let via = match via(pid, &join.via) {
            Via::Ssh { from } => Via::Ssh { from: clean(&from) },
            Via::Local => Via::Local,
        };
        Follower {
            name: clean(&join.name),
            via,
            approver: join.approver,
        }
    }
}

/// Every record to the follower, and its votes to the session, until one side goes; why the
/// follower was dropped when the operator is to be told.
async fn relay(
    write: &mut OwnedWriteHalf,
    reader: &mut BufReader<OwnedReadHalf>,
    pending: &mut Vec<u8>,
    rx: &mut broadcast::Receiver<Arc<str>>,
    inputs: &mpsc::Sender<crate::runtime::Input>,
    who: &Follower,
) -> Option<String> {
    loop {
        tokio::select! {
            record = rx.recv() => {
                let line = match record {
                    Ok(line) => line,
                    Err(broadcast::error::RecvError::Lagged(_)) => Arc::from(RESYNC),
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                let sent = async {
                    write.write_all(line.as_bytes()).await?;
                    write.write_all(b"\n").await
                };
                if sent.await.is_err() {
                    return None;
                }
            }
            said = capped_line(reader, pending) => match said {
                Ok(Some(line)) => {
                    if let Ok(VoteLine { vote }) = serde_json::from_str(&line) {
                        let _ = inputs
                            .send(crate::runtime::Input::Vote(crate::engine::Vote {
                                name: who.name.clone(),
                                via: who.via.clone(),
                                approver: who.approver,
                                step: vote.step,
                                digest: Some(vote.digest),
                                note: vote.note,
                            }))
                            .await;
                    }
                }
                // A protocol error drops the follower, and the operator is told why; a link
                // that went away is only the follower leaving.
                Err(e) => {
                    tracing::warn!(error = %e, "follow: a follower dropped");
                    return matches!(e, LineError::TooLong).then(|| e.to_string());
                }
                _ => return None,
            },
        }
    }
}

/// How a follower reached this machine, as far as the session can tell: over SSH only when an
/// sshd is among the connecting process's ancestors (the address as the follower gave it, as
/// "ssh from IP"), else this machine.
fn via(pid: Option<i32>, said: &str) -> Via {
    let said_ssh = said.strip_prefix("ssh from ").map(str::to_string);
    let mut pid = pid.unwrap_or(0);
    for _ in 0..64 {
        if pid <= 1 {
            break;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            break;
        };
        // `PID (COMM) STATE PPID …`: the name may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            break;
        };
        if stat[open + 1..close].starts_with("sshd") {
            return Via::Ssh {
                from: said_ssh.unwrap_or_else(|| "?".into()),
            };
        }
        pid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
    }
    Via::Local
}

/// The longest line a follower may send (its join, a vote): a longer one is a protocol error
/// that ends that follower, so no client can make the operator's gonogo hold megabytes.
const FOLLOWER_LINE_MAX: usize = 64 * 1024;

/// Why a follower's line was not taken.
#[derive(Debug, thiserror::Error)]
enum LineError {
    #[error("a follower sent a line over {} KB: dropped", FOLLOWER_LINE_MAX / 1024)]
    TooLong,
    #[error("reading from a follower: {0}")]
    Read(#[from] std::io::Error),
}

/// The next line a follower sent, read into `pending` (kept across calls: cancel safe in a
/// `select!`). `Ok(None)` at the end; `Err` for a line over [`FOLLOWER_LINE_MAX`].
async fn capped_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    pending: &mut Vec<u8>,
) -> Result<Option<String>, LineError> {
    use tokio::io::AsyncReadExt as _;
    loop {
        let room = (FOLLOWER_LINE_MAX + 1).saturating_sub(pending.len()) as u64;
        let n = (&mut *reader).take(room).read_until(b'\n', pending).await?;
        if pending.last() == Some(&b'\n') {
            pending.pop();
            let line = String::from_utf8_lossy(pending).into_owned();
            pending.clear();
            return Ok(Some(line));
        }
        if pending.len() > FOLLOWER_LINE_MAX {
            return Err(LineError::TooLong);
        }
        if n == 0 {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod line_tests {
    #[tokio::test]
    async fn a_follower_line_over_64_kb_is_refused_and_lines_under_it_come_whole() {
        let mut data = b"{\"vote\":1}\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 100 * 1024 * 1024));
        let mut reader = tokio::io::BufReader::new(&data[..]);
        let mut pending = Vec::new();
        let first = super::capped_line(&mut reader, &mut pending).await;
        assert_eq!(first.ok().flatten().as_deref(), Some("{\"vote\":1}"));
        let second = super::capped_line(&mut reader, &mut pending).await;
        assert!(
            matches!(second, Err(super::LineError::TooLong)),
            "{second:?}"
        );
        assert!(
            pending.len() <= super::FOLLOWER_LINE_MAX + 1,
            "held {} bytes",
            pending.len()
        );
    }
}
