//! The `hk-idp` binary's library: configuration, wiring (`App::build`) and
//! the CLI commands. Tests start the server through the same `App::build`.

pub mod app;
pub mod cli;
pub mod demo;
pub mod logging;
mod serve;
pub mod settings;

pub use app::App;
pub use settings::Settings;
