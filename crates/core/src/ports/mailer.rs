//! Mail the provider sends and the `Mailer` trait that delivers it (lettre,
//! in `hk-idp-mail`). The queue in front of it is `mail_queue`.

use crate::account::otp_purpose::OtpPurpose;
use crate::locale::Locale;
use async_trait::async_trait;

/// What a mail says; the mail crate renders it from templates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MailKind {
    /// A one-time code for activation or a forgotten password.
    OneTimeCode {
        code: String,
        purpose: OtpPurpose,
        valid_minutes: i64,
    },
    /// The invitation to a registered member: a link to the company portal.
    Invitation { link: String },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MailMessage {
    pub to: String,
    pub name: Option<String>,
    pub locale: Locale,
    pub kind: MailKind,
}

impl MailMessage {
    /// For logs: the kind, never the recipient or a code.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            MailKind::OneTimeCode { .. } => "one_time_code",
            MailKind::Invitation { .. } => "invitation",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct MailError {
    pub message: String,
    /// Worth trying again (connection refused, 4xx reply).
    pub transient: bool,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &MailMessage) -> Result<(), MailError>;
}
