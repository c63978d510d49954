//! `hk-idp client …`: relying parties, on the configured database.

use super::print;
use crate::app::Services;
use clap::{Args, Subcommand, ValueEnum};
use hk_idp_core::audit::Actor;
use hk_idp_core::client::{AuthMethod, Client, ClientAbout, GrantType, NewClient};
use hk_idp_core::error::CoreError;
use hk_idp_core::keys::SigningAlg;
use hk_idp_core::registration::{Issued, client_information};
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a relying party; prints client_id, client_secret and the
    /// registration access token once.
    Create(ClientCreate),
    /// Every registered client, oldest first.
    List,
    /// One client's registration.
    Show(ClientId),
    /// Delete a client; its refresh and access tokens stop working at once.
    Delete(ClientId),
}

#[derive(Debug, Args)]
pub struct ClientId {
    pub client_id: String,
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
    /// Where the invitation mail and third-party initiated login send members (the portal).
    #[arg(long)]
    pub initiate_login_uri: Option<String>,
    #[arg(long, value_enum, default_value = "RS256")]
    pub alg: AlgArg,
    /// Grant types (default: authorization_code and refresh_token).
    #[arg(long = "grant-type", value_enum)]
    pub grant_types: Vec<GrantArg>,
    /// The scopes the client may ask for, space-separated (default: all).
    #[arg(long)]
    pub scope: Option<String>,
    /// A person or list to contact about the client.
    #[arg(long = "contact")]
    pub contacts: Vec<String>,
    #[arg(long)]
    pub client_uri: Option<String>,
    #[arg(long)]
    pub logo_uri: Option<String>,
}

impl ClientCreate {
    fn into_new(self) -> NewClient {
        let auth_method = match (self.public, self.auth_method) {
            (true, _) | (_, AuthMethodArg::None) => AuthMethod::None,
            (false, AuthMethodArg::ClientSecretBasic) => AuthMethod::ClientSecretBasic,
            (false, AuthMethodArg::ClientSecretPost) => AuthMethod::ClientSecretPost,
        };
        let mut grant_types: Vec<GrantType> = Vec::new();
        for g in &self.grant_types {
            let g = match g {
                GrantArg::AuthorizationCode => GrantType::AuthorizationCode,
                GrantArg::RefreshToken => GrantType::RefreshToken,
                GrantArg::ClientCredentials => GrantType::ClientCredentials,
            };
            if !grant_types.contains(&g) {
                grant_types.push(g);
            }
        }
        if grant_types.is_empty() {
            grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        }
        NewClient {
            name: self.name,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            grant_types,
            auth_method,
            id_token_alg: match self.alg {
                AlgArg::Rs256 => SigningAlg::RS256,
                AlgArg::Es256 => SigningAlg::ES256,
                AlgArg::EdDsa => SigningAlg::EdDSA,
            },
            initiate_login_uri: self.initiate_login_uri,
            first_party: self.first_party,
            about: ClientAbout {
                client_uri: self.client_uri,
                logo_uri: self.logo_uri,
                contacts: self.contacts,
                scope: self.scope.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")),
            },
        }
    }
}

/// A client as `client show` and `client list` print it: no secrets.
fn described(issuer: &str, c: Client) -> serde_json::Value {
    let mut v = client_information(
        issuer,
        &Issued {
            client: c,
            secret: None,
            registration_token: String::new(),
        },
    );
    if let Some(o) = v.as_object_mut() {
        o.remove("registration_access_token");
    }
    v
}

pub async fn run(cmd: ClientCommand, s: &Services, json: bool) -> anyhow::Result<()> {
    let p = &s.provider;
    let issuer = &p.settings.issuer;
    match cmd {
        ClientCommand::Create(c) => {
            let issued = p.create_client(c.into_new(), &Actor::cli()).await?;
            let id = &issued.client.id;
            let mut text = format!("client_id: {id}\n");
            match &issued.secret {
                Some(sec) => text.push_str(&format!("client_secret: {sec}\n")),
                None => text.push_str("(public client: no secret; PKCE is required)\n"),
            }
            text.push_str(&format!(
                "registration_access_token: {}\n(secrets are shown only now)",
                issued.registration_token
            ));
            print(json, client_information(issuer, &issued), &text);
            Ok(())
        }
        ClientCommand::List => {
            let clients = p.clients.list_clients().await.map_err(CoreError::Store)?;
            let text = clients
                .iter()
                .map(|c| format!("{}  {}  {}", c.id, c.auth_method.as_str(), c.name))
                .collect::<Vec<_>>()
                .join("\n");
            let all: Vec<_> = clients.into_iter().map(|c| described(issuer, c)).collect();
            print(json, json!(all), if text.is_empty() { "no clients" } else { &text });
            Ok(())
        }
        ClientCommand::Show(c) => {
            let client = p
                .clients
                .find_client(&c.client_id)
                .await
                .map_err(CoreError::Store)?
                .ok_or(CoreError::NotFound)?;
            let v = described(issuer, client);
            let text = serde_json::to_string_pretty(&v)?;
            print(json, v, &text);
            Ok(())
        }
        ClientCommand::Delete(c) => {
            p.remove_client(&c.client_id, &Actor::cli()).await?;
            print(
                json,
                json!({"deleted": c.client_id}),
                &format!("client {} deleted; its tokens were revoked", c.client_id),
            );
            Ok(())
        }
    }
}
