//! The admin API under `/admin/*`, behind the admin token (`Admin` extractor),
//! and its OpenAPI description.

mod audit;
mod openapi;
mod users;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, patch, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users::find_user).post(users::create_user))
        .route("/admin/users/import", post(users::import_users))
        .route(
            "/admin/users/{id}",
            patch(users::change_user).delete(users::delete_user),
        )
        .route("/admin/users/{id}/invite", post(users::invite_user))
        .route("/admin/audit", get(audit::list_events))
        .route(openapi::PATH, get(openapi::document))
}
