//! The tables around the steps: log streams, health checks, metrics, the watch window and its
//! rollback rules, notifications and release windows.

use std::time::Duration;

/// How long a rollback proposal waits for a person with `auto_rollback = true`.
pub const DEFAULT_AUTO_ROLLBACK: Duration = Duration::from_secs(60);

use toml::Spanned;

use super::diag::Diagnostic;
use super::load::Loader;
use super::read::{Fields, content_offset, wrong_type};
use super::rule::parse_rule;
use super::schema::*;
use super::template::Template;

impl Loader<'_> {
    pub(crate) fn logs(&mut self, top: &Fields<'_, '_>) -> Vec<LogSource> {
        let mut out = Vec::new();
        for (name, table, span) in self.named_tables(top, "logs") {
            let place = format!("[logs.{name}]");
            let f = Fields::new(
                table,
                span,
                &place,
                &["on", "command", "errors"],
                &mut self.diags,
            );
            let on = self.selector(&f, "on", &place);
            let command = self.required_str(
                &f,
                "command",
                &place,
                "\"journalctl -u app -f -n 0 --no-pager\"",
            );
            let errors = self.regex(&f, "errors");
            if let (Some(on), Some(command)) = (on, command) {
                out.push(LogSource {
                    name,
                    on,
                    command: self.template(&command),
                    errors,
                });
            }
        }
        out
    }

    pub(crate) fn health(&mut self, top: &Fields<'_, '_>) -> Vec<HealthCheck> {
        let keys = ["url", "via", "expect", "every", "timeout"];
        let mut out = Vec::new();
        for (name, table, span) in self.named_tables(top, "health") {
            let place = format!("[health.{name}]");
            let f = Fields::new(table, span, &place, &keys, &mut self.diags);
            let url = self.required_str(&f, "url", &place, "\"http://127.0.0.1:8000/health\"");
            let via = f
                .has("via")
                .then(|| self.selector(&f, "via", &place))
                .flatten();
            let expect = f
                .count("expect", 100..=599, &mut self.diags)
                .map_or(200, |e| e.into_inner() as u16);
            let every = f
                .duration("every", &mut self.diags)
                .map_or(Duration::from_secs(5), Spanned::into_inner);
            let timeout = f
                .duration("timeout", &mut self.diags)
                .map_or(Duration::from_secs(2), Spanned::into_inner);
            if let Some(url) = url {
                out.push(HealthCheck {
                    name,
                    url: self.template(&url),
                    via,
                    expect,
                    every,
                    timeout,
                });
            }
        }
        out
    }

    pub(crate) fn metrics(&mut self, top: &Fields<'_, '_>) -> Vec<MetricSource> {
        let keys = ["url", "via", "errors", "requests", "latency", "every"];
        let mut out = Vec::new();
        for (name, table, span) in self.named_tables(top, "metrics") {
            let place = format!("[metrics.{name}]");
            let f = Fields::new(table, span, &place, &keys, &mut self.diags);
            let url = self.required_str(&f, "url", &place, "\"http://127.0.0.1:8000/metrics\"");
            let via = f
                .has("via")
                .then(|| self.selector(&f, "via", &place))
                .flatten();
            let errors = self.series_selector(&f, "errors");
            let requests = self.series_selector(&f, "requests");
            let latency = self.series_selector(&f, "latency");
            let d = &mut self.diags;
            let every = f
                .duration("every", d)
                .map_or(Duration::from_secs(15), Spanned::into_inner);
            if let Some(url) = url {
                out.push(MetricSource {
                    name,
                    url: self.template(&url),
                    via,
                    errors,
                    requests,
                    latency,
                    every,
                });
            }
        }
        out
    }

    /// A Prometheus series selector, `http_requests_total{status=~"5.."}`, checked as the
    /// scrape will read it.
    fn series_selector(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<String> {
        let value = f.str(key, &mut self.diags)?;
        if let Err(why) = crate::probe::metrics::Selector::parse(value.get_ref()) {
            self.diags.push(
                Diagnostic::error(
                    value.span(),
                    format!("`{key}` is not a series selector: {why}"),
                )
                .help(format!(
                    "for example: {key} = 'http_requests_total{{status=~\"5..\"}}'"
                )),
            );
            return None;
        }
        Some(value.into_inner())
    }

    pub(crate) fn watch(&mut self, top: &Fields<'_, '_>) -> Option<Watch> {
        let (table, span) = top.table("watch", &mut self.diags)?;
        let f = Fields::new(
            table,
            span,
            "[watch]",
            &[
                "duration",
                "rollback_on",
                "auto_rollback",
                "short_because",
                "require_judgement",
                "baseline",
            ],
            &mut self.diags,
        );
        // A window outside 5m–15m on purpose (a demo, a rehearsal) says why, and is not warned.
        let short_because = f
            .str("short_because", &mut self.diags)
            .filter(|why| !why.get_ref().trim().is_empty());
        let duration = self.watch_duration(&f, short_because.is_some());
        let rollback_on = self.rollback_rules(&f);
        // `true` waits a minute for a person; a duration says how long.
        let auto_rollback = match f.get("auto_rollback") {
            Some(v) if v.get_ref().as_bool().is_some() => f
                .bool("auto_rollback", &mut self.diags)
                .and_then(|on| on.then_some(DEFAULT_AUTO_ROLLBACK)),
            Some(_) => f
                .duration("auto_rollback", &mut self.diags)
                .map(|d| *d.get_ref()),
            None => None,
        };
        let require_judgement = f.bool("require_judgement", &mut self.diags);
        let baseline = f
            .duration("baseline", &mut self.diags)
            .map(Spanned::into_inner);
        Some(Watch {
            baseline,
            duration,
            rollback_on,
            auto_rollback,
            require_judgement,
        })
    }

    /// `[watch] duration`: 10 minutes unless said; from 2s to 60m, and warned outside 5m–15m
    /// unless the profile `explained` why (`short_because`).
    fn watch_duration(&mut self, f: &Fields<'_, '_>, explained: bool) -> Duration {
        match f.duration("duration", &mut self.diags) {
            None => Duration::from_secs(10 * 60),
            Some(d) => {
                let secs = d.get_ref().as_secs_f64();
                // A rehearsal (the demo, a test) may watch for seconds; a release, minutes.
                if !(2.0..=3600.0).contains(&secs) {
                    self.diags.push(
                        Diagnostic::error(d.span(), "the watch window must last from 2s to 60m")
                            .help(
                                "operators watch 5m to 15m after a deploy, e.g. duration = \"10m\"",
                            ),
                    );
                } else if !(300.0..=900.0).contains(&secs) && !explained {
                    self.diags.push(
                    Diagnostic::warning(d.span(), "a watch window outside 5m–15m")
                        .help("most regressions show within 5–15 minutes; shorter misses them, longer holds the lock (on purpose? say why: short_because = \"...\")"),
                );
                }
                d.into_inner()
            }
        }
    }

    /// `[watch] rollback_on`: each rule parsed, an error pointing into the string that is wrong.
    fn rollback_rules(&mut self, f: &Fields<'_, '_>) -> Vec<crate::engine::watch_rule::WatchRule> {
        let mut rollback_on = Vec::new();
        if let Some(rules) = f.get("rollback_on") {
            match rules.get_ref().as_array() {
                None => self.diags.push(wrong_type(
                    "rollback_on",
                    rules,
                    "an array of rules",
                    "rollback_on = [\"error_ratio > 5% for 1m\"]",
                )),
                Some(items) => {
                    for item in items.iter() {
                        let Some(text) = item.get_ref().as_str() else {
                            self.diags.push(wrong_type(
                                "rollback_on",
                                item,
                                "an array of strings",
                                "rollback_on = [\"health failing for 30s\"]",
                            ));
                            continue;
                        };
                        match parse_rule(text) {
                            Ok(rule) => rollback_on.push(rule),
                            Err(e) => {
                                let at = content_offset(&self.src.text, &item.span(), text)
                                    .map_or(item.span(), |start| {
                                        start + e.offset..start + e.offset + 1
                                    });
                                self.diags.push(
                                    Diagnostic::error(at, format!("rollback rule: {}", e.message))
                                        .help(e.help),
                                );
                            }
                        }
                    }
                }
            }
        }
        rollback_on
    }

    pub(crate) fn notify(&mut self, top: &Fields<'_, '_>, vars: &[VarDecl]) -> Option<Notify> {
        let (table, span) = top.table("notify", &mut self.diags)?;
        let f = Fields::new(
            table,
            span,
            "[notify]",
            &["webhook", "format", "every"],
            &mut self.diags,
        );
        let webhook = self.required_str(&f, "webhook", "[notify]", "\"{{slack_webhook}}\"");
        let webhook = webhook.map(|w| {
            let template = self.template(&w);
            self.webhook_secrecy(&w, &template, vars);
            template
        });
        let format = match f.str("format", &mut self.diags) {
            None => NotifyFormat::Slack,
            Some(v) => match v.get_ref().as_str() {
                "slack" => NotifyFormat::Slack,
                "json" => NotifyFormat::Json,
                other => {
                    let help = match super::diag::did_you_mean(other, ["slack", "json"]) {
                        Some(near) => format!("did you mean `format = \"{near}\"`?"),
                        None => "`slack` posts {\"text\": …}; `json` a generic object".into(),
                    };
                    self.diags.push(
                        Diagnostic::error(v.span(), format!("unknown notify format `{other}`"))
                            .help(format!("{help} (format = \"slack\" or \"json\")")),
                    );
                    NotifyFormat::Slack
                }
            },
        };
        let every = f.duration("every", &mut self.diags).and_then(|d| {
            let secs = d.get_ref().as_secs_f64();
            // A rehearsal (the demo, a test) may update every second; a channel, every minutes.
            if secs < 1.0 {
                self.diags.push(
                    Diagnostic::error(d.span(), "status updates must be at least 1s apart")
                        .help("teams read an update every 10m to 30m, e.g. every = \"15m\""),
                );
                return None;
            }
            if secs < 60.0 {
                self.diags.push(
                    Diagnostic::warning(d.span(), "status updates more often than once a minute")
                        .help("a channel flooded with updates is muted; e.g. every = \"15m\""),
                );
            }
            Some(d.into_inner())
        });
        Some(Notify {
            webhook: webhook?,
            format,
            every,
        })
    }

    /// The webhook's URL lets anyone post to the channel: it belongs in a secret variable.
    fn webhook_secrecy(&mut self, value: &Spanned<String>, template: &Template, vars: &[VarDecl]) {
        let used: Vec<&str> = template.vars().map(|(name, _)| name).collect();
        let help = concat!(
            "webhook = \"{{slack_webhook}}\" with ",
            "slack_webhook = { env = \"SLACK_WEBHOOK\", secret = true } in [vars]"
        );
        if used.is_empty() {
            if !value.get_ref().starts_with("http://") && !value.get_ref().starts_with("https://") {
                self.diags.push(
                    Diagnostic::error(value.span(), "`webhook` is not an http(s) URL").help(
                        format!("give the incoming webhook's URL through a variable: {help}"),
                    ),
                );
                return;
            }
            self.diags.push(
                Diagnostic::warning(value.span(), "the webhook URL is written in the profile")
                    .help(format!(
                        "anyone who reads the profile can post to the channel: {help}"
                    )),
            );
            return;
        }
        let secret = |name: &str| vars.iter().any(|v| v.name == name && v.secret);
        if !used.iter().any(|name| secret(name)) {
            self.diags.push(
                Diagnostic::warning(
                    value.span(),
                    "the webhook comes from a variable not marked secret",
                )
                .help(format!(
                    "mark it `secret = true` so it is never shown: {help}"
                )),
            );
        }
    }

    pub(crate) fn policy(&mut self, top: &Fields<'_, '_>) -> Option<Policy> {
        let (table, span) = top.table("policy", &mut self.diags)?;
        let f = Fields::new(
            table,
            span,
            "[policy]",
            &["windows", "freezes", "approvals", "unattended"],
            &mut self.diags,
        );
        let approvals = f
            .count("approvals", 1..=10, &mut self.diags)
            .map_or(1, |n| *n.get_ref());
        let unattended = match f.str("unattended", &mut self.diags) {
            None => crate::engine::Unattended::default(),
            Some(word) => match word.get_ref().as_str() {
                "rollback" => crate::engine::Unattended::Rollback,
                "abort" => crate::engine::Unattended::Abort,
                other => {
                    self.diags.push(
                        Diagnostic::error(
                            word.span(),
                            format!("`unattended = \"{other}\"` is not a policy"),
                        )
                        .help("write \"rollback\" (roll back once anything ran; the default) or \"abort\" (stop and name the hosts left changed)"),
                    );
                    crate::engine::Unattended::default()
                }
            },
        };
        let mut windows = Vec::new();
        for w in f.strings("windows", &mut self.diags).unwrap_or_default() {
            match super::policy::parse_window(w.get_ref()) {
                Ok(window) => windows.push(window),
                Err((offset, why)) => {
                    let at = content_offset(&self.src.text, &w.span(), w.get_ref())
                        .map_or(w.span(), |s| s + offset..s + offset + 1);
                    self.diags.push(
                        Diagnostic::error(at, format!("release window: {why}"))
                            .help("write days then hours, e.g. \"Mon-Thu 09:00-16:00\""),
                    );
                }
            }
        }
        let mut freezes = Vec::new();
        for w in f.strings("freezes", &mut self.diags).unwrap_or_default() {
            match super::policy::parse_freeze(w.get_ref()) {
                Ok(freeze) => freezes.push(freeze),
                Err((offset, why)) => {
                    let at = content_offset(&self.src.text, &w.span(), w.get_ref())
                        .map_or(w.span(), |s| s + offset..s + offset + 1);
                    self.diags.push(
                        Diagnostic::error(at, format!("release freeze: {why}"))
                            .help("write dates, e.g. \"2026-12-20..2027-01-05\" or \"2026-12-24\""),
                    );
                }
            }
        }
        Some(Policy {
            windows,
            freezes,
            approvals,
            unattended,
        })
    }
}
