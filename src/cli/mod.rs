//! The subcommands and flags, and what each one does with them.

mod check;
mod generated;
mod recorded;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::Outcome;
use crate::launch::RunFlags;
use crate::profile::{self, Purpose};
use check::{check_one, load_resolved, plan};

#[derive(Debug, Parser)]
#[command(
    name = "gonogo",
    version,
    about = "A terminal release cockpit: walk a release over SSH with go / no-go gates, a watch window and rollback one decision away."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate release profiles, reporting every problem at once.
    ///
    /// Each problem is reported with its file:line:col, the line it is on and what would be
    /// right. Exits 0 when every profile is valid, 2 otherwise (with --strict, warnings count as
    /// errors).
    Check {
        /// Profile files (TOML).
        #[arg(required = true, value_name = "PROFILE")]
        profiles: Vec<PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
    },
    /// Print the checklist a profile describes, variables filled in.
    ///
    /// The release checklist as Markdown (or JSON with --format json). A variable takes its value
    /// from --set, else the environment variable the profile declares, else its default. Nothing
    /// connects, nothing runs.
    Plan {
        /// The release profile (TOML).
        #[arg(value_name = "PROFILE")]
        profile: PathBuf,
        /// Give a variable its value (repeatable): --set version=v1.2.1
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = profile::parse_set)]
        set: Vec<(String, String)>,
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
    },
    /// Run a release over SSH, stopping at every gate.
    ///
    /// Connect to every target, take the deploy locks, walk the steps and stop at every gate: in
    /// the cockpit, or one line per event with --headless. Exit codes: 0 released, 1 a step failed
    /// and the release was aborted (or no-go, or abort), 2 invalid profile or usage, 3 rolled
    /// back, 4 refused to start.
    Run(RunArgs),
    /// The whole cockpit on a simulated release, nothing to set up.
    ///
    /// Three simulated hosts (an app with /health and /metrics, logs) walked through
    /// profiles/demo.toml by the same engine and cockpit as `run`. Everything it writes stays in
    /// its own temporary directory; the journal's path is printed to replay it.
    Demo {
        /// What to rehearse.
        #[arg(long, value_enum, default_value_t = crate::demo::Scenario::Happy)]
        scenario: crate::demo::Scenario,
        /// No cockpit: one line per event; questions are answered on stdin.
        #[arg(long)]
        headless: bool,
        /// With --headless: answer gates and manual items; the scenario answers the failures it
        /// stages (retry, rollback) and says so. Never a rollback proposal: auto_rollback does.
        #[arg(long)]
        yes: bool,
        /// When nobody can answer (stdin closed, or --yes meeting a failure or a rollback
        /// proposal): `rollback` once anything ran (the default), or `abort`. Overrides
        /// [policy] unattended.
        #[arg(long, value_name = "POLICY", value_parser = unattended)]
        unattended: Option<crate::engine::Unattended>,
        /// The watch window's length instead of 90s, e.g. --watch 20s.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        watch: Option<std::time::Duration>,
        /// Write the session's journal here instead of the demo's directory.
        #[arg(long, value_name = "PATH")]
        record: Option<PathBuf>,
        /// The cockpit for a screen share: IP and host addresses masked (and what --mask
        /// matches), the current step emphasised, a calm redraw.
        #[arg(long, conflicts_with = "headless")]
        present: bool,
        /// With --present: also mask what this regex matches (repeatable).
        #[arg(long, value_name = "REGEX", requires = "present")]
        mask: Vec<String>,
    },
    /// Follow a running session live, read-only.
    ///
    /// At this terminal's size: the cockpit as it stands, then as it goes. Scroll, filter and
    /// switch panes freely; m mirrors the operator's view; q leaves. The operator sees who
    /// follows.
    Follow {
        /// The session (its id, or the start of it); default: the one running, when it is your
        /// login's (several, or another person's, are listed: name one).
        #[arg(value_name = "SESSION")]
        session: Option<String>,
        /// The name the operator sees (default: this user's).
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
        /// Follow as NAME and approve gates that need more than one person (`approvals = 2`):
        /// counted only from a second person who came over SSH (docs/follow.md).
        #[arg(long, value_name = "NAME", conflicts_with = "name")]
        approver: Option<String>,
        /// For a screen share: addresses masked (and what --mask matches), the current step
        /// emphasised, a calm redraw.
        #[arg(long)]
        present: bool,
        /// With --present: also mask what this regex matches (repeatable).
        #[arg(long, value_name = "REGEX", requires = "present")]
        mask: Vec<String>,
    },
    /// Replay a recorded session in the cockpit, read-only.
    ///
    /// As the operator saw it: space plays / pauses, + and - change the speed, ← → seek 10s,
    /// [ ] jump between gates, failures, rollback proposals, rollbacks and resumes, g / G go to
    /// the start / end, ? shows these keys, q leaves. Opens no connection, runs nothing.
    Replay {
        /// The session's journal (printed when the session started and ended).
        #[arg(value_name = "JOURNAL")]
        journal: PathBuf,
        /// Playback speed: 0.25, 0.5, 1, 2, 4, 8, 16, 32 or 64.
        #[arg(long, default_value_t = 1.0, value_parser = recorded::speed)]
        speed: f64,
        /// For a screen share: addresses masked (and what --mask matches). A session recorded
        /// with --present is replayed masked the same way without it.
        #[arg(long)]
        present: bool,
        /// With --present: also mask what this regex matches (repeatable).
        #[arg(long, value_name = "REGEX", requires = "present")]
        mask: Vec<String>,
    },
    /// Re-render a recorded session into an asciicast v2 file.
    ///
    /// For `asciinema play OUT.cast`, with markers at gates, failures, rollbacks and resumes.
    Export {
        /// The session's journal (printed when the session started and ended).
        #[arg(value_name = "JOURNAL")]
        journal: PathBuf,
        /// The cast to write.
        #[arg(long, value_name = "OUT.cast")]
        asciicast: PathBuf,
        /// The terminal size to render at, COLSxROWS.
        #[arg(long, default_value = "120x36", value_parser = recorded::size)]
        size: (u16, u16),
    },
    /// Resume a session gonogo was killed in.
    ///
    /// After kill -9, a laptop asleep or a terminal closed: the journal rebuilds where it stood,
    /// the locks are confirmed (stops, saying who, if another session took one), steps still
    /// running are attached again (never run twice), and the release goes on, appending to the
    /// same journal.
    Resume {
        /// The session's journal; default: the most recent unfinished one.
        #[arg(value_name = "JOURNAL")]
        journal: Option<PathBuf>,
        #[command(flatten)]
        answering: Answering,
    },
    /// The post-incident report of a session, from its journal.
    ///
    /// Outcome, checklist with who and when, timeline, health at each gate and across the watch,
    /// new errors, the release record and a status message.
    Report {
        /// The session's journal (printed when the session started and ended).
        #[arg(value_name = "JOURNAL")]
        journal: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
    },
    /// Deployment metrics over the journals in a directory.
    ///
    /// Per environment: deployments per week, change failure rate, mean time to recovery, median
    /// duration.
    Stats {
        /// Default: the sessions directory ($XDG_DATA_HOME/gonogo/sessions).
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = StatsFormat::Text)]
        format: StatsFormat,
    },
    /// Print the completion script for a shell.
    ///
    /// Install it where the shell looks for completions, e.g. for bash:
    /// gonogo completions bash > ~/.local/share/bash-completion/completions/gonogo;
    /// for zsh, a file named _gonogo in a directory of $fpath; for fish,
    /// ~/.config/fish/completions/gonogo.fish.
    Completions {
        /// The shell to complete in.
        #[arg(value_name = "SHELL", value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), every command in one page.
    ///
    /// Install it where man looks, e.g. gonogo man > ~/.local/share/man/man1/gonogo.1, then read
    /// it with man gonogo.
    Man,
}

/// How a session is given its values and answered: what `run` and `resume` share.
#[derive(Debug, Args)]
pub struct Answering {
    /// Give a variable its value (repeatable; on resume, the same as at the start):
    /// --set version=v1.2.1
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = profile::parse_set)]
    set: Vec<(String, String)>,
    /// No cockpit: one line per event; questions are answered on stdin.
    #[arg(long)]
    headless: bool,
    /// Answer go to gates and done to manual items (rehearsals, CI). Never decides a failure.
    #[arg(long)]
    yes: bool,
    /// When nobody can answer (stdin closed, or --yes meeting a failure or a rollback
    /// proposal): `rollback` once anything ran (the default), or `abort`. Overrides
    /// [policy] unattended.
    #[arg(long, value_name = "POLICY", value_parser = unattended)]
    unattended: Option<crate::engine::Unattended>,
}

/// `gonogo run`'s arguments; its help is the `Run` command's.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The release profile (TOML).
    #[arg(value_name = "PROFILE")]
    profile: PathBuf,
    #[command(flatten)]
    answering: Answering,
    /// Trust hosts seen for the first time and add their keys (hashed) to known_hosts.
    #[arg(long)]
    accept_new_host_keys: bool,
    /// Take over a deploy lock held by another session; the reason is recorded.
    #[arg(long, value_name = "REASON")]
    break_lock: Option<String>,
    /// With --break-lock: stop the previous session's steps still running on the hosts
    /// (TERM, then KILL) instead of refusing to break its lock.
    #[arg(long, requires = "break_lock")]
    stop_previous: bool,
    /// Release outside the profile's [policy] windows; the reason is recorded.
    #[arg(long, value_name = "REASON")]
    override_window: Option<String>,
    /// Go on although the hosts run different versions ([release] current); the reason is
    /// recorded, and each host rolls back to its own.
    #[arg(long, value_name = "REASON")]
    allow_mixed: Option<String>,
    /// Deploy again a version every host already runs; the reason is recorded.
    #[arg(long, value_name = "REASON")]
    redeploy: Option<String>,
    /// Write the session's journal here (default:
    /// $XDG_DATA_HOME/gonogo/sessions/<time>-<release>-<environment>.jsonl).
    #[arg(long, value_name = "PATH")]
    record: Option<PathBuf>,
    /// The cockpit for a screen share: IP and host addresses masked (and what --mask
    /// matches), the current step emphasised, a calm redraw.
    #[arg(long, conflicts_with = "headless")]
    present: bool,
    /// With --present: also mask what this regex matches (repeatable).
    #[arg(long, value_name = "REGEX", requires = "present")]
    mask: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatsFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Markdown,
    Json,
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check { profiles, strict } => {
            let mut failed = false;
            for path in &profiles {
                failed |= !check_one(path, strict);
            }
            exit(failed)
        }
        Command::Plan {
            profile,
            set,
            format,
            strict,
        } => plan(&profile, &set, format, strict),
        Command::Export {
            journal,
            asciicast,
            size,
        } => said(recorded::export(&journal, &asciicast, size)),
        Command::Resume { journal, answering } => recorded::resume_release(
            journal.as_deref(),
            &answering.set,
            answering.headless,
            answering.yes,
            answering.unattended,
        ),
        Command::Replay {
            journal,
            speed,
            present,
            mask,
        } => said(crate::replay::run(&journal, speed, present.then_some(mask))),
        Command::Run(args) => run_command(args),
        Command::Completions { shell } => generated::completions(shell),
        Command::Man => generated::man(),
        Command::Demo {
            scenario,
            headless,
            yes,
            unattended,
            watch,
            record,
            present,
            mask,
        } => crate::demo::run(&crate::demo::DemoArgs {
            scenario,
            headless,
            yes,
            unattended,
            watch,
            record,
            present: present.then_some(mask),
        }),
        Command::Follow {
            session,
            name,
            approver,
            present,
            mask,
        } => crate::share::follow::run(&crate::share::follow::FollowArgs {
            session,
            name,
            approver,
            present: present.then_some(mask),
        }),
        Command::Report { journal, format } => {
            crate::report::command::report(&journal, matches!(format, Format::Json))
        }
        Command::Stats { dir, format } => {
            crate::report::command::stats(dir.as_deref(), matches!(format, StatsFormat::Json))
        }
    }
}

/// `gonogo run`: its flags checked and gathered, then the release.
fn run_command(args: RunArgs) -> ExitCode {
    let Answering {
        set,
        headless,
        yes,
        unattended,
    } = args.answering;
    let flags = RunFlags {
        present: args.present.then_some(args.mask),
        yes,
        unattended,
        accept_new_host_keys: args.accept_new_host_keys,
        break_lock: args.break_lock,
        stop_previous: args.stop_previous,
        window_override: args.override_window,
        allow_mixed: args.allow_mixed,
        redeploy: args.redeploy,
        record: args.record,
        ..run_flags(&args.profile, headless)
    };
    run_release(&args.profile, &set, headless, &flags)
}

/// A command's end: success, or its error said (made printable) with the invalid-use code.
fn said<E: std::fmt::Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", crate::text::printable_lines(&e.to_string()));
            exit(true)
        }
    }
}

/// What every `gonogo run` records of where it comes from: the profile's path as it resolves,
/// and whether it runs as a GitHub Actions step.
fn run_flags(profile: &Path, headless: bool) -> RunFlags {
    RunFlags {
        profile_path: std::fs::canonicalize(profile)
            .unwrap_or_else(|_| profile.to_path_buf())
            .display()
            .to_string(),
        github_actions: headless && crate::headless::ci::github_actions(),
        ..RunFlags::default()
    }
}

fn exit(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(crate::exit::INVALID)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_release(
    path: &Path,
    sets: &[(String, String)],
    headless: bool,
    flags: &RunFlags,
) -> ExitCode {
    if let Err(e) = crate::ui::present::check_masks(flags.present.as_deref().unwrap_or_default()) {
        eprintln!("error: {e}");
        return exit(true);
    }
    if flags.yes && !headless {
        eprintln!(
            "error: --yes answers gates for you only with --headless (rehearsals, CI); in the cockpit, answer each question yourself, or add --headless"
        );
        return exit(true);
    }
    if flags
        .break_lock
        .as_deref()
        .is_some_and(|r| r.trim().is_empty())
    {
        eprintln!(
            "error: --break-lock needs a reason, e.g. --break-lock \"previous deploy crashed, checked with ana\""
        );
        return exit(true);
    }
    if flags
        .window_override
        .as_deref()
        .is_some_and(|r| r.trim().is_empty())
    {
        eprintln!(
            "error: --override-window needs a reason, e.g. --override-window \"INC-1234: checkout down, fix approved by ana\""
        );
        return exit(true);
    }
    let Some((profile, vars)) = load_resolved(path, sets, Purpose::Run, false) else {
        return exit(true);
    };
    let mut flags = flags.clone();
    flags.profile_sha256 = file_sha256(path);
    if let Some(from) = &flags.resume {
        if let Err(e) = crate::launch::resume::check(from, &profile, &vars, &flags.profile_sha256) {
            eprintln!("error: {}", crate::text::printable_lines(&e.to_string()));
            return exit(true);
        }
        // The session was let through its window when it started.
        flags.window_override = from.release.plan.window_override.clone();
        flags.allow_mixed = from.release.plan.ships.allow_mixed.clone();
        flags.redeploy = from.release.plan.ships.redeploy.clone();
    } else {
        match crate::launch::preflight::closed_window(&profile, local_now()) {
            None => flags.window_override = None,
            Some(_) if flags.window_override.is_some() => {}
            Some(closed) => match ask_window_override(&closed, &profile.release.name, headless) {
                Some(reason) => flags.window_override = Some(reason),
                None => return ExitCode::from(Outcome::Refused.exit_code()),
            },
        }
    }
    let log = crate::logging::start();
    flags.log = log.as_ref().map(|l| l.path.clone());
    tracing::info!(profile = %path.display(), headless, "run starts");
    crate::launch::outcome::launch_and_report(&profile, &vars, headless, &flags, log.as_ref())
}

/// The SHA-256 of the profile's bytes, in hex, for the journal's header.
fn file_sha256(path: &Path) -> String {
    std::fs::read(path).map_or_else(
        |_| String::new(),
        |bytes| crate::profile::sha256_hex(&bytes),
    )
}

/// The local time release windows are read in. A debug build (the tests) takes it from
/// `GONOGO_NOW` (`2026-11-23T03:00:00`) when set.
fn local_now() -> chrono::NaiveDateTime {
    #[cfg(debug_assertions)]
    if let Some(now) = std::env::var("GONOGO_NOW")
        .ok()
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S").ok())
    {
        return now;
    }
    chrono::Local::now().naive_local()
}

/// Outside every release window: the cockpit asks the operator on the terminal for a reason,
/// before it takes the screen; with nobody to ask (headless, no terminal) the run is refused.
fn ask_window_override(
    closed: &crate::launch::preflight::ClosedWindow,
    release: &str,
    headless: bool,
) -> Option<String> {
    let stdin = std::io::stdin();
    if headless || !stdin.is_terminal() {
        eprintln!("{}", closed.refusal(release));
        return None;
    }
    eprint!("{}", closed.question(release));
    let mut reason = String::new();
    let _ = stdin.read_line(&mut reason);
    let reason = reason.trim();
    if reason.is_empty() {
        eprintln!("gonogo: refused: no reason given; nothing ran");
        return None;
    }
    Some(reason.to_string())
}

/// `--unattended rollback|abort`.
fn unattended(word: &str) -> Result<crate::engine::Unattended, String> {
    match word {
        "rollback" => Ok(crate::engine::Unattended::Rollback),
        "abort" => Ok(crate::engine::Unattended::Abort),
        _ => Err("write rollback (roll back once anything ran) or abort (stop, name the hosts left changed)".into()),
    }
}
