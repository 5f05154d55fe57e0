//! The profiles shipped in `profiles/`: each passes `gonogo check --strict`, plans to a complete
//! checklist, and never shows a secret. A new profile is covered by being in the directory.

use std::path::Path;

use assert_cmd::Command;
use regex::Regex;

const VERSION: &str = "v1.2.1";
const MASK: &str = "••••";

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs gonogo in the crate root, so paths in its output read `profiles/NAME.toml`.
fn gonogo(args: &[&str], env: &[(String, String)]) -> Outcome {
    let mut cmd = Command::cargo_bin("gonogo").expect("binary");
    cmd.current_dir(root()).args(args).env("NO_COLOR", "1");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd.output().expect("run gonogo");
    Outcome {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn plan(path: &str) -> Outcome {
    let out = gonogo(&["plan", path, "--set", &format!("version={VERSION}")], &[]);
    assert_eq!(out.code, 0, "plan {path}:\n{}", out.stderr);
    out
}

/// Every `profiles/*.toml`, relative to the crate root, in name order.
fn profile_paths() -> Vec<String> {
    let dir = root().join("profiles");
    let mut paths: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
        .map(|p| {
            let name = p.file_name().expect("file name").to_string_lossy();
            format!("profiles/{name}")
        })
        .collect();
    paths.sort();
    for expected in [
        "profiles/example.toml",
        "profiles/vps-systemd.toml",
        "profiles/docker-compose.toml",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} missing: {paths:?}"
        );
    }
    paths
}

/// A profile read as plain TOML, so the expectations do not come from gonogo's own loader.
struct Doc {
    table: toml::Table,
}

impl Doc {
    fn read(path: &str) -> Self {
        let text = std::fs::read_to_string(root().join(path)).expect("read profile");
        let table = text
            .parse::<toml::Table>()
            .unwrap_or_else(|e| panic!("{path} is not TOML: {e}"));
        Doc { table }
    }

    fn list(&self, key: &str) -> Vec<&toml::Table> {
        self.table
            .get(key)
            .and_then(toml::Value::as_array)
            .map(|items| items.iter().filter_map(toml::Value::as_table).collect())
            .unwrap_or_default()
    }

    fn steps(&self) -> Vec<&toml::Table> {
        self.list("step")
    }

    fn targets(&self) -> usize {
        self.table
            .get("targets")
            .and_then(toml::Value::as_table)
            .map_or(0, toml::Table::len)
    }

    fn gates(&self) -> usize {
        self.steps()
            .iter()
            .filter(|s| s.contains_key("gate"))
            .count()
    }

    /// Phases in order with their step counts: a step without `phase` stays in the previous
    /// one, the first defaults to "Release", and each change of phase starts a new section.
    fn phases(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        let mut current = "Release".to_string();
        for step in self.steps() {
            if let Some(phase) = step.get("phase").and_then(toml::Value::as_str) {
                current = phase.to_string();
            }
            match out.last_mut() {
                Some((name, count)) if *name == current => *count += 1,
                _ => out.push((current.clone(), 1)),
            }
        }
        out
    }

    /// A phase rolled out in batches (`[phases.NAME] batches`): how many, and whether an
    /// analysis is held between two (None without batches).
    fn batches(&self, phase: &str) -> Option<(usize, bool)> {
        let phase = self.table.get("phases")?.get(phase)?;
        let batches = phase.get("batches")?.as_array()?.len();
        Some((batches, phase.get("analysis").is_some()))
    }

    /// Secret variables as (name, environment variable).
    fn secrets(&self) -> Vec<(String, String)> {
        let Some(vars) = self.table.get("vars").and_then(toml::Value::as_table) else {
            return Vec::new();
        };
        vars.iter()
            .filter_map(|(name, value)| {
                let decl = value.as_table()?;
                let secret = decl.get("secret").and_then(toml::Value::as_bool)?;
                let env = decl.get("env").and_then(toml::Value::as_str)?;
                secret.then(|| (name.clone(), env.to_string()))
            })
            .collect()
    }

    /// Whether `{{name}}` appears in a step or rollback step, i.e. somewhere the plan shows.
    fn shows(&self, name: &str) -> bool {
        let placeholder =
            Regex::new(&format!(r"\{{\{{\s*{name}\s*\}}\}}")).expect("placeholder regex");
        self.steps()
            .into_iter()
            .chain(self.list("rollback"))
            .flat_map(|step| ["name", "check", "run", "manual", "gate"].map(|k| step.get(k)))
            .flatten()
            .filter_map(toml::Value::as_str)
            .any(|text| placeholder.is_match(text))
    }
}

/// The `## ` headings of a Markdown plan, in order.
fn headings(markdown: &str) -> Vec<&str> {
    markdown
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .collect()
}

/// The body of the section under `## heading`, up to the next `## `.
fn section<'a>(markdown: &'a str, heading: &str) -> &'a str {
    let start = format!("## {heading}\n");
    let at = markdown
        .find(&start)
        .unwrap_or_else(|| panic!("no `{start}` in:\n{markdown}"))
        + start.len();
    let body = &markdown[at..];
    body.find("\n## ").map_or(body, |end| &body[..end])
}

fn items(section: &str) -> Vec<&str> {
    section
        .lines()
        .filter(|l| l.starts_with("- [ ] "))
        .collect()
}

/// The byte offset of `needle` in `haystack`, which must contain it.
fn at(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("no `{needle}` in:\n{haystack}"))
}

#[test]
fn every_profile_passes_check_strict() {
    for path in profile_paths() {
        let out = gonogo(&["check", "--strict", &path], &[]);
        assert_eq!(out.code, 0, "check --strict {path}:\n{}", out.stderr);
        let doc = Doc::read(&path);
        let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let summary = format!(
            "ok: {path} ({}, {}, {})\n",
            count(doc.steps().len(), "step"),
            count(doc.targets(), "target"),
            count(doc.gates(), "gate")
        );
        assert_eq!(out.stdout, summary);
        for level in [": warning:", ": error:"] {
            assert!(!out.stderr.contains(level), "{path}:\n{}", out.stderr);
        }
    }
}

#[test]
fn every_profile_plans_a_complete_checklist() {
    for path in profile_paths() {
        let out = plan(&path);
        let md = &out.stdout;
        let title = md.lines().next().unwrap_or_default();
        assert!(title.starts_with("# Release "), "{path}: {title}");
        assert!(title.contains(VERSION), "{path}: {title}");

        // One section per phase, in the profile's order, each with a `- [ ]` item per step.
        let doc = Doc::read(&path);
        let phases = doc.phases();
        let mut found = headings(md);
        // A profile with `[release] current` opens with what ships, before its phases.
        if found.first() == Some(&"What ships") {
            found.remove(0);
        }
        let names: Vec<&str> = phases.iter().map(|(name, _)| name.as_str()).collect();
        assert!(
            found.len() > names.len() && found[..names.len()] == names[..],
            "{path}: headings {found:?}, phases {names:?}"
        );
        let mut rest = md.as_str();
        for (phase, steps) in &phases {
            let start = format!("## {phase}\n");
            rest = &rest[at(rest, &start)..];
            let body = section(rest, phase);
            // In batches, each batch lists the phase's steps, with an analysis between two.
            let expected = match doc.batches(phase) {
                Some((batches, analysis)) => {
                    steps * batches + if analysis { batches - 1 } else { 0 }
                }
                None => *steps,
            };
            assert_eq!(
                items(body).len(),
                expected,
                "{path}, phase {phase}:\n{body}"
            );
            rest = &rest[start.len()..];
        }
        assert_eq!(found.last(), Some(&"Rollback"), "{path}: {found:?}");
        let rollback = section(md, "Rollback");
        assert_eq!(
            items(rollback).len(),
            doc.list("rollback").len(),
            "{path}:\n{rollback}"
        );
    }
}

#[test]
fn secrets_never_appear_in_a_plan() {
    let mut masked_somewhere = false;
    for path in profile_paths() {
        let doc = Doc::read(&path);
        let secrets = doc.secrets();
        let env: Vec<(String, String)> = secrets
            .iter()
            .map(|(_, var)| {
                let value = if var == "SLACK_WEBHOOK" {
                    "https://hooks.example/SECRET123".to_string()
                } else {
                    format!("{var}-SECRET123-value")
                };
                (var.clone(), value)
            })
            .collect();
        let shown = secrets.iter().any(|(name, _)| doc.shows(name));
        masked_somewhere |= shown;
        for format in ["markdown", "json"] {
            let args = [
                "plan",
                &path,
                "--set",
                &format!("version={VERSION}"),
                "--format",
                format,
            ];
            let out = gonogo(&args, &env);
            assert_eq!(out.code, 0, "{path} ({format}):\n{}", out.stderr);
            for (var, value) in &env {
                assert!(
                    !out.stdout.contains(value) && !out.stderr.contains(value),
                    "{path} ({format}) shows ${var}"
                );
            }
            assert!(!out.stdout.contains("SECRET123"), "{path} ({format})");
            if shown {
                assert!(out.stdout.contains(MASK), "{path} ({format}): no {MASK}");
            }
        }
    }
    assert!(
        masked_somewhere,
        "no profile shows a secret, so masking went untested"
    );
}

#[test]
fn vps_systemd_plan_reads_like_the_runbook() {
    let path = "profiles/vps-systemd.toml";
    let out = plan(path);
    let md = &out.stdout;
    assert_eq!(
        headings(md),
        [
            "Preflight",
            "Build",
            "Migrate",
            "Release",
            "Verify",
            "Record",
            "Watch window (10m)",
            "Rollback",
        ]
    );

    let preflight = section(md, "Preflight");
    assert!(preflight.contains("git rev-parse --verify v1.2.1^{commit}"));
    let go = at(preflight, "**Gate: Go for production deploy of v1.2.1?**");
    assert!(at(preflight, "DATABASE_URL SECRET_KEY ALLOWED_HOSTS") < go);
    assert!(at(preflight, "alembic current") < go);

    let build = section(md, "Build");
    assert!(at(build, "> PREVIOUS_REVISION") < at(build, "checkout --quiet v1.2.1"));
    assert!(build.contains("--require-hashes -r requirements.txt"));
    assert!(build.contains("npm ci"));

    // The irreversible migration comes after a gate that names the fresh dump.
    let migrate = section(md, "Migrate");
    let gate = at(
        migrate,
        "- [ ] **Gate: Backup /var/backups/acme/pre-v1.2.1.dump",
    );
    let upgrade = at(
        migrate,
        "- [ ] alembic upgrade head: run on web-1, **irreversible**",
    );
    assert!(at(migrate, "pg_dump") < gate && gate < upgrade, "{migrate}");

    let release = section(md, "Release");
    let restart = items(release)
        .into_iter()
        .find(|l| l.starts_with("- [ ] Restart gunicorn"))
        .unwrap_or_else(|| panic!("no gunicorn restart in:\n{release}"));
    assert!(
        restart.contains("run on web-1, web-2, one host at a time"),
        "{restart}"
    );
    assert!(at(release, "sudo -n nginx -t") < at(release, "systemctl reload nginx"));

    let verify = section(md, "Verify");
    assert!(verify.contains(
        "- [ ] Public HTTPS health: check on laptop, up to 2 retries, gonogo's own `http` check\n  GET https://app.example.com/health answers 200\n"
    ), "{verify}");
    assert!(verify.contains("TLS certificate of app.example.com:443 valid for 14+ days"));
    assert!(verify.contains("- [ ] One write succeeds"));

    let record = section(md, "Record");
    assert!(record.contains("> REVISION") && record.contains("> DEPLOYED_AT"));

    let watch = section(md, "Watch window (10m)");
    for rule in [
        "error_ratio > 2% for 2m",
        "latency_p95 > 1.5x baseline for 3m",
        "health failing for 30s",
        "log_errors > 20/min",
        "request_rate < 0.5x baseline for 2m",
    ] {
        assert!(
            watch.contains(&format!("- [ ] `{rule}`")),
            "{rule}:\n{watch}"
        );
    }
    assert!(
        watch.contains("propose a rollback to the operator"),
        "{watch}"
    );

    let rollback = section(md, "Rollback");
    let checkout = at(rollback, "prev=$(cat PREVIOUS_REVISION)");
    assert!(checkout < at(rollback, "sudo -n systemctl restart gunicorn"));
    assert!(at(rollback, "sudo -n nginx -t") < at(rollback, "systemctl reload nginx"));
}

#[test]
fn docker_compose_plan_deploys_by_image_tag() {
    let path = "profiles/docker-compose.toml";
    let out = plan(path);
    let md = &out.stdout;
    assert_eq!(
        headings(md),
        [
            "Preflight",
            "Migrate",
            "Deploy",
            "Verify",
            "Record",
            "Watch window (15m)",
            "Rollback",
        ]
    );

    let preflight = section(md, "Preflight");
    assert!(preflight.contains("IMAGE_TAG=v1.2.1 docker compose config -q"));
    let go = at(
        preflight,
        "**Gate: Go for production deploy of v1.2.1?** (go / no-go, 2 approvals)",
    );
    assert!(at(preflight, "IMAGE_TAG=v1.2.1 docker compose pull") < go);
    assert!(at(preflight, "> .previous_image_tag") < go);

    let migrate = section(md, "Migrate");
    let gate = at(migrate, "- [ ] **Gate: ");
    let run = at(
        migrate,
        "- [ ] Run the migrations: run on app-1, **irreversible**",
    );
    assert!(gate < run, "{migrate}");
    assert!(migrate[run..].contains("docker compose run --rm --no-deps -T web npm run migrate:up"));

    let deploy = section(md, "Deploy");
    assert!(
        deploy.contains("IMAGE_TAG=v1.2.1 docker compose up -d --remove-orphans"),
        "{deploy}"
    );
    assert!(deploy.contains("docker compose ps"));

    let rollback = section(md, "Rollback");
    assert!(
        rollback
            .contains("IMAGE_TAG=$(cat .previous_image_tag) docker compose up -d --remove-orphans"),
        "{rollback}"
    );
}

#[test]
fn secrets_in_commands_are_masked_where_they_run() {
    let env = |var: &str| vec![(var.to_string(), "SECRET123".to_string())];
    let cases = [
        (
            "profiles/vps-systemd.toml",
            "SENTRY_AUTH_TOKEN",
            "sentry-cli --auth-token •••• releases",
        ),
        (
            "profiles/docker-compose.toml",
            "GHCR_TOKEN",
            "printf '%s\\n' •••• | docker login ghcr.io",
        ),
    ];
    for (path, var, masked) in cases {
        let out = gonogo(
            &["plan", path, "--set", &format!("version={VERSION}")],
            &env(var),
        );
        assert_eq!(out.code, 0, "{path}:\n{}", out.stderr);
        assert!(out.stdout.contains(masked), "{path}: no `{masked}`");
        assert!(!out.stdout.contains("SECRET123") && !out.stderr.contains("SECRET123"));
    }
}
