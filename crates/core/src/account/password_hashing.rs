//! Password hashing with argon2id, off the async workers and with bounded
//! concurrency; unknown members are checked against a dummy hash so both
//! paths cost the same. The work memory (19 MiB and up per hash) is pooled:
//! at most `max_concurrent` buffers ever exist, so memory stays flat under a
//! storm of logins instead of growing with the allocator's per-thread arenas.

use crate::error::CoreError;
use crate::ports::telemetry::{NoTelemetry, Telemetry};
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Reused argon2 work memory for the configured parameters.
struct BlockPool {
    blocks: usize,
    free: Mutex<Vec<Vec<Block>>>,
}

impl BlockPool {
    fn take(&self) -> Vec<Block> {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        reused.unwrap_or_else(|| vec![Block::default(); self.blocks])
    }

    fn give(&self, buf: Vec<Block>) {
        if let Ok(mut f) = self.free.lock() {
            f.push(buf);
        }
    }
}

/// Computes the raw argon2id output into `out`, in pooled memory when the
/// parameters are the configured ones (an old hash with other parameters
/// allocates for that one verification).
fn compute(
    argon: &Argon2<'_>,
    params: &Params,
    pool: &BlockPool,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> bool {
    if params.block_count() == pool.blocks {
        let mut buf = pool.take();
        let ok = argon
            .hash_password_into_with_memory(password, salt, out, &mut buf[..])
            .is_ok();
        pool.give(buf);
        ok
    } else {
        argon.hash_password_into(password, salt, out).is_ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; the rest wait.
    pub max_concurrent: usize,
}

/// The most memory one hash may take.
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;

impl Argon2Settings {
    /// The argon2id parameters: at least OWASP's floor (m=19 MiB, t=2, p=1),
    /// within what the argon2 crate takes.
    pub fn params(&self) -> Result<Params, CoreError> {
        if self.memory_kib < 19 * 1024 || self.iterations < 2 || self.parallelism < 1 {
            return Err(CoreError::Invalid(
                "argon2 parameters are below OWASP's minimum (m=19456 KiB, t=2, p=1)".into(),
            ));
        }
        // Every hash allocates the memory: more than 4 GiB is a typo, not a setting.
        if self.memory_kib > MAX_MEMORY_KIB {
            return Err(CoreError::Invalid(format!(
                "argon2 memory above {MAX_MEMORY_KIB} KiB (4 GiB)"
            )));
        }
        // Checked here first: argon2 0.5 computes `8 * p` in u32, which
        // overflows (a panic in debug builds) for p ≥ 2^29.
        if u64::from(self.memory_kib) < 8 * u64::from(self.parallelism) {
            return Err(CoreError::Invalid(
                "argon2 memory must be at least 8 KiB per lane".into(),
            ));
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| CoreError::Invalid(format!("argon2 parameters: {e}")))
    }
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
    pool: Arc<BlockPool>,
    dummy: Arc<String>,
    /// Hashes running now, and the most that ever ran at once.
    running: Arc<(AtomicUsize, AtomicUsize)>,
    /// Hashes waiting for a place now.
    waiting: Arc<AtomicUsize>,
    telemetry: Arc<dyn Telemetry>,
}

impl PasswordHasher {
    pub fn new(s: Argon2Settings) -> Result<Self, CoreError> {
        let params = s.params()?;
        let pool = Arc::new(BlockPool {
            blocks: params.block_count(),
            free: Mutex::new(Vec::new()),
        });
        let dummy = hash_with(&params, &pool, "dummy password for unknown members")?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(s.max_concurrent.max(1))),
            pool,
            dummy: Arc::new(dummy),
            running: Arc::default(),
            waiting: Arc::default(),
            telemetry: Arc::new(NoTelemetry),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, CoreError> {
        let (params, pool) = (self.params.clone(), self.pool.clone());
        self.run(move || hash_with(&params, &pool, &password)).await?
    }

    /// Verifies against `stored`, or against the dummy hash when there is none
    /// (then `ok` is always false).
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<Verification, CoreError> {
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy.as_ref().clone());
        let (params, pool) = (self.params.clone(), self.pool.clone());
        self.run(move || {
            let matched = verify_with(&pool, &password, &hash).filter(|_| real);
            let needs_rehash = matched.as_ref().is_some_and(|p| {
                p.m_cost() != params.m_cost() || p.t_cost() != params.t_cost() || p.p_cost() != params.p_cost()
            });
            Verification {
                ok: matched.is_some(),
                needs_rehash,
            }
        })
        .await
    }

    /// The most hashes that ran at once so far.
    /// Counts how long each hash waited for a place.
    pub fn counted_by(mut self, telemetry: Arc<dyn Telemetry>) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Hashes waiting for a place now (the metrics' queue depth).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Hashes running now.
    pub fn running(&self) -> usize {
        self.running.0.load(Ordering::SeqCst)
    }

    pub fn peak_running(&self) -> usize {
        self.running.1.load(Ordering::SeqCst)
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, CoreError> {
        // The permit goes with the hash, not with this future: a request
        // dropped mid-hash (the client hung up, a timeout) must not free a
        // place while its hash still runs.
        let queued = std::time::Instant::now();
        let in_line = Waiting::join(&self.waiting);
        let permit = self.permits.clone().acquire_owned().await;
        drop(in_line);
        let permit = permit.map_err(|e| CoreError::Internal(e.to_string()))?;
        self.telemetry.hash_waited(queued.elapsed());
        let span = tracing::Span::current();
        let running = self.running.clone();
        tokio::task::spawn_blocking(move || {
            let now = running.0.fetch_add(1, Ordering::SeqCst) + 1;
            running.1.fetch_max(now, Ordering::SeqCst);
            let out = span.in_scope(f);
            running.0.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            out
        })
        .await
        .map_err(|e| CoreError::Internal(format!("hashing task failed: {e}")))
    }
}

/// One place in the line for a hash, left when dropped (also when the
/// request waiting is dropped, the client having hung up).
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn join(line: &Arc<AtomicUsize>) -> Self {
        line.fetch_add(1, Ordering::SeqCst);
        Self(line.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for `password`.
fn hash_with(params: &Params, pool: &BlockPool, password: &str) -> Result<String, CoreError> {
    let fail = |e: argon2::password_hash::Error| CoreError::Internal(format!("argon2: {e}"));
    let salt_string = SaltString::generate(&mut OsRng);
    let salt: Salt<'_> = salt_string.as_salt();
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(fail)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        compute(&argon, params, pool, password.as_bytes(), salt_bytes, out)
            .then_some(())
            .ok_or(argon2::password_hash::Error::Crypto)
    })
    .map_err(fail)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(fail)?,
        salt: Some(salt),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a stored argon2id PHC string; on a match, the
/// parameters the stored hash was made with.
fn verify_with(pool: &BlockPool, password: &str, stored: &str) -> Option<Params> {
    let parsed = PasswordHash::new(stored).ok()?;
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return None;
    }
    let params = Params::try_from(&parsed).ok()?;
    let version = parsed.version.map_or(Ok(Version::V0x13), Version::try_from).ok()?;
    let (salt, expected) = (parsed.salt?, parsed.hash?);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).ok()?;
    let argon = Argon2::new(Algorithm::Argon2id, version, params.clone());
    let computed = Output::init_with(expected.len(), |out| {
        compute(&argon, &params, pool, password.as_bytes(), salt_bytes, out)
            .then_some(())
            .ok_or(argon2::password_hash::Error::Crypto)
    })
    .ok()?;
    // `Output`'s equality is constant-time.
    (computed == expected).then_some(params)
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

    #[tokio::test]
    async fn verifies_hashes_made_by_the_argon2_crate_api() {
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::generate(&mut OsRng);
        let params = Params::new(19 * 1024, 2, 1, None).unwrap();
        let made = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"et langt passord", &salt)
            .unwrap();
        let ours = PasswordHasher::new(settings(19 * 1024)).unwrap();
        assert!(
            ours.verify("et langt passord".into(), Some(made.to_string()))
                .await
                .unwrap()
                .ok
        );
        assert!(
            !ours
                .verify("et annet passord".into(), Some(made.to_string()))
                .await
                .unwrap()
                .ok
        );
    }

    /// docs/SECURITY-RULES.md §1.3: a hash runs off the async worker — a
    /// timer on the same single-threaded runtime keeps ticking meanwhile.
    #[tokio::test(flavor = "current_thread")]
    async fn hashing_leaves_the_async_worker_free() {
        use std::sync::atomic::AtomicU32;
        let h = PasswordHasher::new(Argon2Settings {
            memory_kib: 64 * 1024,
            iterations: 3,
            ..settings(0)
        })
        .unwrap();
        let ticks = Arc::new(AtomicU32::new(0));
        let counted = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        let start = std::time::Instant::now();
        h.hash("et langt passord her".into()).await.unwrap();
        let took = start.elapsed();
        ticker.abort();
        let ticks = ticks.load(Ordering::SeqCst);
        assert!(took.as_millis() >= 10, "the hash took {took:?}: too short to tell");
        assert!(ticks >= 3, "{ticks} ticks in {took:?}: the worker was held");
    }

    /// §1.3: at most `max_concurrent` hashes run at once; the rest wait.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_max_concurrent_hashes_run_at_once() {
        let h = PasswordHasher::new(Argon2Settings {
            max_concurrent: 1,
            ..settings(19 * 1024)
        })
        .unwrap();
        let all: Vec<_> = (0..4)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move { h.hash("et langt passord her".into()).await })
            })
            .collect();
        for task in all {
            task.await.unwrap().unwrap();
        }
        assert_eq!(h.peak_running(), 1);
    }

    /// §1.3: a request dropped mid-hash (the client hung up) keeps its place
    /// until its hash is done; otherwise hanging up would buy parallel hashes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_request_keeps_its_place_until_its_hash_is_done() {
        let h = PasswordHasher::new(Argon2Settings {
            memory_kib: 64 * 1024,
            iterations: 3,
            max_concurrent: 1,
            ..settings(0)
        })
        .unwrap();
        for _ in 0..3 {
            let dropped = {
                let h = h.clone();
                tokio::spawn(async move { h.hash("et langt passord her".into()).await })
            };
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            dropped.abort();
        }
        h.hash("et langt passord her".into()).await.unwrap();
        assert_eq!(h.peak_running(), 1);
    }

    #[test]
    fn refuses_weak_parameters() {
        assert!(PasswordHasher::new(settings(1024)).is_err());
    }
}
