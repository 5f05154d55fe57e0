//! Reading a journal once, through the run loop with the drivers off, as it is played:
//! the marks on the timeline (what the narrator tells of gates, failures, rollbacks and
//! resumes) and a keyframe every so many records (the release as the loop had it there, taken
//! as the loop shows an event).

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::player::{KEYFRAME_EVERY, Keyframe, Mark, MarkKind, Player};
use crate::drivers::DriversOff;
use crate::engine::{Event, EventKind, Millis, Question, Release};
use crate::journal::{Journal, Line, RecordedView};
use crate::narrate::{self, Seen, Subject, Told, Topic};
use crate::runtime::{self, Clock, Frontend, Input, Record, Rewind, Source};

impl Player {
    /// Reads `journal` through the loop once (marks and keyframes); playback then starts at the
    /// beginning.
    pub async fn index(journal: Journal) -> Player {
        let player = Arc::new(Mutex::new(Player::opening(0)));
        read_through(&player, std::iter::once(journal), || {}).await;
        let player = Arc::try_unwrap(player).unwrap_or_else(|_| unreachable!("read through"));
        player.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// [`Player::index`], for a caller outside any runtime.
    pub fn read(journal: Journal) -> Player {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the replay")
            .block_on(Player::index(journal))
    }
}

/// Reads a journal's `pieces` into `player`, in order, and through the loop once: each piece's
/// records go to the player (it can play them at once), then through the loop, whose front end
/// hands the player a keyframe every so many records and the timeline's marks. `piece_read` is
/// told after each piece is in the player; the player is whole at the end.
pub(super) async fn read_through(
    player: &Arc<Mutex<Player>>,
    pieces: impl Iterator<Item = Journal>,
    mut piece_read: impl FnMut(),
) {
    let lock = || player.lock().unwrap_or_else(|e| e.into_inner());
    let mut indexing = Indexing::new(player);
    let (records_tx, records) = mpsc::channel(1024);
    let (_viewer, inputs) = mpsc::channel(1);
    let feed = async {
        for piece in pieces {
            let lines: Vec<Arc<Line>> = piece.lines.into_iter().map(Arc::new).collect();
            {
                let mut player = lock();
                player.read_more(lines.iter().cloned());
                player.warnings.extend(piece.warnings);
                player.unknown += piece.unknown;
            }
            piece_read();
            for line in lines {
                if records_tx.send(Record::Line(line)).await.is_err() {
                    return;
                }
            }
        }
        drop(records_tx);
    };
    let source = Source::Recorded { records, inputs };
    let play = runtime::play(
        DriversOff::default(),
        &mut indexing,
        source,
        Clock::manual(0),
    );
    tokio::join!(feed, play);
    lock().read_all();
}

/// The index's front end: told each event and view record as the loop handles it.
struct Indexing<'a> {
    player: &'a Mutex<Player>,
    /// How many records the loop has handled.
    read: usize,
    view: RecordedView,
    /// The release as the last change of state left it, for the narrator.
    before: Seen,
    last: Option<(u64, Millis)>,
}

impl<'a> Indexing<'a> {
    fn new(player: &'a Mutex<Player>) -> Self {
        Indexing {
            player,
            read: 0,
            view: RecordedView::default(),
            before: Seen::of(&Release::default()),
            last: None,
        }
    }
}

impl Frontend for Indexing<'_> {
    fn show(&mut self, event: &Event, release: &Release) {
        let mut player = self.player.lock().unwrap_or_else(|e| e.into_inner());
        let t = player.time_of(self.read).unwrap_or(0);
        self.read += 1;
        self.last = Some((t, event.at));
        if narrate::changes_state(event) {
            let told = narrate::tell(event, &self.before, release);
            player
                .marks
                .extend(told.into_iter().filter_map(|told| mark_of(told, t)));
            self.before = Seen::of(release);
        }
        // A keyframe when one is due: the release as it stands before the next record.
        if self.read - player.last_keyframe() >= KEYFRAME_EVERY {
            player.keyframe(Keyframe {
                next: self.read,
                rewind: Rewind {
                    release: release.clone(),
                    view: self.view.clone(),
                    at: Some(event.at),
                },
                last: self.last,
            });
        }
    }

    fn input(&mut self, _input: Input, _release: &Release, _now: Millis) -> Option<EventKind> {
        None
    }

    fn flush(&mut self, _release: &Release, _now: Millis) {}

    fn recorded_view(&mut self, view: &RecordedView) {
        self.read += 1;
        self.view = view.clone();
    }
}

/// Whether what the narrator told is worth a mark on the timeline: a gate answered, a
/// rollback proposed or decided, a run failed, gonogo interrupted.
fn mark_of(told: Told, t: u64) -> Option<Mark> {
    let kind = match (told.topic, &told.subject) {
        (Topic::Decision { rolls_back: true }, _) => MarkKind::Rollback,
        (
            Topic::Decision { .. },
            Some(Subject::Question(
                Question::Gate { .. } | Question::FinalGate | Question::Redeploy { .. },
            )),
        ) => MarkKind::Gate,
        (Topic::RunFailed | Topic::RunRetrying | Topic::RunUnknown, _) => MarkKind::Failure,
        (Topic::RollbackProposed | Topic::AutoRollback, _) => MarkKind::Proposal,
        (Topic::Interrupted, _) => {
            let label = format!("↯ interrupted: {}", told.text);
            return Some(Mark {
                t,
                kind: MarkKind::Resumed,
                label,
            });
        }
        _ => return None,
    };
    Some(Mark {
        t,
        kind,
        label: told.text,
    })
}
