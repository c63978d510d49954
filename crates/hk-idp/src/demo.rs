//! `hk-idp demo`: the provider on the configured (embedded) set-up with mail
//! going to the outbox, and beside it, on the next port, a demo portal with
//! a registered demo client, one pending demo member with an invitation in
//! the outbox, and a page listing the outbox.

use crate::app::App;
use crate::settings::{Secret, Settings};
use anyhow::Context;
use hk_idp_core::Provider;
use hk_idp_core::account::member::MemberStatus;
use hk_idp_core::admin::member_registry::NewMember;
use hk_idp_core::audit::Actor;
use hk_idp_core::oauth::client::{AuthMethod, GrantType, NewClient};
use hk_idp_core::oauth::signing_key::SigningAlg;
use hk_idp_demo::PortalConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;

pub const DEMO_EMAIL: &str = "demo@hk.no";

pub async fn run(mut settings: Settings) -> anyhow::Result<()> {
    settings.mail.smtp_url = Secret(String::new());
    let app = App::build(&settings).await?;
    let idp = app.addr();
    let portal_addr = SocketAddr::new(
        idp.ip(),
        idp.port().checked_add(1).context("no port after IDP_LISTEN's")?,
    );
    let listener = TcpListener::bind(portal_addr)
        .await
        .with_context(|| format!("cannot listen on {portal_addr} for the demo portal (the port after IDP_LISTEN)"))?;
    let base = format!("http://{portal_addr}");
    let issuer = app.issuer().to_owned();
    let provider = app.services.provider.clone();
    let client_id = demo_client(&provider, &base).await?;
    let server = tokio::spawn(app.run());
    let member = demo_member(&provider).await?;
    println!(
        "HK ID demo\n  \
         demo portal (open this): {base}\n  \
         outbox (mails):          {base}/outbox\n  \
         identity provider:       {issuer}\n  \
         demo member:             {DEMO_EMAIL} ({member})\n\n\
         Open the portal, press «Logg inn», then «Klikk her for å aktivere din brukerkonto»;\n\
         the one-time code arrives in the outbox. Ctrl-C stops the demo."
    );
    let config = PortalConfig {
        issuer,
        base,
        client_id,
        outbox_dir: PathBuf::from(&settings.mail.outbox_dir),
    };
    tokio::select! {
        r = hk_idp_demo::serve(listener, config) => r.context("demo portal"),
        r = server => r.context("server task")?,
    }
}

/// The demo portal's client: public (PKCE), first-party, with this portal's URLs.
async fn demo_client(p: &Provider, base: &str) -> anyhow::Result<String> {
    let login = format!("{base}/login");
    if let Some(c) = p.clients.find_portal_client().await?
        && c.initiate_login_uri.as_deref() == Some(login.as_str())
    {
        return Ok(c.id);
    }
    let issued = p
        .create_client(
            NewClient {
                name: "Bedriftsportalen (demo)".into(),
                redirect_uris: vec![format!("{base}/callback")],
                post_logout_redirect_uris: vec![format!("{base}/")],
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                auth_method: AuthMethod::None,
                id_token_alg: SigningAlg::RS256,
                initiate_login_uri: Some(login),
                first_party: true,
                ..Default::default()
            },
            &Actor::new("demo", None),
        )
        .await?;
    Ok(issued.client.id)
}

/// The pending demo member, invited once when first registered.
async fn demo_member(p: &Provider) -> anyhow::Result<&'static str> {
    if let Some(m) = p.members.find_member_by_email(DEMO_EMAIL).await? {
        return Ok(match m.status {
            MemberStatus::Pending => "pending: activate the account",
            MemberStatus::Active => "active: use «Glemt passord» if you forgot the password",
            MemberStatus::Disabled => "disabled",
        });
    }
    let new = NewMember {
        email: DEMO_EMAIL.into(),
        name: Some("Demo Medlem".into()),
        org_number: Some("971274042".into()),
        org_name: Some("Handel og Kontor i Norge".into()),
        password: None,
    };
    let demo = Actor::new("demo", None);
    let member = p.create_member(new, p.settings.passwords.min_length, &demo).await?;
    p.invite_member(&member, false, &demo).await?;
    Ok("pending: activate the account; the invitation is in the outbox")
}
