//! `hk-idp client …`: relying parties, on the configured database.

use super::print;
use crate::app::Services;
use clap::{Args, Subcommand, ValueEnum};
use hk_idp_core::audit::Actor;
use hk_idp_core::error::CoreError;
use hk_idp_core::oauth::client::{Client, NewClient};
use hk_idp_core::oauth::client_registration::{ClientMetadata, Issued, client_information};
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

/// The name a value has on the command line, which is its name in the metadata.
fn value<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_owned())
        .unwrap_or_default()
}

impl ClientCreate {
    /// The same metadata RFC 7591 registration takes, so one set of rules applies.
    fn into_new(self) -> Result<NewClient, CoreError> {
        let method = if self.public {
            "none".to_owned()
        } else {
            value(&self.auth_method)
        };
        let grants: Vec<String> = if self.grant_types.is_empty() {
            vec!["authorization_code".into(), "refresh_token".into()]
        } else {
            self.grant_types.iter().map(value).collect()
        };
        let code = grants.iter().any(|g| g == "authorization_code");
        let meta = ClientMetadata {
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            response_types: Some(if code { vec!["code".into()] } else { vec![] }),
            grant_types: Some(grants),
            token_endpoint_auth_method: Some(method),
            id_token_signed_response_alg: Some(value(&self.alg)),
            client_name: Some(self.name),
            client_uri: self.client_uri,
            logo_uri: self.logo_uri,
            contacts: self.contacts,
            initiate_login_uri: self.initiate_login_uri,
            scope: self.scope,
            first_party: Some(self.first_party),
            ..Default::default()
        };
        Ok(meta.into_new_client()?)
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
            let issued = p.create_client(c.into_new()?, &Actor::cli()).await?;
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
