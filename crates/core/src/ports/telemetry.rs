//! What the domain counts for the operator (Prometheus in `web::metrics`):
//! outcomes a dashboard and an alert watch, never who or what secret.

use std::time::Duration;

/// Something that happened, counted once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// A password login: `ok` when it succeeded.
    Login { ok: bool },
    /// A one-time code mailed (activation or forgotten password).
    CodeSent,
    /// Tokens issued at `/token`, by `grant_type`.
    TokensIssued { grant: &'static str },
    /// A spent refresh token presented again: its family was revoked.
    RefreshReused,
    /// A mail delivered, or given up on.
    Mail { sent: bool },
}

pub trait Telemetry: Send + Sync {
    fn count(&self, what: Counted);
    /// How long a password hash waited for a place (`passwords.max_concurrent`).
    fn hash_waited(&self, waited: Duration);
}

/// Counts nothing: the commands and the unit tests.
pub struct NoTelemetry;

impl Telemetry for NoTelemetry {
    fn count(&self, _: Counted) {}
    fn hash_waited(&self, _: Duration) {}
}
