//! Writing a flood back to disk while it comes: a thread syncs the journal's file every few
//! megabytes, so the sync that a step's end waits for (before the release moves on) finds
//! little left to write. It only ever adds syncs: every sync the writer does itself stays.

use std::fs::File;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

/// Bytes handed to the kernel between two background syncs.
pub const EVERY_BYTES: u64 = 8 * 1024 * 1024;

pub struct Writeback {
    /// `None` once dropped: the thread's loop ends.
    kick: Option<SyncSender<()>>,
    /// Joined on drop: the thread's copy of the file holds the journal's lock (flock) until
    /// it is closed, so a writer dropped has let go of the journal when its drop returns.
    thread: Option<std::thread::JoinHandle<()>>,
    /// A background sync's error: the writer's next sync reports it (on Linux, a write-back
    /// error is told to one sync of the open file only, which may be this thread's).
    error: Arc<Mutex<Option<String>>>,
    /// Written since the last kick.
    pending: u64,
}

impl Writeback {
    /// `None` when the file cannot be shared with a thread: the writer's own syncs still run.
    pub fn start(file: &File) -> Option<Self> {
        let file = file.try_clone().ok()?;
        let error = Arc::new(Mutex::new(None));
        let seen = error.clone();
        // One kick waits at most: a flood never queues syncs, the next covers what came.
        let (kick, kicks) = sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || {
                for () in kicks {
                    if let Err(e) = file.sync_data() {
                        seen.lock()
                            .expect("not poisoned")
                            .get_or_insert(e.to_string());
                    }
                }
            })
            .ok()?;
        Some(Writeback {
            kick: Some(kick),
            thread: Some(thread),
            error,
            pending: 0,
        })
    }

    /// `n` more bytes were written; true when the caller should hand its buffer to the kernel
    /// and [`Writeback::kick`].
    pub fn wrote(&mut self, n: usize) -> bool {
        self.pending += n as u64;
        self.pending >= EVERY_BYTES
    }

    /// Starts a background sync of what the kernel holds (unless one is already waiting).
    pub fn kick(&mut self) {
        self.pending = 0;
        if let Some(kick) = &self.kick {
            match kick.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
            }
        }
    }

    /// The first error a background sync met, once.
    pub fn error(&self) -> Option<String> {
        self.error.lock().expect("not poisoned").take()
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        // The channel closes, the thread ends after the sync it may be doing, its file closes.
        drop(self.kick.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn kicks_sync_in_the_background_and_never_queue() {
        let dir = tempfile::tempdir().expect("dir");
        let mut file = File::create(dir.path().join("j")).expect("file");
        let mut wb = Writeback::start(&file).expect("a thread");
        let chunk = vec![b'x'; 1024 * 1024];
        let mut kicks = 0;
        for _ in 0..20 {
            file.write_all(&chunk).expect("write");
            if wb.wrote(chunk.len()) {
                wb.kick();
                kicks += 1;
            }
        }
        assert_eq!(kicks, 20 * chunk.len() as u64 / EVERY_BYTES);
        file.sync_data().expect("sync");
        assert_eq!(wb.error(), None);
        let len = std::fs::metadata(dir.path().join("j")).expect("meta").len();
        assert_eq!(len, 20 * chunk.len() as u64);
    }
}
