//! Giving every variable its value: `--set`, else its `env`, else its default.

use super::diag::{Diagnostic, Diagnostics, did_you_mean};
use super::schema::Profile;
use super::template::VarValues;

/// What the values are for: `check` only notes what is missing; `plan` needs every value but
/// secrets (it masks them anyway); `run` needs them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Check,
    Plan,
    Run,
}

/// `--set KEY=VALUE` as clap hands it over.
pub fn parse_set(arg: &str) -> Result<(String, String), String> {
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| format!("`{arg}` is not KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("`{arg}` has no KEY before the ="));
    }
    Ok((key.to_string(), value.to_string()))
}

pub fn resolve(
    profile: &Profile,
    sets: &[(String, String)],
    env: impl Fn(&str) -> Option<String>,
    purpose: Purpose,
    diags: &mut Diagnostics,
) -> VarValues {
    for (key, _) in sets {
        if !profile.vars.iter().any(|v| v.name == *key) {
            let help = match did_you_mean(key, profile.vars.iter().map(|v| v.name.as_str())) {
                Some(near) => format!("did you mean `--set {near}=…`?"),
                None => "only variables declared in [vars] can be set".to_string(),
            };
            diags.push(
                Diagnostic::error(
                    None,
                    format!("`--set {key}=…`: the profile declares no variable `{key}`"),
                )
                .help(help),
            );
        }
    }
    let mut values = VarValues::default();
    for var in &profile.vars {
        let from_set = sets
            .iter()
            .rev()
            .find(|(k, _)| *k == var.name)
            .map(|(_, v)| v.clone());
        let from_env = || var.env.as_deref().and_then(&env);
        let value = from_set.or_else(from_env).or_else(|| var.default.clone());
        if value.as_deref().is_some_and(|v| v.contains('\0')) {
            diags.push(
                Diagnostic::error(
                    var.span.clone(),
                    format!("the value of `{}` contains a NUL byte", var.name),
                )
                .help("no shell command can carry it: pass a value without NUL"),
            );
        }
        if value.is_none() {
            let how = match &var.env {
                Some(env) => format!("pass --set {}=… or set {env} in the environment", var.name),
                None => format!("pass --set {}=…", var.name),
            };
            let what = var
                .description
                .as_deref()
                .map_or(String::new(), |d| format!(" ({d})"));
            let diagnostic = match (purpose, var.secret, var.required) {
                (Purpose::Check, _, true) => Some(Diagnostic::note(
                    var.span.clone(),
                    format!(
                        "`{}`{what} is required: `plan` and `run` need a value for it",
                        var.name
                    ),
                )),
                (Purpose::Check, _, false) => None,
                (Purpose::Plan, true, _) => Some(Diagnostic::note(
                    var.span.clone(),
                    format!(
                        "secret `{}` is not set: the plan shows it masked, `run` will need it",
                        var.name
                    ),
                )),
                (Purpose::Plan | Purpose::Run, _, _) => Some(Diagnostic::error(
                    var.span.clone(),
                    format!("variable `{}`{what} has no value", var.name),
                )),
            };
            if let Some(d) = diagnostic {
                diags.push(d.help(how));
            }
        }
        values.insert(var.name.clone(), value, var.secret);
    }
    values
}
