//! Every durable store in memory, for the domain's unit tests: the same
//! traits as `store-sql`, with a switch that makes refresh-token writes fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::account::member::{Member, MemberStatus, MemberWrite};
use crate::audit::{AuditEvent, AuditQuery};
use crate::error::StoreError;
use crate::oauth::client::Client;
use crate::oauth::refresh_token::{RefreshFamily, RefreshToken, Rotation};
use crate::oauth::signing_key::StoredKey;
use crate::ports::store::{
    AuditStore, CleanupStore, ClientStore, ConsentStore, KeyStore, MemberStore, OutboxMail, OutboxStore, RefreshStore,
    Sweep,
};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// Every durable store in memory.
#[derive(Default)]
pub struct MemoryDb {
    pub members: Mutex<HashMap<String, Member>>,
    pub clients: Mutex<HashMap<String, Client>>,
    consents: Mutex<HashMap<(String, String), String>>,
    keys: Mutex<Vec<StoredKey>>,
    secrets: Mutex<HashMap<String, String>>,
    families: Mutex<HashMap<String, RefreshFamily>>,
    tokens: Mutex<HashMap<String, RefreshToken>>,
    pub events: Mutex<Vec<AuditEvent>>,
    /// The mail outbox: each mail with when it is due (ms).
    pub outbox: Mutex<Vec<(OutboxMail, i64)>>,
    /// How often `find_client` was asked (to see a cache at work).
    pub client_reads: std::sync::atomic::AtomicUsize,
    /// While set, every refresh-token write fails as a lost database would.
    pub refresh_writes_fail: std::sync::atomic::AtomicBool,
    /// While set, another node holds the clean-up lock.
    pub cleanup_locked: std::sync::atomic::AtomicBool,
    /// Clean-up batches run, and the most rows one removed.
    pub sweeps: std::sync::atomic::AtomicUsize,
    pub largest_sweep: std::sync::atomic::AtomicU64,
}

impl MemoryDb {
    fn refresh_write(&self) -> Result<(), StoreError> {
        if self.refresh_writes_fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Backend("the database is gone".into()));
        }
        Ok(())
    }

    /// The audit events recorded so far, each as its debug form.
    pub fn events_debug(&self) -> Vec<String> {
        self.events.lock().unwrap().iter().map(|e| format!("{e:?}")).collect()
    }

    /// The kinds of the audit events recorded so far, in order.
    pub fn event_kinds(&self) -> Vec<String> {
        self.events.lock().unwrap().iter().map(|e| e.kind.clone()).collect()
    }
}

#[async_trait]
impl MemberStore for MemoryDb {
    async fn insert_member(&self, m: &Member) -> Result<(), StoreError> {
        let mut all = self.members.lock().unwrap();
        if all.values().any(|o| o.email == m.email) {
            return Err(StoreError::Conflict);
        }
        all.insert(m.id.clone(), m.clone());
        Ok(())
    }
    async fn find_member(&self, id: &str) -> Result<Option<Member>, StoreError> {
        Ok(self.members.lock().unwrap().get(id).cloned())
    }
    async fn find_member_by_email(&self, email: &str) -> Result<Option<Member>, StoreError> {
        Ok(self
            .members
            .lock()
            .unwrap()
            .values()
            .find(|m| m.email.as_str() == email)
            .cloned())
    }
    async fn write_member(&self, id: &str, write: &MemberWrite, now: i64) -> Result<bool, StoreError> {
        let mut all = self.members.lock().unwrap();
        let Some(m) = all.get_mut(id) else {
            return Ok(false);
        };
        match write {
            MemberWrite::NewPassword { hash, from } if from.contains(&m.status) => {
                m.password_hash = Some(hash.clone());
                m.status = MemberStatus::Active;
                m.failed_logins = 0;
            }
            MemberWrite::Rehash { old, new } if m.password_hash.as_ref() == Some(old) => {
                m.password_hash = Some(new.clone());
            }
            MemberWrite::Profile {
                name,
                org_number,
                org_name,
            } => {
                for (field, value) in [
                    (&mut m.name, name),
                    (&mut m.org_number, org_number),
                    (&mut m.org_name, org_name),
                ] {
                    if let Some(v) = value {
                        field.clone_from(v);
                    }
                }
            }
            MemberWrite::Disable if m.status != MemberStatus::Disabled => m.status = MemberStatus::Disabled,
            MemberWrite::Enable if m.status == MemberStatus::Disabled => {
                m.status = if m.password_hash.is_some() {
                    MemberStatus::Active
                } else {
                    MemberStatus::Pending
                };
            }
            _ => return Ok(false),
        }
        m.updated_at = now;
        Ok(true)
    }
    async fn increment_failed_logins(&self, id: &str) -> Result<i32, StoreError> {
        // As in SQL: no such member, nothing counted.
        let mut all = self.members.lock().unwrap();
        Ok(all.get_mut(id).map_or(0, |m| {
            m.failed_logins += 1;
            m.failed_logins
        }))
    }
    async fn reset_failed_logins(&self, id: &str) -> Result<(), StoreError> {
        if let Some(m) = self.members.lock().unwrap().get_mut(id) {
            m.failed_logins = 0;
        }
        Ok(())
    }
    async fn delete_member(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.members.lock().unwrap().remove(id).is_some())
    }
    async fn import_members(&self, candidates: &[Member], events: &[AuditEvent]) -> Result<Vec<bool>, StoreError> {
        let mut created = Vec::new();
        for m in candidates {
            created.push(self.insert_member(m).await.is_ok());
        }
        self.events.lock().unwrap().extend(events.iter().cloned());
        Ok(created)
    }
    async fn mark_invited(&self, id: &str, at: i64) -> Result<(), StoreError> {
        if let Some(m) = self.members.lock().unwrap().get_mut(id) {
            m.invited_at = Some(at);
        }
        Ok(())
    }
    async fn list_members_to_invite(
        &self,
        after: Option<&str>,
        limit: u64,
        invited_before: Option<i64>,
    ) -> Result<Vec<Member>, StoreError> {
        let mut due: Vec<Member> = self
            .members
            .lock()
            .unwrap()
            .values()
            .filter(|m| m.status == MemberStatus::Pending)
            .filter(|m| match (m.invited_at, invited_before) {
                (None, _) => true,
                (Some(at), Some(before)) => at < before,
                (Some(_), None) => false,
            })
            .filter(|m| after.is_none_or(|a| m.id.as_str() > a))
            .cloned()
            .collect();
        due.sort_by(|a, b| a.id.cmp(&b.id));
        due.truncate(limit as usize);
        Ok(due)
    }
    async fn count_members_to_invite(&self, invited_before: Option<i64>) -> Result<u64, StoreError> {
        Ok(self.list_members_to_invite(None, u64::MAX, invited_before).await?.len() as u64)
    }
}

#[async_trait]
impl ClientStore for MemoryDb {
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        self.clients.lock().unwrap().insert(c.id.clone(), c.clone());
        Ok(())
    }
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.client_reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(self.clients.lock().unwrap().get(id).cloned())
    }
    async fn find_portal_client(&self) -> Result<Option<Client>, StoreError> {
        let all = self.clients.lock().unwrap();
        let mut portals: Vec<&Client> = all
            .values()
            .filter(|c| c.first_party && c.initiate_login_uri.is_some())
            .collect();
        portals.sort_by_key(|c| c.created_at);
        Ok(portals.first().map(|c| (*c).clone()))
    }
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.clients.lock().unwrap().remove(id).is_some())
    }
    async fn update_client(&self, c: &Client) -> Result<(), StoreError> {
        self.insert_client(c).await
    }
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        Ok(self.clients.lock().unwrap().values().cloned().collect())
    }
}

#[async_trait]
impl ConsentStore for MemoryDb {
    async fn find_consent(&self, member_id: &str, client_id: &str) -> Result<Option<String>, StoreError> {
        let key = (member_id.to_owned(), client_id.to_owned());
        Ok(self.consents.lock().unwrap().get(&key).cloned())
    }
    async fn save_consent(&self, member_id: &str, client_id: &str, scope: &str, _at: i64) -> Result<(), StoreError> {
        let key = (member_id.to_owned(), client_id.to_owned());
        self.consents.lock().unwrap().insert(key, scope.to_owned());
        Ok(())
    }
}

#[async_trait]
impl KeyStore for MemoryDb {
    async fn insert_first_key(&self, key: &StoredKey) -> Result<bool, StoreError> {
        let mut keys = self.keys.lock().unwrap();
        if keys.iter().any(|k| k.alg == key.alg && k.retire_after.is_none()) {
            return Ok(false);
        }
        keys.push(key.clone());
        Ok(true)
    }
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        Ok(self.keys.lock().unwrap().clone())
    }
    async fn rotate_keys(&self, retire_at: i64, fresh: &[StoredKey]) -> Result<u64, StoreError> {
        let mut keys = self.keys.lock().unwrap();
        let mut n = 0;
        for k in keys.iter_mut().filter(|k| k.retire_after.is_none()) {
            k.retire_after = Some(retire_at);
            n += 1;
        }
        keys.extend_from_slice(fresh);
        Ok(n)
    }
    async fn delete_keys_retired_before(&self, at: i64) -> Result<u64, StoreError> {
        let mut keys = self.keys.lock().unwrap();
        let before = keys.len();
        keys.retain(|k| k.retire_after.is_none_or(|r| r >= at));
        Ok((before - keys.len()) as u64)
    }
    async fn get_or_create_secret(&self, name: &str, value: &str) -> Result<String, StoreError> {
        let mut s = self.secrets.lock().unwrap();
        Ok(s.entry(name.to_owned()).or_insert_with(|| value.to_owned()).clone())
    }
    async fn list_secrets(&self) -> Result<Vec<(String, String)>, StoreError> {
        let s = self.secrets.lock().unwrap();
        Ok(s.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
    async fn replace_private_key(&self, kid: &str, from: &str, to: &str) -> Result<bool, StoreError> {
        let mut keys = self.keys.lock().unwrap();
        let hit = keys.iter_mut().find(|k| k.kid == kid && k.private_key == from);
        Ok(hit.map(|k| k.private_key = to.to_owned()).is_some())
    }
    async fn replace_secret(&self, name: &str, from: &str, to: &str) -> Result<bool, StoreError> {
        let mut s = self.secrets.lock().unwrap();
        let hit = s.get_mut(name).filter(|v| v.as_str() == from);
        Ok(hit.map(|v| *v = to.to_owned()).is_some())
    }
}

#[async_trait]
impl RefreshStore for MemoryDb {
    async fn insert_family(&self, f: &RefreshFamily, first: &RefreshToken) -> Result<(), StoreError> {
        self.refresh_write()?;
        self.families.lock().unwrap().insert(f.id.clone(), f.clone());
        self.tokens.lock().unwrap().insert(first.hash.clone(), first.clone());
        Ok(())
    }
    async fn find_family(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError> {
        Ok(self.families.lock().unwrap().get(id).cloned())
    }
    async fn revoke_family(&self, id: &str) -> Result<bool, StoreError> {
        let mut all = self.families.lock().unwrap();
        Ok(match all.get_mut(id) {
            Some(f) if !f.revoked => {
                f.revoked = true;
                true
            }
            _ => false,
        })
    }
    async fn revoke_families_of_member(&self, member_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.revoke_where(|f| f.member_id == member_id))
    }
    async fn revoke_families_of_client(&self, client_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.revoke_where(|f| f.client_id == client_id))
    }
    async fn revoke_online_families_of_session(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.revoke_where(|f| f.sid == sid && !f.offline))
    }
    async fn find_token(&self, hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        Ok(self.tokens.lock().unwrap().get(hash).cloned())
    }
    async fn rotate_token(&self, old: &str, next: &RefreshToken, grace_since: i64) -> Result<Rotation, StoreError> {
        self.refresh_write()?;
        let mut all = self.tokens.lock().unwrap();
        match all.get_mut(old) {
            Some(t) if !t.spent => t.spent = true,
            Some(_) => {
                let retry = all
                    .get(&next.hash)
                    .is_some_and(|n| !n.spent && n.created_at >= grace_since);
                return Ok(if retry { Rotation::Repeated } else { Rotation::Reused });
            }
            None => return Ok(Rotation::Reused),
        }
        all.insert(next.hash.clone(), next.clone());
        Ok(Rotation::Rotated)
    }
}

/// Removes up to `batch` entries of `map` that `gone` picks.
fn remove_some<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    batch: u32,
    gone: impl Fn(&K, &V) -> bool,
) -> u64 {
    let keys: Vec<K> = map
        .iter()
        .filter(|(k, v)| gone(k, v))
        .map(|(k, _)| k.clone())
        .take(batch as usize)
        .collect();
    for k in &keys {
        map.remove(k);
    }
    keys.len() as u64
}

#[async_trait]
impl CleanupStore for MemoryDb {
    async fn sweep(&self, what: Sweep, before: i64, batch: u32) -> Result<Option<u64>, StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        if self.cleanup_locked.load(SeqCst) {
            return Ok(None);
        }
        let n = match what {
            Sweep::RefreshTokens => remove_some(&mut self.tokens.lock().unwrap(), batch, |_, t| t.expires_at < before),
            Sweep::RefreshFamilies => {
                remove_some(&mut self.families.lock().unwrap(), batch, |_, f| f.expires_at < before)
            }
            Sweep::Consents => {
                let members = self.members.lock().unwrap();
                let clients = self.clients.lock().unwrap();
                remove_some(&mut self.consents.lock().unwrap(), batch, |(m, c), _| {
                    !members.contains_key(m) || !clients.contains_key(c)
                })
            }
            Sweep::AuditEvents => {
                let mut events = self.events.lock().unwrap();
                let mut n = 0;
                events.retain(|e| {
                    let go = e.at < before && n < u64::from(batch);
                    n += u64::from(go);
                    !go
                });
                n
            }
        };
        self.sweeps.fetch_add(1, SeqCst);
        self.largest_sweep.fetch_max(n, SeqCst);
        Ok(Some(n))
    }
}

impl MemoryDb {
    fn revoke_where(&self, pick: impl Fn(&RefreshFamily) -> bool) -> Vec<String> {
        let mut ids = Vec::new();
        for f in self.families.lock().unwrap().values_mut() {
            if pick(f) && !f.revoked {
                f.revoked = true;
                ids.push(f.id.clone());
            }
        }
        ids
    }
}

#[async_trait]
impl AuditStore for MemoryDb {
    async fn insert_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.events.lock().unwrap().push(event.clone());
        Ok(())
    }
    async fn list_events(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut found: Vec<AuditEvent> = self
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| q.member_id.as_ref().is_none_or(|m| e.member_id.as_ref() == Some(m)))
            .cloned()
            .collect();
        found.reverse();
        found.truncate(q.limit as usize);
        Ok(found)
    }
}

#[async_trait]
impl OutboxStore for MemoryDb {
    async fn add_mail(&self, mail: &OutboxMail, due_ms: i64) -> Result<(), StoreError> {
        self.outbox.lock().unwrap().push((mail.clone(), due_ms));
        Ok(())
    }
    async fn claim_mail(&self, now_ms: i64, lease_until_ms: i64, limit: u32) -> Result<Vec<OutboxMail>, StoreError> {
        let mut all = self.outbox.lock().unwrap();
        all.sort_by_key(|(_, due)| *due);
        let taken = all
            .iter_mut()
            .filter(|(_, due)| *due <= now_ms)
            .take(limit as usize)
            .map(|(m, due)| {
                *due = lease_until_ms;
                m.clone()
            })
            .collect();
        Ok(taken)
    }
    async fn remove_mail(&self, id: &str) -> Result<(), StoreError> {
        self.outbox.lock().unwrap().retain(|(m, _)| m.id != id);
        Ok(())
    }
    async fn retry_mail(&self, id: &str, attempts: i32, due_ms: i64) -> Result<(), StoreError> {
        for (m, due) in self.outbox.lock().unwrap().iter_mut().filter(|(m, _)| m.id == id) {
            m.attempts = attempts;
            *due = due_ms;
        }
        Ok(())
    }
    async fn count_mail(&self) -> Result<u64, StoreError> {
        Ok(self.outbox.lock().unwrap().len() as u64)
    }
}
