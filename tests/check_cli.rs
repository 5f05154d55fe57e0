//! `gonogo check` and `gonogo plan` on broken profiles: every error, with its place and a help
//! line, in one run; exit code 2.

use std::path::PathBuf;

use assert_cmd::Command;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn gonogo(args: &[&str], profile: &str) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().join("p.toml");
    std::fs::write(&path, profile).expect("write profile");
    let output = Command::cargo_bin("gonogo")
        .expect("binary")
        .current_dir(dir.path())
        .args(args)
        .arg("p.toml")
        .env_remove("NO_COLOR")
        .output()
        .expect("run gonogo");
    Outcome {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn check(profile: &str) -> Outcome {
    gonogo(&["check"], profile)
}

/// The line after `first` in the output, which must be its `help:` line.
fn help_after<'a>(stderr: &'a str, first: &str) -> &'a str {
    let mut lines = stderr.lines();
    lines
        .find(|l| l.starts_with(first))
        .unwrap_or_else(|| panic!("no line starting with {first:?} in:\n{stderr}"));
    lines.next().expect("a line after the error").trim()
}

const HEAD: &str = r#"version = 1

[release]
name = "shop"
environment = "staging"

[targets.web-1]
host = "web-1.example.com"
roles = ["web"]
"#;

#[test]
fn a_toml_syntax_error_is_located() {
    let out = check(&format!(
        "{HEAD}\n[[step]]\nname = \"Restart\nrun = \"true\"\n"
    ));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("p.toml:12:16: error: invalid TOML"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_wrong_type_names_the_key_and_an_example() {
    let out = check(&format!(
        "{HEAD}\n[[step]]\ncheck = \"true\"\non = \"web\"\nretries = \"three\"\n"
    ));
    assert_eq!(out.code, 2);
    let first = "p.toml:14:11: error: `retries` must be an integer, found a string";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: for example: retries = 1"
    );
}

#[test]
fn an_unknown_key_suggests_the_near_miss() {
    let out = check(&format!(
        "{HEAD}\n[[step]]\nchek = \"true\"\non = \"web\"\n"
    ));
    assert_eq!(out.code, 2);
    let first = "p.toml:12:1: error: unknown key `chek` in [[step]]";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: did you mean `check`?"
    );
}

#[test]
fn a_step_needs_exactly_one_kind() {
    let out = check(&format!(
        "{HEAD}\n[[step]]\nname = \"nothing\"\non = \"web\"\n\n[[step]]\ncheck = \"true\"\nrun = \"make\"\non = \"web\"\n"
    ));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("p.toml:11:1: error: [[step]] has none of check, run, manual, gate"),
        "{}",
        out.stderr
    );
    let first = "p.toml:17:1: error: [[step]] has both `check` and `run`";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: a step does exactly one thing: split it into two steps"
    );
}

#[test]
fn on_and_via_must_name_a_target_or_role() {
    let out = check(&format!(
        "{HEAD}\n[health.app]\nurl = \"http://127.0.0.1/health\"\nvia = \"db\"\n\n[[step]]\ncheck = \"true\"\non = \"wbe\"\n"
    ));
    assert_eq!(out.code, 2);
    let first = "p.toml:13:7: error: `via = \"db\"` names no target and no role";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: targets: web-1; roles: web"
    );
    let first = "p.toml:17:6: error: `on = \"wbe\"` names no target and no role";
    assert!(help_after(&out.stderr, first).starts_with("help: did you mean `web`?"));
}

#[test]
fn an_undeclared_variable_is_pointed_at_inside_the_string() {
    let out = check(&format!(
        "{HEAD}\n[vars]\napp_dir = \"/srv/app\"\n\n[[step]]\nrun = \"cd {{{{app_dri}}}} && make\"\non = \"web\"\n"
    ));
    assert_eq!(out.code, 2);
    let first = "p.toml:15:11: error: `{{app_dri}}` is not a declared variable";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: did you mean `{{app_dir}}`?"
    );
}

const NEEDS_VERSION: &str = r#"version = 1

[release]
name = "shop"
environment = "staging"
version = "{{version}}"

[vars]
version = { required = true, description = "tag to deploy" }
"#;

#[test]
fn a_missing_required_variable_is_a_note_for_check() {
    let out = check(NEEDS_VERSION);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("p.toml:9:1: note: `version` (tag to deploy) is required"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .starts_with("ok: p.toml (0 steps, 0 targets, 0 gates)")
    );
}

#[test]
fn a_missing_required_variable_stops_plan() {
    let out = gonogo(&["plan"], NEEDS_VERSION);
    assert_eq!(out.code, 2);
    let first = "p.toml:9:1: error: variable `version` (tag to deploy) has no value";
    assert_eq!(help_after(&out.stderr, first), "help: pass --set version=…");
    assert!(out.stdout.is_empty());

    let out = gonogo(&["plan", "--set", "version=v9"], NEEDS_VERSION);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("# Release shop v9 to staging"));
}

#[test]
fn numbers_and_durations_are_checked() {
    let out = check(&format!(
        "{HEAD}\n[[step]]\nrun = \"make\"\non = \"web\"\nserial = 0\ntimeout = \"ten minutes\"\n\n[[rollback]]\nrun = \"true\"\non = \"web\"\n"
    ));
    assert_eq!(out.code, 2);
    let first = "p.toml:14:10: error: `serial = 0` is out of range";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: `serial` takes a whole number from 1 up"
    );
    assert!(
        out.stderr
            .contains("p.toml:15:11: error: `timeout = \"ten minutes\"` is not a duration"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_watch_window_must_be_a_sane_length() {
    let out = check(&format!("{HEAD}\n[watch]\nduration = \"2h\"\n"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("p.toml:12:12: error: the watch window must last from 2s to 60m"),
        "{}",
        out.stderr
    );

    let out = check(&format!("{HEAD}\n[watch]\nduration = \"30m\"\n"));
    assert_eq!(out.code, 0, "a long window is a warning: {}", out.stderr);
    assert!(
        out.stderr
            .contains("p.toml:12:12: warning: a watch window outside 5m–15m")
    );
    assert_eq!(
        gonogo(
            &["check", "--strict"],
            &format!("{HEAD}\n[watch]\nduration = \"30m\"\n")
        )
        .code,
        2
    );
    // Short on purpose, and said why: not warned, even with --strict.
    let said = format!("{HEAD}\n[watch]\nduration = \"90s\"\nshort_because = \"a rehearsal\"\n");
    let out = gonogo(&["check", "--strict"], &said);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("outside 5m"), "{}", out.stderr);
}

#[test]
fn a_bad_rollback_rule_points_at_the_column_inside_the_string() {
    let out = check(&format!(
        "{HEAD}\n[watch]\nrollback_on = [\n  \"error_ratio > 5% for 1m\",\n  \"error_ratio > 5 for 1m\",\n  \"eror_ratio > 5%\",\n]\n"
    ));
    assert_eq!(out.code, 2);
    // Line 14 is `  "error_ratio > 5 for 1m",`: the 5 is column 18.
    assert!(
        out.stderr
            .contains("p.toml:14:18: error: rollback rule: `5` needs a unit"),
        "{}",
        out.stderr
    );
    let first = "p.toml:15:4: error: rollback rule: unknown signal `eror_ratio`";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: did you mean `error_ratio`?"
    );
}

#[test]
fn regexes_must_compile() {
    let out = check(&format!(
        "{HEAD}\n[logs.app]\non = \"web\"\ncommand = \"journalctl -f\"\nerrors = '(ERROR|CRIT'\n\n[[step]]\ncheck = \"curl -s localhost\"\non = \"web\"\nexpect = '[ok'\n"
    ));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "p.toml:14:10: error: `errors` is not a valid regular expression: unclosed group"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("p.toml:19:10: error: `expect` is not a valid regular expression"),
        "{}",
        out.stderr
    );
}

#[test]
fn risky_plans_are_warned_about_but_pass_unless_strict() {
    let profile = r#"version = 1

[release]
name = "shop"
environment = "production"

[targets.db-1]
host = "db-1"

[[step]]
phase = "Deploy"
run = "./migrate"
on = "db-1"
irreversible = true
"#;
    let out = check(profile);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("p.toml:5:15: warning: a production release with no gate"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(
        "p.toml:10:1: warning: irreversible step `./migrate` has no gate before it in phase Deploy"
    ));
    assert!(out.stderr.contains(
        "p.toml:10:1: warning: the release changes things but has no [[rollback]] steps"
    ));
    assert!(
        out.stdout
            .starts_with("ok: p.toml (1 step, 1 target, 0 gates)")
    );

    let out = gonogo(&["check", "--strict"], profile);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("0 errors, 3 warnings (--strict: warnings count as errors)")
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn every_error_of_a_file_is_reported_in_one_run() {
    let out = check(&format!(
        "{HEAD}\n[[step]]\nchek = \"true\"\non = \"web\"\n\n[[step]]\nrun = \"make\"\non = \"nowhere\"\nserial = 0\n\n[watch]\nduration = \"5 fortnights\"\n"
    ));
    assert_eq!(out.code, 2);
    let errors = out
        .stderr
        .lines()
        .filter(|l| l.contains(": error: "))
        .count();
    // The step with `chek` has no kind either: both are said.
    assert_eq!(errors, 5, "{}", out.stderr);
    assert!(out.stderr.contains("p.toml: 5 errors, 1 warning"));
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = Command::cargo_bin("gonogo")
        .expect("binary")
        .args(["check", "no/such/profile.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("no/such/profile.toml: error: cannot read the profile"),
        "{stderr}"
    );
}

#[test]
fn set_of_an_undeclared_variable_is_refused() {
    let out = gonogo(
        &["plan", "--set", "verison=v1", "--set", "version=v1"],
        NEEDS_VERSION,
    );
    assert_eq!(out.code, 2);
    let first = "p.toml: error: `--set verison=…`: the profile declares no variable `verison`";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: did you mean `--set version=…`?"
    );
}

#[test]
fn a_relative_lock_dir_is_refused_with_an_example() {
    let out = check(&HEAD.replace(
        "environment = \"staging\"\n",
        "environment = \"staging\"\nlock_dir = \"locks\"\n",
    ));
    assert_eq!(out.code, 2);
    let first = "p.toml:6:12: error: lock_dir must be an absolute path or start with ~/";
    assert!(
        help_after(&out.stderr, first).contains("lock_dir = \"/var/lib/gonogo/locks\""),
        "{}",
        out.stderr
    );
}

#[test]
fn more_log_tails_on_a_target_than_its_ssh_sessions_allow_are_warned_about() {
    let mut profile = String::from(
        "version = 1\n[release]\nname = \"shop\"\nenvironment = \"staging\"\n\n[targets.web-1]\nhost = \"web-1\"\nroles = [\"web\"]\n[targets.here]\ntransport = \"local\"\nroles = [\"web\"]\n",
    );
    for i in 0..9 {
        profile.push_str(&format!(
            "\n[logs.app{i}]\non = \"web\"\ncommand = \"tail -F /var/log/app{i}.log\"\n"
        ));
    }
    profile.push_str("\n[[step]]\ncheck = \"true\"\non = \"web\"\n");
    let out = check(&profile);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains(": warning: "))
        .collect();
    assert_eq!(
        warnings,
        vec![
            "p.toml:46:6: warning: target `web-1` runs 9 log tails: with a step's 2 channels that is 11 sessions on one SSH connection, more than sshd allows by default (MaxSessions 10)"
        ],
        "the local target has no SSH sessions to count: {}",
        out.stderr
    );
    let eight = profile.replace("[logs.app8]\non = \"web\"", "[logs.app8]\non = \"here\"");
    assert!(
        !check(&eight).stderr.contains("warning"),
        "8 log tails and a step fit"
    );
}

#[test]
fn built_in_checks_are_checked_where_they_are_written() {
    let out = check(&format!(
        r#"{HEAD}
[[step]]
check = {{ http = "ftp://example.com/health" }}
on = "web"

[[step]]
check = {{ tls_days_left = "https://example.com", min = 14 }}
on = "web"

[[step]]
check = {{ dns = "example.com", expect = ["203.0.113.10", "203.0.113.300"] }}
on = "web"

[[step]]
check = {{ disk_free = "/", min = "2X" }}
on = "web"

[[step]]
check = {{ disk_free = "/", min = "2G", expekt = 1 }}
on = "web"

[[step]]
check = {{ http = "http://a/", dns = "a" }}
on = "web"

[[step]]
check = {{ nothing = 1 }}
on = "web"
"#
    ));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let first =
        "p.toml:12:18: error: `http` is not a URL gonogo can check: `ftp:` is not http or https";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: for example: http = \"http://127.0.0.1:8000/health\""
    );
    let first =
        "p.toml:16:27: error: `tls_days_left` is not host:port: give the host and port, not a URL";
    assert!(help_after(&out.stderr, first).contains("example.com:443"));
    let first = "p.toml:20:58: error: \"203.0.113.300\" is not an IP address";
    assert!(help_after(&out.stderr, first).starts_with("help: expect = \"203.0.113.10\""));
    let first = "p.toml:24:34: error: `min = \"2X\"`: `X` is not a unit: use K, M, G or T";
    assert!(help_after(&out.stderr, first).contains("min = \"2G\""));
    let first = "p.toml:28:40: error: unknown key `expekt` in the built-in check of [[step]]";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: the built-in check of [[step]] takes: disk_free, min"
    );
    let first = "p.toml:32:9: error: the built-in check of [[step]] has both `http` and `dns`";
    assert!(help_after(&out.stderr, first).contains("split it into two steps"));
    let first = "p.toml:36:9: error: the built-in check of [[step]] says nothing to check";
    assert!(help_after(&out.stderr, first).contains("tls_days_left"));
}

#[test]
fn built_in_checks_plan_readably() {
    let out = gonogo(
        &["plan"],
        &format!(
            r#"{HEAD}
[[step]]
phase = "Preflight"
check = {{ disk_free = "/var/lib/postgresql", min = "10%" }}
on = "web"

[[step]]
name = "Certificate has two weeks left"
check = {{ tls_days_left = "example.com:443" }}
on = "web"
"#
        ),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "- [ ] check on web-1, gonogo's own `disk_free` check\n  at least 10% free on /var/lib/postgresql\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("- [ ] Certificate has two weeks left: check on web-1, gonogo's own `tls_days_left` check\n  TLS certificate of example.com:443 valid for 14+ days\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn metric_selectors_are_checked_before_the_release() {
    let out = check(&format!(
        "{HEAD}\n[metrics.app]\nurl = \"http://127.0.0.1:8000/metrics\"\nerrors = 'http_requests_total{{status=~\"5..\"'\nrequests = \"http_requests_total\"\n"
    ));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let first = "p.toml:13:10: error: `errors` is not a series selector:";
    assert!(
        help_after(&out.stderr, first)
            .starts_with("help: for example: errors = 'http_requests_total"),
        "{}",
        out.stderr
    );
}

#[test]
fn notify_needs_a_webhook_a_known_format_and_a_period_of_a_second_or_more() {
    let out = check(&format!(
        "{HEAD}\n[notify]\nformat = \"slak\"\nevery = \"500ms\"\n"
    ));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let first = "p.toml:11:1: error: [notify] has no `webhook`";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: add `webhook = \"{{slack_webhook}}\"`"
    );
    let first = "p.toml:12:10: error: unknown notify format `slak`";
    assert_eq!(
        help_after(&out.stderr, first),
        "help: did you mean `format = \"slack\"`? (format = \"slack\" or \"json\")"
    );
    let first = "p.toml:13:9: error: status updates must be at least 1s apart";
    assert!(help_after(&out.stderr, first).starts_with("help: teams read an update every"));
}

#[test]
fn a_webhook_written_in_the_profile_and_updates_every_few_seconds_are_warned() {
    let profile = format!(
        "{HEAD}\n[notify]\nwebhook = \"https://hooks.example.com/services/T0/B0/x\"\n{}",
        "format = \"json\"\nevery = \"10s\"\n"
    );
    let out = check(&profile);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = "p.toml:12:11: warning: the webhook URL is written in the profile";
    assert!(help_after(&out.stderr, first).contains("secret = true"));
    let first = "p.toml:14:9: warning: status updates more often than once a minute";
    assert!(help_after(&out.stderr, first).contains("every = \"15m\""));
    assert_eq!(gonogo(&["check", "--strict"], &profile).code, 2);
    // From a variable not marked secret: it would be shown.
    let out = check(&format!(
        "{HEAD}\n[vars]\nhook = \"https://hooks.example.com/x\"\n\n[notify]\nwebhook = \"{{{{hook}}}}\"\n"
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = "p.toml:15:11: warning: the webhook comes from a variable not marked secret";
    assert!(help_after(&out.stderr, first).starts_with("help: mark it `secret = true`"));
}

#[test]
fn undo_belongs_on_reversible_run_steps_and_changed_only_in_rollback() {
    let profile = r#"version = 1

[release]
name = "shop"
environment = "staging"

[targets.web-1]
host = "web-1"

[[step]]
name = "Migrate"
run = "./migrate"
on = "web-1"
irreversible = true
undo = "./unmigrate"

[[step]]
check = "true"
on = "changed"
undo = "false"

[[step]]
manual = "Tell support"
undo = "untell"

[[rollback]]
run = "restore"
on = "changed"
undo = "unrestore"

[policy]
unattended = "pray"
"#;
    let out = check(profile);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for (at, what) in [
        (
            "p.toml:15:1",
            "error: an `irreversible` step cannot have an `undo`",
        ),
        (
            "p.toml:19:6",
            "error: `on = \"changed\"` is only for [[rollback]] steps",
        ),
        (
            "p.toml:20:1",
            "error: `undo` has no meaning on a `check` step",
        ),
        (
            "p.toml:24:1",
            "error: `undo` has no meaning on a `manual` step",
        ),
        (
            "p.toml:29:1",
            "error: [[rollback]]: a rollback step has no `undo`",
        ),
        (
            "p.toml:32:14",
            "error: `unattended = \"pray\"` is not a policy",
        ),
    ] {
        assert!(
            out.stderr.contains(&format!("{at}: {what}")),
            "{at}: {what}\n{}",
            out.stderr
        );
    }
    assert!(
        !out.stderr.contains("p.toml:27:6"),
        "`changed` in [[rollback]] is fine: {}",
        out.stderr
    );
}

#[test]
fn a_production_run_step_nothing_can_reverse_is_warned_about() {
    let profile = r#"version = 1

[release]
name = "shop"
environment = "production"

[targets.web-1]
host = "web-1"

[[step]]
gate = "Go?"

[[step]]
name = "Stage"
run = "stage"
undo = "unstage"
on = "web-1"

[[step]]
name = "Warm caches"
run = "warm"
on = "web-1"
"#;
    let out = check(profile);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "p.toml:19:1: warning: production step `Warm caches` has no `undo` and the release has no [[rollback]]"
        ),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("`Stage` has no `undo`"),
        "{}",
        out.stderr
    );
    let fixed = profile.replace("run = \"warm\"", "run = \"warm\"\nundo = \"cool\"");
    let out = check(&fixed);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn after_steps_follow_the_verdict_and_are_no_gates() {
    let profile = r#"version = 1

[release]
name = "shop"
environment = "staging"

[targets.web-1]
host = "web-1"

[[step]]
run = "deploy"
on = "web-1"

[[after]]
gate = "Tag it?"

[[after]]
name = "Record the release"
run = "echo deployed >> ~/releases.log"
on = "web-1"

[[rollback]]
run = "undeploy"
on = "web-1"
"#;
    let out = check(profile);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("p.toml:15:1: error: an [[after]] step cannot be a gate"),
        "{}",
        out.stderr
    );
    let fixed = profile.replace("[[after]]\ngate = \"Tag it?\"\n\n", "");
    let out = gonogo(&["plan"], &fixed);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "## After the verdict\n\nOnce the final gate says GO (never after a rollback):\n\n- [ ] Record the release: run on web-1"
        ),
        "{}",
        out.stdout
    );
}
