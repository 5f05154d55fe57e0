//! The command line as a shell user expects it, from the real binary: `gonogo --help` lists each
//! command on one line at 80 columns, `gonogo help CMD` still tells the whole story, `gonogo
//! completions SHELL` prints a script that completes the commands, `gonogo man` a roff page.

use std::process::{Command, Output, Stdio};

use clap::CommandFactory as _;

/// The binary run with `args` at a terminal width of `columns`, no terminal attached.
fn gonogo(args: &[&str], columns: u16) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .args(args)
        .env("COLUMNS", columns.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run gonogo")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// Every command, as the CLI defines it (clap's own `help` comes on top in `--help`).
fn commands() -> Vec<String> {
    gonogo::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Text with its line breaks and runs of spaces made single spaces, to find a phrase however
/// the help was wrapped.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lines of `--help`'s `Commands:` list.
fn command_lines(help: &str) -> Vec<&str> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

#[test]
fn help_lists_every_command_on_one_line_at_80_columns() {
    for flag in ["--help", "-h"] {
        let out = gonogo(&[flag], 80);
        assert!(out.status.success(), "{out:?}");
        let help = stdout(&out);
        let lines = command_lines(&help);
        let mut listed = Vec::new();
        for line in &lines {
            assert!(
                line.chars().count() <= 80,
                "wider than 80 columns: {line:?}\n{help}"
            );
            // `  name  what it does`: a line that starts further in continues the one above.
            let rest = line.strip_prefix("  ").unwrap_or_default();
            let (name, about) = rest.split_once("  ").unwrap_or_default();
            assert!(
                !name.is_empty() && !name.starts_with(' ') && !about.trim().is_empty(),
                "not one command on one line: {line:?}\n{help}"
            );
            listed.push(name.to_string());
        }
        let mut expected = commands();
        expected.push("help".into());
        assert_eq!(listed, expected, "{help}");
        assert!(listed.iter().any(|c| c == "completions") && listed.iter().any(|c| c == "man"));
    }
}

#[test]
fn a_command_s_help_still_tells_the_whole_story() {
    for args in [&["help", "replay"][..], &["replay", "--help"]] {
        let out = gonogo(args, 80);
        assert!(out.status.success(), "{out:?}");
        let help = flat(&stdout(&out));
        assert!(
            help.contains("Replay a recorded session in the cockpit, read-only"),
            "{help}"
        );
        assert!(
            help.contains("[ ] jump between gates, failures, rollback proposals"),
            "{help}"
        );
        assert!(
            help.contains("Opens no connection, runs nothing."),
            "{help}"
        );
    }
    // The short help is the one line of the list.
    let short = flat(&stdout(&gonogo(&["replay", "-h"], 80)));
    assert!(!short.contains("Opens no connection"), "{short}");
    let resume = flat(&stdout(&gonogo(&["help", "resume"], 80)));
    assert!(
        resume.contains("steps still running are attached again (never run twice)"),
        "{resume}"
    );
}

#[test]
fn bash_completion_completes_the_commands_and_their_flags() {
    let out = gonogo(&["completions", "bash"], 80);
    assert!(out.status.success(), "{out:?}");
    let script = stdout(&out);
    assert!(script.contains("complete -F _gonogo"), "{script}");
    for command in commands() {
        assert!(
            script.contains(&command),
            "{command} missing from the bash script"
        );
    }
    // What bash itself completes with it: `gonogo re<TAB>`, `gonogo replay --s<TAB>`,
    // `gonogo completions <TAB>`.
    let complete = |words: &str, cword: usize| {
        let ran = Command::new("bash")
            .args(["--norc", "--noprofile", "-c"])
            .arg(format!(
                "eval \"$1\"; COMP_WORDS=({words}); COMP_CWORD={cword}; \
                 _gonogo gonogo \"${{COMP_WORDS[{cword}]}}\" \"${{COMP_WORDS[{cword}-1]}}\"; \
                 printf '%s\\n' \"${{COMPREPLY[@]}}\""
            ))
            .args(["bash", &script])
            .output()
            .expect("run bash");
        assert!(ran.status.success(), "{ran:?}");
        stdout(&ran).lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(complete("gonogo re", 1), ["replay", "resume", "report"]);
    assert_eq!(complete("gonogo replay --s", 2), ["--speed"]);
    let shells = complete("gonogo completions ''", 2);
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.iter().any(|s| s == shell), "{shells:?}");
    }
}

#[test]
fn zsh_and_fish_completions_name_every_command() {
    let zsh = stdout(&gonogo(&["completions", "zsh"], 80));
    assert!(zsh.starts_with("#compdef gonogo"), "{zsh}");
    let fish = stdout(&gonogo(&["completions", "fish"], 80));
    assert!(fish.contains("complete -c gonogo"), "{fish}");
    for command in commands() {
        assert!(
            zsh.contains(&format!("'{command}:")),
            "{command} missing from zsh's list"
        );
        assert!(
            fish.contains(&format!("-a \"{command}\"")),
            "{command} missing from fish's list"
        );
    }
}

#[test]
fn man_prints_one_roff_page_with_every_command() {
    let out = gonogo(&["man"], 80);
    assert!(out.status.success(), "{out:?}");
    let page = stdout(&out);
    assert!(page.contains("\n.TH GONOGO 1 "), "{page}");
    assert!(
        page.contains("\n.SH NAME\ngonogo \\- A terminal release cockpit"),
        "{page}"
    );
    for section in ["SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS"] {
        assert!(
            page.contains(&format!("\n.SH {section}\n")),
            "{section} missing"
        );
    }
    for command in commands() {
        assert!(
            page.contains(&format!("\n.SS \"gonogo {command}\"\n")),
            "{command} missing"
        );
    }
    // A command's whole description and its options, in the one page.
    assert!(
        page.contains("Opens no connection, runs nothing."),
        "{page}"
    );
    assert!(page.contains("\\fB\\-\\-speed\\fR"), "{page}");
    // The page is made for man alone: no second title, no page per command to refer to.
    assert_eq!(page.matches("\n.TH ").count(), 1, "{page}");
    assert!(!page.contains("gonogo-replay(1)"), "{page}");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = gonogo(&["completions", "tcsh"], 80);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'tcsh' for '<SHELL>'"), "{err}");
    assert!(
        err.contains("[possible values: bash, elvish, fish, powershell, zsh]"),
        "{err}"
    );

    let out = gonogo(&["completions"], 80);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("<SHELL>"), "{err}");
}
