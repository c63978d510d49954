use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: String,
    pub auth_method: String,
    pub id_token_alg: String,
    pub initiate_login_uri: Option<String>,
    pub first_party: bool,
    pub created_at: i64,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub contacts: String,
    pub scope: Option<String>,
    pub registration_token_hash: Option<String>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
