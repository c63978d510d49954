//! The one place database errors become store errors.

use hk_idp_core::error::StoreError;
use sea_orm::{DbErr, SqlErr};

/// Unique-constraint violations become `Conflict`, so "e-mail exists" needs no SQL knowledge upstream.
pub fn db_error(e: DbErr) -> StoreError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict,
        _ => match e {
            DbErr::RecordNotFound(_) | DbErr::RecordNotUpdated => StoreError::NotFound,
            other => StoreError::Backend(other.to_string()),
        },
    }
}
