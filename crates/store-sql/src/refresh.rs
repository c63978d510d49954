//! `RefreshStore` on `refresh_families` and `refresh_tokens`.

use crate::entity::{refresh_family as fam, refresh_token as tok};
use crate::{SqlStore, db_error, storable};
use async_trait::async_trait;
use hk_idp_core::error::StoreError;
use hk_idp_core::oauth::refresh_token::{RefreshFamily, RefreshToken, Rotation};
use hk_idp_core::ports::store::RefreshStore;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, TransactionTrait};

fn token_model(t: &RefreshToken) -> tok::ActiveModel {
    tok::Model {
        hash: t.hash.clone(),
        family_id: t.family_id.clone(),
        created_at: t.created_at,
        expires_at: t.expires_at,
        spent: t.spent,
    }
    .into_active_model()
}

fn family_to_core(m: fam::Model) -> RefreshFamily {
    RefreshFamily {
        id: m.id,
        client_id: m.client_id,
        member_id: m.member_id,
        scope: m.scope,
        sid: m.sid,
        auth_time: m.auth_time,
        offline: m.offline,
        created_at: m.created_at,
        expires_at: m.expires_at,
        revoked: m.revoked,
    }
}

impl SqlStore {
    /// Revokes the live families matching `cond`; returns their ids.
    async fn revoke_where(&self, cond: Condition) -> Result<Vec<String>, StoreError> {
        let cond = cond.add(fam::Column::Revoked.eq(false));
        let ids: Vec<String> = fam::Entity::find()
            .select_only()
            .column(fam::Column::Id)
            .filter(cond.clone())
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_error)?;
        if !ids.is_empty() {
            fam::Entity::update_many()
                .col_expr(fam::Column::Revoked, Expr::value(true))
                .filter(fam::Column::Id.is_in(ids.clone()))
                .exec(&self.db)
                .await
                .map_err(db_error)?;
        }
        Ok(ids)
    }
}

#[async_trait]
impl RefreshStore for SqlStore {
    async fn insert_family(&self, f: &RefreshFamily, first: &RefreshToken) -> Result<(), StoreError> {
        let m = fam::Model {
            id: f.id.clone(),
            client_id: f.client_id.clone(),
            member_id: f.member_id.clone(),
            scope: f.scope.clone(),
            sid: f.sid.clone(),
            auth_time: f.auth_time,
            offline: f.offline,
            created_at: f.created_at,
            expires_at: f.expires_at,
            revoked: f.revoked,
        };
        let txn = self.db.begin().await.map_err(db_error)?;
        fam::Entity::insert(m.into_active_model())
            .exec(&txn)
            .await
            .map_err(db_error)?;
        tok::Entity::insert(token_model(first))
            .exec(&txn)
            .await
            .map_err(db_error)?;
        txn.commit().await.map_err(db_error)
    }

    async fn find_family(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError> {
        if !storable(id) {
            return Ok(None);
        }
        Ok(fam::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .map(family_to_core))
    }

    async fn revoke_family(&self, id: &str) -> Result<bool, StoreError> {
        Ok(!self
            .revoke_where(Condition::all().add(fam::Column::Id.eq(id)))
            .await?
            .is_empty())
    }

    async fn revoke_families_of_member(&self, member_id: &str) -> Result<Vec<String>, StoreError> {
        self.revoke_where(Condition::all().add(fam::Column::MemberId.eq(member_id)))
            .await
    }

    async fn revoke_families_of_client(&self, client_id: &str) -> Result<Vec<String>, StoreError> {
        self.revoke_where(Condition::all().add(fam::Column::ClientId.eq(client_id)))
            .await
    }

    async fn revoke_online_families_of_session(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        self.revoke_where(
            Condition::all()
                .add(fam::Column::Sid.eq(sid))
                .add(fam::Column::Offline.eq(false)),
        )
        .await
    }

    async fn find_token(&self, hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        let m = tok::Entity::find_by_id(hash.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?;
        Ok(m.map(|m| RefreshToken {
            hash: m.hash,
            family_id: m.family_id,
            created_at: m.created_at,
            expires_at: m.expires_at,
            spent: m.spent,
        }))
    }

    async fn rotate_token(&self, old: &str, next: &RefreshToken, grace_since: i64) -> Result<Rotation, StoreError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        // One conditional update: of concurrent rotations, one changes the row
        // (the others wait for its commit and then see it spent).
        let spent = tok::Entity::update_many()
            .col_expr(tok::Column::Spent, Expr::value(true))
            .filter(tok::Column::Hash.eq(old))
            .filter(tok::Column::Spent.eq(false))
            .exec(&txn)
            .await
            .map_err(db_error)?;
        if spent.rows_affected == 1 {
            tok::Entity::insert(token_model(next))
                .exec(&txn)
                .await
                .map_err(db_error)?;
            txn.commit().await.map_err(db_error)?;
            return Ok(Rotation::Rotated);
        }
        let successor = tok::Entity::find_by_id(next.hash.clone())
            .one(&txn)
            .await
            .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        let retry = successor.is_some_and(|n| !n.spent && n.created_at >= grace_since);
        Ok(if retry { Rotation::Repeated } else { Rotation::Reused })
    }
}
