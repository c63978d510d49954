//! Background clean-up, so that the database does not grow with history:
//! expired refresh tokens and families, consents whose member or client is
//! gone, and audit events past `audit.retention_days`. Rows go in small
//! batches, each its own short transaction (no lock held long, no request
//! kept waiting), and one node at a time: while another node holds the
//! clean-up lock a run stops and leaves the work to it.

use crate::error::StoreError;
use crate::ports::clock::Clock;
use crate::ports::store::{CleanupStore, Sweep};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Rows per transaction.
    pub batch: u32,
    /// Days audit events are kept; 0 keeps them for ever.
    pub audit_retention_days: u32,
    /// Rest between two batches, leaving the database to requests.
    pub pause: Duration,
}

impl Default for CleanupPolicy {
    fn default() -> Self {
        Self {
            batch: 500,
            audit_retention_days: 365,
            pause: Duration::from_millis(20),
        }
    }
}

/// What one run removed, by kind; `busy` if it stopped because another
/// node was cleaning up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    pub rows: Vec<(Sweep, u64)>,
    pub busy: bool,
}

impl Removed {
    pub fn of(&self, what: Sweep) -> u64 {
        self.rows.iter().filter(|(w, _)| *w == what).map(|(_, n)| n).sum()
    }

    pub fn total(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }

    fn add(&mut self, what: Sweep, n: u64) {
        match self.rows.iter_mut().find(|(w, _)| *w == what) {
            Some((_, total)) => *total += n,
            None => self.rows.push((what, n)),
        }
    }
}

#[derive(Clone)]
pub struct Cleanup {
    store: Arc<dyn CleanupStore>,
    clock: Arc<dyn Clock>,
    policy: CleanupPolicy,
}

impl Cleanup {
    pub fn new(store: Arc<dyn CleanupStore>, clock: Arc<dyn Clock>, policy: CleanupPolicy) -> Self {
        Self { store, clock, policy }
    }

    /// Where a kind's rows end: expired before now, audit events recorded
    /// before the retention; `None` when nothing of the kind goes.
    fn before(&self, what: Sweep, now: i64) -> Option<i64> {
        match (what, self.policy.audit_retention_days) {
            (Sweep::AuditEvents, 0) => None,
            (Sweep::AuditEvents, days) => Some(now - i64::from(days) * 86_400),
            _ => Some(now),
        }
    }

    /// Removes everything due, batch by batch, counting into `removed` as it
    /// goes (so a failure half-way still tells what went).
    pub async fn run(&self, removed: &mut Removed) -> Result<(), StoreError> {
        let now = self.clock.now();
        let batch = self.policy.batch.max(1);
        for what in Sweep::ALL {
            let Some(before) = self.before(what, now) else {
                continue;
            };
            loop {
                let Some(n) = self.store.sweep(what, before, batch).await? else {
                    removed.busy = true;
                    return Ok(());
                };
                removed.add(what, n);
                if n < u64::from(batch) {
                    break;
                }
                tokio::time::sleep(self.policy.pause).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditEvent;
    use crate::oauth::refresh_token::{RefreshFamily, RefreshToken};
    use crate::ports::clock::ManualClock;
    use crate::ports::store::{AuditStore, ConsentStore, RefreshStore};
    use crate::testing::{MemoryDb, START, TestProvider};
    use std::sync::atomic::Ordering;

    fn family(id: &str, expires_at: i64) -> (RefreshFamily, RefreshToken) {
        let f = RefreshFamily {
            id: id.into(),
            client_id: "c".into(),
            member_id: "m".into(),
            scope: "openid".into(),
            sid: "s".into(),
            auth_time: START,
            offline: false,
            created_at: START,
            expires_at,
            revoked: false,
        };
        let t = RefreshToken {
            hash: format!("hash-{id}"),
            family_id: id.into(),
            created_at: START,
            expires_at,
            spent: false,
        };
        (f, t)
    }

    fn cleanup(db: &Arc<MemoryDb>, clock: &ManualClock, policy: CleanupPolicy) -> Cleanup {
        Cleanup::new(db.clone(), Arc::new(clock.clone()), policy)
    }

    fn policy(batch: u32) -> CleanupPolicy {
        CleanupPolicy {
            batch,
            pause: Duration::ZERO,
            ..CleanupPolicy::default()
        }
    }

    #[tokio::test]
    async fn expired_refresh_rows_go_and_live_ones_stay() {
        let db = Arc::new(MemoryDb::default());
        let clock = ManualClock::new(START);
        for i in 0..7 {
            let (f, t) = family(&format!("old{i}"), START + 100);
            db.insert_family(&f, &t).await.unwrap();
        }
        let (f, t) = family("live", START + 10_000);
        db.insert_family(&f, &t).await.unwrap();
        clock.advance(101);
        let mut removed = Removed::default();
        cleanup(&db, &clock, policy(3)).run(&mut removed).await.unwrap();
        assert_eq!(removed.of(Sweep::RefreshTokens), 7);
        assert_eq!(removed.of(Sweep::RefreshFamilies), 7);
        assert!(!removed.busy);
        assert!(db.find_family("live").await.unwrap().is_some());
        assert!(db.find_token("hash-live").await.unwrap().is_some());
        assert!(db.find_family("old0").await.unwrap().is_none());
        assert!(db.find_token("hash-old6").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn rows_go_in_batches_of_the_policy() {
        let db = Arc::new(MemoryDb::default());
        let clock = ManualClock::new(START);
        for i in 0..7 {
            let (f, t) = family(&format!("old{i}"), START);
            db.insert_family(&f, &t).await.unwrap();
        }
        clock.advance(1);
        let mut removed = Removed::default();
        cleanup(&db, &clock, policy(3)).run(&mut removed).await.unwrap();
        // Tokens 3+3+1, families 3+3+1, then one sweep each of consents and audit.
        assert_eq!(db.sweeps.load(Ordering::SeqCst), 8);
        assert!(db.largest_sweep.load(Ordering::SeqCst) <= 3);
    }

    #[tokio::test]
    async fn audit_events_past_the_retention_go_and_none_with_retention_zero() {
        let db = Arc::new(MemoryDb::default());
        let clock = ManualClock::new(START);
        db.insert_event(&AuditEvent::new("login.succeeded", "cli".into(), START))
            .await
            .unwrap();
        clock.advance(30 * 86_400);
        db.insert_event(&AuditEvent::new("login.failed", "cli".into(), clock.now()))
            .await
            .unwrap();
        let keep_forever = CleanupPolicy {
            audit_retention_days: 0,
            ..policy(10)
        };
        let mut removed = Removed::default();
        cleanup(&db, &clock, keep_forever).run(&mut removed).await.unwrap();
        assert_eq!(removed.of(Sweep::AuditEvents), 0);
        assert_eq!(db.event_kinds().len(), 2);

        let month = CleanupPolicy {
            audit_retention_days: 30,
            ..policy(10)
        };
        let mut removed = Removed::default();
        cleanup(&db, &clock, month).run(&mut removed).await.unwrap();
        // Exactly 30 days old is not past 30 days.
        assert_eq!(removed.of(Sweep::AuditEvents), 0);
        clock.advance(1);
        cleanup(&db, &clock, month).run(&mut removed).await.unwrap();
        assert_eq!(removed.of(Sweep::AuditEvents), 1);
        assert_eq!(db.event_kinds(), vec!["login.failed".to_owned()]);
    }

    #[tokio::test]
    async fn consents_of_a_deleted_member_or_client_go() {
        let tp = TestProvider::new();
        let kari = tp.member("kari@example.no").await;
        let ola = tp.member("ola@example.no").await;
        let portal = tp.client(|_| {}).await;
        let shop = tp.client(|c| c.name = "Nettbutikk".into()).await;
        for (m, c) in [(&kari, &portal), (&kari, &shop), (&ola, &portal)] {
            tp.db.save_consent(&m.id, &c.id, "openid", START).await.unwrap();
        }
        tp.remove_member(&ola.id, &crate::audit::Actor::cli()).await.unwrap();
        tp.remove_client(&shop.id, &crate::audit::Actor::cli()).await.unwrap();
        let mut removed = Removed::default();
        cleanup(&tp.db, &tp.clock, policy(10)).run(&mut removed).await.unwrap();
        assert_eq!(removed.of(Sweep::Consents), 2);
        assert!(tp.db.find_consent(&kari.id, &portal.id).await.unwrap().is_some());
        assert!(tp.db.find_consent(&kari.id, &shop.id).await.unwrap().is_none());
        assert!(tp.db.find_consent(&ola.id, &portal.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_run_leaves_the_work_to_a_node_holding_the_lock() {
        let db = Arc::new(MemoryDb::default());
        let clock = ManualClock::new(START);
        let (f, t) = family("old", START);
        db.insert_family(&f, &t).await.unwrap();
        clock.advance(1);
        db.cleanup_locked.store(true, Ordering::SeqCst);
        let mut removed = Removed::default();
        cleanup(&db, &clock, policy(10)).run(&mut removed).await.unwrap();
        assert!(removed.busy);
        assert_eq!(removed.total(), 0);
        assert!(db.find_family("old").await.unwrap().is_some());

        db.cleanup_locked.store(false, Ordering::SeqCst);
        let mut removed = Removed::default();
        cleanup(&db, &clock, policy(10)).run(&mut removed).await.unwrap();
        assert_eq!(removed.total(), 2);
    }
}
