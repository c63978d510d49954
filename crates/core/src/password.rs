//! Password hashing with argon2id, off the async workers and with bounded
//! concurrency; unknown members are checked against a dummy hash so both
//! paths cost the same.

use crate::error::CoreError;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; the rest wait.
    pub max_concurrent: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub ok: bool,
    /// The hash was made with other parameters and should be replaced.
    pub needs_rehash: bool,
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy: Arc<String>,
}

impl PasswordHasher {
    pub fn new(s: Argon2Settings) -> Result<Self, CoreError> {
        // OWASP's floor for argon2id: m=19 MiB, t=2, p=1.
        if s.memory_kib < 19 * 1024 || s.iterations < 2 || s.parallelism < 1 {
            return Err(CoreError::Invalid(
                "argon2 parameters are below OWASP's minimum (m=19456 KiB, t=2, p=1)".into(),
            ));
        }
        let params = Params::new(s.memory_kib, s.iterations, s.parallelism, None)
            .map_err(|e| CoreError::Invalid(format!("argon2 parameters: {e}")))?;
        let dummy = hash_with(&params, "dummy password for unknown members")?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(s.max_concurrent.max(1))),
            dummy: Arc::new(dummy),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, CoreError> {
        let params = self.params.clone();
        self.run(move || hash_with(&params, &password)).await?
    }

    /// Verifies against `stored`, or against the dummy hash when there is none
    /// (then `ok` is always false).
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<Verification, CoreError> {
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy.as_ref().clone());
        let params = self.params.clone();
        self.run(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return Verification {
                    ok: false,
                    needs_rehash: false,
                };
            };
            let ok = argon2(&params).verify_password(password.as_bytes(), &parsed).is_ok() && real;
            let current = Params::try_from(&parsed).ok();
            let needs_rehash = ok
                && (parsed.algorithm.as_str() != "argon2id"
                    || current.is_none_or(|p| {
                        p.m_cost() != params.m_cost() || p.t_cost() != params.t_cost() || p.p_cost() != params.p_cost()
                    }));
            Verification { ok, needs_rehash }
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, CoreError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(f))
            .await
            .map_err(|e| CoreError::Internal(format!("hashing task failed: {e}")))
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &str) -> Result<String, CoreError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("argon2: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(m: u32) -> Argon2Settings {
        Argon2Settings {
            memory_kib: m,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 2,
        }
    }

    #[tokio::test]
    async fn verifies_and_asks_for_rehash_when_parameters_change() {
        let a = PasswordHasher::new(settings(19 * 1024)).unwrap();
        let h = a.hash("correct horse battery staple".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let v = a
            .verify("correct horse battery staple".into(), Some(h.clone()))
            .await
            .unwrap();
        assert_eq!(
            v,
            Verification {
                ok: true,
                needs_rehash: false
            }
        );
        assert!(!a.verify("wrong".into(), Some(h.clone())).await.unwrap().ok);
        assert!(!a.verify("anything".into(), None).await.unwrap().ok);
        let b = PasswordHasher::new(settings(20 * 1024)).unwrap();
        assert!(
            b.verify("correct horse battery staple".into(), Some(h))
                .await
                .unwrap()
                .needs_rehash
        );
    }

    #[test]
    fn refuses_weak_parameters() {
        assert!(PasswordHasher::new(settings(1024)).is_err());
    }
}
