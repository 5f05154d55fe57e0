//! `gonogo run`: from a checked profile and the command line to a session on its way.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::drivers::{LiveDrivers, Session};
use crate::engine::{EventKind, Release};
use crate::headless::{self, Headless};

use crate::profile::{Profile, VarValues};
use crate::runtime::{self, Input};
use crate::transport::local::LocalPlace;
use crate::transport::ssh::Endpoint;
use crate::transport::ssh_config;
use crate::ui::cockpit::Cockpit;
use crate::ui::host_shell::{HostShells, KeyReader};
use crate::ui::theme::Theme;

pub mod outcome;
pub mod preflight;
pub mod resume;
mod session;
use session::{endpoints, notify_settings, session, shell_commands, ssh_options};

/// Events from the drivers waiting for the loop. During a flood most are output events of
/// about 128 KB of lines each; a few keep the loop busy while the next ones are read.
const EVENTS_QUEUED: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct RunFlags {
    pub yes: bool,
    pub accept_new_host_keys: bool,
    pub break_lock: Option<String>,
    pub stop_previous: bool,
    /// Outside every `[policy]` window: the operator's reason to release anyway.
    pub window_override: Option<String>,
    /// `--allow-mixed`, `--redeploy`: why the release goes on over what `current` found.
    pub allow_mixed: Option<String>,
    pub redeploy: Option<String>,
    /// This run's log file, named in the cockpit's summary.
    pub log: Option<std::path::PathBuf>,
    /// `--record PATH`: where the journal goes (else the sessions directory).
    pub record: Option<std::path::PathBuf>,
    /// The profile as given on the command line, and the SHA-256 of its bytes, for the journal.
    pub profile_path: String,
    pub profile_sha256: String,
    /// Headless as a GitHub Actions step (`GITHUB_ACTIONS=true`): groups, annotations, and
    /// every line neutralised.
    pub github_actions: bool,
    /// `gonogo resume`: the session to go on with, as its journal left it.
    pub resume: Option<Box<crate::launch::resume::ResumeFrom>>,
    /// Local targets that are simulated hosts (`gonogo demo`), by target name.
    pub places: HashMap<String, Arc<LocalPlace>>,
    /// `gonogo demo`: where `[release] changes` runs instead of the profile's directory (the
    /// demo's own, where it wrote what ships).
    pub changes_dir: Option<std::path::PathBuf>,
    /// `gonogo demo`: its scenario in one line, for the plan (and so the journal).
    pub rehearsal: Option<String>,
    /// `gonogo demo --headless --yes`: the scenario answers the failures it stages.
    pub rehearse: Option<fn() -> crate::headless::Rehearsal>,
    /// `--present`: the cockpit for a screen share, masking these patterns too (`--mask`).
    pub present: Option<Vec<String>>,
    /// `--unattended`: what is decided when nobody can answer, over `[policy] unattended`.
    pub unattended: Option<crate::engine::Unattended>,
}

/// Why a release never started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    SshConfig(#[from] ssh_config::ConfigError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The new session's journal cannot be made.
    #[error("{0}\n  give another place with --record PATH")]
    Record(#[source] crate::journal::JournalError),
    /// The resumed session's journal cannot be reopened (another gonogo holds it).
    #[error(transparent)]
    Reopen(crate::journal::JournalError),
    #[error(
        "cannot reach {target} to resume: {source}\n  nothing was done: run gonogo resume again \
         once it is reachable"
    )]
    Unreachable {
        target: String,
        source: Box<crate::transport::LinkError>,
    },
    #[error(transparent)]
    Mask(#[from] crate::ui::present::MaskError),
}

/// Runs the release, headless or in the cockpit; an error here means it never started.
pub fn run(
    profile: &Profile,
    vars: &VarValues,
    flags: &RunFlags,
    headless: bool,
) -> Result<Ran, LaunchError> {
    let config = ssh_config::load(profile.ssh.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(LaunchError::Runtime)?;
    runtime.block_on(async {
        let ready = ready(profile, vars, flags, headless, config.as_ref()).await?;
        if headless {
            Ok(in_headless(ready, profile, flags).await)
        } else {
            in_cockpit(ready, profile, flags).await
        }
    })
}

/// A session ready to run: its links and commands, its journal open (or reopened) and followed,
/// the channels the loop reads, the team's channel.
struct Ready {
    session: Session,
    operator: String,
    events: (mpsc::Sender<EventKind>, mpsc::Receiver<EventKind>),
    inputs: (mpsc::Sender<Input>, mpsc::Receiver<Input>),
    journal: Option<crate::journal::Writer>,
    notifier: Option<crate::notify::Notifier>,
    shells: HashMap<String, crate::ui::host_shell::ShellCommand>,
    /// The follow socket, open while the session runs.
    _follow: Option<crate::share::socket::Server>,
}

/// Everything said before the release starts (and before a cockpit takes the terminal), once.
async fn ready(
    profile: &Profile,
    vars: &VarValues,
    flags: &RunFlags,
    headless: bool,
    config: Option<&ssh_config::ClientConfig>,
) -> Result<Ready, LaunchError> {
    // Bounded tight: a flood of output waits in the SSH window, not in memory (an event holds
    // up to four chunks' lines, about 1,000 lines of a log). The loop takes every event queued
    // at once and the queue fills again while it works through them: twice this many wait.
    let (events, event_rx) = mpsc::channel(EVENTS_QUEUED);
    let (inputs, input_rx) = mpsc::channel(64);
    let operator = ssh_config::local_user();
    let (endpoints, warnings) = endpoints(profile, vars, config);
    for warning in &warnings {
        eprintln!("gonogo: warning: {warning}");
    }
    // Before the cockpit takes the terminal: the one moment a passphrase can be asked.
    let unlocked = if headless {
        HashMap::new()
    } else {
        let all: Vec<&Endpoint> = endpoints.iter().filter_map(|(_, ep)| ep.as_ref()).collect();
        crate::transport::ssh::unlock_keys(&all).await
    };
    let opts = ssh_options(profile, flags, unlocked);
    let shells = shell_commands(&endpoints, &opts, &flags.places);
    let session = session(
        profile,
        vars,
        flags,
        endpoints,
        opts,
        &operator,
        events.clone(),
    );
    // Before the cockpit takes the terminal: it may have a word to say.
    let notifier = notifier(notify_settings(profile, vars), &session);
    watch_signals(inputs.clone());
    let mut journal = match &flags.resume {
        None => open_journal(&session, flags, &operator, headless)?,
        Some(from) => Some(reopen(&session, from).await?),
    };
    let follow = journal
        .as_mut()
        .and_then(|j| follow_socket(j, &session, &operator, (events.clone(), inputs.clone())));
    Ok(Ready {
        session,
        operator,
        events: (events, event_rx),
        inputs: (inputs, input_rx),
        journal,
        notifier,
        shells,
        _follow: follow,
    })
}

/// The run loop with the live drivers, from the start or from where a resume found it; the
/// follow socket stays open until it ends.
async fn live(
    ready: Ready,
    flags: &RunFlags,
    frontend: &mut dyn runtime::Frontend,
) -> (Release, Option<crate::journal::Writer>) {
    let Ready {
        session,
        operator,
        events: (events, event_rx),
        inputs: (_, input_rx),
        journal,
        notifier,
        _follow,
        ..
    } = ready;
    let (release, first) = beginning(&session, flags, &operator);
    let drivers = LiveDrivers::new(session, events);
    runtime::run_from(
        release, first, drivers, frontend, event_rx, input_rx, journal, notifier,
    )
    .await
}

/// The release told line by line, answered from stdin (or `--yes`, or the unattended policy).
async fn in_headless(ready: Ready, profile: &Profile, flags: &RunFlags) -> Ran {
    let inputs = ready.inputs.0.clone();
    let mut frontend = Headless::new(&ready.operator, flags.yes)
        .masking(ready.session.redactor.clone())
        .with_notes(preflight::not_acted_on(profile))
        .typed_at_a_terminal(std::io::IsTerminal::is_terminal(&std::io::stdin()))
        .in_github_actions(flags.github_actions);
    if let Some(rehearse) = flags.rehearse {
        frontend = frontend.rehearsing(rehearse());
    }
    headless::read_stdin(inputs.clone());
    beat(inputs.clone(), Duration::from_secs(1));
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if inputs.send(Input::Interrupt).await.is_err() {
                return;
            }
        }
    });
    let (release, journal) = live(ready, flags, &mut frontend).await;
    Ran { release, journal }
}

/// The release in the cockpit, which owns the terminal until it gives it back.
async fn in_cockpit(
    mut ready: Ready,
    profile: &Profile,
    flags: &RunFlags,
) -> Result<Ran, LaunchError> {
    // Before the cockpit takes the terminal: a wrong `--mask` is said on a sane one.
    let presenter = flags
        .present
        .as_ref()
        .map(|masks| crate::ui::present::Presenter::new(&ready.session.plan, masks))
        .transpose()?;
    // ratatui::init installs a panic hook that restores the terminal before the message; from
    // here to `give_back`, nothing but the cockpit writes on the terminal.
    let (terminal, screen) = crate::ui::screen::Screen::take();
    let inputs = ready.inputs.0.clone();
    let reader = read_terminal(inputs.clone());
    let shells = HostShells::new(std::mem::take(&mut ready.shells), reader, inputs);
    let mut cockpit =
        Cockpit::new(terminal, &ready.operator, Theme::from_env()).with_shells(shells);
    cockpit.ui.notes = preflight::not_acted_on(profile);
    // What is said after the cockpit is masked like the cockpit was.
    let mask = |text: String| match &presenter {
        Some(p) => p.mask_text(&text),
        None => text,
    };
    cockpit.ui.present = presenter.clone();
    cockpit.ui.log = flags.log.clone();
    cockpit.ui.journal = ready.journal.as_ref().map(|j| j.path().to_path_buf());
    let (release, journal) = live(ready, flags, &mut cockpit).await;
    drop(cockpit);
    screen.give_back();
    // What the cockpit showed about a refusal, on the terminal it leaves behind.
    for why in release.refusals.iter().chain(&release.halted) {
        eprintln!(
            "gonogo: {}",
            mask(crate::text::printable_lines(why).into_owned())
        );
    }
    for kept in &release.kept_locks {
        let why = crate::text::printable_lines(&kept.why);
        eprintln!(
            "{}",
            mask(format!("gonogo: lock kept on {}: {why}", kept.target))
        );
        eprintln!(
            "{}",
            mask(format!("  once checked, remove it with: {}", kept.remove))
        );
    }
    Ok(Ran { release, journal })
}

/// The `[notify]` delivery task, started; a webhook that will not do or a client that cannot
/// be made is said and skipped (a release does not fail for want of notifications).
fn notifier(
    settings: Result<Option<crate::notify::Settings>, session::NoWebhook>,
    session: &Session,
) -> Option<crate::notify::Notifier> {
    let settings = settings
        .map_err(|e| {
            eprintln!(
                "gonogo: warning: {}",
                crate::text::printable(&e.to_string())
            )
        })
        .ok()
        .flatten();
    let started = crate::notify::Notifier::start(settings?, session.redactor.clone());
    started
        .map_err(|e| eprintln!("gonogo: warning: [notify]: {e}: nothing will be posted this run"))
        .ok()
}

/// Where the loop starts: a new release and its `Started`, or a resumed one as its journal left
/// it and `Resumed`.
fn beginning(session: &Session, flags: &RunFlags, operator: &str) -> (Release, EventKind) {
    match &flags.resume {
        None => (Release::default(), session.started()),
        Some(from) => (
            from.release.clone(),
            EventKind::Resumed {
                by: format!(
                    "{operator}@{}",
                    gethostname::gethostname().to_string_lossy()
                ),
                unattended: flags.unattended,
                stopped_at: Some(from.stopped.0),
                stopped_t: Some(from.stopped.1),
            },
        ),
    }
}

/// A resumed session: every target reached again before anything is journaled (one that
/// cannot be leaves the session as it was, to resume later), and its journal reopened.
async fn reopen(
    session: &Session,
    from: &crate::launch::resume::ResumeFrom,
) -> Result<crate::journal::Writer, LaunchError> {
    for (name, link) in &session.links {
        link.connect()
            .await
            .map_err(|source| LaunchError::Unreachable {
                target: name.clone(),
                source: Box::new(source),
            })?;
    }
    let mut writer = crate::journal::Writer::append(&from.path, from.last.0, from.last.1)
        .map_err(LaunchError::Reopen)?;
    if let Some(end) = &from.end {
        writer.index_from(end);
    }
    eprintln!(
        "gonogo: recording to {}",
        crate::text::printable(&from.path.display().to_string())
    );
    Ok(writer)
}

/// A release as it ended, and the journal that recorded it.
pub struct Ran {
    pub release: Release,
    pub journal: Option<crate::journal::Writer>,
}

/// The session's journal, its header on disk, its path said before anything happens.
fn open_journal(
    session: &Session,
    flags: &RunFlags,
    operator: &str,
    headless: bool,
) -> Result<Option<crate::journal::Writer>, LaunchError> {
    use crate::journal::{FORMAT, Header, HeaderTarget, VERSION, Writer};
    let now = chrono::Utc::now();
    let plan = &session.plan;
    let mut path = flags
        .record
        .clone()
        .unwrap_or_else(|| crate::journal::default_path(&plan.release, &plan.environment, now));
    let terminal = (!headless || std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .then(|| ratatui::crossterm::terminal::size().ok())
        .flatten();
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        gonogo: env!("CARGO_PKG_VERSION").into(),
        session: session.id.clone(),
        profile: flags.profile_path.clone(),
        profile_sha256: flags.profile_sha256.clone(),
        release: plan.release.clone(),
        environment: plan.environment.clone(),
        operator: format!("{operator}@{host}"),
        login: crate::login::login(),
        terminal,
        started: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        targets: plan
            .targets
            .iter()
            .map(|t| HeaderTarget {
                name: t.name.clone(),
                address: t.address.clone(),
            })
            .collect(),
        present: flags.present.clone(),
    };
    let mut writer = Writer::create(&path, &header);
    // Two sessions of one release started in the same second on one machine: `-2`, `-3`…
    if flags.record.is_none() {
        let base = path.clone();
        let stem = base.file_stem().unwrap_or_default().to_string_lossy();
        for n in 2..100 {
            if !(writer.is_err() && path.exists()) {
                break;
            }
            path = base.with_file_name(format!("{stem}-{n}.jsonl"));
            writer = Writer::create(&path, &header);
        }
    }
    let writer = writer.map_err(LaunchError::Record)?;
    eprintln!(
        "gonogo: recording to {}",
        crate::text::printable(&path.display().to_string())
    );
    Ok(Some(writer))
}

/// The session's follow socket, fed every journal record; said on the terminal before the
/// cockpit starts. A socket that cannot be opened leaves the release as it is, without one.
fn follow_socket(
    journal: &mut crate::journal::Writer,
    session: &Session,
    operator: &str,
    (events, inputs): (mpsc::Sender<EventKind>, mpsc::Sender<Input>),
) -> Option<crate::share::socket::Server> {
    let (records, _) = tokio::sync::broadcast::channel(crate::share::socket::BACKLOG);
    let hello = crate::share::socket::Hello {
        follow: crate::share::socket::PROTOCOL,
        session: session.id.clone(),
        journal: std::fs::canonicalize(journal.path()).unwrap_or_else(|_| journal.path().into()),
        release: session.plan.release.clone(),
        environment: session.plan.environment.clone(),
        operator: operator.to_string(),
        // Whose session it is, and since when, as its journal says (a resumed one too).
        login: crate::login::login(),
        started: crate::login::header_of(journal.path())
            .map(|h| h.started)
            .unwrap_or_default(),
    };
    match crate::share::socket::serve(hello, records.clone(), events, inputs) {
        Ok(server) => {
            journal.tap(records);
            eprintln!(
                "gonogo: follow it live from another terminal: gonogo follow {}",
                session.id
            );
            Some(server)
        }
        Err(e) => {
            eprintln!("gonogo: warning: no live follow for this session: {e}");
            None
        }
    }
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

/// Keys and resizes from the terminal, and a beat for the clock, into the run loop. The reader
/// stops reading (drops its event stream) while a shell has the terminal: see `KeyReader`.
fn read_terminal(inputs: mpsc::Sender<Input>) -> KeyReader {
    use futures::StreamExt as _;
    use ratatui::crossterm::event::{Event as TermEvent, EventStream};
    let (pause, mut paused) = tokio::sync::watch::channel(false);
    let (stopped, idle) = tokio::sync::watch::channel(false);
    let keys = inputs.clone();
    tokio::spawn(async move {
        loop {
            let _ = stopped.send(false);
            let mut stream = EventStream::new();
            loop {
                tokio::select! {
                    event = stream.next() => {
                        let input = match event {
                            Some(Ok(TermEvent::Key(key))) => Input::Key(key),
                            Some(Ok(TermEvent::Resize(..))) => Input::Resize,
                            Some(Ok(_)) => continue,
                            Some(Err(_)) | None => return,
                        };
                        if keys.send(input).await.is_err() {
                            return;
                        }
                    }
                    changed = paused.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if *paused.borrow() {
                            break;
                        }
                    }
                }
            }
            drop(stream);
            let _ = stopped.send(true);
            if paused.wait_for(|p| !*p).await.is_err() {
                return;
            }
        }
    });
    beat(inputs, Duration::from_millis(100));
    KeyReader { pause, idle }
}

/// A beat for clocks, countdowns and the headless heartbeat, into the run loop.
fn beat(inputs: mpsc::Sender<Input>, every: Duration) {
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(every);
        loop {
            beat.tick().await;
            // A full queue means the loop is busy and will redraw anyway.
            if let Err(mpsc::error::TrySendError::Closed(_)) = inputs.try_send(Input::Tick) {
                return;
            }
        }
    });
}
