use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub email: String,
    pub name: Option<String>,
    pub org_number: Option<String>,
    pub org_name: Option<String>,
    pub password_hash: Option<String>,
    pub status: String,
    pub failed_logins: i32,
    pub created_at: i64,
    pub updated_at: i64,
    pub invited_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
