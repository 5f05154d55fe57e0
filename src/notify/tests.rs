//! What the team is told, decided from event sequences: no webhook, no clock.

use super::*;
use crate::engine::{Decision, RunId, StepList};
use crate::profile::{self, Purpose, Source};

const PROFILE: &str = r#"version = 1
[release]
name = "shop"
environment = "production"
version = "v1.2.1"

[targets.web-1]
transport = "local"

[[step]]
gate = "Go for production?"

[[step]]
name = "Migrate"
run = "alembic upgrade head"
on = "web-1"

[[rollback]]
name = "Undo"
run = "git checkout -"
on = "web-1"
"#;

/// A release fed event by event, one second apart, with what the herald said at each.
struct Told {
    release: Release,
    herald: Herald,
    at: Millis,
    said: Vec<Message>,
}

impl Told {
    fn new() -> Self {
        Told::with(PROFILE)
    }

    fn with(profile: &str) -> Self {
        let (p, diags) = profile::load(&Source::new("t.toml", profile));
        let p = p.unwrap_or_else(|| panic!("{diags:?}"));
        let mut diags = profile::Diagnostics::default();
        let vars = profile::resolve(&p, &[], |_| None, Purpose::Run, &mut diags);
        let mut told = Told {
            release: Release::default(),
            herald: Herald::default(),
            at: 1_790_000_000_000,
            said: Vec::new(),
        };
        told.send(EventKind::Started {
            session: "s1".into(),
            operator: "ana".into(),
            plan: Box::new(profile::release_plan(&p, &vars)),
        });
        told
    }

    fn send(&mut self, kind: EventKind) {
        self.at += 1000;
        let event = Event::new(self.at, kind);
        self.release.apply(&event);
        let said = self.herald.on_event(&event, &self.release);
        self.said.extend(said);
    }

    fn decide(&mut self, decision: Decision, note: Option<&str>) {
        self.send(EventKind::Decided {
            by: "ana".into(),
            decision,
            note: note.map(str::to_string),
            actor: crate::engine::Actor::Person,
        });
    }

    fn kinds(&self) -> Vec<MessageKind> {
        self.said.iter().map(|m| m.kind).collect()
    }
}

fn run(list: StepList, step: usize) -> RunId {
    RunId {
        list,
        step,
        target: "web-1".into(),
        attempt: 1,
    }
}

fn to_the_gate() -> Told {
    let mut told = Told::new();
    told.send(EventKind::Connected {
        target: "web-1".into(),
    });
    told.send(EventKind::LockTaken {
        target: "web-1".into(),
    });
    told
}

#[test]
fn a_failed_release_is_told_start_gate_failure_rollback_end_once_each() {
    let mut told = to_the_gate();
    told.decide(Decision::Go, Some("dashboards green"));
    told.send(EventKind::Exited {
        run: run(StepList::Main, 1),
        status: 3,
    });
    told.decide(Decision::Rollback, Some("migration broke"));
    told.send(EventKind::Exited {
        run: run(StepList::Rollback, 0),
        status: 0,
    });
    told.send(EventKind::LocksReleased {
        released: vec!["web-1".into()],
        kept: Vec::new(),
    });
    assert_eq!(
        told.kinds(),
        [
            MessageKind::Started,
            MessageKind::GateDecided,
            MessageKind::StepFailed,
            MessageKind::RollingBack,
            MessageKind::Ended,
        ],
        "{:#?}",
        told.said
    );
    let text = |i: usize| told.said[i].text.as_str();
    assert!(
        text(0).starts_with("🚀 ana started shop v1.2.1 to production"),
        "{}",
        text(0)
    );
    assert_eq!(
        text(1),
        "🟢 shop v1.2.1 to production: decided by ana at gate \"Go for production?\": go (dashboards green)"
    );
    assert_eq!(told.said[1].title, "gate \"Go for production?\": go");
    assert_eq!(
        text(2),
        "❌ shop v1.2.1 to production: step 2. Migrate failed on web-1: exit 3 (1.0s)"
    );
    assert_eq!(
        text(3),
        "⚠️ production rollback starting: shop v1.2.1\nReason: decided by ana at step 2. Migrate: rollback (migration broke)\n- web-1: Undo\n- not undone (no undo): Migrate on web-1"
    );
    assert!(
        text(4).starts_with("⚠️ production rollback executed: shop v1.2.1"),
        "{}",
        text(4)
    );
    assert!(
        text(4).contains("Rolled back with: Undo on web-1 (done)"),
        "{}",
        text(4)
    );
    assert_eq!(told.said[4].title, "release ended (rolled back)");
}

/// A rollback from a proposal says why with the values the rule held at, in its unit and each
/// with its host.
#[test]
fn a_rollback_from_a_proposal_gives_its_values_in_the_rules_unit_per_host() {
    let watched = format!(
        "{PROFILE}\n[metrics.app]\nurl = \"http://127.0.0.1:8000/metrics\"\nvia = \"web-1\"\nerrors = 'http_requests_total{{status=~\"5..\"}}'\nrequests = \"http_requests_total\"\n\n[watch]\nduration = \"10m\"\nrollback_on = [\"error_ratio > 5% for 10s\"]\n"
    );
    let mut told = Told::with(&watched);
    for kind in [
        EventKind::Connected {
            target: "web-1".into(),
        },
        EventKind::LockTaken {
            target: "web-1".into(),
        },
    ] {
        told.send(kind);
    }
    told.decide(Decision::Go, None);
    told.send(EventKind::Exited {
        run: run(StepList::Main, 1),
        status: 0,
    });
    for _ in 0..15 {
        told.send(EventKind::MetricsSampled {
            source: "app".into(),
            via: Some("web-1".into()),
            reading: crate::engine::watch::MetricsReading {
                error_ratio: Some(0.1059),
                request_rate: Some(40.0),
                ..Default::default()
            },
        });
    }
    assert!(
        told.release.question.is_some(),
        "{:?}",
        told.release.question
    );
    told.decide(Decision::Rollback, None);
    let rolling = told
        .said
        .iter()
        .find(|m| m.kind == MessageKind::RollingBack)
        .expect("told");
    assert!(
        rolling
            .text
            .contains("\"error_ratio > 5% for 10s\" held during the watch (web-1 10.59%)"),
        "{}",
        rolling.text
    );
}

#[test]
fn a_status_update_says_where_the_release_stands_in_seed_003s_form() {
    let mut told = to_the_gate();
    assert!(told.herald.status(&told.release, told.at).is_some());
    told.decide(Decision::Go, None);
    let now = told.at + 65_000;
    let update = told.herald.status(&told.release, now).expect("running");
    assert_eq!(update.kind, MessageKind::Status);
    assert_eq!(
        update.text,
        "⏳ shop v1.2.1 to production: in progress for 1m 8s\n\
         Now: step 2. Migrate running on web-1 (2 of 2)\n\
         \n\
         Changes:\n\
         - Migrate on web-1: still running\n\
         \n\
         Validation:\n\
         - Checklist: 1 of 2 steps passed\n\
         \n\
         Monitoring:\n\
         - no health checks, metrics or logs in this profile\n\
         \n\
         Operator: ana\n\
         Session: s1"
    );
    told.send(EventKind::Exited {
        run: run(StepList::Main, 1),
        status: 0,
    });
    // Ended: the end message says it all.
    assert_eq!(told.release.outcome, Some(crate::engine::Outcome::Released));
    assert_eq!(told.herald.status(&told.release, told.at), None);
    assert_eq!(told.said.last().map(|m| m.kind), Some(MessageKind::Ended));
}

#[test]
fn a_retried_failure_is_told_once_it_fails_for_good() {
    let mut told = to_the_gate();
    told.decide(Decision::Go, None);
    told.send(EventKind::RunLost {
        run: run(StepList::Main, 1),
        error: "link down 2m".into(),
    });
    let last = told.said.last().expect("told");
    assert_eq!(last.kind, MessageKind::StepFailed);
    assert!(
        last.text
            .contains("outcome unknown: lost track of it (link down 2m)"),
        "{}",
        last.text
    );
    let before = told.said.len();
    // The same run said again tells nothing new.
    told.send(EventKind::RunLost {
        run: run(StepList::Main, 1),
        error: "link down 2m".into(),
    });
    assert_eq!(told.said.len(), before);
}

#[test]
fn a_letter_masks_secrets_and_takes_the_format_asked_for() {
    let told = to_the_gate();
    let mut message = told.said[0].clone();
    message
        .text
        .push_str("\ntoken hunter2 and https://hooks.example.com/T0/B0/x");
    let redactor = Redactor::new(["hunter2", "https://hooks.example.com/T0/B0/x"]);
    let slack = letter(&message, NotifyFormat::Slack, &redactor);
    let body: serde_json::Value = serde_json::from_str(&slack.body).expect("JSON");
    let text = body["text"].as_str().expect("text");
    assert!(text.ends_with("\ntoken •••• and ••••"), "{text}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(1));
    let json = letter(&message, NotifyFormat::Json, &redactor);
    let body: serde_json::Value = serde_json::from_str(&json.body).expect("JSON");
    assert_eq!(body["event"], "started");
    assert_eq!(body["release"], "shop");
    assert_eq!(body["version"], "v1.2.1");
    assert_eq!(body["environment"], "production");
    assert_eq!(body["operator"], "ana");
    assert_eq!(body["time"], "2026-09-21T14:13:21.000Z");
    assert!(!json.body.contains("hunter2") && !json.body.contains("hooks.example"));
}

#[tokio::test]
async fn a_webhook_that_holds_every_request_makes_the_queue_drop_its_oldest_never_wait() {
    // Takes connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let settings = Settings {
        url: format!("http://127.0.0.1:{port}/hook"),
        format: NotifyFormat::Slack,
        every: None,
    };
    let mut notifier = Notifier::start(settings, Arc::new(Redactor::new(["x"]))).expect("start");
    let told = to_the_gate();
    let mut dropped = Vec::new();
    for i in 0..(QUEUE as u64 + 5) {
        dropped.extend(notifier.status(&told.release, told.at + i));
    }
    // One in flight, QUEUE waiting: the rest pushed the oldest out, each said.
    assert!((4..=5).contains(&dropped.len()), "{dropped:#?}");
    for kind in &dropped {
        let EventKind::NotifyFailed {
            message, attempts, ..
        } = kind
        else {
            panic!("{kind:?}");
        };
        assert_eq!((message.as_str(), *attempts), ("status update", 0));
    }
}

#[test]
fn a_resume_tells_the_team_what_was_lost() {
    let mut told = Told::new();
    told.send(EventKind::Connected {
        target: "web-1".into(),
    });
    told.send(EventKind::LockTaken {
        target: "web-1".into(),
    });
    let stopped = told.at;
    told.at += 154_000;
    told.send(EventKind::Resumed {
        by: "bo@desk".into(),
        unattended: None,
        stopped_at: Some(stopped),
        stopped_t: Some(3_000_000),
    });
    let resumed = told.said.last().expect("a message");
    assert_eq!(resumed.kind, MessageKind::Resumed);
    assert!(
        resumed.text.ends_with(
            "(gonogo stopped at 14:13:23Z (no end record), resumed at 14:15:58Z by bo@desk, \
             2m35s later)"
        ),
        "{}",
        resumed.text
    );
}

/// The profile with `current` and `changes` (what ships is found after the start), and a
/// read-only check before the gate.
fn ships_profile(first: &str) -> String {
    PROFILE
        .replace(
            "version = \"v1.2.1\"",
            "version = \"v1.2.1\"\ncurrent = \"cat VERSION\"\nchanges = \"git log --oneline {{previous}}..v1.2.1\"",
        )
        .replacen("[[step]]", &format!("[[step]]\nname = \"First\"\n{first} = \"true\"\non = \"web-1\"\n\n[[step]]"), 1)
}

fn locked_with_ships(first: &str) -> Told {
    let mut told = Told::with(&ships_profile(first));
    told.send(EventKind::Connected {
        target: "web-1".into(),
    });
    told.send(EventKind::LockTaken {
        target: "web-1".into(),
    });
    told
}

#[test]
fn the_start_waits_for_what_ships_and_carries_the_first_ten_changes() {
    let mut told = locked_with_ships("check");
    assert!(told.said.is_empty(), "held: {:#?}", told.said);
    told.send(EventKind::VersionFound {
        target: "web-1".into(),
        version: Some("v1.2.0".into()),
        error: None,
    });
    assert!(
        told.said.is_empty(),
        "the changes come next: {:#?}",
        told.said
    );
    let lines: Vec<String> = (1..=12).map(|n| format!("c{n:02} change {n}")).collect();
    told.send(EventKind::ChangesFound {
        found: crate::engine::ships::Found {
            lines,
            total: 12,
            error: None,
        },
    });
    assert_eq!(told.kinds(), [MessageKind::Started]);
    let text = &told.said[0].text;
    assert!(
        text.contains("\nWhat ships: v1.2.0 → v1.2.1 · 12 changes\nChanges:\n- c01 change 1\n"),
        "{text}"
    );
    assert!(text.contains("\n- c10 change 10\n… 2 more"), "{text}");
    assert!(!text.contains("c11"), "{text}");
}

#[test]
fn a_held_start_goes_before_a_question_or_the_end() {
    // The change list is slow: a step that changes a host starts first, and the start goes
    // with what is known.
    let mut told = locked_with_ships("run");
    told.send(EventKind::VersionFound {
        target: "web-1".into(),
        version: Some("v1.2.0".into()),
        error: None,
    });
    assert_eq!(
        told.kinds(),
        [MessageKind::Started],
        "a run changes the host"
    );
    assert!(
        told.said[0].text.contains("What ships: v1.2.0 → v1.2.1"),
        "{:#?}",
        told.said
    );
    // A host that cannot say: started, then refused.
    let mut told = locked_with_ships("check");
    told.send(EventKind::VersionFound {
        target: "web-1".into(),
        version: None,
        error: Some("`current` exited 1".into()),
    });
    assert_eq!(told.kinds(), [MessageKind::Started, MessageKind::Ended]);
}
