//! Reading a journal once, through the run loop with the drivers off, before it is played:
//! the marks on the timeline (what the narrator tells of gates, failures, rollbacks and
//! resumes) and a keyframe every so many records (the release as the loop had it there, taken
//! as the loop shows an event).

use std::sync::Arc;

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
        let lines: Vec<Arc<Line>> = journal.lines.into_iter().map(Arc::new).collect();
        let mut indexing = Indexing::new(&lines);
        let (records_tx, records) = mpsc::channel(1024);
        let (_viewer, inputs) = mpsc::channel(1);
        let feed = async {
            for line in &lines {
                if records_tx.send(Record::Line(line.clone())).await.is_err() {
                    return;
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
        let Indexing {
            keyframes, marks, ..
        } = indexing;
        Player::new(lines, keyframes, marks)
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

/// The index's front end: told each event and view record as the loop handles it.
struct Indexing<'a> {
    lines: &'a [Arc<Line>],
    /// How many records the loop has handled.
    read: usize,
    view: RecordedView,
    /// The release as the last change of state left it, for the narrator.
    before: Seen,
    last: Option<(u64, Millis)>,
    keyframes: Vec<Keyframe>,
    marks: Vec<Mark>,
}

impl<'a> Indexing<'a> {
    fn new(lines: &'a [Arc<Line>]) -> Self {
        Indexing {
            lines,
            read: 0,
            view: RecordedView::default(),
            before: Seen::of(&Release::default()),
            last: None,
            keyframes: vec![Keyframe {
                next: 0,
                rewind: Rewind::default(),
                last: None,
            }],
            marks: Vec::new(),
        }
    }
}

impl Frontend for Indexing<'_> {
    fn show(&mut self, event: &Event, release: &Release) {
        let t = self.lines.get(self.read).map_or(0, |l| l.t);
        self.read += 1;
        self.last = Some((t, event.at));
        if narrate::changes_state(event) {
            let told = narrate::tell(event, &self.before, release);
            self.marks
                .extend(told.into_iter().filter_map(|told| mark_of(told, t)));
            self.before = Seen::of(release);
        }
        // A keyframe when one is due: the release as it stands before the next record.
        if self
            .keyframes
            .last()
            .is_none_or(|k| self.read - k.next >= KEYFRAME_EVERY)
        {
            self.keyframes.push(Keyframe {
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
