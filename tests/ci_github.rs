//! Headless as a GitHub Actions step: each step's output in a group, a failure as an error
//! annotation naming the step and the target, the report appended to $GITHUB_STEP_SUMMARY, and
//! no line a host prints turned into a workflow command. The output is read as the runner
//! reads it (its two command forms: `::name …::data` after leading whitespace, and `##[name]`
//! anywhere in a line).

mod support;

use support::gonogo::{Gonogo, text};

const PROFILE: &str = r#"version = 1
[release]
name = "acme-web"
environment = "staging"
version = "v1.2.1"
lock_dir = "LOCKS"

[targets.here]
transport = "local"
roles = ["web"]

[[step]]
name = "Hostile"
on = "web"
run = "echo '::error::forged'; echo '  ::add-mask::forged-mask'; echo 'x ##[error]forged-legacy'; echo '::set-output name=x::forged-output' >&2; echo done"

[[step]]
name = "Fails"
on = "web"
run = "echo broken >&2; exit 2"
"#;

/// The workflow commands the runner would find in `output`: (name, data).
fn commands(output: &str) -> Vec<(String, String)> {
    const KNOWN: [&str; 15] = [
        "group",
        "endgroup",
        "error",
        "warning",
        "notice",
        "debug",
        "set-output",
        "save-state",
        "add-mask",
        "add-path",
        "set-env",
        "echo",
        "add-matcher",
        "remove-matcher",
        "stop-commands",
    ];
    let mut found = Vec::new();
    for line in output.split(['\n', '\r']) {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("::")
            && let Some(end) = rest.find("::")
        {
            let name = rest[..end].split(' ').next().unwrap_or_default();
            if KNOWN.contains(&name) {
                found.push((name.to_string(), rest[end + 2..].to_string()));
                continue;
            }
        }
        if let Some(start) = line.find("##[")
            && let Some(len) = line[start..].find(']')
        {
            let info = &line[start + 3..start + len];
            let name = info.split(' ').next().unwrap_or_default();
            if KNOWN.contains(&name) {
                found.push((name.to_string(), line[start + len + 1..].to_string()));
            }
        }
    }
    found
}

fn gonogo() -> Gonogo {
    let g = Gonogo::new("");
    let locks = g.dir.path().join("locks");
    let profile = PROFILE.replace("LOCKS", &locks.display().to_string());
    std::fs::write(g.dir.path().join("release.toml"), profile).expect("profile");
    g
}

#[test]
fn under_github_actions_steps_are_grouped_failures_annotated_and_hosts_forge_nothing() {
    let g = gonogo();
    let summary = g.dir.path().join("step-summary.md");
    std::fs::write(&summary, "# Earlier step\n").expect("summary");
    let mut cmd = g.command(&["--yes"]);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = cmd.output().expect("gonogo runs");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    // The host's lines are there, as text.
    assert!(all.contains("forged-legacy"), "{all}");
    let found = commands(&all);
    assert!(
        found
            .iter()
            .all(|(name, data)| !name.contains("forged") && !data.contains("forged")),
        "a host forged a command: {found:?}\n{all}"
    );
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    // The failure, then the unattended policy's decision (nothing to roll back with: it
    // aborts, naming the host left changed), then the outcome.
    assert_eq!(
        names,
        [
            "group", "endgroup", "group", "error", "endgroup", "error", "error"
        ],
        "{all}"
    );
    assert!(
        found[5].1.contains("unattended = \"rollback\"")
            && found[5].1.contains("left changed on here"),
        "{found:?}"
    );
    assert_eq!(found[6].1, "aborted: left changed on here", "{found:?}");
    assert_eq!(found[0].1, "1. Hostile on here");
    assert_eq!(found[2].1, "2. Fails on here");
    assert!(
        found[3]
            .1
            .contains("FAIL step 2. Fails failed on here: exit 2"),
        "{found:?}"
    );
    let error_line = all
        .lines()
        .find(|l| l.starts_with("::error "))
        .expect("an error annotation");
    assert!(
        error_line.starts_with("::error title=Fails on here::"),
        "{error_line}"
    );
    // The report follows what was there, as Markdown.
    let md = std::fs::read_to_string(&summary).expect("summary written");
    assert!(
        md.starts_with(
            "# Earlier step\n**aborted: left changed on here**\n\n# Release report: acme-web v1.2.1 to staging\n"
        ),
        "{md}"
    );
    assert!(md.contains("⛔ **aborted**"), "{md}");
    assert!(
        md.contains("| 2 | Release: Fails (run on here) | ✗ |"),
        "{md}"
    );
    assert!(!md.contains('\x1b'), "{md}");
}

#[test]
fn outside_github_actions_headless_prints_no_workflow_commands() {
    let g = gonogo();
    let summary = g.dir.path().join("step-summary.md");
    let mut cmd = g.command(&["--yes"]);
    cmd.env_remove("GITHUB_ACTIONS")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = cmd.output().expect("gonogo runs");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains("::group::"), "{all}");
    assert!(
        !summary.exists(),
        "the job summary is written only under GitHub Actions"
    );
}
