//! Extractors: request parameters (query or form), client authentication
//! (RFC 6749 §2.3.1), bearer tokens (RFC 6750 §2) and the client address.

use crate::client_address::ClientAddr;
use crate::error::{ApiError, PageError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hk_idp_core::error::{CoreError, OAuthError, OAuthErrorCode};
use hk_idp_core::oauth::client::AuthMethod;
use hk_idp_core::oauth::params::Params;
use hk_idp_core::oauth::token_endpoint::ClientCredentials;
use std::net::SocketAddr;

fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

/// True if the body is declared as `media_type` (parameters such as charset aside).
pub fn has_content_type(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with(media_type))
}

fn is_form(headers: &HeaderMap) -> bool {
    has_content_type(headers, "application/x-www-form-urlencoded")
}

/// Parameters of a request: the query for GET, the form body for POST.
async fn read_params(req: Request) -> Result<(Params, HeaderMap), OAuthError> {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        let q = req.uri().query().unwrap_or("").as_bytes().to_vec();
        return Ok((Params::new(pairs(&q)), req.headers().clone()));
    }
    let headers = req.headers().clone();
    if !is_form(&headers) {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let bytes = Bytes::from_request(req, &()).await.map_err(|_| body_unreadable())?;
    Ok((Params::new(pairs(&bytes)), headers))
}

fn body_unreadable() -> OAuthError {
    OAuthError::invalid_request("the request body is too large or unreadable")
}

/// The body of a JSON endpoint, as bytes; one too large (past the body
/// limit) or unreadable is `invalid_request` in the OAuth error JSON, not
/// axum's plain-text rejection.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, s: &S) -> Result<Self, Self::Rejection> {
        Ok(RawBody(
            Bytes::from_request(req, s).await.map_err(|_| body_unreadable())?,
        ))
    }
}

/// Parameters for a protocol endpoint; errors in the OAuth JSON format.
pub struct OAuthParams(pub Params, pub HeaderMap);

impl<S: Send + Sync> FromRequest<S> for OAuthParams {
    type Rejection = ApiError;
    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (p, h) = read_params(req).await?;
        Ok(Self(p, h))
    }
}

/// Parameters for a page; errors as a page.
pub struct PageParams(pub Params);

impl<S: Send + Sync> FromRequest<S> for PageParams {
    type Rejection = PageError;
    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        // A body that cannot be read has no `ui_locales` to honour: the query's and the headers' then.
        let query = Params::new(pairs(req.uri().query().unwrap_or("").as_bytes()));
        let asked = crate::page_locale::locale(req.headers(), Some(&query), None);
        read_params(req)
            .await
            .map(|(p, _)| Self(p))
            .map_err(|e| PageError::bad_request(e.description).or_locale(asked))
    }
}

/// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64.
fn basic_credentials(value: &str) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let encoded = value.get(6..).ok_or_else(bad)?.trim();
    let decoded = STANDARD.decode(encoded).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| bad())
    };
    Ok((unescape(id)?, unescape(secret)?))
}

/// The client of a client-authenticated endpoint (token, revocation, introspection).
pub async fn authenticated_client(
    state: &crate::state::AppState,
    headers: &HeaderMap,
    p: &Params,
) -> Result<hk_idp_core::oauth::client::Client, ApiError> {
    let creds = client_credentials(headers, p)?;
    Ok(state.provider.authenticate_client(&creds).await?)
}

/// How the client authenticated: Basic header, form secret, or none (public client).
pub(crate) fn client_credentials(headers: &HeaderMap, p: &Params) -> Result<ClientCredentials, ApiError> {
    let form_id = p.get("client_id")?;
    let form_secret = p.get("client_secret")?;
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let auth = auth
            .to_str()
            .map_err(|_| OAuthError::invalid_client("malformed Authorization header"))?;
        if auth.len() > 6 && auth[..6].eq_ignore_ascii_case("basic ") {
            // RFC 6749 §2.3: one method per request.
            if form_secret.is_some() {
                return Err(OAuthError::invalid_request("use one client authentication method").into());
            }
            let (id, secret) = basic_credentials(auth)?;
            if form_id.is_some_and(|f| f != id) {
                return Err(OAuthError::invalid_request("client_id does not match the Authorization header").into());
            }
            return Ok(ClientCredentials {
                client_id: id,
                secret: Some(secret),
                method: AuthMethod::ClientSecretBasic,
            });
        }
        return Err(OAuthError::invalid_client("unsupported authentication scheme").into());
    }
    let id = form_id.ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
    Ok(match form_secret {
        Some(s) => ClientCredentials {
            client_id: id.to_owned(),
            secret: Some(s.to_owned()),
            method: AuthMethod::ClientSecretPost,
        },
        None => ClientCredentials {
            client_id: id.to_owned(),
            secret: None,
            method: AuthMethod::None,
        },
    })
}

/// RFC 6750 §2.1/§2.2: the bearer token from the header or the form, not both.
pub fn bearer_token(headers: &HeaderMap, p: &Params) -> Result<String, ApiError> {
    let from_header = match headers.get(header::AUTHORIZATION) {
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| OAuthError::invalid_token("malformed Authorization header"))?;
            match v.get(..7) {
                Some(s) if s.eq_ignore_ascii_case("bearer ") => Some(v[7..].trim().to_owned()),
                _ => {
                    return Err(OAuthError::invalid_token("the Authorization scheme must be Bearer").into());
                }
            }
        }
        None => None,
    };
    let from_form = p.get("access_token")?.map(str::to_owned);
    match (from_header, from_form) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request("send the token in one place only").into()),
        (Some(t), None) | (None, Some(t)) if !t.is_empty() => Ok(t),
        (None, None) => Err(CoreError::Unauthenticated("no access token".into()).into()),
        _ => Err(ApiError::oauth(
            OAuthErrorCode::InvalidToken,
            "the access token is empty",
        )),
    }
}

/// A JSON body of type `T`; anything else is `invalid_request` (or, with
/// `metadata_error`, RFC 7591's `invalid_client_metadata`) naming the problem.
pub fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    metadata_error: bool,
) -> Result<T, ApiError> {
    if !has_content_type(headers, "application/json") {
        return Err(ApiError::oauth(
            OAuthErrorCode::InvalidRequest,
            "the body must be application/json",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let (code, what) = if metadata_error {
            (OAuthErrorCode::InvalidClientMetadata, "the metadata")
        } else {
            (OAuthErrorCode::InvalidRequest, "the body")
        };
        ApiError::oauth(code, format!("{what} is not valid JSON of the right shape: {e}"))
    })
}

/// A request carrying one of the admin tokens as its bearer token.
pub struct Admin {
    /// Names the token in the audit trail by the start of its hash, never
    /// the token, with the caller's address.
    pub actor: hk_idp_core::audit::Actor,
}

impl FromRequestParts<crate::state::AppState> for Admin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &crate::state::AppState) -> Result<Self, Self::Rejection> {
        let denied = || ApiError::oauth(OAuthErrorCode::InvalidToken, "a valid admin token is required");
        if state.admin_token_hashes.is_empty() {
            tracing::info!("admin.disabled");
            return Err(denied());
        }
        let presented = match bearer_token(&parts.headers, &Params::default()) {
            Ok(t) => t,
            Err(ApiError(e @ CoreError::Unauthenticated(_))) => {
                return Err(CoreError::Unauthenticated(format!("{e}: a valid admin token is required")).into());
            }
            Err(_) => return Err(denied()),
        };
        // Every configured token is compared, in constant time, whichever matches.
        let mut matched = None;
        for h in &state.admin_token_hashes {
            if hk_idp_core::secret::verify_token_hash(&presented, h) {
                matched = Some(h);
            }
        }
        match matched {
            Some(h) => Ok(Admin {
                actor: hk_idp_core::audit::Actor::new(format!("admin:{}", h.get(..8).unwrap_or(h)), peer_ip(parts)),
            }),
            None => {
                tracing::warn!("admin.token_rejected");
                Err(denied())
            }
        }
    }
}

/// The client's address (`client_address`): resolved once per request by
/// `observe`, else the peer of the connection.
pub struct ClientIp(pub Option<String>);

fn peer_ip(parts: &Parts) -> Option<String> {
    if let Some(ClientAddr(ip)) = parts.extensions.get::<ClientAddr>() {
        return Some(ip.to_string());
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(peer_ip(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::basic_credentials;

    #[test]
    fn basic_credentials_are_form_decoded() {
        // "my%20client:s%3Acret+x" → ("my client", "s:cret x")
        let v = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "my%20client:s%3Acret+x")
        );
        assert_eq!(
            basic_credentials(&v).ok(),
            Some(("my client".into(), "s:cret x".into()))
        );
        assert!(basic_credentials("Basic !!!").is_err());
    }
}
