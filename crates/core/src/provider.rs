//! The provider: the stores, signer, hasher and clock the services work with.
//! Each service lives in its own module as an `impl Provider` block.

use crate::account::password_hashing::PasswordHasher;
use crate::audit::AuditEvent;
use crate::error::StoreError;
use crate::mail_queue::MailQueue;
use crate::ports::clock::Clock;
use crate::ports::kv::Kv;
use crate::ports::signer::TokenSigner;
use crate::ports::store::{AuditStore, ClientStore, ConsentStore, KeyStore, MemberStore, RefreshStore};
use crate::settings::ProviderSettings;
use std::sync::Arc;

#[derive(Clone)]
pub struct Provider {
    pub settings: Arc<ProviderSettings>,
    pub members: Arc<dyn MemberStore>,
    pub clients: Arc<dyn ClientStore>,
    pub consents: Arc<dyn ConsentStore>,
    pub keys: Arc<dyn KeyStore>,
    pub refresh: Arc<dyn RefreshStore>,
    pub audit: Arc<dyn AuditStore>,
    pub kv: Kv,
    pub signer: Arc<dyn TokenSigner>,
    pub passwords: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    /// Mail waiting to be sent in the background.
    pub mail: MailQueue,
    /// Server secret keying the hashes of short secrets (one-time codes).
    pub pepper: Arc<[u8]>,
    /// What is counted for the operator's metrics.
    pub telemetry: Arc<dyn crate::ports::telemetry::Telemetry>,
}

impl Provider {
    /// Records an audit event; a failure to record is logged, never shown.
    pub async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.audit.insert_event(&event).await {
            tracing::error!(error = %e, kind = %event.kind, "audit.write_failed");
        }
    }

    pub async fn audit_member(&self, kind: &str, member_id: &str, client_id: Option<&str>, ip: Option<String>) {
        crate::audit::note_member(member_id);
        let mut ev = AuditEvent::new(kind, format!("member:{member_id}"), self.clock.now())
            .member(member_id)
            .ip(ip);
        if let Some(c) = client_id {
            ev = ev.client(c);
        }
        self.record(ev).await;
    }

    /// Revokes a refresh-token family and every access token it issued.
    pub async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        self.mark_family_revoked(family_id).await?;
        self.refresh.revoke_family(family_id).await?;
        Ok(())
    }

    /// The short-lived marker that access tokens of a family check.
    pub async fn mark_family_revoked(&self, family_id: &str) -> Result<(), StoreError> {
        self.kv
            .mark(&family_revoked_key(family_id), self.settings.tokens.refresh_token_ttl)
            .await
    }

    pub async fn is_family_revoked(&self, family_id: &str) -> Result<bool, StoreError> {
        self.kv.exists(&family_revoked_key(family_id)).await
    }
}

pub(crate) fn family_revoked_key(family_id: &str) -> String {
    format!("family_revoked:{family_id}")
}

/// Set when a client is deleted: its access tokens stop working at once.
pub(crate) fn client_revoked_key(client_id: &str) -> String {
    format!("client_revoked:{client_id}")
}

pub(crate) fn jti_revoked_key(jti: &str) -> String {
    format!("jti_revoked:{jti}")
}
