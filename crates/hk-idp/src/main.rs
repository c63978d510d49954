//! `hk-idp`: parse the command line and settings, set up logging and traces, run.

use clap::Parser;
use hk_idp::Settings;
use hk_idp::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hk-idp: {e}");
            return ExitCode::from(2);
        }
    };
    // Before the runtime: the trace exporter's blocking HTTP client must be
    // made and dropped outside it. Dropped last, it sends what is left.
    let _tracing = hk_idp::logging::init(&settings.log.format, &settings.log.otel_endpoint);
    for var in Settings::unknown_env_vars() {
        tracing::warn!(variable = %var, "config.unknown_variable");
    }
    tracing::debug!(settings = ?settings, "config.effective");
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hk-idp: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli::run(cli, settings));
    drop(runtime);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hk-idp: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
