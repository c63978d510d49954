//! The demo portal for `hk-idp demo`: a relying party built on the
//! `openidconnect` crate (authorization code with PKCE, ID token verified
//! against the JWKS) that shows the verified claims and logs out, plus a
//! development-only page listing the mails in the outbox folder. It runs on
//! its own listener, so none of it is ever mounted on the provider.

mod outbox;
mod portal;

pub use portal::{Portal, PortalConfig};

use axum::Router;
use axum::routing::get;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves the demo portal on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: PortalConfig) -> anyhow::Result<()> {
    let portal = Arc::new(Portal::discover(config).await?);
    let app = Router::new()
        .route("/", get(portal::home))
        .route("/login", get(portal::login))
        .route("/callback", get(portal::callback))
        .route("/logout", get(portal::logout))
        .route("/outbox", get(outbox::list))
        .with_state(portal);
    axum::serve(listener, app).await?;
    Ok(())
}
