//! A target's own values: `[targets.web-1] vars = { app_port = "8001" }` gives a variable
//! declared in `[vars]` another value on that target, in everything run on or for it.

use toml::de::DeValue;

use super::diag::{Diagnostic, did_you_mean};
use super::load::Loader;
use super::read::{Fields, Value, wrong_type};
use super::schema::{Target, VarOverride};
use super::template::VarValues;

impl Loader<'_> {
    /// `vars` of `[targets.NAME]`: each key a declared, non-secret variable; each value a
    /// string, or an integer taken as its decimal text.
    pub(crate) fn target_vars(&mut self, f: &Fields<'_, '_>, target: &str) -> Vec<VarOverride> {
        let Some(value) = f.get("vars") else {
            return Vec::new();
        };
        let Some(table) = value.get_ref().as_table() else {
            self.diags.push(wrong_type(
                "vars",
                value,
                "a table of values",
                "vars = { app_port = \"8001\" }",
            ));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in table.iter() {
            let name: &str = key.get_ref();
            if !self.var_names.iter().any(|v| v == name) {
                self.undeclared(key.span(), name, target);
                continue;
            }
            if self.secret_names.iter().any(|v| v == name) {
                self.diags.push(
                    Diagnostic::error(
                        key.span(),
                        format!("`{name}` is a secret: target {target} cannot give it a value"),
                    )
                    .help("secrets come from the environment (env = \"NAME\" in [vars]), never written in a profile: remove it here"),
                );
                continue;
            }
            if let Some(text) = self.override_value(name, value) {
                out.push(VarOverride {
                    name: name.to_string(),
                    value: text,
                    span: key.span(),
                });
            }
        }
        out
    }

    fn undeclared(&mut self, span: std::ops::Range<usize>, name: &str, target: &str) {
        let first = format!(
            "declare it in [vars] first (e.g. {name} = \"…\"), then give {target} its own value here"
        );
        let help = match did_you_mean(name, self.var_names.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`? Otherwise {first}"),
            None => first,
        };
        self.diags.push(
            Diagnostic::error(
                span,
                format!("`{name}` in the vars of target {target} is not a declared variable"),
            )
            .help(help),
        );
    }

    /// A string as it is, an integer as its decimal text; anything else is an error.
    fn override_value(&mut self, name: &str, value: &Value<'_>) -> Option<String> {
        let text = match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n.to_string()),
            _ => None,
        };
        let Some(text) = text else {
            self.diags.push(wrong_type(
                name,
                value,
                "a string or an integer",
                &format!("{name} = \"…\""),
            ));
            return None;
        };
        if text.contains('\0') {
            self.diags.push(
                Diagnostic::error(
                    value.span(),
                    format!("the value of `{name}` contains a NUL byte"),
                )
                .help("no shell command can carry it: write a value without NUL"),
            );
            return None;
        }
        Some(text)
    }
}

impl VarValues {
    /// The values on `target`: these, with the target's own `vars` in place of theirs. A
    /// secret is never replaced (the loader refuses a target's value for one).
    pub fn for_target(&self, target: &Target) -> VarValues {
        let mut values = self.clone();
        for o in &target.vars {
            if self.get(&o.name).is_some_and(|v| !v.secret) {
                values.insert(o.name.clone(), Some(o.value.clone()), false);
            }
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use crate::profile::{Diagnostic, Profile, Quoting, Severity, Source, Template, load};

    const HEAD: &str = "version = 1\n[release]\nname = \"shop\"\nenvironment = \"staging\"\n\n[vars]\napp_port = \"8000\"\ntoken = { env = \"TOKEN\", secret = true }\n\n";

    fn loaded(targets: &str) -> (Option<Profile>, Vec<(String, Diagnostic)>) {
        let source = Source::new("p.toml", format!("{HEAD}{targets}"));
        let (profile, diags) = load(&source);
        let errors = diags
            .into_sorted()
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (source.render(&d, false), d))
            .collect();
        (profile, errors)
    }

    fn values(profile: &Profile) -> crate::profile::VarValues {
        crate::profile::resolve(
            profile,
            &[],
            |_| Some("s3cret".into()),
            crate::profile::Purpose::Run,
            &mut crate::profile::Diagnostics::default(),
        )
    }

    #[test]
    fn a_targets_value_replaces_the_declared_one_on_that_target_only() {
        let (profile, errors) = loaded(
            "[targets.web-1]\nvars = { app_port = \"8001\" }\n\n[targets.web-2]\nvars = { app_port = 8002 }\n\n[targets.web-3]\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let profile = profile.expect("a profile");
        let base = values(&profile);
        let url = Template::parse("http://127.0.0.1:{{app_port}}/ {{token}}");
        let on = |i: usize| url.expand(&base.for_target(&profile.targets[i]), Quoting::Plain);
        assert_eq!(on(0), "http://127.0.0.1:8001/ s3cret");
        assert_eq!(on(1), "http://127.0.0.1:8002/ s3cret");
        assert_eq!(on(2), "http://127.0.0.1:8000/ s3cret");
        assert_eq!(url.expand(&base, Quoting::Plain), on(2));
    }

    #[test]
    fn an_undeclared_name_is_located_and_told_to_be_declared_first() {
        let (profile, errors) =
            loaded("[targets.web-1]\nvars = { app_prot = \"8001\", region = \"eu\" }\n");
        assert!(profile.is_none());
        assert_eq!(errors.len(), 2, "{errors:?}");
        let (text, d) = &errors[0];
        assert!(
            text.starts_with(
                "p.toml:11:10: error: `app_prot` in the vars of target web-1 is not a declared variable"
            ),
            "{text}"
        );
        let help = d.help.as_deref().unwrap_or_default();
        assert!(help.starts_with("did you mean `app_port`?"), "{help}");
        assert!(help.contains("declare it in [vars] first"), "{help}");
        assert!(
            errors[1].0.starts_with("p.toml:11:29: error: `region`"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_secret_cannot_be_given_a_value_by_a_target() {
        let (profile, errors) = loaded("[targets.web-1]\nvars = { token = \"hunter2\" }\n");
        assert!(profile.is_none());
        let [(text, d)] = errors.as_slice() else {
            panic!("one error: {errors:?}");
        };
        assert!(
            text.starts_with(
                "p.toml:11:10: error: `token` is a secret: target web-1 cannot give it a value"
            ),
            "{text}"
        );
        assert!(
            d.help
                .as_deref()
                .unwrap_or_default()
                .contains("environment")
        );
    }

    #[test]
    fn values_are_strings_or_integers_in_a_table() {
        let (_, errors) = loaded("[targets.web-1]\nvars = { app_port = true }\n");
        assert!(
            errors[0]
                .0
                .contains("`app_port` must be a string or an integer, found a boolean"),
            "{errors:?}"
        );
        let (_, errors) = loaded("[targets.web-1]\nvars = \"app_port=1\"\n");
        assert!(
            errors[0].0.contains("`vars` must be a table of values"),
            "{errors:?}"
        );
        let (_, errors) = loaded("[targets.web-1]\nvar = { app_port = \"1\" }\n");
        assert!(errors[0].0.contains("did you mean `vars`?"), "{errors:?}");
    }
}
