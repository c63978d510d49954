//! Error types of the domain. `OAuthErrorCode` carries the RFC spelling; the web
//! layer maps every error to a response in one place.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2,
/// OIDC Core §3.1.2.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    UnsupportedTokenType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    InvalidToken,
    InsufficientScope,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    RegistrationNotSupported,
    InvalidRedirectUri,
    InvalidClientMetadata,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error the client is told about: code plus a description written for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, description)
    }
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidClient, description)
    }
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidToken, description)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

/// Failures of a store back end.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record already exists")]
    Conflict,
    #[error("record not found")]
    NotFound,
    #[error("store back end failed: {0}")]
    Backend(String),
}

/// Everything a domain service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    OAuth(OAuthError),
    #[error("e-mail address already registered")]
    EmailExists,
    #[error("not found")]
    NotFound,
    /// No credentials were sent at all (RFC 6750 §3.1: the challenge then
    /// carries no error code).
    #[error("{0}")]
    Unauthenticated(String),
    /// The request clashes with the current state (e.g. invited before).
    #[error("{0}")]
    Conflict(String),
    /// A service we depend on (the mail server) failed; try again later.
    #[error("{0}")]
    Unavailable(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("store failed")]
    Store(#[from] StoreError),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<OAuthError> for CoreError {
    fn from(e: OAuthError) -> Self {
        CoreError::OAuth(e)
    }
}

impl CoreError {
    /// Conflict from a store becomes the domain's "exists" error.
    pub fn from_insert(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => CoreError::EmailExists,
            other => CoreError::Store(other),
        }
    }
}
