//! Long-lived shells: each connection keeps up to [`MAX_SHELLS`] `sh -s` running on the host,
//! each on its own channel, and sends gonogo's scripts to them as messages (see
//! [`crate::transport::frame`]). A script then costs one round trip: no channel to open, no
//! exec to ask for, no login shell to start (a `.bashrc` that runs pyenv's init is paid once
//! per shell, not once per script). When every shell is busy (a step's attach holds one while
//! it streams), a script gets a channel of its own, as before.
//!
//! A message whose reader goes away before its end (a timeout, a cancelled task) closes its
//! shell: what it still prints must not be read as the next script's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::ChannelMsg;
use russh::client::Msg;

use super::{Connection, ExecEnd};
use crate::engine::Stream;
use crate::transport::error::ExecError;
use crate::transport::frame::{self, Frame};
use crate::transport::{Chunks, script};

/// Shells kept per connection: one for the step that streams, one for the short scripts that
/// come meanwhile (status, stop, probes).
pub const MAX_SHELLS: usize = 2;

/// The connection's shells not running a script now, and how many there are in all.
#[derive(Default)]
pub struct Shells {
    state: Arc<Mutex<Pool>>,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Shell>,
    live: usize,
}

struct Shell {
    channel: russh::Channel<Msg>,
    marker: String,
}

/// A shell taken for one script (or the right to start one): given back when the script's end
/// was read, closed otherwise.
struct Lease {
    shell: Option<Shell>,
    pool: Arc<Mutex<Pool>>,
    /// The shell went back to the pool, still live.
    returned: bool,
}

impl Shells {
    /// An idle shell, or the right to start one; `None` when all are busy.
    fn lease(&self) -> Option<Lease> {
        let mut pool = self.state.lock().expect("not poisoned");
        let shell = match pool.idle.pop() {
            Some(shell) => Some(shell),
            None if pool.live < MAX_SHELLS => {
                pool.live += 1;
                None
            }
            None => return None,
        };
        Some(Lease {
            shell,
            pool: self.state.clone(),
            returned: false,
        })
    }
}

impl Lease {
    fn give_back(mut self) {
        if let Some(shell) = self.shell.take() {
            self.pool.lock().expect("not poisoned").idle.push(shell);
            self.returned = true;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.returned {
            return;
        }
        let mut pool = self.pool.lock().expect("not poisoned");
        pool.live -= 1;
        drop(pool);
        if let Some(shell) = self.shell.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = shell.channel.close().await;
            });
        }
    }
}

/// How a message to a shell came out.
enum Sent {
    /// The script ran and its end was read.
    Ended(ExecEnd),
    /// The shell's channel ended while the script ran: what the channel said of its end.
    ShellEnded(ExecEnd),
    /// The shell had ended before the message came: nothing of it ran.
    ShellGone,
    /// Nothing came back in time, not even the script's first marker: the connection is
    /// frozen (as a channel that is not confirmed in time is, see [`Connection::start`]).
    NoAnswer,
}

impl Connection {
    /// Runs one of gonogo's scripts (its body, see [`script`]) on a long-lived shell, or on a
    /// channel of its own when every shell is busy; output chunks go to `chunks` as they come.
    pub async fn script(&self, body: &str, chunks: Chunks) -> Result<ExecEnd, ExecError> {
        // A shell found gone is replaced once; then the script gets its own channel.
        for _ in 0..2 {
            let Some(mut lease) = self.shells.lease() else {
                break;
            };
            let sent = match lease.shell.as_mut() {
                Some(shell) => {
                    let text = frame::message(body, &shell.marker);
                    if shell.channel.data(text.as_bytes()).await.is_err() {
                        Sent::ShellGone
                    } else {
                        shell.read(&chunks, true, self.answer_timeout).await
                    }
                }
                None => {
                    let marker = frame::marker();
                    let text = frame::message(body, &marker);
                    let Some(channel) = self.start(script::SHELL, text.as_bytes()).await? else {
                        return Ok(ExecEnd::Lost);
                    };
                    let shell = lease.shell.insert(Shell { channel, marker });
                    shell.read(&chunks, false, self.answer_timeout).await
                }
            };
            match sent {
                Sent::Ended(end) => {
                    lease.give_back();
                    return Ok(end);
                }
                Sent::NoAnswer => {
                    drop(lease);
                    let _ = tokio::time::timeout(Duration::from_secs(1), self.close()).await;
                    return Ok(ExecEnd::Lost);
                }
                Sent::ShellEnded(_) | Sent::ShellGone if self.is_closed() => {
                    return Ok(ExecEnd::Lost);
                }
                // The shell died under the script (killed on the host): the script's own end
                // is unknown, never the shell's status (`sh -c` says 137 for its killed child).
                Sent::ShellEnded(end) => return Ok(ExecEnd::Signalled(shell_ended(end))),
                Sent::ShellGone => continue,
            }
        }
        let text = script::wrap(body);
        self.exec(script::SHELL, text.as_bytes(), chunks).await
    }
}

impl Shell {
    /// Reads one message's output to its end. `used`: the shell ran scripts before, so a
    /// channel that ends before saying anything had ended before this message, and one that
    /// says nothing within `answer` is frozen.
    async fn read(&mut self, chunks: &Chunks, used: bool, answer: Duration) -> Sent {
        let mut frame = Frame::new(&self.marker);
        let mut heard = false;
        let mut said = None;
        let started = tokio::time::Instant::now();
        loop {
            // A new shell's channel was confirmed in time; its login shell may be slow.
            let next = if heard || !used {
                self.channel.wait().await
            } else {
                let wait = answer.saturating_sub(started.elapsed());
                match tokio::time::timeout(wait, self.channel.wait()).await {
                    Ok(next) => next,
                    Err(_) => return Sent::NoAnswer,
                }
            };
            let Some(msg) = next else { break };
            let (stream, data) = match msg {
                ChannelMsg::Data { data } => (Stream::Stdout, data),
                ChannelMsg::ExtendedData { data, ext: 1 } => (Stream::Stderr, data),
                ChannelMsg::ExitStatus { exit_status } => {
                    said = Some(ExecEnd::Exited(exit_status));
                    continue;
                }
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    said = Some(ExecEnd::Signalled(format!("{signal_name:?}")));
                    continue;
                }
                ChannelMsg::Close => break,
                _ => continue,
            };
            heard = true;
            if let Some(passed) = frame.pass(stream, &data) {
                let _ = chunks.send((stream, passed)).await;
            }
            if let Some(end) = frame.end() {
                return Sent::Ended(end);
            }
        }
        if used && !heard {
            return Sent::ShellGone;
        }
        Sent::ShellEnded(said.unwrap_or(ExecEnd::Lost))
    }
}

/// What a shell that ended under a script said of its own end.
fn shell_ended(end: ExecEnd) -> String {
    match end {
        ExecEnd::Signalled(signal) => format!("its shell on the host was killed ({signal})"),
        ExecEnd::Exited(status) => format!("its shell on the host ended (status {status})"),
        ExecEnd::Lost => "its shell on the host ended".into(),
    }
}
