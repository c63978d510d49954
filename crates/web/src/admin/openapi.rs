//! The admin API's OpenAPI 3 description, served as written; CI checks the
//! live server against it (schemathesis, .ci/run).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub const PATH: &str = "/admin/openapi.json";

const DOCUMENT: &str = include_str!("openapi.json");

/// Public, like the discovery document: it describes, it grants nothing.
pub async fn document() -> Response {
    let mut resp = DOCUMENT.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
