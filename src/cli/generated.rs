//! What the shell and man(1) read, made from the command line's own definition: `gonogo
//! completions SHELL` (clap_complete) and `gonogo man` (clap_mangen), both on stdout.

use std::io::Write as _;
use std::process::ExitCode;

use clap::CommandFactory as _;

use super::{Cli, exit};

/// `gonogo completions SHELL`: the completion script for every command and flag.
pub(super) fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    printed(&script)
}

/// `gonogo man`: one page, gonogo(1), with every command's synopsis, description and options
/// in its COMMANDS section (no page per command to install).
pub(super) fn man() -> ExitCode {
    match man_page() {
        Ok(page) => printed(&page),
        Err(e) => {
            eprintln!("error: cannot write the man page: {e}");
            exit(true)
        }
    }
}

/// The page: clap_mangen's title, name, synopsis, description, options and version, and
/// between the last two, each command as a subsection made of its own sections.
fn man_page() -> std::io::Result<Vec<u8>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone()).title(cmd.get_name().to_uppercase());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    page.extend_from_slice(b".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name());
        page.extend_from_slice(format!(".SS \"{name}\"\n").as_bytes());
        let man = clap_mangen::Man::new(sub.clone());
        let mut parts = Vec::new();
        man.render_synopsis_section(&mut parts)?;
        man.render_description_section(&mut parts)?;
        man.render_options_section(&mut parts)?;
        page.extend_from_slice(as_paragraphs(&parts).as_bytes());
    }
    man.render_version_section(&mut page)?;
    Ok(tidy(&page).into_bytes())
}

/// A command's sections, their `.SH` headings turned into paragraph breaks so they read as one
/// subsection. A text line never starts with a period (roff escapes it), so only headings match.
fn as_paragraphs(roff: &[u8]) -> String {
    String::from_utf8_lossy(roff)
        .lines()
        .map(|line| {
            if line.starts_with(".SH ") {
                ".PP"
            } else {
                line
            }
        })
        .fold(String::new(), |out, line| out + line + "\n")
}

/// The page with the definition each rendered part starts with (`Aq`, the apostrophe) kept
/// once, at the top.
fn tidy(page: &[u8]) -> String {
    let page = String::from_utf8_lossy(page);
    let head: Vec<&str> = page
        .lines()
        .take_while(|l| l.starts_with(".ie ") || l.starts_with(".el "))
        .collect();
    let body = page.lines().skip(head.len()).filter(|l| !head.contains(l));
    head.iter()
        .copied()
        .chain(body)
        .fold(String::new(), |out, line| out + line + "\n")
}

/// Writes what was made to stdout; a closed pipe (`gonogo man | head`) is no error of ours.
fn printed(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            exit(true)
        }
    }
}
