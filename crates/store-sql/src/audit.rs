//! `AuditStore` on `audit_events`.

use crate::entity::audit_event::{Column, Entity, Model};
use crate::{SqlStore, db_error};
use async_trait::async_trait;
use hk_idp_core::audit::AuditEvent;
use hk_idp_core::error::StoreError;
use hk_idp_core::store::AuditStore;
use sea_orm::{EntityTrait, IntoActiveModel, QueryOrder, QuerySelect};

#[async_trait]
impl AuditStore for SqlStore {
    async fn insert_event(&self, e: &AuditEvent) -> Result<(), StoreError> {
        let m = Model {
            id: e.id.clone(),
            at: e.at,
            kind: e.kind.clone(),
            actor: e.actor.clone(),
            member_id: e.member_id.clone(),
            client_id: e.client_id.clone(),
            ip: e.ip.clone(),
            detail: e.detail.clone(),
        };
        Entity::insert(m.into_active_model())
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn list_events(&self, limit: u64) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = Entity::find()
            .order_by_desc(Column::At)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|m| AuditEvent {
                id: m.id,
                at: m.at,
                kind: m.kind,
                actor: m.actor,
                member_id: m.member_id,
                client_id: m.client_id,
                ip: m.ip,
                detail: m.detail,
            })
            .collect())
    }
}
