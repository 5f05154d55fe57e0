//! `transport = "local"`: commands run by this machine's `sh`.

use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::ssh::ExecEnd;
use crate::engine::Stream;

/// Runs `sh -s` with `script` on its stdin: the script is never in a process's arguments.
pub async fn exec(script: &[u8], chunks: super::Chunks) -> Result<ExecEnd, String> {
    let mut child = Command::new("sh")
        .arg("-s")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(script)
        .await
        .map_err(|e| format!("cannot pass the script to sh: {e}"))?;
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
    let status = child.wait().await.map_err(|e| e.to_string())?;
    Ok(match status.code() {
        Some(code) => ExecEnd::Exited(code as u32),
        None => ExecEnd::Signalled("killed by a signal".into()),
    })
}
