//! `[release] current`, `changes`, `pending`: what the loader checks of the commands that find
//! what ships, and the `{{previous}}` variable `current` gives every command.

use toml::Spanned;

use super::diag::Diagnostic;
use super::load::Loader;
use super::read::Fields;
use super::schema::Profile;

/// The variable `[release] current` fills with each host's version before the release.
pub const PREVIOUS: &str = "previous";

/// What `gonogo check` says of a `{{previous}}` with no `current` to find it.
pub const PREVIOUS_HELP: &str = "set [release] current = \"COMMAND\" (it prints the version running on each host): {{previous}} is what it found";

impl Loader<'_> {
    /// `{{previous}}` becomes usable; declared in `[vars]` too, it would have two sources.
    pub(crate) fn previous_var(&mut self, at: Option<std::ops::Range<usize>>) {
        if self.var_names.iter().any(|v| v == PREVIOUS) {
            self.diags.push(
                Diagnostic::error(at, "`previous` is declared in [vars], and [release] current finds it too")
                    .help("remove it from [vars]: with `current`, {{previous}} is the version each host ran before the release"),
            );
            return;
        }
        self.var_names.push(PREVIOUS.to_string());
    }

    /// `pending_on`: the target `pending` runs on, named and existing (checked once the
    /// targets are read).
    pub(crate) fn pending_on(
        &mut self,
        f: &Fields<'_, '_>,
        pending: bool,
    ) -> Option<Spanned<String>> {
        let on = f.str("pending_on", &mut self.diags);
        match (&on, pending) {
            (None, true) => self.diags.push(
                Diagnostic::error(f.key_span("pending"), "`pending` needs `pending_on`: the target it runs on")
                    .help("e.g. pending_on = \"web-1\" (the host the migrations run from)"),
            ),
            (Some(on), false) => self.diags.push(
                Diagnostic::error(on.span(), "`pending_on` without `pending`")
                    .help("add pending = \"COMMAND\" (e.g. \"alembic history -r current:head\"), or remove it"),
            ),
            _ => {}
        }
        on
    }

    /// `pending_on` names a target.
    pub(crate) fn pending_on_resolves(&mut self, p: &Profile) {
        let Some(on) = &p.release.pending_on else {
            return;
        };
        if p.targets.iter().any(|t| t.name == *on) {
            return;
        }
        let names: Vec<&str> = p.targets.iter().map(|t| t.name.as_str()).collect();
        let help = match super::diag::did_you_mean(on, names.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("targets: {}", names.join(", ")),
        };
        let at = p.release.pending_on_span.clone();
        self.diags.push(
            Diagnostic::error(at, format!("`pending_on = \"{on}\"` is not a target")).help(help),
        );
    }
}
