//! The command line: `serve` (default), `migrate`, `probe`, `demo`, and the admin's
//! commands for `user`, `client`, `keys` and `audit`, which work on the
//! configured database directly. Every command takes `--json`; exit codes
//! are listed in `EXIT_CODES`.

mod audit;
mod client;
mod probe;
mod user;

use crate::app::{App, Services};
use crate::settings::Settings;
use anyhow::Context;
use clap::{Parser, Subcommand};
use hk_idp_core::error::CoreError;
use serde_json::json;

/// Exit codes scripts can rely on (also in `--help`).
pub const EXIT_CODES: &str = "Exit codes:
  0  done
  1  failed (the message says why)
  2  wrong usage or settings
  3  refused input (a bad e-mail address, redirect URI, CSV header, ...)
  4  not found
  5  already exists or already done (e.g. invited before: use --resend)
  6  done in part: some rows or members were refused or failed (listed)
  7  the database, Redis or the mail server is unavailable";

#[derive(Debug, Parser)]
#[command(
    name = "hk-idp",
    version,
    about = "HK ID: the OpenID Connect identity provider of HK Norge",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the service (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Health check of a node on this machine (a container's): exits 0 when
    /// its /readyz (with --live: /healthz) at server.listen answers 200.
    Probe {
        #[arg(long)]
        live: bool,
    },
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Members: register, import, invite, change, remove.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Relying parties (clients): register, list, show, delete.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// The audit trail, newest first.
    Audit(audit::AuditArgs),
    /// The service plus a demo portal on the next port, a demo client and a
    /// pending demo member, with mail in the outbox: try the whole flow.
    Demo,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add new signing keys; the old stay published until their tokens expire.
    Rotate,
    /// Re-encrypt every stored secret under keys.encryption_key: after a
    /// rotation of the key-encryption key (the old one moved to
    /// keys.previous_encryption_keys on every node), or to store them in
    /// the clear again when it is unset.
    Reencrypt,
}

/// A command that did part of its work: the report is printed, the exit code is 6.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Partial(pub String);

/// The exit code for an error, by what went wrong.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<Partial>().is_some() {
        return 6;
    }
    match e.downcast_ref::<CoreError>() {
        Some(CoreError::Invalid(_) | CoreError::OAuth(_)) => 3,
        Some(CoreError::NotFound) => 4,
        Some(CoreError::EmailExists | CoreError::Conflict(_)) => 5,
        Some(CoreError::Store(_) | CoreError::Unavailable(_)) => 7,
        _ if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some()) => 3,
        _ => 1,
    }
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    let json = cli.json;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => App::build(&settings).await?.run().await,
        Command::Demo => crate::demo::run(settings).await,
        Command::Probe { live } => {
            let code = probe::run(settings.server.listen, live).await?;
            print(json, json!({"status": code}), "ok");
            Ok(())
        }
        Command::Migrate => {
            let sql = hk_idp_store_sql::SqlStore::connect(&settings.database.url.0)
                .await
                .map_err(CoreError::Store)
                .context("database")?;
            sql.migrate().await.map_err(CoreError::Store).context("migrations")?;
            print(json, json!({"migrated": true}), "migrations applied");
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            let s = open(&settings).await?;
            let now = s.provider.clock.now();
            let fresh = hk_idp_jose::rotate_keys(&s.sql, &s.keyring, now, s.key_schedule).await?;
            let signs_from = now + s.key_schedule.publish_first;
            let kids: Vec<_> = fresh
                .iter()
                .map(|k| json!({"kid": k.kid, "alg": k.alg.as_str(), "signs_from": signs_from}))
                .collect();
            let text = fresh
                .iter()
                .map(|k| format!("{} {}", k.alg, k.kid))
                .collect::<Vec<_>>()
                .join("\n");
            print(
                json,
                json!({"keys": kids}),
                &format!(
                    "new signing keys, published now, signing in {} s:\n{text}\nold keys sign until then and stay published until their tokens expire",
                    s.key_schedule.publish_first
                ),
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Reencrypt) => {
            let s = open(&settings).await?;
            let done = hk_idp_jose::reseal_secrets(&s.sql, s.keyring.sealer(), hk_idp_jose::Reseal::All).await?;
            let under = if s.keyring.sealer().has_kek() {
                "under the current key-encryption key"
            } else {
                "in the clear (no keys.encryption_key)"
            };
            print(
                json,
                json!({"signing_keys": done.signing_keys, "server_secrets": done.server_secrets}),
                &format!(
                    "re-encrypted {} signing keys and {} server secrets {under}; every stored secret is now {under}, \
                     and keys.previous_encryption_keys can be emptied",
                    done.signing_keys, done.server_secrets
                ),
            );
            Ok(())
        }
        Command::User(c) => user::run(c, &open(&settings).await?, &settings, json).await,
        Command::Client(c) => client::run(c, &open(&settings).await?, json).await,
        Command::Audit(a) => audit::run(a, &open(&settings).await?, json).await,
    }
}

async fn open(settings: &Settings) -> anyhow::Result<Services> {
    let issuer = if settings.server.issuer.is_empty() {
        format!("http://{}", settings.server.listen)
    } else {
        settings.server.issuer.clone()
    };
    Services::open(
        settings,
        &issuer,
        std::sync::Arc::new(hk_idp_core::ports::clock::SystemClock),
    )
    .await
    .map_err(|e| anyhow::Error::new(CoreError::Unavailable(format!("{e:#}"))))
}

fn print(json: bool, value: serde_json::Value, text: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}
