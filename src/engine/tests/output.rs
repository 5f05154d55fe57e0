//! The output the cockpit shows: the steps' lines, and the release's own lines between them
//! (headings, commands, how each run ended, retries, link drops).

use super::*;

/// The output pane keeps a retried failure and says what happened to the link meanwhile.
#[test]
fn the_output_tells_attempts_and_link_drops_apart() {
    let profile = TWO_HOSTS.replace(
        "check = \"true\"",
        "check = \"true\"\nretries = 1\nretry_delay = \"2s\"",
    );
    let mut run = Run::going(&profile);
    run.exit(0, "a", 1, 1);
    run.send(EventKind::ConnectionLost {
        target: "b".into(),
        error: "broken pipe".into(),
    });
    run.send(EventKind::Reconnected { target: "b".into() });
    run.send(EventKind::TimerFired {
        timer: Timer::Retry {
            run: run_id(StepList::Main, 0, "a", 2),
        },
    });
    let pane: Vec<String> = run
        .release
        .output
        .iter()
        .skip(2)
        .map(|l| format!("{}: {}", l.run.target, l.line))
        .collect();
    assert_eq!(
        pane,
        [
            "a: failed after 1.0s: exit 1; retrying",
            "b: connection lost (broken pipe); reconnecting",
            "b: reconnected after 1.0s",
            "a: attempt 2",
        ]
    );
}

#[test]
fn expect_must_match_some_output_line() {
    let profile = TWO_HOSTS.replace(
        "check = \"true\"",
        "check = \"curl\"\nexpect = 'HTTP/1.1 200'",
    );
    let mut run = Run::going(&profile);
    let out = |target: &str, line: &str| EventKind::Output {
        run: run_id(StepList::Main, 0, target, 1),
        stream: Stream::Stdout,
        lines: vec![line.into()],
    };
    run.send(out("a", "HTTP/1.1 200 OK"));
    run.send(out("b", "HTTP/1.1 502 Bad Gateway"));
    run.exit(0, "a", 1, 0);
    run.exit(0, "b", 1, 0);
    assert_eq!(run.release.steps[0].targets[0].status, RunStatus::Passed);
    assert_eq!(
        run.release.steps[0].targets[1].failure.as_deref(),
        Some("expected output /HTTP/1.1 200/ not seen")
    );
    // The output reads as the session went: the step's heading and command, what each host
    // printed, and how each run ended.
    let pane: Vec<(String, &str)> = run
        .release
        .output
        .iter()
        .map(|l| (l.run.target.clone(), l.line.as_str()))
        .collect();
    let heading = pane[0].1;
    assert!(heading.starts_with("1/"), "{pane:?}");
    assert_eq!(
        pane[1..],
        [
            (String::new(), "curl"),
            ("a".into(), "HTTP/1.1 200 OK"),
            ("b".into(), "HTTP/1.1 502 Bad Gateway"),
            ("a".into(), "ok after 3.0s"),
            (
                "b".into(),
                "failed after 4.0s: expected output /HTTP/1.1 200/ not seen"
            ),
        ]
    );
}
