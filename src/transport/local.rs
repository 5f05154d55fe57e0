//! `transport = "local"`: commands run by this machine's `sh`.

use std::process::Stdio;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::ssh::ExecEnd;
use crate::engine::Stream;

pub async fn exec(command: &str, chunks: super::Chunks) -> Result<ExecEnd, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
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
