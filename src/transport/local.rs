//! `transport = "local"`: commands run by this machine's `sh`.

use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::ssh::ExecEnd;
use crate::engine::Stream;

/// Where a local target's commands run when it is not simply this machine's account: a
/// simulated host (`gonogo demo`) has its own home directory, and its own loopback ports
/// mapped to the ports its services really listen on.
#[derive(Debug, Clone, Default)]
pub struct LocalPlace {
    /// `HOME` and the working directory of every command run on the target.
    pub home: std::path::PathBuf,
    /// `127.0.0.1:PORT` on the target is `127.0.0.1:MAPPED` here.
    pub ports: Vec<(u16, u16)>,
}

impl LocalPlace {
    /// The port here that `port` on the target's loopback is.
    pub fn port(&self, host: &str, port: u16) -> u16 {
        let loopback = matches!(host, "127.0.0.1" | "localhost" | "::1");
        self.ports
            .iter()
            .find(|(from, _)| loopback && *from == port)
            .map_or(port, |(_, to)| *to)
    }
}

/// `sh -s` for a local target: in its place's home when it has one.
pub fn shell(place: Option<&LocalPlace>) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-s");
    if let Some(place) = place {
        sh.env("HOME", &place.home).current_dir(&place.home);
    }
    sh
}

/// Runs `sh -s` with `script` on its stdin: the script is never in a process's arguments.
pub async fn exec(
    place: Option<&LocalPlace>,
    script: &[u8],
    chunks: super::Chunks,
) -> Result<ExecEnd, super::error::ExecError> {
    let mut child = shell(place)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(super::error::ExecError::Spawn)?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(script)
        .await
        .map_err(super::error::ExecError::Feed)?;
    drop(stdin);
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let (mut out_buf, mut err_buf) = (vec![0u8; 64 * 1024], vec![0u8; 16 * 1024]);
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        tokio::select! {
            n = out.read(&mut out_buf), if out_open => match n {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => { let _ = chunks.send((Stream::Stdout, out_buf[..n].to_vec())).await; }
            },
            n = err.read(&mut err_buf), if err_open => match n {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => { let _ = chunks.send((Stream::Stderr, err_buf[..n].to_vec())).await; }
            },
        }
    }
    let status = child.wait().await.map_err(super::error::ExecError::Wait)?;
    Ok(match status.code() {
        Some(code) => ExecEnd::Exited(code as u32),
        None => ExecEnd::Signalled("killed by a signal".into()),
    })
}
