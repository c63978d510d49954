//! `OutboxStore` on `mail_outbox`. Taking due mail is one statement: on
//! PostgreSQL its rows are locked with `SKIP LOCKED`, so nodes taking mail
//! at the same moment each get other rows; SQLite has one writer.

use crate::entity::mail_outbox::{Column, Entity, Model};
use crate::{SqlStore, db_error, storable};
use async_trait::async_trait;
use hk_idp_core::error::StoreError;
use hk_idp_core::ports::store::{OutboxMail, OutboxStore};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, IntoActiveModel, PaginatorTrait,
    QueryFilter, Statement,
};

fn to_core(m: Model) -> OutboxMail {
    OutboxMail {
        id: m.id,
        kind: m.kind,
        payload: m.payload,
        attempts: m.attempts,
        created_at: m.created_at,
    }
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn add_mail(&self, mail: &OutboxMail, due_ms: i64) -> Result<(), StoreError> {
        let m = Model {
            id: mail.id.clone(),
            kind: mail.kind.clone(),
            payload: mail.payload.clone(),
            attempts: mail.attempts,
            created_at: mail.created_at,
            due_at_ms: due_ms,
        };
        Entity::insert(m.into_active_model())
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn claim_mail(&self, now_ms: i64, lease_until_ms: i64, limit: u32) -> Result<Vec<OutboxMail>, StoreError> {
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => {
                "UPDATE mail_outbox SET due_at_ms = $1 WHERE id IN (SELECT id FROM mail_outbox \
                 WHERE due_at_ms <= $2 ORDER BY due_at_ms LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, kind, payload, attempts, created_at, due_at_ms"
            }
            _ => {
                "UPDATE mail_outbox SET due_at_ms = ? WHERE id IN (SELECT id FROM mail_outbox \
                 WHERE due_at_ms <= ? ORDER BY due_at_ms LIMIT ?) \
                 RETURNING id, kind, payload, attempts, created_at, due_at_ms"
            }
        };
        let stmt = Statement::from_sql_and_values(
            backend,
            sql,
            [lease_until_ms.into(), now_ms.into(), i64::from(limit).into()],
        );
        let rows = self.db.query_all_raw(stmt).await.map_err(db_error)?;
        rows.iter()
            .map(|r| Model::from_query_result(r, "").map(to_core).map_err(db_error))
            .collect()
    }

    async fn remove_mail(&self, id: &str) -> Result<(), StoreError> {
        if !storable(id) {
            return Ok(());
        }
        Entity::delete_by_id(id.to_owned())
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn retry_mail(&self, id: &str, attempts: i32, due_ms: i64) -> Result<(), StoreError> {
        Entity::update_many()
            .col_expr(Column::Attempts, Expr::value(attempts))
            .col_expr(Column::DueAtMs, Expr::value(due_ms))
            .filter(Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn count_mail(&self) -> Result<u64, StoreError> {
        Entity::find().count(&self.db).await.map_err(db_error)
    }
}
