//! The `labelsync` binary: parse the command line, set up logging, hand over to the library.

use clap::Parser;
use labelsync::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    labelsync::logging::init();
    let result = match cli.command {
        Command::Start(args) => labelsync::app::start(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("labelsync: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
