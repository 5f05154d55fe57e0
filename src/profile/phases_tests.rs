//! `[phases.NAME]` as `gonogo check` reads it: what it refuses, and where it says so.

use crate::profile::{Source, load};

const HEAD: &str = r#"version = 1
[release]
name = "shop"
environment = "staging"

[targets.w1]
roles = ["web"]
[targets.w2]
roles = ["web"]
[targets.w3]
roles = ["web"]

[[step]]
phase = "Preflight"
name = "ready"
check = "true"
on = "web"
"#;

const DEPLOY: &str = r#"
[[step]]
phase = "Deploy"
name = "restart"
run = "restart"
on = "web"
"#;

/// Every error as `line:col message`, in order.
fn errors(toml: &str) -> Vec<String> {
    let source = Source::new("p.toml", toml);
    let (_, diags) = load(&source);
    diags
        .into_sorted()
        .into_iter()
        .filter(|d| d.severity == crate::profile::Severity::Error)
        .map(|d| {
            let (line, col) = source.line_col(d.span.clone().map_or(0, |s| s.start));
            format!("{line}:{col} {}", d.message)
        })
        .collect()
}

fn with_phase(steps: &str, phase: &str) -> String {
    format!("{HEAD}{steps}\n[phases.Deploy]\n{phase}\n")
}

#[test]
fn a_batched_phase_loads_clean() {
    let toml = with_phase(
        DEPLOY,
        "batches = [1, \"50%\", \"100%\"]\nanalysis = \"1m\"\npromote = \"gate\"",
    );
    assert_eq!(errors(&toml), Vec::<String>::new());
}

#[test]
fn a_gate_or_an_irreversible_step_cannot_be_batched() {
    let gate = format!("{DEPLOY}\n[[step]]\nphase = \"Deploy\"\ngate = \"Go?\"\n");
    let errs = errors(&with_phase(&gate, "batches = [1, \"100%\"]"));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("25:1 phase `Deploy` runs in batches"),
        "{errs:?}"
    );
    let irreversible = DEPLOY.replace("on = \"web\"", "on = \"web\"\nirreversible = true");
    let errs = errors(&with_phase(&irreversible, "batches = [1, \"100%\"]"));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("cannot be in it"), "{errs:?}");
}

#[test]
fn sizes_must_grow_to_every_host_and_fit() {
    let said = |batches: &str| errors(&with_phase(DEPLOY, &format!("batches = {batches}")));
    assert!(said("[2, 1, \"100%\"]")[0].ends_with("batches are cumulative: 1 hosts after 2"));
    assert!(
        said("[1, 2]")[0].ends_with("the last batch reaches 2 of the 3 hosts of phase `Deploy`")
    );
    assert!(said("[5]")[0].contains("a batch of 5 hosts, but phase `Deploy` has 3 (w1, w2, w3)"));
    assert!(said("[0, \"100%\"]")[0].contains("a batch is a number of hosts"));
    assert!(said("[\"150%\"]")[0].contains("a batch is a number of hosts"));
    assert!(said("[]")[0].ends_with("`batches` is empty"));
}

#[test]
fn the_phase_must_be_one_the_steps_name_and_its_steps_together() {
    let errs = errors(&format!(
        "{HEAD}{DEPLOY}\n[phases.Deplyo]\nbatches = [1, \"100%\"]\n"
    ));
    assert_eq!(errs, ["25:9 no step is in phase `Deplyo`"]);
    let split = format!(
        "{DEPLOY}\n[[step]]\nphase = \"Verify\"\nname = \"v\"\ncheck = \"true\"\non = \"web\"\n{DEPLOY}"
    );
    let errs = errors(&with_phase(&split, "batches = [1, \"100%\"]"));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("this step of phase `Verify` comes between steps of phase `Deploy`"),
        "{errs:?}"
    );
}

#[test]
fn promote_is_auto_or_gate() {
    let errs = errors(&with_phase(
        DEPLOY,
        "batches = [\"100%\"]\npromote = \"yes\"",
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].ends_with("`promote = \"yes\"` is not a way to promote"),
        "{errs:?}"
    );
}
