//! `gonogo plan`: the checklist as Markdown and as JSON, variables filled in, secrets masked.

use assert_cmd::Command;

const PROFILE: &str = r#"version = 1

[release]
name = "shop"
environment = "production"
version = "{{version}}"

[vars]
version = { required = true }
app_dir = "/srv/shop"
db_password = { env = "SHOP_DB_PASSWORD", secret = true }

[targets.web-1]
host = "10.0.0.11"
user = "deploy"
roles = ["web"]

[targets.web-2]
host = "10.0.0.12"
roles = ["web"]

[[step]]
phase = "Preflight"
name = "Database reachable"
on = "web-1"
check = "PGPASSWORD={{db_password}} psql -c 'select 1'"
retries = 2

[[step]]
gate = "Go for {{version}}?"
approvals = 2

[[step]]
phase = "Deploy"
name = "Restart"
on = "web"
serial = 1
run = "cd {{app_dir}} && ./restart {{version}}"

[watch]
duration = "10m"
rollback_on = ["health failing for 30s"]

[[rollback]]
name = "Previous release"
on = "web"
run = "cd {{app_dir}} && ./rollback"
"#;

fn plan(args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("shop.toml"), PROFILE).expect("write profile");
    let out = Command::cargo_bin("gonogo")
        .expect("binary")
        .current_dir(dir.path())
        .arg("plan")
        .arg("shop.toml")
        .args(args)
        .env("SHOP_DB_PASSWORD", "s3cr3t-pw")
        .output()
        .expect("run gonogo");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn markdown_plan_reads_as_a_checklist() {
    let (code, out, err) = plan(&["--set", "version=v2.0.0 rc"]);
    assert_eq!(code, 0, "{err}");
    let expected = "\
# Release shop v2.0.0 rc to production

Targets: web-1 `deploy@10.0.0.11` (web), web-2 `10.0.0.12` (web)

## Preflight

- [ ] Database reachable: check on web-1, up to 2 retries
  `PGPASSWORD=•••• psql -c 'select 1'`
- [ ] **Gate: Go for v2.0.0 rc?** (go / no-go, 2 approvals)

## Deploy

- [ ] Restart: run on web-1, web-2, one host at a time
  `cd /srv/shop && ./restart 'v2.0.0 rc'`
  no `undo`: a rollback does not undo this step itself

## Watch window (10m)

Hold the release under watch for 10m; when a rule holds, propose a rollback to the operator:

- [ ] `health failing for 30s`

## Rollback

- [ ] Previous release: run on web-1, web-2
  `cd /srv/shop && ./rollback`
";
    assert_eq!(out, expected);
    assert!(!err.contains("s3cr3t-pw"));
}

#[test]
fn json_plan_carries_the_same_plan_for_tools() {
    let (code, out, err) = plan(&["--set", "version=v2", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("s3cr3t-pw"), "a secret leaked into JSON");
    let plan: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(plan["release"], "shop");
    assert_eq!(plan["version"], "v2");
    let steps = plan["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 3);
    let restart = &steps[2];
    assert_eq!(restart["phase"], "Deploy");
    assert_eq!(restart["kind"], "run");
    assert_eq!(restart["serial"], 1);
    assert_eq!(restart["targets"], serde_json::json!(["web-1", "web-2"]));
    assert_eq!(restart["text"], "cd /srv/shop && ./restart v2");
    assert_eq!(restart["timeout_ms"], 300_000);
    assert_eq!(steps[1]["approvals"], 2);
    assert_eq!(steps[0]["text"], "PGPASSWORD=•••• psql -c 'select 1'");
    assert_eq!(
        plan["watch"]["rollback_on"][0]["text"],
        "health failing for 30s"
    );
    assert_eq!(plan["rollback"][0]["name"], "Previous release");
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    let (code, _, err) = plan(&["--set", "version=v2", "--format", "yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid value 'yaml'"), "{err}");
}

#[test]
fn a_policy_of_two_approvals_applies_to_every_gate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = "version = 1\n[release]\nname = \"shop\"\nenvironment = \"production\"\n\
        [targets.web]\ntransport = \"local\"\n[policy]\napprovals = 2\n\
        [[step]]\ngate = \"Go?\"\n[[step]]\ngate = \"Really?\"\napprovals = 3\n";
    std::fs::write(dir.path().join("p.toml"), profile).expect("write profile");
    let out = Command::cargo_bin("gonogo")
        .expect("binary")
        .current_dir(dir.path())
        .args(["plan", "p.toml"])
        .output()
        .expect("run gonogo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("**Gate: Go?** (go / no-go, 2 approvals)"),
        "{text}"
    );
    assert!(
        text.contains("**Gate: Really?** (go / no-go, 3 approvals)"),
        "{text}"
    );
}
