//! The admin API under `/admin/*`, behind the admin token (`Admin` extractor).

mod users;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, patch};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users::find_user).post(users::create_user))
        .route(
            "/admin/users/{id}",
            patch(users::change_user).delete(users::delete_user),
        )
}
