//! HK ID's HTTP layer (axum 0.8): the protocol endpoints, the hosted pages,
//! health and metrics. Handlers extract, call one provider service, respond.

mod admin;
pub mod client_address;
pub mod error;
mod extract;
#[cfg(test)]
mod extract_properties;
mod health;
mod message_page;
pub mod metrics;
mod oauth;
mod observe;
mod page_locale;
mod pages;
mod session_cookie;
pub mod state;
mod texts;

pub use state::AppState;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower_http::timeout::TimeoutLayer;

/// Largest request body any endpoint accepts.
const MAX_BODY: usize = 64 * 1024;

/// `/metrics` alone, for `server.metrics_listen`.
pub fn metrics_app(state: AppState) -> Router {
    health::metrics_router().with_state(state)
}

/// The whole application. Middleware order, outermost first: observe (request
/// id, span, metrics: sees every response, errors included), security headers,
/// the in-flight limit (one count for every route; shed, not queued), request
/// timeout (the body read included), body limit.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .merge(oauth::router())
        .merge(admin::router())
        .merge(pages::router())
        .merge(health::router())
        .merge(if state.metrics_apart {
            Router::new()
        } else {
            health::metrics_router()
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.request_timeout,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(error::overloaded))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::new(state.max_in_flight)),
        );
    observe::with_security_headers(routes, state.cookie_secure())
        .layer(middleware::from_fn_with_state(state.clone(), observe::observe))
        .with_state(state)
}
