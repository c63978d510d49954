//! Protocol endpoints: discovery, JWKS, authorization, token, userinfo,
//! revocation and introspection. Paths come from `hk_idp_core::oauth::discovery::paths`.

mod authorize;
mod client_registration;
mod discovery;
mod introspection;
mod revocation;
mod token;
mod userinfo;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};
use hk_idp_core::oauth::discovery::paths;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery::show_discovery))
        .route(paths::JWKS, get(discovery::show_jwks))
        .route(paths::AUTHORIZE, get(authorize::authorize).post(authorize::authorize))
        .route(paths::TOKEN, post(token::token))
        .route(paths::USERINFO, get(userinfo::userinfo).post(userinfo::userinfo))
        .route(paths::REVOKE, post(revocation::revoke))
        .route(paths::INTROSPECT, post(introspection::introspect))
        .route(paths::REGISTER, post(client_registration::register))
        .route(
            &format!("{}/{{client_id}}", paths::REGISTER),
            get(client_registration::read)
                .put(client_registration::update)
                .delete(client_registration::delete),
        )
}
