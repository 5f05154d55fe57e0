//! The bounded queue between the run loop and the delivery task. The loop pushes without ever
//! waiting; when the queue is full the oldest message goes, and is counted, so a slow webhook
//! never holds up the release (the same trade as a log tail's backlog).

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

/// A message ready to post: its body as the webhook takes it, and its title to name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub title: String,
    pub body: String,
}

#[derive(Debug, Default)]
struct Inner {
    queue: VecDeque<Letter>,
    /// The letter being posted, and its attempts so far.
    in_flight: Option<(Letter, u32)>,
    dropped: u64,
    closed: bool,
}

#[derive(Debug)]
pub struct Outbox {
    inner: Mutex<Inner>,
    capacity: usize,
    ready: Notify,
}

impl Outbox {
    pub fn new(capacity: usize) -> Self {
        Outbox {
            inner: Mutex::default(),
            capacity: capacity.max(1),
            ready: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding it leaves plain data: go on with it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `letter` at once; returns the oldest one when it had to go to make room.
    pub fn push(&self, letter: Letter) -> Option<Letter> {
        let dropped = {
            let mut inner = self.lock();
            let dropped = (inner.queue.len() >= self.capacity)
                .then(|| inner.queue.pop_front())
                .flatten();
            if dropped.is_some() {
                inner.dropped += 1;
            }
            inner.queue.push_back(letter);
            dropped
        };
        self.ready.notify_one();
        dropped
    }

    /// Messages dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// The next letter to post, oldest first, marked in flight; `None` once closed and empty.
    pub async fn next(&self) -> Option<Letter> {
        loop {
            {
                let mut inner = self.lock();
                if let Some(letter) = inner.queue.pop_front() {
                    inner.in_flight = Some((letter.clone(), 0));
                    return Some(letter);
                }
                if inner.closed {
                    return None;
                }
            }
            self.ready.notified().await;
        }
    }

    /// One more attempt at the letter in flight.
    pub fn attempt(&self) {
        if let Some((_, attempts)) = &mut self.lock().in_flight {
            *attempts += 1;
        }
    }

    /// The letter in flight is delivered, or its failure reported.
    pub fn done(&self) {
        self.lock().in_flight = None;
    }

    /// No more letters: the task posts what is queued, then ends.
    pub fn close(&self) {
        self.lock().closed = true;
        // `notify_one` keeps a permit: a task not yet waiting still sees it.
        self.ready.notify_one();
    }

    /// What was never delivered when the task had to be stopped: the letter in flight (with
    /// its attempts) and every one still queued.
    pub fn undelivered(&self) -> Vec<(Letter, u32)> {
        let mut inner = self.lock();
        let mut out: Vec<(Letter, u32)> = inner.in_flight.take().into_iter().collect();
        out.extend(inner.queue.drain(..).map(|l| (l, 0)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(n: u32) -> Letter {
        Letter {
            title: format!("m{n}"),
            body: String::new(),
        }
    }

    #[tokio::test]
    async fn a_full_outbox_drops_the_oldest_and_counts_it() {
        let outbox = Outbox::new(2);
        assert_eq!(outbox.push(letter(1)), None);
        assert_eq!(outbox.push(letter(2)), None);
        assert_eq!(outbox.push(letter(3)), Some(letter(1)));
        assert_eq!(outbox.dropped(), 1);
        assert_eq!(outbox.next().await, Some(letter(2)));
        outbox.attempt();
        outbox.close();
        assert_eq!(outbox.next().await, Some(letter(3)));
        assert_eq!(outbox.undelivered(), vec![(letter(3), 0)]);
        assert_eq!(outbox.next().await, None);
    }

    #[tokio::test]
    async fn the_letter_in_flight_is_undelivered_until_done() {
        let outbox = Outbox::new(4);
        outbox.push(letter(1));
        outbox.push(letter(2));
        assert_eq!(outbox.next().await, Some(letter(1)));
        outbox.attempt();
        outbox.attempt();
        assert_eq!(outbox.undelivered(), vec![(letter(1), 2), (letter(2), 0)]);
        outbox.push(letter(3));
        assert_eq!(outbox.next().await, Some(letter(3)));
        outbox.done();
        assert!(outbox.undelivered().is_empty());
    }
}
