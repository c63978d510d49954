//! `ClientStore` on the `clients` table; lists are JSON arrays in text columns.

use crate::entity::client::{Column, Entity, Model};
use crate::{SqlStore, db_error, storable};
use async_trait::async_trait;
use hk_idp_core::error::StoreError;
use hk_idp_core::oauth::client::{AuthMethod, Client, ClientAbout, GrantType};
use hk_idp_core::oauth::signing_key::SigningAlg;
use hk_idp_core::ports::store::ClientStore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

fn list(raw: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Backend(format!("corrupt client row: {e}")))
}

fn to_core(m: Model) -> Result<Client, StoreError> {
    let corrupt = |what: &str| StoreError::Backend(format!("client {}: bad {what}", m.id));
    Ok(Client {
        redirect_uris: list(&m.redirect_uris)?,
        post_logout_redirect_uris: list(&m.post_logout_redirect_uris)?,
        grant_types: list(&m.grant_types)?
            .iter()
            .map(|g| GrantType::parse(g).ok_or_else(|| corrupt("grant type")))
            .collect::<Result<_, _>>()?,
        auth_method: AuthMethod::parse(&m.auth_method).ok_or_else(|| corrupt("auth method"))?,
        id_token_alg: SigningAlg::parse(&m.id_token_alg).ok_or_else(|| corrupt("alg"))?,
        id: m.id,
        secret_hash: m.secret_hash,
        name: m.name,
        initiate_login_uri: m.initiate_login_uri,
        first_party: m.first_party,
        about: ClientAbout {
            client_uri: m.client_uri,
            logo_uri: m.logo_uri,
            contacts: list(&m.contacts)?,
            scope: m.scope,
        },
        registration_token_hash: m.registration_token_hash,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn to_model(c: &Client) -> Model {
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    Model {
        id: c.id.clone(),
        secret_hash: c.secret_hash.clone(),
        name: c.name.clone(),
        redirect_uris: json(&c.redirect_uris),
        post_logout_redirect_uris: json(&c.post_logout_redirect_uris),
        grant_types: json(&c.grant_types.iter().map(|g| g.as_str().to_owned()).collect()),
        auth_method: c.auth_method.as_str().to_owned(),
        id_token_alg: c.id_token_alg.as_str().to_owned(),
        initiate_login_uri: c.initiate_login_uri.clone(),
        first_party: c.first_party,
        created_at: c.created_at,
        client_uri: c.about.client_uri.clone(),
        logo_uri: c.about.logo_uri.clone(),
        contacts: json(&c.about.contacts),
        scope: c.about.scope.clone(),
        registration_token_hash: c.registration_token_hash.clone(),
        updated_at: c.updated_at,
    }
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        Entity::insert(to_model(client).into_active_model())
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        if !storable(id) {
            return Ok(None);
        }
        Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(db_error)?
            .map(to_core)
            .transpose()
    }

    async fn find_portal_client(&self) -> Result<Option<Client>, StoreError> {
        Entity::find()
            .filter(Column::InitiateLoginUri.is_not_null())
            .filter(Column::FirstParty.eq(true))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .one(&self.db)
            .await
            .map_err(db_error)?
            .map(to_core)
            .transpose()
    }

    async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        to_model(client)
            .into_active_model()
            .reset_all()
            .update(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        Entity::find()
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(to_core)
            .collect()
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        if !storable(id) {
            return Ok(false);
        }
        let r = Entity::delete_by_id(id.to_owned())
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(r.rows_affected > 0)
    }
}
