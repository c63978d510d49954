//! `AuditStore` on `audit_events`.

use crate::entity::audit_event::{ActiveModel, Column, Entity, Model};
use crate::{SqlStore, db_error, storable};
use async_trait::async_trait;
use hk_idp_core::audit::AuditEvent;
use hk_idp_core::audit::AuditQuery;
use hk_idp_core::error::StoreError;
use hk_idp_core::ports::store::AuditStore;
use sea_orm::{ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

pub(crate) fn to_model(e: &AuditEvent) -> ActiveModel {
    Model {
        id: e.id.clone(),
        at: e.at,
        kind: e.kind.clone(),
        actor: e.actor.clone(),
        member_id: e.member_id.clone(),
        client_id: e.client_id.clone(),
        ip: e.ip.clone(),
        detail: e.detail.clone(),
        request_id: e.request_id.clone(),
    }
    .into_active_model()
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn insert_event(&self, e: &AuditEvent) -> Result<(), StoreError> {
        Entity::insert(to_model(e)).exec(&self.db).await.map_err(db_error)?;
        Ok(())
    }

    async fn list_events(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        if q.member_id.as_deref().is_some_and(|m| !storable(m)) {
            return Ok(Vec::new());
        }
        let mut cond = Condition::all();
        if let Some(m) = &q.member_id {
            cond = cond.add(Column::MemberId.eq(m.as_str()));
        }
        match q.kind.as_deref() {
            // A family of kinds: from "login." up to "login/" ('/' follows '.'),
            // a range rather than LIKE, where '_' would be a wildcard.
            Some(k) if k.ends_with('.') => {
                let end = format!("{}/", &k[..k.len() - 1]);
                cond = cond.add(Column::Kind.gte(k)).add(Column::Kind.lt(end));
            }
            Some(k) => cond = cond.add(Column::Kind.eq(k)),
            None => {}
        }
        if let Some(s) = q.since {
            cond = cond.add(Column::At.gte(s));
        }
        if let Some(u) = q.until {
            cond = cond.add(Column::At.lt(u));
        }
        if let Some(c) = &q.after {
            cond = cond.add(
                Condition::any().add(Column::At.lt(c.at)).add(
                    Condition::all()
                        .add(Column::At.eq(c.at))
                        .add(Column::Id.lt(c.id.as_str())),
                ),
            );
        }
        let rows = Entity::find()
            .filter(cond)
            .order_by_desc(Column::At)
            .order_by_desc(Column::Id)
            .limit(q.limit)
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
                request_id: m.request_id,
            })
            .collect())
    }
}
