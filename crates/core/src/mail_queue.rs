//! The queue that keeps mail delivery off the request path: an outbox in
//! the database that every node drains, once per message, retrying failed
//! sends with back-off.

use crate::error::StoreError;
use crate::ports::clock::Clock;
use crate::ports::mailer::{MailError, MailMessage, Mailer};
use crate::ports::sealing::Sealing;
use crate::ports::store::{OutboxMail, OutboxStore};
use crate::ports::telemetry::{Counted, NoTelemetry, Telemetry};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

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

/// Mail waiting to be sent, kept in the outbox table so that any node
/// delivers it: a request only stores it (never waits for delivery, nor
/// learns about it), and a node that dies with mail queued loses none.
#[derive(Clone)]
pub struct MailQueue {
    outbox: Arc<dyn OutboxStore>,
    sealing: Arc<dyn Sealing>,
    mailer: Arc<dyn Mailer>,
    policy: RetryPolicy,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    telemetry: Arc<dyn Telemetry>,
}

/// A random wait of 20–80 ms before mail this node queued is taken.
fn dispatch_jitter() -> Duration {
    use rand::Rng;
    Duration::from_millis(rand::thread_rng().gen_range(20..80))
}

/// Mails being delivered at once by one node; the rest wait in the outbox.
const CONCURRENT_SENDS: usize = 4;
/// How often a node looks for mail it was not woken for (queued by another
/// node, due again after a failure, or left by a node that died).
const POLL: Duration = Duration::from_secs(1);
/// How long a node has a mail it took before another may take it: longer
/// than an SMTP send may take (15 s).
const LEASE_MS: i64 = 30_000;
/// What the outbox row of a decoy says; the worker removes it unsent.
const DECOY: &str = "decoy";
const SEALED_FOR: &str = "mail";

impl MailQueue {
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        sealing: Arc<dyn Sealing>,
        mailer: Arc<dyn Mailer>,
        policy: RetryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            outbox,
            sealing,
            mailer,
            policy,
            clock,
            wake: Arc::new(Notify::new()),
            telemetry: Arc::new(NoTelemetry),
        }
    }

    /// Counts each mail sent or given up on.
    pub fn counted_by(mut self, telemetry: Arc<dyn Telemetry>) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Mails waiting in the outbox (the metrics' queue depth).
    pub async fn waiting(&self) -> Result<u64, StoreError> {
        self.outbox.count_mail().await
    }

    /// Stores `mail` for delivery.
    pub async fn enqueue(&self, mail: MailMessage) -> Result<(), StoreError> {
        self.store(mail.kind_name(), &mail).await
    }

    /// Does what `enqueue` does for a mail that is not sent: a request that
    /// mails no one (an unknown e-mail) does the same work as one that does.
    pub async fn enqueue_decoy(&self, like: MailMessage) -> Result<(), StoreError> {
        self.store(DECOY, &like).await
    }

    async fn store(&self, kind: &str, mail: &MailMessage) -> Result<(), StoreError> {
        let json = serde_json::to_vec(mail).map_err(|e| StoreError::Backend(format!("mail: {e}")))?;
        // base64url first: in the clear (no key-encryption key) a JSON text
        // with dots in it must not read as a sealed one.
        let payload = self
            .sealing
            .seal(SEALED_FOR, &URL_SAFE_NO_PAD.encode(json))
            .map_err(|e| StoreError::Backend(format!("mail: {e}")))?;
        let row = OutboxMail {
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.to_owned(),
            payload,
            attempts: 0,
            created_at: self.clock.now(),
        };
        self.outbox.add_mail(&row, self.clock.now_millis()).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Sends now, with retries, for callers that report the outcome (the CLI).
    pub async fn send_now(&self, mail: &MailMessage) -> Result<(), MailError> {
        deliver(self.mailer.as_ref(), mail, self.policy).await
    }

    /// Delivers the outbox for as long as the node serves: what this node
    /// queued after a short random wait, the rest as it falls due.
    pub fn spawn_worker(&self) -> tokio::task::JoinHandle<()> {
        let queue = self.clone();
        tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(CONCURRENT_SENDS));
            loop {
                queue.take_due(&permits).await;
                tokio::select! {
                    // The delivery's CPU and disk work must not line up with the request
                    // that queued it, or its timing would tell that an e-mail is registered.
                    () = queue.wake.notified() => tokio::time::sleep(dispatch_jitter()).await,
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        })
    }

    /// Takes as many due mails as there are free senders, and sends them.
    async fn take_due(&self, permits: &Arc<Semaphore>) {
        loop {
            let free = permits.available_permits();
            if free == 0 {
                return;
            }
            let now = self.clock.now_millis();
            let due = match self.outbox.claim_mail(now, now + LEASE_MS, free as u32).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "mail.outbox_unavailable");
                    return;
                }
            };
            if due.is_empty() {
                return;
            }
            for row in due {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let queue = self.clone();
                tokio::spawn(async move {
                    queue.send_one(row).await;
                    drop(permit);
                });
            }
        }
    }

    /// One attempt at one mail; a transient failure makes it due again later.
    async fn send_one(&self, row: OutboxMail) {
        let outcome = match self.open(&row) {
            None => Ok(()),
            Some(Err(e)) => {
                tracing::error!(kind = %row.kind, error = %e, "mail.unreadable");
                Ok(())
            }
            Some(Ok(mail)) => {
                let attempt = u32::try_from(row.attempts).unwrap_or(0) + 1;
                match self.mailer.send(&mail).await {
                    Ok(()) => {
                        tracing::info!(kind = mail.kind_name(), attempt, "mail.sent");
                        self.telemetry.count(Counted::Mail { sent: true });
                        Ok(())
                    }
                    Err(e) if e.transient && attempt < self.policy.attempts => {
                        let wait = self.policy.delay_after(attempt);
                        tracing::warn!(kind = mail.kind_name(), attempt, error = %e, retry_in_ms = wait.as_millis() as u64, "mail.retrying");
                        Err((attempt, wait))
                    }
                    Err(e) => {
                        tracing::error!(kind = mail.kind_name(), attempt, error = %e, "mail.failed");
                        self.telemetry.count(Counted::Mail { sent: false });
                        Ok(())
                    }
                }
            }
        };
        let written = match outcome {
            Ok(()) => self.outbox.remove_mail(&row.id).await,
            Err((attempt, wait)) => {
                let due = self.clock.now_millis() + wait.as_millis() as i64;
                self.outbox.retry_mail(&row.id, attempt as i32, due).await
            }
        };
        if let Err(e) = written {
            // It stays taken until the lease ends, then is tried again.
            tracing::warn!(error = %e, "mail.outbox_unavailable");
        }
    }

    /// The message in `row`; None for a decoy.
    fn open(&self, row: &OutboxMail) -> Option<Result<MailMessage, String>> {
        if row.kind == DECOY {
            return None;
        }
        Some(
            self.sealing
                .open(SEALED_FOR, &row.payload)
                .and_then(|text| URL_SAFE_NO_PAD.decode(text).map_err(|e| e.to_string()))
                .and_then(|json| serde_json::from_slice(&json).map_err(|e| e.to_string())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locale::Locale;
    use crate::ports::clock::ManualClock;
    use crate::ports::mailer::MailKind;
    use crate::testing::{KeptMail, MemoryDb};
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

    const START: i64 = 1_800_000_000;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
        }
    }

    /// A queue on an in-memory outbox and a manual clock, with no worker:
    /// the test drains it by hand.
    fn queue(mailer: Arc<dyn Mailer>) -> (MailQueue, Arc<MemoryDb>, ManualClock) {
        let db = Arc::new(MemoryDb::default());
        let clock = ManualClock::new(START);
        let q = MailQueue::new(
            db.clone(),
            Arc::new(crate::ports::sealing::InTheClear),
            mailer,
            policy(),
            Arc::new(clock.clone()),
        );
        (q, db, clock)
    }

    /// One pass of the worker, until every send it started has ended.
    async fn drain(q: &MailQueue) {
        let permits = Arc::new(Semaphore::new(CONCURRENT_SENDS));
        q.take_due(&permits).await;
        while permits.available_permits() < CONCURRENT_SENDS {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_queued_mail_is_sent_once_and_leaves_the_outbox() {
        let kept = Arc::new(KeptMail::default());
        let (q, db, _) = queue(kept.clone());
        q.enqueue(mail()).await.unwrap();
        assert_eq!(db.count_mail().await.unwrap(), 1, "stored before it is sent");
        drain(&q).await;
        drain(&q).await;
        assert_eq!(kept.0.lock().unwrap().as_slice(), [mail()]);
        assert_eq!(db.count_mail().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_mail_kept_in_the_clear_reads_back_whatever_its_text() {
        let kept = Arc::new(KeptMail::default());
        let (q, _, _) = queue(kept.clone());
        // Dots and quotes: a JSON text like this once read as a sealed one.
        let mut odd = mail();
        odd.name = Some("Kari \"Nordmann\", <a.b@c.d>; e.f.g.h".into());
        q.enqueue(odd.clone()).await.unwrap();
        drain(&q).await;
        assert_eq!(kept.0.lock().unwrap().as_slice(), [odd]);
    }

    #[tokio::test]
    async fn a_decoy_does_the_same_work_and_is_never_sent() {
        let kept = Arc::new(KeptMail::default());
        let (q, db, _) = queue(kept.clone());
        q.enqueue_decoy(mail()).await.unwrap();
        assert_eq!(db.count_mail().await.unwrap(), 1, "stored like a mail");
        drain(&q).await;
        assert!(kept.0.lock().unwrap().is_empty());
        assert_eq!(db.count_mail().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_failed_send_is_due_again_after_the_back_off_and_given_up_after_the_attempts() {
        let flaky = Arc::new(Flaky(AtomicU32::new(0)));
        let (q, db, clock) = queue(flaky.clone());
        q.enqueue(mail()).await.unwrap();
        drain(&q).await;
        assert_eq!(flaky.0.load(Ordering::SeqCst), 1);
        drain(&q).await;
        assert_eq!(flaky.0.load(Ordering::SeqCst), 1, "not due before the back-off");
        clock.advance(2);
        drain(&q).await;
        assert_eq!(flaky.0.load(Ordering::SeqCst), 2, "due again after first_delay");
        assert_eq!(db.count_mail().await.unwrap(), 1);
        clock.advance(4);
        drain(&q).await;
        assert_eq!(flaky.0.load(Ordering::SeqCst), 3, "the third attempt succeeds");
        assert_eq!(db.count_mail().await.unwrap(), 0);

        // Failing every time: given up after `attempts`, and gone.
        let always = Arc::new(AlwaysTransient(AtomicU32::new(0)));
        let (q, db, clock) = queue(always.clone());
        q.enqueue(mail()).await.unwrap();
        for _ in 0..5 {
            drain(&q).await;
            clock.advance(60);
        }
        assert_eq!(always.0.load(Ordering::SeqCst), 3);
        assert_eq!(db.count_mail().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn mail_taken_by_a_node_that_died_is_sent_by_another_after_the_lease() {
        let kept = Arc::new(KeptMail::default());
        let (q, db, clock) = queue(kept.clone());
        q.enqueue(mail()).await.unwrap();
        // Another node takes it and dies before it sends.
        let now = clock.now_millis();
        assert_eq!(db.claim_mail(now, now + LEASE_MS, 10).await.unwrap().len(), 1);
        drain(&q).await;
        assert!(kept.0.lock().unwrap().is_empty(), "taken: no one else sends it");
        clock.advance(LEASE_MS / 1000);
        drain(&q).await;
        assert_eq!(kept.0.lock().unwrap().len(), 1);
        assert_eq!(db.count_mail().await.unwrap(), 0);
    }

    struct AlwaysTransient(AtomicU32);

    #[async_trait]
    impl Mailer for AlwaysTransient {
        async fn send(&self, _: &MailMessage) -> Result<(), MailError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(MailError {
                message: "451 try later".into(),
                transient: true,
            })
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
