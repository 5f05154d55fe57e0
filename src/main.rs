use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    gonogo::cli::run(gonogo::cli::Cli::parse())
}
