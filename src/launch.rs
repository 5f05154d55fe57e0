//! `gonogo run`: from a checked profile and the command line to a session on its way.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::engine::{Release, ReleasePlan, StepList};
use crate::headless::{self, Headless};
use crate::preflight;
use crate::profile::{Profile, Quoting, Transport, VarValues};
use crate::runtime::{self, Input, Session};
use crate::transport::Link;
use crate::transport::known_hosts;
use crate::transport::lines::Redactor;
use crate::transport::lock::Holder;
use crate::transport::ssh::{Endpoint, SshOptions};
use crate::transport::ssh_config::{self, TargetAddress};
use crate::ui::cockpit::Cockpit;
use crate::ui::theme::Theme;

#[derive(Debug, Clone, Default)]
pub struct RunFlags {
    pub yes: bool,
    pub accept_new_host_keys: bool,
    pub break_lock: Option<String>,
    /// Outside every `[policy]` window: the operator's reason to release anyway.
    pub window_override: Option<String>,
}

/// Runs the release, headless or in the cockpit; an error here means it never started.
pub fn run(
    profile: &Profile,
    vars: &VarValues,
    flags: &RunFlags,
    headless: bool,
) -> Result<Release, String> {
    let config = ssh_config::load(profile.ssh.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let (events, event_rx) = mpsc::channel(4096);
        let (inputs, input_rx) = mpsc::channel(64);
        let operator = ssh_config::local_user();
        let endpoints = endpoints(profile, vars, config.as_ref());
        // Before the cockpit takes the terminal: the one moment a passphrase can be asked.
        let unlocked = if headless {
            HashMap::new()
        } else {
            let paths: Vec<_> = endpoints
                .iter()
                .flat_map(|(_, ep)| ep.iter().flat_map(Endpoint::identity_files))
                .collect();
            crate::transport::ssh::unlock_keys(&paths).await
        };
        let session = session(
            profile,
            vars,
            flags,
            endpoints,
            unlocked,
            &operator,
            events.clone(),
        );
        watch_signals(inputs.clone());
        if headless {
            let mut frontend =
                Headless::new(&operator, flags.yes).with_notes(preflight::not_acted_on(profile));
            headless::read_stdin(inputs.clone());
            tokio::spawn(async move {
                while tokio::signal::ctrl_c().await.is_ok() {
                    if inputs.send(Input::Interrupt).await.is_err() {
                        return;
                    }
                }
            });
            return Ok(runtime::run(session, &mut frontend, events, event_rx, input_rx).await);
        }
        // ratatui::init installs a panic hook that restores the terminal before the message.
        let terminal = ratatui::init();
        read_terminal(inputs);
        let mut cockpit = Cockpit::new(terminal, &operator, Theme::from_env());
        cockpit.ui.notes = preflight::not_acted_on(profile);
        let release = runtime::run(session, &mut cockpit, events, event_rx, input_rx).await;
        drop(cockpit);
        ratatui::restore();
        // What the cockpit showed about a refusal, on the terminal it leaves behind.
        for why in &release.refusals {
            eprintln!("gonogo: {}", crate::text::printable_lines(why));
        }
        Ok(release)
    })
}

/// SIGTERM and SIGHUP end the release cleanly: abort, locks released, then exit.
fn watch_signals(inputs: mpsc::Sender<Input>) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, why) in [
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "the terminal went away (SIGHUP)"),
    ] {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        let inputs = inputs.clone();
        tokio::spawn(async move {
            if stream.recv().await.is_some() {
                let _ = inputs.send(Input::Terminate(why.to_string())).await;
            }
        });
    }
}

/// Keys and resizes from the terminal, and a beat for the clock, into the run loop.
fn read_terminal(inputs: mpsc::Sender<Input>) {
    use futures::StreamExt as _;
    use ratatui::crossterm::event::{Event as TermEvent, EventStream};
    let keys = inputs.clone();
    tokio::spawn(async move {
        let mut stream = EventStream::new();
        while let Some(Ok(event)) = stream.next().await {
            let input = match event {
                TermEvent::Key(key) => Input::Key(key),
                TermEvent::Resize(..) => Input::Resize,
                _ => continue,
            };
            if keys.send(input).await.is_err() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(Duration::from_millis(100));
        loop {
            beat.tick().await;
            // A full queue means the loop is busy and will redraw anyway.
            if let Err(mpsc::error::TrySendError::Closed(_)) = inputs.try_send(Input::Tick) {
                return;
            }
        }
    });
}

/// Each target's SSH endpoint after `~/.ssh/config` (none for a local target).
fn endpoints(
    profile: &Profile,
    vars: &VarValues,
    config: Option<&ssh2_config::SshConfig>,
) -> Vec<(String, Option<Endpoint>)> {
    profile
        .targets
        .iter()
        .map(|t| {
            let endpoint = (t.transport == Transport::Ssh).then(|| {
                let address = TargetAddress {
                    host: t
                        .host
                        .as_ref()
                        .map_or(t.name.clone(), |h| h.expand(vars, Quoting::Plain)),
                    user: t.user.as_ref().map(|u| u.expand(vars, Quoting::Plain)),
                    port: t.port,
                    identity: t.identity.clone(),
                };
                ssh_config::resolve(&address, profile.ssh.identity.as_deref(), config)
            });
            (t.name.clone(), endpoint)
        })
        .collect()
}

fn session(
    profile: &Profile,
    vars: &VarValues,
    flags: &RunFlags,
    endpoints: Vec<(String, Option<Endpoint>)>,
    unlocked: HashMap<std::path::PathBuf, Arc<russh::keys::PrivateKey>>,
    operator: &str,
    events: mpsc::Sender<crate::engine::EventKind>,
) -> Session {
    let now = chrono::Utc::now();
    let id = format!(
        "{}-{:05}",
        now.format("%Y%m%dT%H%M%SZ"),
        std::process::id() % 100_000
    );
    let from = gethostname::gethostname().to_string_lossy().into_owned();
    let mut files: Vec<_> = profile
        .ssh
        .known_hosts
        .iter()
        .map(|p| ssh_config::expand_home(p))
        .collect();
    files.extend(known_hosts::default_files());
    let opts = Arc::new(SshOptions {
        known_hosts: files,
        accept_new: flags.accept_new_host_keys,
        keepalive: profile.ssh.keepalive.unwrap_or(Duration::from_secs(15)),
        connect_timeout: profile
            .ssh
            .connect_timeout
            .unwrap_or(Duration::from_secs(10)),
        unlocked,
    });
    let links = endpoints
        .into_iter()
        .map(|(name, endpoint)| {
            let link = match endpoint {
                None => Link::local(&name, events.clone()),
                Some(endpoint) => Link::ssh(&name, endpoint, opts.clone(), events.clone()),
            };
            (name, Arc::new(link))
        })
        .collect();
    let mut commands = HashMap::new();
    for (list, steps) in [
        (StepList::Main, &profile.steps),
        (StepList::Rollback, &profile.rollback),
    ] {
        for (i, step) in steps.iter().enumerate() {
            if step.kind.runs_command() {
                commands.insert((list, i), step.text.expand(vars, Quoting::Shell));
            }
        }
    }
    Session {
        holder: Holder {
            session: id.clone(),
            operator: operator.to_string(),
            from,
            since: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            release: profile.release.name.clone(),
        },
        id,
        operator: operator.to_string(),
        plan: ReleasePlan {
            window_override: flags.window_override.clone(),
            ..ReleasePlan::new(profile, vars)
        },
        commands,
        links,
        break_lock: flags.break_lock.clone(),
        redactor: Arc::new(Redactor::new(vars.secrets())),
    }
}
