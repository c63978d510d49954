//! `KeyStore` on `signing_keys` and `server_secrets`.

use crate::entity::{server_secret, signing_key};
use crate::{SqlStore, db_error};
use async_trait::async_trait;
use hk_idp_core::error::StoreError;
use hk_idp_core::oauth::signing_key::{SigningAlg, StoredKey};
use hk_idp_core::ports::store::KeyStore;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, TransactionTrait};

fn row(key: &StoredKey) -> signing_key::Model {
    signing_key::Model {
        kid: key.kid.clone(),
        alg: key.alg.as_str().to_owned(),
        private_key: key.private_key.clone(),
        created_at: key.created_at,
        retire_after: key.retire_after,
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn insert_first_key(&self, key: &StoredKey) -> Result<bool, StoreError> {
        // The partial unique index (one not-retired key per algorithm) decides
        // between nodes starting at once; the loser's insert does nothing.
        let inserted = signing_key::Entity::insert(row(key).into_active_model())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(&self.db)
            .await
            .map_err(db_error)?;
        Ok(inserted == 1)
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = signing_key::Entity::find()
            .order_by_asc(signing_key::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(db_error)?;
        rows.into_iter()
            .map(|m| {
                Ok(StoredKey {
                    alg: SigningAlg::parse(&m.alg)
                        .ok_or_else(|| StoreError::Backend(format!("key {}: bad alg", m.kid)))?,
                    kid: m.kid,
                    private_key: m.private_key,
                    created_at: m.created_at,
                    retire_after: m.retire_after,
                })
            })
            .collect()
    }

    async fn rotate_keys(&self, retire_at: i64, fresh: &[StoredKey]) -> Result<u64, StoreError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        let r = signing_key::Entity::update_many()
            .col_expr(signing_key::Column::RetireAfter, Expr::value(retire_at))
            .filter(signing_key::Column::RetireAfter.is_null())
            .exec(&txn)
            .await
            .map_err(db_error)?;
        if !fresh.is_empty() {
            signing_key::Entity::insert_many(fresh.iter().map(|k| row(k).into_active_model()))
                .exec(&txn)
                .await
                .map_err(db_error)?;
        }
        txn.commit().await.map_err(db_error)?;
        Ok(r.rows_affected)
    }

    async fn delete_keys_retired_before(&self, at: i64) -> Result<u64, StoreError> {
        let r = signing_key::Entity::delete_many()
            .filter(signing_key::Column::RetireAfter.lt(at))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(r.rows_affected)
    }

    async fn get_or_create_secret(&self, name: &str, value: &str) -> Result<String, StoreError> {
        // Insert-or-keep, then read: of nodes starting together, the first value wins for all.
        let m = server_secret::Model {
            name: name.to_owned(),
            value: value.to_owned(),
        };
        server_secret::Entity::insert(m.into_active_model())
            .on_conflict_do_nothing_on([server_secret::Column::Name])
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        server_secret::Entity::find_by_id(name.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .map(|m| m.value)
            .ok_or(StoreError::NotFound)
    }

    async fn list_secrets(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = server_secret::Entity::find().all(&self.db).await.map_err(db_error)?;
        Ok(rows.into_iter().map(|m| (m.name, m.value)).collect())
    }

    async fn replace_private_key(&self, kid: &str, from: &str, to: &str) -> Result<bool, StoreError> {
        let r = signing_key::Entity::update_many()
            .col_expr(signing_key::Column::PrivateKey, Expr::value(to))
            .filter(signing_key::Column::Kid.eq(kid))
            .filter(signing_key::Column::PrivateKey.eq(from))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(r.rows_affected == 1)
    }

    async fn replace_secret(&self, name: &str, from: &str, to: &str) -> Result<bool, StoreError> {
        let r = server_secret::Entity::update_many()
            .col_expr(server_secret::Column::Value, Expr::value(to))
            .filter(server_secret::Column::Name.eq(name))
            .filter(server_secret::Column::Value.eq(from))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(r.rows_affected == 1)
    }
}
