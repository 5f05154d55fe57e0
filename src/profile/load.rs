//! Loading a profile: TOML syntax, then every table, collecting every problem with its place.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diag::{Diagnostic, Diagnostics, Source, did_you_mean};
use super::read::{Fields, content_offset, wrong_type};
use super::schema::*;
use super::template::{Template, is_var_name};

const TOP_KEYS: &[&str] = &[
    "version", "release", "vars", "ssh", "targets", "logs", "health", "metrics", "step", "watch",
    "rollback", "notify", "policy", "after", "phases",
];

/// Builds a [`Profile`] from a source, collecting diagnostics as it goes.
pub(crate) struct Loader<'s> {
    pub src: &'s Source,
    pub diags: Diagnostics,
    /// Declared variable names, so templates can be checked as they are read.
    pub var_names: Vec<String>,
    /// The secret ones among them, which no target may give a value.
    pub secret_names: Vec<String>,
}

/// Parses and checks one profile. The profile is there only when no error was found.
pub fn load(src: &Source) -> (Option<Profile>, Diagnostics) {
    let mut loader = Loader {
        src,
        diags: Diagnostics::default(),
        var_names: Vec::new(),
        secret_names: Vec::new(),
    };
    let profile = loader.profile();
    let profile = profile.filter(|_| !loader.diags.has_errors());
    (profile, loader.diags)
}

impl<'s> Loader<'s> {
    fn profile(&mut self) -> Option<Profile> {
        let (doc, errors) = DeTable::parse_recoverable(&self.src.text);
        if !errors.is_empty() {
            let mut seen = Vec::new();
            for e in errors {
                let span = e.span().unwrap_or(0..0);
                if seen.contains(&span.start) {
                    continue;
                }
                seen.push(span.start);
                self.diags.push(
                    Diagnostic::error(span, format!("invalid TOML: {}", e.message()))
                        .help("fix the syntax here; the profile format is TOML (https://toml.io)"),
                );
            }
            return None;
        }
        let top = Fields::new(
            doc.get_ref(),
            0..0,
            "the profile",
            TOP_KEYS,
            &mut self.diags,
        );
        self.version(&top);
        let vars = self.vars(&top);
        self.var_names = vars.iter().map(|v| v.name.clone()).collect();
        let secrets = vars.iter().filter(|v| v.secret);
        self.secret_names = secrets.map(|v| v.name.clone()).collect();
        let release = self.release(&top);
        let ssh = self.ssh(&top);
        let targets = self.targets(&top);
        let logs = self.logs(&top);
        let health = self.health(&top);
        let metrics = self.metrics(&top);
        let mut steps = self.steps(&top, "step", "[[step]]");
        // `[[after]]` steps come last: they run once the watch's verdict was GO.
        steps.extend(self.steps(&top, "after", "[[after]]"));
        let rollback = self.steps(&top, "rollback", "[[rollback]]");
        let watch = self.watch(&top);
        let phases = self.phases(&top);
        let notify = self.notify(&top, &vars);
        let policy = self.policy(&top);
        let profile = Profile {
            release: release?,
            vars,
            ssh,
            targets,
            logs,
            health,
            metrics,
            steps,
            watch,
            rollback,
            notify,
            policy,
            phases,
        };
        self.cross_check(&profile);
        Some(profile)
    }

    fn version(&mut self, top: &Fields<'_, '_>) {
        let Some(version) = top.integer("version", &mut self.diags) else {
            if !top.has("version") {
                self.diags.push(
                    Diagnostic::error(0..0, "the profile does not say its format version")
                        .help("add `version = 1` as the first line"),
                );
            }
            return;
        };
        if *version.get_ref() != 1 {
            self.diags.push(
                Diagnostic::error(
                    version.span(),
                    format!(
                        "profile format version {} is not supported",
                        version.get_ref()
                    ),
                )
                .help("this gonogo reads `version = 1`"),
            );
        }
    }

    /// A required table: reports it missing at the top of the file.
    fn required_table<'a, 'i>(
        &mut self,
        top: &Fields<'a, 'i>,
        key: &str,
        example: &str,
    ) -> Option<(&'a DeTable<'i>, Range<usize>)> {
        if !top.has(key) {
            self.diags.push(
                Diagnostic::error(0..0, format!("the profile has no [{key}] table"))
                    .help(format!("add it, e.g.\n{example}")),
            );
            return None;
        }
        top.table(key, &mut self.diags)
    }

    pub(crate) fn required_str(
        &mut self,
        fields: &Fields<'_, '_>,
        key: &str,
        place: &str,
        example: &str,
    ) -> Option<Spanned<String>> {
        if !fields.has(key) {
            self.diags.push(
                Diagnostic::error(fields.span.clone(), format!("{place} has no `{key}`"))
                    .help(format!("add `{key} = {example}`")),
            );
            return None;
        }
        let value = fields.str(key, &mut self.diags)?;
        if value.get_ref().trim().is_empty() {
            self.diags.push(
                Diagnostic::error(value.span(), format!("`{key}` in {place} is empty"))
                    .help(format!("for example: {key} = {example}")),
            );
            return None;
        }
        Some(value)
    }

    fn release(&mut self, top: &Fields<'_, '_>) -> Option<ReleaseInfo> {
        let example = "[release]\nname = \"acme-web\"\nenvironment = \"production\"\nversion = \"{{version}}\"";
        let (table, span) = self.required_table(top, "release", example)?;
        let f = Fields::new(
            table,
            span,
            "[release]",
            &[
                "name",
                "environment",
                "version",
                "lock_dir",
                "current",
                "changes",
                "pending",
                "pending_on",
            ],
            &mut self.diags,
        );
        // `{{previous}}` is what `current` found on each host.
        if f.has("current") {
            self.previous_var(f.key_span("current"));
        }
        let name = self.required_str(&f, "name", "[release]", "\"acme-web\"");
        let environment = self.required_str(&f, "environment", "[release]", "\"production\"");
        let version = f.str("version", &mut self.diags).map(|v| self.template(&v));
        let lock_dir = f.str("lock_dir", &mut self.diags);
        if let Some(dir) = &lock_dir
            && !(dir.get_ref().starts_with('/') || dir.get_ref().starts_with("~/"))
        {
            self.diags.push(
                Diagnostic::error(dir.span(), "lock_dir must be an absolute path or start with ~/")
                    .help("e.g. lock_dir = \"/var/lib/gonogo/locks\" (shared by every account that can write it)"),
            );
        }
        let environment = environment?;
        let command = |l: &mut Self, key: &str| f.str(key, &mut l.diags).map(|v| l.template(&v));
        let (current, changes, pending) = (
            command(self, "current"),
            command(self, "changes"),
            command(self, "pending"),
        );
        let pending_on = self.pending_on(&f, pending.is_some());
        Some(ReleaseInfo {
            name: name?.into_inner(),
            environment_span: environment.span(),
            environment: environment.into_inner(),
            version,
            lock_dir: lock_dir.map(Spanned::into_inner),
            current,
            changes,
            pending,
            pending_on_span: pending_on.as_ref().map_or(0..0, |p| p.span()),
            pending_on: pending_on.map(Spanned::into_inner),
        })
    }

    fn vars(&mut self, top: &Fields<'_, '_>) -> Vec<VarDecl> {
        let Some((table, _)) = top.table("vars", &mut self.diags) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in table.iter() {
            let name = key.get_ref().to_string();
            if !is_var_name(&name) {
                self.diags.push(
                    Diagnostic::error(key.span(), format!("`{name}` is not a variable name"))
                        .help("use letters, digits and _, not starting with a digit: app_dir"),
                );
                continue;
            }
            let mut var = VarDecl {
                name,
                default: None,
                required: false,
                description: None,
                env: None,
                secret: false,
                span: key.span(),
            };
            match value.get_ref() {
                DeValue::String(s) => var.default = Some(s.to_string()),
                DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => {
                    var.default = self.src.text.get(value.span()).map(str::to_string);
                }
                DeValue::Table(t) => {
                    let place = format!("variable `{}`", var.name);
                    let f = Fields::new(
                        t,
                        value.span(),
                        &place,
                        &["default", "required", "description", "env", "secret"],
                        &mut self.diags,
                    );
                    var.default = f.str("default", &mut self.diags).map(Spanned::into_inner);
                    var.required = f.bool("required", &mut self.diags).unwrap_or(false);
                    var.description = f
                        .str("description", &mut self.diags)
                        .map(Spanned::into_inner);
                    var.env = f.str("env", &mut self.diags).map(Spanned::into_inner);
                    var.secret = f.bool("secret", &mut self.diags).unwrap_or(false);
                    if var.required && var.default.is_some() {
                        self.diags.push(
                            Diagnostic::error(f.key_span("default").unwrap_or(value.span()), format!("variable `{}` is required and has a default", var.name))
                                .help("a default means it is never missing: drop `required` or the default"),
                        );
                    }
                    if var.secret && var.default.is_some() {
                        self.diags.push(
                            Diagnostic::error(
                                f.key_span("default").unwrap_or(value.span()),
                                format!(
                                    "secret `{}` has its value written in the profile",
                                    var.name
                                ),
                            )
                            .help("take it from the environment instead: env = \"NAME\""),
                        );
                    }
                }
                _ => self.diags.push(wrong_type(
                    &var.name,
                    value,
                    "a value or a table",
                    &format!("{} = {{ required = true, description = \"…\" }}", var.name),
                )),
            }
            out.push(var);
        }
        out
    }

    fn ssh(&mut self, top: &Fields<'_, '_>) -> SshSettings {
        let Some((table, span)) = top.table("ssh", &mut self.diags) else {
            return SshSettings::default();
        };
        let keys = [
            "config",
            "known_hosts",
            "identity",
            "keepalive",
            "connect_timeout",
            "reconnect_budget",
        ];
        let f = Fields::new(table, span, "[ssh]", &keys, &mut self.diags);
        let d = &mut self.diags;
        SshSettings {
            config: f.str("config", d).map(Spanned::into_inner),
            known_hosts: f.str("known_hosts", d).map(Spanned::into_inner),
            identity: f.str("identity", d).map(Spanned::into_inner),
            keepalive: f.duration("keepalive", d).map(Spanned::into_inner),
            connect_timeout: f.duration("connect_timeout", d).map(Spanned::into_inner),
            reconnect_budget: f.duration("reconnect_budget", d).map(Spanned::into_inner),
        }
    }

    /// Each `[section.NAME]` table, with its name checked.
    pub(crate) fn named_tables<'a, 'i>(
        &mut self,
        top: &Fields<'a, 'i>,
        section: &str,
    ) -> Vec<(String, &'a DeTable<'i>, Range<usize>)> {
        let Some((table, _)) = top.table(section, &mut self.diags) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in table.iter() {
            let name = key.get_ref().to_string();
            if !is_name(&name) {
                self.diags.push(
                    Diagnostic::error(key.span(), format!("`{name}` is not a usable name"))
                        .help("use letters, digits, '-', '_' and '.'"),
                );
            }
            match value.get_ref().as_table() {
                Some(t) => out.push((name, t, value.span())),
                None => self.diags.push(wrong_type(
                    &format!("{section}.{name}"),
                    value,
                    "a table",
                    &format!("[{section}.{name}]"),
                )),
            }
        }
        out
    }

    fn targets(&mut self, top: &Fields<'_, '_>) -> Vec<Target> {
        let keys = [
            "host",
            "user",
            "port",
            "identity",
            "roles",
            "transport",
            "vars",
        ];
        let mut out = Vec::new();
        for (name, table, span) in self.named_tables(top, "targets") {
            let place = format!("[targets.{name}]");
            let f = Fields::new(table, span, &place, &keys, &mut self.diags);
            let host = f.str("host", &mut self.diags).map(|h| self.template(&h));
            let user = f.str("user", &mut self.diags).map(|u| self.template(&u));
            let port = f
                .count("port", 1..=65535, &mut self.diags)
                .map(|p| p.into_inner() as u16);
            let identity = f.str("identity", &mut self.diags).map(Spanned::into_inner);
            let roles = f.strings("roles", &mut self.diags).unwrap_or_default();
            let vars = self.target_vars(&f, &name);
            for role in &roles {
                if !is_name(role.get_ref()) {
                    self.diags.push(
                        Diagnostic::error(
                            role.span(),
                            format!("`{}` is not a usable role name", role.get_ref()),
                        )
                        .help("use letters, digits, '-', '_' and '.'"),
                    );
                }
            }
            let transport = match f.str("transport", &mut self.diags) {
                None => Transport::Ssh,
                Some(t) if t.get_ref() == "ssh" => Transport::Ssh,
                Some(t) if t.get_ref() == "local" => Transport::Local,
                Some(t) => {
                    let help = did_you_mean(t.get_ref(), ["ssh", "local"]).map_or(
                        "transport is \"ssh\" (the default) or \"local\"".into(),
                        |n| format!("did you mean \"{n}\"?"),
                    );
                    self.diags.push(
                        Diagnostic::error(
                            t.span(),
                            format!("unknown transport \"{}\"", t.get_ref()),
                        )
                        .help(help),
                    );
                    Transport::Ssh
                }
            };
            if transport == Transport::Local {
                for key in ["host", "user", "port", "identity"] {
                    if let Some(span) = f.key_span(key) {
                        self.diags.push(
                            Diagnostic::error(span, format!("`{key}` has no meaning on a local target"))
                                .help("a local target runs on this machine's shell: remove it, or use transport = \"ssh\""),
                        );
                    }
                }
            }
            out.push(Target {
                name,
                host,
                user,
                port,
                identity,
                roles: roles.into_iter().map(Spanned::into_inner).collect(),
                transport,
                vars,
                span: f.span.clone(),
            });
        }
        out
    }

    /// `on` / `via`: names are checked against targets and roles once all are read.
    pub(crate) fn selector(
        &mut self,
        f: &Fields<'_, '_>,
        key: &str,
        place: &str,
    ) -> Option<Selector> {
        if !f.has(key) {
            self.diags.push(
                Diagnostic::error(f.span.clone(), format!("{place} has no `{key}`"))
                    .help(format!("say where it runs: {key} = \"<target or role>\"")),
            );
            return None;
        }
        let names = f.strings(key, &mut self.diags)?;
        if names.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    f.get(key).map_or(f.span.clone(), |v| v.span()),
                    format!("`{key}` names nothing"),
                )
                .help(format!("name a target or a role: {key} = \"web\"")),
            );
            return None;
        }
        Some(Selector {
            spans: names.iter().map(Spanned::span).collect(),
            names: names.into_iter().map(Spanned::into_inner).collect(),
        })
    }

    pub(crate) fn regex(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<String> {
        let pattern = f.str(key, &mut self.diags)?;
        match regex::Regex::new(pattern.get_ref()) {
            Ok(_) => Some(pattern.into_inner()),
            Err(e) => {
                let text = e.to_string();
                let why = text
                    .lines()
                    .find_map(|l| l.strip_prefix("error: "))
                    .unwrap_or(text.lines().last().unwrap_or("invalid"));
                self.diags.push(
                    Diagnostic::error(pattern.span(), format!("`{key}` is not a valid regular expression: {why}"))
                        .help("regex syntax: https://docs.rs/regex/#syntax; escape literal ( [ { . with \\\\"),
                );
                None
            }
        }
    }

    /// A template whose every `{{name}}` must be declared in `[vars]`.
    pub(crate) fn template(&mut self, value: &Spanned<String>) -> Template {
        let template = Template::parse(value.get_ref());
        let start = content_offset(&self.src.text, &value.span(), value.get_ref());
        for (name, offset) in template.vars() {
            if self.var_names.iter().any(|v| v == name) {
                continue;
            }
            let at = start.map_or(value.span(), |s| s + offset..s + offset + name.len() + 4);
            let near = did_you_mean(name, self.var_names.iter().map(String::as_str));
            let help = match near {
                // `{{previous}}` exists once `current` says how to find it.
                _ if name == super::ships::PREVIOUS => super::ships::PREVIOUS_HELP.to_string(),
                Some(near) => format!("did you mean `{{{{{near}}}}}`?"),
                None => format!(
                    "declare it in [vars], e.g. {name} = {{ required = true, description = \"…\" }}"
                ),
            };
            self.diags.push(
                Diagnostic::error(at, format!("`{{{{{name}}}}}` is not a declared variable"))
                    .help(help),
            );
        }
        template
    }
}

/// Target, role and section names: what is safe in a file name and a log prefix.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
