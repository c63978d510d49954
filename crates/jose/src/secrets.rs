//! Server secrets (the CSRF key, the one-time-code pepper) and re-encrypting
//! every stored secret when the key-encryption key is turned on or rotated.

use crate::keyring::key_purpose;
use crate::sealer::{Sealer, is_sealed};
use hk_idp_core::error::CoreError;
use hk_idp_core::ports::store::KeyStore;
use hk_idp_core::secret::random_token;

fn internal(e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(e.to_string())
}

/// The server secret `name`, made (32 random bytes) and stored sealed on
/// first use; the first node to store it wins for all.
pub async fn server_secret(store: &dyn KeyStore, sealer: &Sealer, name: &str) -> Result<String, CoreError> {
    let fresh = sealer.seal(name, &random_token(32)).map_err(internal)?;
    let stored = store.get_or_create_secret(name, &fresh).await?;
    sealer.open(name, &stored).map_err(internal)
}

/// Which stored secrets `reseal_secrets` rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reseal {
    /// Those still in the clear, when a KEK is set (every start-up): turning
    /// the KEK on encrypts what was stored before.
    Clear,
    /// Every one not sealed under the current KEK (`hk-idp keys
    /// reencrypt`, after a KEK rotation, once every node has the new KEK).
    All,
}

/// How many stored secrets `reseal_secrets` rewrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    pub signing_keys: u64,
    pub server_secrets: u64,
}

/// Re-encrypts stored secrets under the current KEK. Each row is replaced
/// only if it still holds what was read, so nodes doing this at once agree.
pub async fn reseal_secrets(store: &dyn KeyStore, sealer: &Sealer, scope: Reseal) -> Result<Resealed, CoreError> {
    let stale = |stored: &str| match scope {
        Reseal::Clear => sealer.has_kek() && !is_sealed(stored),
        Reseal::All => !sealer.is_current(stored),
    };
    let mut done = Resealed::default();
    if scope == Reseal::Clear && !sealer.has_kek() {
        return Ok(done);
    }
    for key in store.list_keys().await? {
        if stale(&key.private_key) {
            let purpose = key_purpose(&key.kid);
            let plain = sealer.open(&purpose, &key.private_key).map_err(internal)?;
            let sealed = sealer.seal(&purpose, &plain).map_err(internal)?;
            if store.replace_private_key(&key.kid, &key.private_key, &sealed).await? {
                done.signing_keys += 1;
            }
        }
    }
    for (name, stored) in store.list_secrets().await? {
        if stale(&stored) {
            let plain = sealer.open(&name, &stored).map_err(internal)?;
            let sealed = sealer.seal(&name, &plain).map_err(internal)?;
            if store.replace_secret(&name, &stored, &sealed).await? {
                done.server_secrets += 1;
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyRing, generate_key};
    use hk_idp_core::oauth::signing_key::SigningAlg;
    use hk_idp_core::testing::MemoryDb;
    use std::sync::Arc;

    const OLD: [u8; 32] = [1; 32];
    const NEW: [u8; 32] = [2; 32];

    async fn stored(db: &MemoryDb) -> Vec<String> {
        let mut all: Vec<String> = db
            .list_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.private_key)
            .collect();
        all.extend(db.list_secrets().await.unwrap().into_iter().map(|(_, v)| v));
        all
    }

    #[tokio::test]
    async fn turning_the_kek_on_seals_what_was_stored_in_the_clear() {
        let db = MemoryDb::default();
        let clear = Arc::new(Sealer::default());
        let key = generate_key(&KeyRing::new(clear.clone()), SigningAlg::ES256, 0).unwrap();
        db.insert_first_key(&key).await.unwrap();
        let pepper = server_secret(&db, &clear, "pepper").await.unwrap();
        assert!(stored(&db).await.iter().all(|v| !is_sealed(v)));

        let on = Sealer::new(Some(&OLD), &[]).unwrap();
        let done = reseal_secrets(&db, &on, Reseal::Clear).await.unwrap();
        assert_eq!(
            done,
            Resealed {
                signing_keys: 1,
                server_secrets: 1
            }
        );
        assert!(stored(&db).await.iter().all(|v| on.is_current(v)));
        assert_eq!(server_secret(&db, &on, "pepper").await.unwrap(), pepper, "same secret");
        let again = reseal_secrets(&db, &on, Reseal::All).await.unwrap();
        assert_eq!(again, Resealed::default(), "nothing left to do");
    }

    #[tokio::test]
    async fn a_kek_rotation_rewraps_only_when_asked_and_then_needs_only_the_new_kek() {
        let db = MemoryDb::default();
        let old = Sealer::new(Some(&OLD), &[]).unwrap();
        let csrf = server_secret(&db, &old, "csrf").await.unwrap();
        let rotating = Sealer::new(Some(&NEW), &[OLD.to_vec()]).unwrap();
        let at_start = reseal_secrets(&db, &rotating, Reseal::Clear).await.unwrap();
        assert_eq!(at_start, Resealed::default(), "start-up leaves the old KEK's values");
        let done = reseal_secrets(&db, &rotating, Reseal::All).await.unwrap();
        assert_eq!(done.server_secrets, 1);
        let new_only = Sealer::new(Some(&NEW), &[]).unwrap();
        assert_eq!(server_secret(&db, &new_only, "csrf").await.unwrap(), csrf);
        assert!(
            server_secret(&db, &old, "csrf").await.is_err(),
            "the old KEK alone no longer reads it"
        );
    }
}
