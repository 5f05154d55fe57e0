//! `[targets.NAME] vars` through the real binary: `check` points at a name not declared in
//! `[vars]` and at a secret, and `plan` lists each target's own values.

use assert_cmd::Command;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn gonogo(args: &[&str], profile: &str) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.toml"), profile).expect("write profile");
    let output = Command::cargo_bin("gonogo")
        .expect("binary")
        .current_dir(dir.path())
        .args(args)
        .arg("p.toml")
        .env("NO_COLOR", "1")
        .output()
        .expect("run gonogo");
    Outcome {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

const HEAD: &str = r#"version = 1

[release]
name = "shop"
environment = "staging"

[vars]
app_port = "8000"
token = { env = "TOKEN", secret = true }

"#;

const STEPS: &str = r#"
[[step]]
name = "Probe"
check = "curl -fsS http://127.0.0.1:{{app_port}}/health"
on = "web"

[[step]]
manual = "Tell support"

[[rollback]]
run = "true"
on = "web"
"#;

#[test]
fn check_points_at_an_undeclared_name_and_at_a_secret() {
    let out = gonogo(
        &["check"],
        &format!(
            "{HEAD}[targets.web-1]\nroles = [\"web\"]\nvars = {{ app_prot = \"8001\", token = \"x\" }}\n{STEPS}"
        ),
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let mut lines = out.stderr.lines();
    let first = lines
        .find(|l| l.starts_with("p.toml:13:10: error: `app_prot`"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(first.ends_with("is not a declared variable"), "{first}");
    let help = lines.next().unwrap_or_default();
    assert!(
        help.contains("did you mean `app_port`?") && help.contains("declare it in [vars] first"),
        "{help}"
    );
    assert!(
        out.stderr.contains(
            "p.toml:13:29: error: `token` is a secret: target web-1 cannot give it a value"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("p.toml: 2 errors"), "{}", out.stderr);
}

#[test]
fn plan_lists_each_targets_values_and_shows_the_placeholder_where_they_differ() {
    let out = gonogo(
        &["plan"],
        &format!(
            "{HEAD}[targets.web-1]\nroles = [\"web\"]\nvars = {{ app_port = \"8001\" }}\n\n[targets.web-2]\nroles = [\"web\"]\nvars = {{ app_port = 8002 }}\n\n[targets.db-1]\nroles = [\"db\"]\n{STEPS}\n[[step]]\ncheck = \"nc -z 127.0.0.1 {{{{app_port}}}}\"\non = \"db\"\n"
        ),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = &out.stdout;
    assert!(md.contains("- web-1: `app_port` = `8001`\n"), "{md}");
    assert!(md.contains("- web-2: `app_port` = `8002`\n"), "{md}");
    assert!(!md.contains("- db-1:"), "{md}");
    assert!(
        md.contains("`curl -fsS http://127.0.0.1:{{app_port}}/health`"),
        "{md}"
    );
    assert!(md.contains("`nc -z 127.0.0.1 8000`"), "on db, [vars]: {md}");
    let json = gonogo(
        &["plan", "--format", "json"],
        &format!("{HEAD}[targets.web-1]\nroles = [\"web\"]\nvars = {{ app_port = 9 }}\n{STEPS}"),
    );
    assert!(
        json.stdout.contains("\"app_port\": \"9\""),
        "{}",
        json.stdout
    );
}
