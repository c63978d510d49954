//! The queue that keeps mail delivery off the request path, retrying failed
//! sends with back-off.

use crate::ports::mailer::{MailError, MailMessage, Mailer};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// How often and how patiently a failed send is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 8,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Sends `mail`, retrying transient failures with exponential back-off.
pub async fn deliver(mailer: &dyn Mailer, mail: &MailMessage, policy: RetryPolicy) -> Result<(), MailError> {
    let mut attempt = 1;
    loop {
        match mailer.send(mail).await {
            Ok(()) => {
                tracing::info!(kind = mail.kind_name(), attempt, "mail.sent");
                return Ok(());
            }
            Err(e) if e.transient && attempt < policy.attempts => {
                let wait = policy.delay_after(attempt);
                tracing::warn!(kind = mail.kind_name(), attempt, error = %e, retry_in_ms = wait.as_millis() as u64, "mail.retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => {
                tracing::error!(kind = mail.kind_name(), attempt, error = %e, "mail.failed");
                return Err(e);
            }
        }
    }
}

/// Mail waiting to be sent by a background task, so a request never waits
/// for (or learns about) delivery.
#[derive(Clone)]
pub struct MailQueue {
    tx: mpsc::Sender<MailMessage>,
    mailer: Arc<dyn Mailer>,
    policy: RetryPolicy,
}

/// A random wait of 20–80 ms before a queued mail is delivered.
fn dispatch_jitter() -> Duration {
    use rand::Rng;
    Duration::from_millis(rand::thread_rng().gen_range(20..80))
}

/// Mails being delivered at once; the rest wait in the queue.
const CONCURRENT_SENDS: usize = 4;
const QUEUE_CAPACITY: usize = 10_000;

impl MailQueue {
    /// Starts the delivery task on the current runtime.
    pub fn start(mailer: Arc<dyn Mailer>, policy: RetryPolicy) -> Self {
        let (tx, mut rx) = mpsc::channel::<MailMessage>(QUEUE_CAPACITY);
        let worker_mailer = mailer.clone();
        tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(CONCURRENT_SENDS));
            while let Some(mail) = rx.recv().await {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let mailer = worker_mailer.clone();
                tokio::spawn(async move {
                    // The delivery's CPU and disk work must not line up with the request
                    // that queued it, or its timing would tell that an e-mail is registered.
                    tokio::time::sleep(dispatch_jitter()).await;
                    let _ = deliver(mailer.as_ref(), &mail, policy).await;
                    drop(permit);
                });
            }
        });
        Self { tx, mailer, policy }
    }

    /// Queues a mail; never waits. A full queue drops the mail and says so in the log.
    pub fn enqueue(&self, mail: MailMessage) {
        let kind = mail.kind_name();
        if let Err(e) = self.tx.try_send(mail) {
            tracing::error!(kind, error = %e, "mail.queue_full");
        }
    }

    /// Sends now, with retries, for callers that report the outcome (the CLI).
    pub async fn send_now(&self, mail: &MailMessage) -> Result<(), MailError> {
        deliver(self.mailer.as_ref(), mail, self.policy).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locale::Locale;
    use crate::ports::mailer::MailKind;
    use async_trait::async_trait;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Flaky(AtomicU32);

    #[async_trait]
    impl Mailer for Flaky {
        async fn send(&self, _: &MailMessage) -> Result<(), MailError> {
            if self.0.fetch_add(1, Ordering::SeqCst) < 2 {
                return Err(MailError {
                    message: "451 try later".into(),
                    transient: true,
                });
            }
            Ok(())
        }
    }

    fn mail() -> MailMessage {
        MailMessage {
            to: "a@example.no".into(),
            name: None,
            locale: Locale::Nb,
            kind: MailKind::Invitation {
                link: "https://x".into(),
            },
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_the_send_succeeds() {
        let m = Flaky(AtomicU32::new(0));
        let policy = RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
        };
        assert!(deliver(&m, &mail(), policy).await.is_ok());
        assert_eq!(m.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_after(1), Duration::from_secs(2));
        assert_eq!(p.delay_after(3), Duration::from_secs(8));
        assert_eq!(p.delay_after(20), Duration::from_secs(300));
    }
}
