//! Durable stores, one trait per capability. Implemented on sea-orm in `store-sql`.

use crate::account::member::{Member, MemberWrite};
use crate::audit::AuditEvent;
use crate::error::StoreError;
use crate::oauth::client::Client;
use crate::oauth::refresh_token::{RefreshFamily, RefreshToken, Rotation};
use crate::oauth::signing_key::StoredKey;
use async_trait::async_trait;

#[async_trait]
pub trait MemberStore: Send + Sync {
    /// `StoreError::Conflict` when the e-mail is taken.
    async fn insert_member(&self, member: &Member) -> Result<(), StoreError>;
    async fn find_member(&self, id: &str) -> Result<Option<Member>, StoreError>;
    async fn find_member_by_email(&self, email: &str) -> Result<Option<Member>, StoreError>;
    /// Applies one change at `now`; false if the member is gone or the
    /// change's condition did not hold (nothing was written).
    async fn write_member(&self, id: &str, write: &MemberWrite, now: i64) -> Result<bool, StoreError>;
    /// Adds one to the failure count and returns the new count (0: no such member).
    async fn increment_failed_logins(&self, id: &str) -> Result<i32, StoreError>;
    async fn reset_failed_logins(&self, id: &str) -> Result<(), StoreError>;
    async fn delete_member(&self, id: &str) -> Result<bool, StoreError>;
    /// Members with `status`, ordered by id, after `after` (keyset paging).
    /// In one transaction: registers the candidates whose e-mail is not yet
    /// registered, with the audit events about them; true for each created.
    async fn import_members(&self, candidates: &[Member], events: &[AuditEvent]) -> Result<Vec<bool>, StoreError>;
    async fn mark_invited(&self, id: &str, at: i64) -> Result<(), StoreError>;
    /// Pending members never invited, or (with `invited_before`) invited
    /// only before that time, in id order.
    async fn list_members_to_invite(
        &self,
        after: Option<&str>,
        limit: u64,
        invited_before: Option<i64>,
    ) -> Result<Vec<Member>, StoreError>;
    /// How many `list_members_to_invite` would give in all.
    async fn count_members_to_invite(&self, invited_before: Option<i64>) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError>;
    /// The company portal: the oldest first-party client with an
    /// `initiate_login_uri` (a third-party client never receives invitations).
    async fn find_portal_client(&self) -> Result<Option<Client>, StoreError>;
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError>;
    /// Replaces a client's row (RFC 7592 update).
    async fn update_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Every client, oldest first (for `client list`).
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
}

#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// The scope the member has allowed the client, space-separated.
    async fn find_consent(&self, member_id: &str, client_id: &str) -> Result<Option<String>, StoreError>;
    /// Records (or widens) a consent.
    async fn save_consent(&self, member_id: &str, client_id: &str, scope: &str, at: i64) -> Result<(), StoreError>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores `key` unless its algorithm already has a key that is not
    /// retired: then nothing, and false (another node's start-up stored one
    /// first; the store keeps one such key per algorithm).
    async fn insert_first_key(&self, key: &StoredKey) -> Result<bool, StoreError>;
    /// Keys still published at `now`: not retired, or retired less than
    /// `grace` seconds ago.
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// In one transaction: every key not yet retiring retires at `retire_at`,
    /// and `fresh` are added, so a reload never finds an algorithm without a
    /// key. Returns how many keys were set to retire.
    async fn rotate_keys(&self, retire_at: i64, fresh: &[StoredKey]) -> Result<u64, StoreError>;
    /// Removes keys whose tokens have all expired.
    async fn delete_keys_retired_before(&self, at: i64) -> Result<u64, StoreError>;
    /// A named server secret (e.g. the CSRF key), created with `value` if absent.
    async fn get_or_create_secret(&self, name: &str, value: &str) -> Result<String, StoreError>;
    /// Every server secret, as stored: `(name, value)`.
    async fn list_secrets(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// Replaces a key's stored private key if it is still `from` (another
    /// node may have re-encrypted it first). Returns whether it did.
    async fn replace_private_key(&self, kid: &str, from: &str, to: &str) -> Result<bool, StoreError>;
    /// The same for a server secret.
    async fn replace_secret(&self, name: &str, from: &str, to: &str) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait RefreshStore: Send + Sync {
    /// Stores a new family and its first token, in one transaction.
    async fn insert_family(&self, family: &RefreshFamily, first: &RefreshToken) -> Result<(), StoreError>;
    async fn find_family(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError>;
    /// Returns true if the family was live and is now revoked.
    async fn revoke_family(&self, id: &str) -> Result<bool, StoreError>;
    /// Revokes the member's families; returns their ids.
    async fn revoke_families_of_member(&self, member_id: &str) -> Result<Vec<String>, StoreError>;
    /// Revokes the client's families; returns their ids.
    async fn revoke_families_of_client(&self, client_id: &str) -> Result<Vec<String>, StoreError>;
    /// Revokes families tied to an SSO session and not granted `offline_access`.
    async fn revoke_online_families_of_session(&self, sid: &str) -> Result<Vec<String>, StoreError>;
    async fn find_token(&self, hash: &str) -> Result<Option<RefreshToken>, StoreError>;
    /// In one transaction: spends the token `old` and stores `successor`
    /// if `old` was unspent (of concurrent rotations one does this);
    /// otherwise tells whether `old` was spent into `successor`, stored at
    /// or after `grace_since` and not spent itself (a retry) or not (a reuse).
    async fn rotate_token(&self, old: &str, successor: &RefreshToken, grace_since: i64)
    -> Result<Rotation, StoreError>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn insert_event(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Events matching `q`, newest first, at most `q.limit`.
    async fn list_events(&self, q: &crate::audit::AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;
}

/// A kind of row the background clean-up removes (`crate::cleanup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sweep {
    /// Refresh tokens that expired.
    RefreshTokens,
    /// Refresh-token families that expired.
    RefreshFamilies,
    /// Consents whose member or client is gone.
    Consents,
    /// Audit events past `audit.retention_days`.
    AuditEvents,
}

impl Sweep {
    /// In the order a run takes them: tokens before their families.
    pub const ALL: [Sweep; 4] = [
        Sweep::RefreshTokens,
        Sweep::RefreshFamilies,
        Sweep::Consents,
        Sweep::AuditEvents,
    ];

    /// The table its rows are in (the metric's label).
    pub fn table(self) -> &'static str {
        match self {
            Sweep::RefreshTokens => "refresh_tokens",
            Sweep::RefreshFamilies => "refresh_families",
            Sweep::Consents => "consents",
            Sweep::AuditEvents => "audit_events",
        }
    }
}

#[async_trait]
pub trait CleanupStore: Send + Sync {
    /// Removes at most `batch` rows of one kind, in one short transaction:
    /// expired (or for audit events, recorded) before `before` (seconds);
    /// consents whose member or client is gone, whatever `before` says.
    /// `None`, removing nothing, while another node is cleaning up: one
    /// node at a time.
    async fn sweep(&self, what: Sweep, before: i64, batch: u32) -> Result<Option<u64>, StoreError>;
}

/// One mail in the outbox (`crate::mail_queue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub id: String,
    /// `MailMessage::kind_name`, or `decoy` (see `MailQueue::enqueue_decoy`).
    pub kind: String,
    /// The message as the queue stored it (sealed JSON).
    pub payload: String,
    /// Sends tried so far.
    pub attempts: i32,
    pub created_at: i64,
}

/// Mail waiting to be sent, shared by the nodes: any node delivers it.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Stores `mail`, due at `due_ms`.
    async fn add_mail(&self, mail: &OutboxMail, due_ms: i64) -> Result<(), StoreError>;
    /// Takes up to `limit` mails due at `now_ms`: each is due again only at
    /// `lease_until_ms`, so no other node takes it meanwhile (and one does
    /// if this node dies). Of callers at the same moment each gets others.
    async fn claim_mail(&self, now_ms: i64, lease_until_ms: i64, limit: u32) -> Result<Vec<OutboxMail>, StoreError>;
    /// Sent, or given up: gone from the outbox.
    async fn remove_mail(&self, id: &str) -> Result<(), StoreError>;
    /// Failed for now: tried `attempts` times, due again at `due_ms`.
    async fn retry_mail(&self, id: &str, attempts: i32, due_ms: i64) -> Result<(), StoreError>;
    /// Mails waiting, for the metrics.
    async fn count_mail(&self) -> Result<u64, StoreError>;
}

/// How a node's database connections are used, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

/// Health of the durable store, for `/readyz` and the metrics.
#[async_trait]
pub trait Health: Send + Sync {
    async fn ping(&self) -> Result<(), StoreError>;
    /// The connection pool's use, where the store has one.
    fn pool(&self) -> Option<PoolUse> {
        None
    }
}
