//! The `skillet` binary: parses arguments, calls the library crates, prints. Nothing else lives
//! here; behaviour belongs in `skillet-spec`, `skillet-registry` and `skillet-engine`.

mod cli;
mod commands;
mod context;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("skillet: error: {}", output::explain(&e));
            ExitCode::from(output::EXIT_SKILLET_ERROR)
        }
    }
}
