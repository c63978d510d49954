//! `ConsentStore` on `consents`.

use crate::entity::consent::{Column, Entity, Model};
use crate::{SqlStore, db_error, storable};
use async_trait::async_trait;
use hk_idp_core::error::StoreError;
use hk_idp_core::ports::store::ConsentStore;
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, IntoActiveModel};

#[async_trait]
impl ConsentStore for SqlStore {
    async fn find_consent(&self, member_id: &str, client_id: &str) -> Result<Option<String>, StoreError> {
        if !storable(member_id) || !storable(client_id) {
            return Ok(None);
        }
        let row = Entity::find_by_id((member_id.to_owned(), client_id.to_owned()))
            .one(&self.db)
            .await
            .map_err(db_error)?;
        Ok(row.map(|m| m.scope))
    }

    async fn save_consent(&self, member_id: &str, client_id: &str, scope: &str, at: i64) -> Result<(), StoreError> {
        let m = Model {
            member_id: member_id.to_owned(),
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            granted_at: at,
        };
        Entity::insert(m.into_active_model())
            .on_conflict(
                OnConflict::columns([Column::MemberId, Column::ClientId])
                    .update_columns([Column::Scope, Column::GrantedAt])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
