//! Mail delivery for HK ID: SMTP through lettre (TLS as the URL says) or, in
//! development, `.eml` files in an outbox folder. Bodies come from askama
//! templates in `render`.

mod render;
mod texts;

pub use render::{RenderedMail, render};

use async_trait::async_trait;
use hk_idp_core::ports::mailer::{MailError, MailMessage, Mailer};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error("mail.from: {0}")]
    From(String),
    #[error("mail.smtp_url: {0}")]
    SmtpUrl(String),
    #[error("mail.outbox_dir {0}: {1}")]
    Outbox(PathBuf, std::io::Error),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

pub struct LettreMailer {
    from: Mailbox,
    transport: Transport,
}

const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

impl LettreMailer {
    /// SMTP when `smtp_url` is set (`smtp://host:port`, `smtp://…?tls=required`,
    /// `smtps://…`), otherwise the outbox folder.
    pub fn new(from: &str, smtp_url: &str, outbox_dir: &Path) -> Result<Self, MailSetupError> {
        let from: Mailbox = from.parse().map_err(|e| MailSetupError::From(format!("{e}")))?;
        let transport = if smtp_url.is_empty() {
            std::fs::create_dir_all(outbox_dir).map_err(|e| MailSetupError::Outbox(outbox_dir.to_owned(), e))?;
            Transport::Outbox(AsyncFileTransport::new(outbox_dir), outbox_dir.to_owned())
        } else {
            let t = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
                .map_err(|e| MailSetupError::SmtpUrl(e.to_string()))?
                .timeout(Some(SMTP_TIMEOUT))
                .build();
            Transport::Smtp(t)
        };
        Ok(Self { from, transport })
    }

    fn message(&self, mail: &MailMessage) -> Result<Message, MailError> {
        let permanent = |message: String| MailError {
            message,
            transient: false,
        };
        let to = Mailbox::new(
            mail.name.clone(),
            mail.to.parse().map_err(|e| permanent(format!("recipient: {e}")))?,
        );
        let rendered = render(mail).map_err(|e| permanent(format!("template: {e}")))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .multipart(MultiPart::alternative_plain_html(rendered.text, rendered.html))
            .map_err(|e| permanent(format!("message: {e}")))
    }
}

#[async_trait]
impl Mailer for LettreMailer {
    async fn send(&self, mail: &MailMessage) -> Result<(), MailError> {
        let message = self.message(mail)?;
        match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| MailError {
                // 4xx replies and connection trouble pass; 5xx replies do not.
                transient: !e.is_permanent(),
                message: e.to_string(),
            }),
            Transport::Outbox(t, dir) => {
                let id = t.send(message).await.map_err(|e| MailError {
                    message: e.to_string(),
                    transient: true,
                })?;
                tracing::info!(file = %dir.join(format!("{id}.eml")).display(), kind = mail.kind_name(), "mail.written_to_outbox");
                Ok(())
            }
        }
    }
}
