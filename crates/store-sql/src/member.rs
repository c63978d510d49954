//! `MemberStore` on the `members` table.

use crate::entity::member::{ActiveModel, Column, Entity, Model};
use crate::{SqlStore, db_error, storable};
use async_trait::async_trait;
use hk_idp_core::account::email::Email;
use hk_idp_core::account::member::{Member, MemberStatus, MemberWrite};
use hk_idp_core::audit::AuditEvent;
use hk_idp_core::error::StoreError;
use hk_idp_core::ports::store::MemberStore;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use std::collections::HashSet;

fn to_core(m: Model) -> Member {
    Member {
        id: m.id,
        email: Email::new_unchecked(m.email),
        name: m.name,
        org_number: m.org_number,
        org_name: m.org_name,
        password_hash: m.password_hash,
        status: MemberStatus::parse(&m.status).unwrap_or(MemberStatus::Disabled),
        failed_logins: m.failed_logins,
        created_at: m.created_at,
        updated_at: m.updated_at,
        invited_at: m.invited_at,
    }
}

fn to_model(m: &Member) -> Model {
    Model {
        id: m.id.clone(),
        email: m.email.as_str().to_owned(),
        name: m.name.clone(),
        org_number: m.org_number.clone(),
        org_name: m.org_name.clone(),
        password_hash: m.password_hash.clone(),
        status: m.status.as_str().to_owned(),
        failed_logins: m.failed_logins,
        created_at: m.created_at,
        updated_at: m.updated_at,
        invited_at: m.invited_at,
    }
}

/// Pending members never invited, or invited only before `invited_before`.
fn to_invite(invited_before: Option<i64>) -> sea_orm::Select<Entity> {
    let never = Condition::any().add(Column::InvitedAt.is_null());
    let cond = match invited_before {
        Some(t) => never.add(Column::InvitedAt.lt(t)),
        None => never,
    };
    Entity::find()
        .filter(Column::Status.eq(MemberStatus::Pending.as_str()))
        .filter(cond)
}

#[async_trait]
impl MemberStore for SqlStore {
    async fn insert_member(&self, member: &Member) -> Result<(), StoreError> {
        Entity::insert(to_model(member).into_active_model())
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn find_member(&self, id: &str) -> Result<Option<Member>, StoreError> {
        if !storable(id) {
            return Ok(None);
        }
        Ok(Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .map(to_core))
    }

    async fn find_member_by_email(&self, email: &str) -> Result<Option<Member>, StoreError> {
        let found = Entity::find()
            .filter(Column::Email.eq(email.to_lowercase()))
            .one(&self.db)
            .await;
        Ok(found.map_err(db_error)?.map(to_core))
    }

    async fn write_member(&self, id: &str, write: &MemberWrite, now: i64) -> Result<bool, StoreError> {
        if !storable(id) {
            return Ok(false);
        }
        let q = Entity::update_many()
            .filter(Column::Id.eq(id))
            .col_expr(Column::UpdatedAt, Expr::value(now));
        let q = match write {
            MemberWrite::NewPassword { hash, from } => q
                .col_expr(Column::PasswordHash, Expr::value(hash.clone()))
                .col_expr(Column::Status, Expr::value(MemberStatus::Active.as_str()))
                .col_expr(Column::FailedLogins, Expr::value(0))
                .filter(Column::Status.is_in(from.iter().map(|s| s.as_str()))),
            MemberWrite::Rehash { old, new } => q
                .col_expr(Column::PasswordHash, Expr::value(new.clone()))
                .filter(Column::PasswordHash.eq(old.clone())),
            MemberWrite::Profile {
                name,
                org_number,
                org_name,
            } => {
                let mut q = q;
                for (col, value) in [
                    (Column::Name, name),
                    (Column::OrgNumber, org_number),
                    (Column::OrgName, org_name),
                ] {
                    if let Some(v) = value {
                        q = q.col_expr(col, Expr::value(v.clone()));
                    }
                }
                q
            }
            MemberWrite::Disable => q
                .col_expr(Column::Status, Expr::value(MemberStatus::Disabled.as_str()))
                .filter(Column::Status.ne(MemberStatus::Disabled.as_str())),
            MemberWrite::Enable => q
                .col_expr(
                    Column::Status,
                    Expr::cust("CASE WHEN password_hash IS NULL THEN 'pending' ELSE 'active' END"),
                )
                .filter(Column::Status.eq(MemberStatus::Disabled.as_str())),
        };
        let r = q.exec(&self.db).await.map_err(db_error)?;
        Ok(r.rows_affected > 0)
    }

    async fn increment_failed_logins(&self, id: &str) -> Result<i32, StoreError> {
        Entity::update_many()
            .col_expr(Column::FailedLogins, Expr::col(Column::FailedLogins).add(1))
            .filter(Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        let m = Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?;
        Ok(m.map_or(0, |m| m.failed_logins))
    }

    async fn reset_failed_logins(&self, id: &str) -> Result<(), StoreError> {
        Entity::update_many()
            .col_expr(Column::FailedLogins, Expr::value(0))
            .filter(Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn delete_member(&self, id: &str) -> Result<bool, StoreError> {
        if !storable(id) {
            return Ok(false);
        }
        let r = Entity::delete_by_id(id.to_owned())
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(r.rows_affected > 0)
    }

    async fn import_members(&self, candidates: &[Member], events: &[AuditEvent]) -> Result<Vec<bool>, StoreError> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let txn = self.db.begin().await.map_err(db_error)?;
        let emails: Vec<&str> = candidates.iter().map(|m| m.email.as_str()).collect();
        let existing: HashSet<String> = Entity::find()
            .select_only()
            .column(Column::Email)
            .filter(Column::Email.is_in(emails))
            .into_tuple::<String>()
            .all(&txn)
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        let created: Vec<bool> = candidates
            .iter()
            .map(|m| !existing.contains(m.email.as_str()))
            .collect();
        let fresh: Vec<ActiveModel> = candidates
            .iter()
            .zip(&created)
            .filter(|(_, c)| **c)
            .map(|(m, _)| to_model(m).into_active_model())
            .collect();
        if !fresh.is_empty() {
            let ids: HashSet<&str> = candidates
                .iter()
                .zip(&created)
                .filter(|(_, c)| **c)
                .map(|(m, _)| m.id.as_str())
                .collect();
            Entity::insert_many(fresh).exec(&txn).await.map_err(db_error)?;
            let audit: Vec<_> = events
                .iter()
                .filter(|e| e.member_id.as_deref().is_some_and(|id| ids.contains(id)))
                .map(crate::audit::to_model)
                .collect();
            if !audit.is_empty() {
                crate::entity::audit_event::Entity::insert_many(audit)
                    .exec(&txn)
                    .await
                    .map_err(db_error)?;
            }
        }
        txn.commit().await.map_err(db_error)?;
        Ok(created)
    }

    async fn mark_invited(&self, id: &str, at: i64) -> Result<(), StoreError> {
        Entity::update_many()
            .col_expr(Column::InvitedAt, Expr::value(at))
            .filter(Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn count_members_to_invite(&self, invited_before: Option<i64>) -> Result<u64, StoreError> {
        to_invite(invited_before).count(&self.db).await.map_err(db_error)
    }

    async fn list_members_to_invite(
        &self,
        after: Option<&str>,
        limit: u64,
        invited_before: Option<i64>,
    ) -> Result<Vec<Member>, StoreError> {
        let mut q = to_invite(invited_before);
        if let Some(a) = after {
            q = q.filter(Column::Id.gt(a));
        }
        let rows = q
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(to_core).collect())
    }
}
