//! `hk-idp`: parse the command line and settings, set up logging, run.

use clap::Parser;
use hk_idp::Settings;
use hk_idp::cli::{self, Cli};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn init_logging(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only for a person at a terminal: files and log collectors get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hk-idp: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings.log.format);
    for var in Settings::unknown_env_vars() {
        tracing::warn!(variable = %var, "config.unknown_variable");
    }
    tracing::debug!(settings = ?settings, "config.effective");
    match cli::run(cli, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hk-idp: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
