use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    // Panics and unexpected errors are reported by color-eyre; the cockpit restores the
    // terminal first (ratatui's hook runs before this one).
    if let Err(e) = color_eyre::install() {
        eprintln!("gonogo: cannot install the error reporter: {e}");
    }
    gonogo::cli::run(gonogo::cli::Cli::parse())
}
