//! Where the run loop reads its time: what it stamps events with and passes to the front end.
//! Neither the engine nor a front end reads a clock; the loop asks its `Clock`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::engine::Millis;

/// The loop's time.
#[derive(Debug, Clone)]
pub enum Clock {
    /// The machine's wall clock, never going back (a clock stepped back does not reorder the
    /// journal): what a live or resumed session stamps its events with.
    System(Arc<AtomicU64>),
    /// A recording's: the time of the last recorded event read, moved on since by the
    /// monotonic clock (so a followed session's countdowns move between its events). Events
    /// read from a journal keep their recorded time.
    Recorded(Arc<Mutex<(Millis, Option<Instant>)>>),
    /// A test's or a replay's: it shows what it was set to until it is moved (by the test, or
    /// by the records a replay plays, at whatever pace the viewer plays them).
    Manual(Arc<AtomicU64>),
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    pub fn system() -> Clock {
        Clock::System(Arc::new(AtomicU64::new(0)))
    }

    /// A recording's clock, before its first event.
    pub fn recorded() -> Clock {
        Clock::Recorded(Arc::new(Mutex::new((0, None))))
    }

    /// A clock that shows `start` until it is moved.
    pub fn manual(start: Millis) -> Clock {
        Clock::Manual(Arc::new(start.into()))
    }

    pub fn now(&self) -> Millis {
        match self {
            Clock::System(last) => {
                let now = now_ms();
                last.fetch_max(now, Ordering::SeqCst).max(now)
            }
            Clock::Recorded(read) => {
                let (at, when) = *read.lock().unwrap_or_else(|e| e.into_inner());
                let since = when.map_or(0, |w| w.elapsed().as_millis());
                at + u64::try_from(since).unwrap_or(u64::MAX - at)
            }
            Clock::Manual(at) => at.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock `ms` on (the others move by themselves).
    pub fn advance(&self, ms: Millis) {
        if let Clock::Manual(at) = self {
            at.fetch_add(ms, Ordering::SeqCst);
        }
    }

    /// A recorded event (or beat) at `at` was just read: a recording's clock and a manual one
    /// show it from now on (a rewind to an earlier record takes them back). The system clock
    /// is not moved by recordings.
    pub fn read_at(&self, at: Millis) {
        match self {
            Clock::Recorded(read) => {
                *read.lock().unwrap_or_else(|e| e.into_inner()) = (at, Some(Instant::now()));
            }
            Clock::Manual(now) => now.store(at, Ordering::SeqCst),
            Clock::System(_) => {}
        }
    }
}

/// The wall clock, in milliseconds since the epoch.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn a_recorded_clock_shows_the_last_event_read_and_a_manual_one_only_moves_when_told() {
        let recorded = Clock::recorded();
        recorded.read_at(5_000);
        assert!((5_000..6_000).contains(&recorded.now()));
        recorded.read_at(1_000);
        assert!(recorded.now() < 2_000, "a reset takes it back");
        let manual = Clock::manual(10);
        manual.advance(5);
        assert_eq!(manual.now(), 15);
        let system = Clock::system();
        assert!(system.now() <= system.now());
    }
}
