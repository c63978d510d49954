//! The command line: `serve` (default), `migrate`, `keys rotate`, `user add`,
//! `user invite`, `client create`, `demo`. Every command takes `--json` and uses the same settings.

use crate::app::{App, Services};
use crate::settings::Settings;
use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use hk_idp_core::client::{AuthMethod, GrantType, NewClient};
use hk_idp_core::keys::SigningAlg;
use hk_idp_core::member::MemberView;
use hk_idp_core::registry::NewMember;
use serde_json::json;
use std::io::Read;

#[derive(Debug, Parser)]
#[command(
    name = "hk-idp",
    version,
    about = "HK ID: the OpenID Connect identity provider of HK Norge"
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
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Members.
    #[command(subcommand)]
    User(UserCommand),
    /// Relying parties (clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// The service plus a demo portal on the next port, a demo client and a
    /// pending demo member, with mail in the outbox: try the whole flow.
    Demo,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add new signing keys; the old stay published until their tokens expire.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Register one member (pending, or active with --password-stdin).
    Add(UserAdd),
    /// Send the invitation mail with the link to the company portal.
    Invite(UserInvite),
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct UserInvite {
    /// The member to invite.
    #[arg(long)]
    pub email: Option<String>,
    /// Every member who has not activated the account yet.
    #[arg(long)]
    pub all_pending: bool,
}

#[derive(Debug, Args)]
pub struct UserAdd {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub org_number: Option<String>,
    #[arg(long)]
    pub org_name: Option<String>,
    /// Read a password from standard input and make the member active (development and tests).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a relying party; prints client_id and client_secret once.
    Create(ClientCreate),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuthMethodArg {
    #[value(name = "client_secret_basic")]
    ClientSecretBasic,
    #[value(name = "client_secret_post")]
    ClientSecretPost,
    #[value(name = "none")]
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GrantArg {
    #[value(name = "authorization_code")]
    AuthorizationCode,
    #[value(name = "refresh_token")]
    RefreshToken,
    #[value(name = "client_credentials")]
    ClientCredentials,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AlgArg {
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "ES256")]
    Es256,
    #[value(name = "EdDSA")]
    EdDsa,
}

#[derive(Debug, Args)]
pub struct ClientCreate {
    #[arg(long)]
    pub name: String,
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    #[arg(long, value_enum, default_value = "client_secret_basic")]
    pub auth_method: AuthMethodArg,
    /// Public client: --auth-method none, PKCE required.
    #[arg(long)]
    pub public: bool,
    /// Skip the consent page.
    #[arg(long)]
    pub first_party: bool,
    #[arg(long)]
    pub initiate_login_uri: Option<String>,
    #[arg(long, value_enum, default_value = "RS256")]
    pub alg: AlgArg,
    /// Grant types (default: authorization_code and refresh_token).
    #[arg(long = "grant-type", value_enum)]
    pub grant_types: Vec<GrantArg>,
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => App::build(&settings).await?.run().await,
        Command::Demo => crate::demo::run(settings).await,
        Command::Migrate => {
            let sql = hk_idp_store_sql::SqlStore::connect(&settings.database.url.0)
                .await
                .context("database")?;
            sql.migrate().await.context("migrations")?;
            print(cli.json, json!({"migrated": true}), "migrations applied");
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            let s = open(&settings).await?;
            let now = s.provider.clock.now();
            let fresh = hk_idp_jose::rotate_keys(&s.sql, &s.keyring, now).await?;
            let kids: Vec<_> = fresh
                .iter()
                .map(|k| json!({"kid": k.kid, "alg": k.alg.as_str()}))
                .collect();
            let text = fresh
                .iter()
                .map(|k| format!("{} {}", k.alg, k.kid))
                .collect::<Vec<_>>()
                .join("\n");
            print(
                cli.json,
                json!({"keys": kids}),
                &format!("new signing keys:\n{text}\nold keys stay published until their tokens expire"),
            );
            Ok(())
        }
        Command::User(UserCommand::Add(a)) => {
            let s = open(&settings).await?;
            let password = if a.password_stdin {
                let mut buf = String::new();
                std::io::stdin()
                    .read_to_string(&mut buf)
                    .context("reading the password from standard input")?;
                Some(buf.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let new = NewMember {
                email: a.email,
                name: a.name,
                org_number: a.org_number,
                org_name: a.org_name,
                password,
            };
            let member = s
                .provider
                .create_member(new, settings.passwords.min_length as usize, "cli")
                .await?;
            let view = MemberView::from(&member);
            print(
                cli.json,
                serde_json::to_value(&view)?,
                &format!("member {} registered ({})", view.email, view.status.as_str()),
            );
            Ok(())
        }
        Command::User(UserCommand::Invite(i)) => {
            let s = open(&settings).await?;
            invite(&s, i, cli.json).await
        }
        Command::Client(ClientCommand::Create(c)) => {
            let s = open(&settings).await?;
            let auth_method = match (c.public, c.auth_method) {
                (true, _) | (_, AuthMethodArg::None) => AuthMethod::None,
                (false, AuthMethodArg::ClientSecretBasic) => AuthMethod::ClientSecretBasic,
                (false, AuthMethodArg::ClientSecretPost) => AuthMethod::ClientSecretPost,
            };
            let mut grant_types: Vec<GrantType> = c
                .grant_types
                .iter()
                .map(|g| match g {
                    GrantArg::AuthorizationCode => GrantType::AuthorizationCode,
                    GrantArg::RefreshToken => GrantType::RefreshToken,
                    GrantArg::ClientCredentials => GrantType::ClientCredentials,
                })
                .collect();
            if grant_types.is_empty() {
                grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
            }
            grant_types.dedup();
            let id_token_alg = match c.alg {
                AlgArg::Rs256 => SigningAlg::RS256,
                AlgArg::Es256 => SigningAlg::ES256,
                AlgArg::EdDsa => SigningAlg::EdDSA,
            };
            let new = NewClient {
                name: c.name,
                redirect_uris: c.redirect_uris,
                post_logout_redirect_uris: c.post_logout_redirect_uris,
                grant_types,
                auth_method,
                id_token_alg,
                initiate_login_uri: c.initiate_login_uri,
                first_party: c.first_party,
            };
            let (client, secret) = s.provider.create_client(new, "cli").await?;
            let out = hk_idp_core::registration::client_information(&client, secret.as_deref());
            let text = match &secret {
                Some(sec) => format!(
                    "client_id: {}\nclient_secret: {sec}\n(the secret is shown only now)",
                    client.id
                ),
                None => format!("client_id: {}\n(public client: no secret; PKCE is required)", client.id),
            };
            print(cli.json, out, &text);
            Ok(())
        }
    }
}

/// Invitations, one or all pending; a failure for one member does not stop the rest.
async fn invite(s: &Services, i: UserInvite, json: bool) -> anyhow::Result<()> {
    let p = &s.provider;
    let mut emails = Vec::new();
    if let Some(e) = i.email {
        emails.push(e);
    } else {
        let mut after: Option<String> = None;
        loop {
            let page = p.pending_members(after.as_deref(), 500).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            emails.extend(page.iter().map(|m| m.email.to_string()));
        }
    }
    let (mut sent, mut failed) = (Vec::new(), Vec::new());
    for e in emails {
        match p.invite(&e).await {
            Ok(m) => sent.push(m.email.to_string()),
            Err(err) => failed.push(json!({"email": e, "reason": err.to_string()})),
        }
    }
    print(
        json,
        json!({"invited": sent, "failed": failed}),
        &format!("{} invitation(s) sent", sent.len()),
    );
    if failed.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = failed
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f["email"].as_str().unwrap_or_default(),
                f["reason"].as_str().unwrap_or_default()
            )
        })
        .collect();
    anyhow::bail!("not sent to {}", reasons.join("; "))
}

async fn open(settings: &Settings) -> anyhow::Result<Services> {
    let issuer = if settings.server.issuer.is_empty() {
        format!("http://{}", settings.server.listen)
    } else {
        settings.server.issuer.clone()
    };
    Services::open(settings, &issuer).await
}

fn print(json: bool, value: serde_json::Value, text: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}
