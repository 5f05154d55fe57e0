//! Commands that run until gonogo stops them (log tails), over SSH or locally. Unlike a
//! step's exec, stdin stays open: the script on the host watches it, and its end (gonogo
//! stopping the tail, gonogo dying, the channel closing, the connection dropping) is what
//! makes the host kill the tail. Output is handed to a sink that must not block, so the
//! SSH session, shared with the steps, is never held up by a tail.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use russh::ChannelMsg;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::error::ExecError;
use super::ssh::{Connection, ExecEnd};
use super::{Link, LinkKind, script};
use crate::engine::Stream;

/// Takes each chunk as it arrives; it must return at once (it runs in the read loop).
pub type Sink<'a> = &'a mut (dyn FnMut(Stream, Vec<u8>) + Send);

/// How long a stopped tail has to end (its host-side watchdog: TERM, 2 s, KILL) before
/// gonogo closes the channel or kills the local process group itself.
pub const STOP_WAIT: Duration = Duration::from_secs(5);

impl Link {
    /// Runs gonogo's script `text` (see [`script::SHELL`]) until it ends or `stop` turns true,
    /// streaming its raw output to `sink`. `Lost`: the connection dropped (the caller
    /// reconnects); an `Err` is the whole explanation of why it could not start.
    pub async fn follow(
        &self,
        text: &str,
        sink: Sink<'_>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<ExecEnd, ExecError> {
        match &self.kind {
            LinkKind::Local { place } => local(place.as_deref(), text.as_bytes(), sink, stop).await,
            LinkKind::Ssh { session, .. } => {
                let current = session.lock().await.clone();
                let Some(s) = current.filter(|s| !s.is_closed()) else {
                    return Ok(ExecEnd::Lost);
                };
                let end = over_ssh(&s, text.as_bytes(), sink, stop).await;
                if matches!(end, Ok(ExecEnd::Lost)) {
                    // As for a step: a frozen connection is dropped so the link reconnects.
                    let mut slot = session.lock().await;
                    if slot.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, &s)) && s.is_closed() {
                        *slot = None;
                    }
                }
                end
            }
        }
    }
}

async fn over_ssh(
    connection: &Connection,
    text: &[u8],
    sink: Sink<'_>,
    stop: &mut watch::Receiver<bool>,
) -> Result<ExecEnd, ExecError> {
    let Some(channel) = connection.start(script::SHELL, text).await? else {
        return Ok(ExecEnd::Lost);
    };
    // Writes (the EOF that stops it) go through their own half, so the read loop never waits
    // on the session while the session waits on this channel's reader.
    let (mut reading, writing) = channel.split();
    let writing = Arc::new(writing);
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut end = None;
    loop {
        let stopped = deadline.is_none();
        tokio::select! {
            msg = reading.wait() => match msg {
                Some(ChannelMsg::Data { data }) => sink(Stream::Stdout, data.to_vec()),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => sink(Stream::Stderr, data.to_vec()),
                Some(ChannelMsg::ExitStatus { exit_status }) => end = Some(ExecEnd::Exited(exit_status)),
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    end = Some(ExecEnd::Signalled(format!("{signal_name:?}")));
                }
                Some(ChannelMsg::Close) | None => break,
                Some(_) => {}
            },
            _ = stop.wait_for(|s| *s), if stopped => {
                deadline = Some(tokio::time::Instant::now() + STOP_WAIT);
                let writing = writing.clone();
                tokio::spawn(async move {
                    let _ = writing.eof().await;
                });
            }
            () = sleep_until(deadline), if !stopped => {
                // The host did not confirm in time: closing the channel closes its stdin too.
                let writing = writing.clone();
                tokio::spawn(async move {
                    let _ = writing.close().await;
                });
                return Ok(end.unwrap_or(ExecEnd::Signalled("stopped".into())));
            }
        }
    }
    Ok(end.unwrap_or(ExecEnd::Lost))
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `sh -s` on this machine, in its own process group (the terminal's Ctrl-C is gonogo's to
/// handle), with the script on stdin and stdin kept open: if gonogo dies, the pipe closes and
/// the script kills its group, as on a host.
async fn local(
    place: Option<&super::local::LocalPlace>,
    text: &[u8],
    sink: Sink<'_>,
    stop: &mut watch::Receiver<bool>,
) -> Result<ExecEnd, ExecError> {
    let mut child = super::local::shell(place)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(ExecError::Spawn)?;
    let mut stdin = child.stdin.take();
    if let Some(input) = stdin.as_mut() {
        input.write_all(text).await.map_err(ExecError::Feed)?;
    }
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let (mut out_buf, mut err_buf) = (vec![0u8; 64 * 1024], vec![0u8; 16 * 1024]);
    let (mut out_open, mut err_open) = (true, true);
    let mut deadline = None;
    while out_open || err_open {
        let stopped = deadline.is_none();
        tokio::select! {
            n = out.read(&mut out_buf), if out_open => match n {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => sink(Stream::Stdout, out_buf[..n].to_vec()),
            },
            n = err.read(&mut err_buf), if err_open => match n {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => sink(Stream::Stderr, err_buf[..n].to_vec()),
            },
            _ = stop.wait_for(|s| *s), if stopped => {
                drop(stdin.take());
                deadline = Some(tokio::time::Instant::now() + STOP_WAIT);
            }
            () = sleep_until(deadline), if !stopped => break,
        }
    }
    let status = match tokio::time::timeout(STOP_WAIT, child.wait()).await {
        Ok(status) => status.map_err(ExecError::Wait)?,
        Err(_) => {
            // Its watchdog did not end it: the whole group goes, as a last resort.
            if let Some(pid) = child.id() {
                let _ = tokio::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status()
                    .await;
            }
            child.wait().await.map_err(ExecError::Wait)?
        }
    };
    Ok(match status.code() {
        Some(code) => ExecEnd::Exited(code as u32),
        None => ExecEnd::Signalled("killed by a signal".into()),
    })
}
