//! One narrator: a recorded session read by the report, the notifications and the replay's
//! timeline tells each decision, failure and outcome in the very sentence the narrator gives
//! (and headless prints, after its mark); a surface only adds its formatting.

use gonogo::engine::{Event, EventKind, Release};
use gonogo::narrate::{self, Seen, Told, Topic};

const DEMO: &str = include_str!("../assets/demo-session.jsonl");

/// What the narrator tells of every event of `events`, in order.
fn told(events: &[Event]) -> Vec<Told> {
    let mut release = Release::default();
    let mut before = Seen::of(&release);
    let mut out = Vec::new();
    for event in events {
        release.apply(event);
        out.extend(narrate::tell(event, &before, &release));
        before = Seen::of(&release);
    }
    out
}

fn matters(t: &Told) -> bool {
    matches!(
        t.topic,
        Topic::Decision { .. } | Topic::RunFailed | Topic::RunUnknown | Topic::Outcome(_)
    )
}

/// The demo's session, and the same with its last check failing on one host and the
/// operator rolling back: decisions, a failure and two outcomes.
fn sessions() -> Vec<Vec<Event>> {
    let journal = gonogo::journal::read_str(DEMO).expect("the demo's session");
    let events: Vec<Event> = journal.events().cloned().collect();
    let mut failing = Vec::new();
    for event in &events {
        if let EventKind::Exited { run, status: 0 } = &event.kind
            && run.step == 1
            && run.target == "web-2"
        {
            failing.push(Event::new(
                event.at,
                EventKind::Exited {
                    run: run.clone(),
                    status: 4,
                },
            ));
            failing.push(Event::new(
                event.at + 1,
                EventKind::Decided {
                    by: "ana".into(),
                    decision: gonogo::engine::Decision::Abort,
                    note: Some("disk full \x1b[2J".into()),
                    actor: gonogo::engine::Actor::Person,
                },
            ));
            break;
        }
        failing.push(event.clone());
    }
    vec![events, failing]
}

#[test]
fn the_report_the_notifications_and_the_replay_tell_what_the_narrator_tells() {
    for events in sessions() {
        let told: Vec<Told> = told(&events).into_iter().filter(matters).collect();
        assert!(
            told.iter()
                .any(|t| matches!(t.topic, Topic::Decision { .. })),
            "{told:?}"
        );
        assert!(
            told.iter().any(|t| matches!(t.topic, Topic::Outcome(_))),
            "{told:?}"
        );
        // The report's timeline: the sentence itself.
        let history = gonogo::report::history::fold(events.iter());
        let timeline: Vec<&str> = history.moments.iter().map(|m| m.text.as_str()).collect();
        for t in &told {
            assert!(
                timeline.contains(&t.text.as_str()),
                "{:?} not in {timeline:#?}",
                t.text
            );
        }
        // The notifications: after the release's name, where they tell it.
        let mut herald = gonogo::notify::Herald::default();
        let mut release = Release::default();
        let mut sent = Vec::new();
        for event in &events {
            release.apply(event);
            sent.extend(herald.on_event(event, &release).into_iter().map(|m| m.text));
        }
        for t in told
            .iter()
            .filter(|t| matches!(t.topic, Topic::RunFailed | Topic::RunUnknown))
        {
            assert!(
                sent.iter().any(|m| m.ends_with(&format!(": {}", t.text))),
                "{:?} in {sent:#?}",
                t.text
            );
        }
        for t in told.iter().filter(|t| {
            matches!(
                t.subject,
                Some(narrate::Subject::Question(
                    gonogo::engine::Question::Gate { .. } | gonogo::engine::Question::FinalGate
                ))
            )
        }) {
            assert!(
                sent.iter().any(|m| m.ends_with(&format!(": {}", t.text))),
                "{:?} in {sent:#?}",
                t.text
            );
        }
        // The replay's marks: the same sentence as each label.
        let journal = journal_of(&events);
        let player = gonogo::replay::Player::read(journal);
        assert!(!player.marks.is_empty());
        for mark in &player.marks {
            let label = mark.label.trim_start_matches("↯ interrupted: ");
            assert!(timeline.contains(&label), "{label:?} not in {timeline:#?}");
        }
    }
}

#[test]
fn what_a_person_typed_is_told_printable() {
    let failing = sessions().pop().expect("the failing session");
    let told = told(&failing);
    let abort = told
        .iter()
        .find(|t| t.text.contains("disk full"))
        .expect("the abort told");
    assert_eq!(
        abort.text,
        "decided by ana at step 2. At least 100 MB free for the release: abort (disk full \\e[2J)"
    );
    let failed = told
        .iter()
        .find(|t| t.topic == Topic::RunFailed)
        .expect("the failure told");
    assert!(
        failed.text.contains(" failed on web-2: exit 4 ("),
        "{}",
        failed.text
    );
}

/// A journal of `events`, as the writer would have recorded them.
fn journal_of(events: &[Event]) -> gonogo::journal::Journal {
    let first = events.first().map_or(0, |e| e.at);
    let text: String = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut v = serde_json::to_value(e).expect("JSON");
            let kind = v["event"].as_str().unwrap_or_default().to_string();
            let data = {
                let mut d = v.as_object_mut().expect("object").clone();
                d.remove("event");
                d.remove("at");
                serde_json::Value::Object(d)
            };
            let line = serde_json::json!({
                "seq": i, "t": (e.at - first) * 1000,
                "ts": gonogo::journal::timestamp(e.at), "type": kind, "data": data,
            });
            format!("{line}\n")
        })
        .collect();
    let header = DEMO.lines().next().unwrap_or_default();
    gonogo::journal::read_str(&format!("{header}\n{text}")).expect("a journal")
}
