//! Secrets at rest under the key-encryption key (KEK): signing keys and the
//! server secrets (CSRF key, one-time-code pepper) are stored as compact JWE
//! (`dir`, A256GCM). The protected header names the KEK (`kid`, a
//! fingerprint) and what the secret is for (`hk_use`), so a value cannot be
//! moved to another row, and a node configured with the new KEK and the
//! previous ones reads values sealed under any of them while a rotation is
//! under way.

use crate::keyring::KeyRingError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwe::alg::direct::{DirectJweDecrypter, DirectJweEncrypter};
use josekit::jwe::{Dir, JweHeader};
use serde_json::Value;
use sha2::{Digest, Sha256};

const USE: &str = "hk_use";

struct Kek {
    id: String,
    encrypter: DirectJweEncrypter,
    /// Checks that the header names this KEK.
    decrypter: DirectJweDecrypter,
    /// For values sealed before headers named their KEK.
    unnamed: DirectJweDecrypter,
}

impl Kek {
    fn new(key: &[u8]) -> Result<Self, KeyRingError> {
        if key.len() != 32 {
            return Err(KeyRingError::BadKek);
        }
        let id = URL_SAFE_NO_PAD.encode(&Sha256::digest(key)[..8]);
        let bad = |_| KeyRingError::BadKek;
        let mut encrypter = Dir.encrypter_from_bytes(key).map_err(bad)?;
        encrypter.set_key_id(id.clone());
        let mut decrypter = Dir.decrypter_from_bytes(key).map_err(bad)?;
        decrypter.set_key_id(id.clone());
        let unnamed = Dir.decrypter_from_bytes(key).map_err(bad)?;
        Ok(Self {
            id,
            encrypter,
            decrypter,
            unnamed,
        })
    }
}

/// Seals and opens stored secrets; without a KEK they are stored as given.
#[derive(Default)]
pub struct Sealer {
    current: Option<Kek>,
    previous: Vec<Kek>,
}

/// A compact JWE has five parts; a JWK (`{…}`) or a random token has one.
pub fn is_sealed(stored: &str) -> bool {
    stored.split('.').count() == 5
}

fn header_of(stored: &str) -> Option<serde_json::Map<String, Value>> {
    let head = stored.split('.').next()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).ok()?).ok()
}

impl Sealer {
    /// `current` seals (and opens); `previous` only open, for a KEK rotation.
    pub fn new(current: Option<&[u8]>, previous: &[Vec<u8>]) -> Result<Self, KeyRingError> {
        Ok(Self {
            current: current.map(Kek::new).transpose()?,
            previous: previous.iter().map(|k| Kek::new(k)).collect::<Result<_, _>>()?,
        })
    }

    pub fn has_kek(&self) -> bool {
        self.current.is_some()
    }

    /// `plain` as stored: sealed for `purpose` under the current KEK, or as
    /// it is without one.
    pub fn seal(&self, purpose: &str, plain: &str) -> Result<String, KeyRingError> {
        let Some(kek) = &self.current else {
            return Ok(plain.to_owned());
        };
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        header
            .set_claim(USE, Some(Value::String(purpose.to_owned())))
            .map_err(|_| KeyRingError::BadKek)?;
        josekit::jwe::serialize_compact(plain.as_bytes(), &header, &kek.encrypter).map_err(|e| KeyRingError::Sealed {
            purpose: purpose.to_owned(),
            reason: e.to_string(),
        })
    }

    /// The secret in `stored`, which must have been sealed for `purpose`.
    pub fn open(&self, purpose: &str, stored: &str) -> Result<String, KeyRingError> {
        if !is_sealed(stored) {
            return Ok(stored.to_owned());
        }
        let fail = |reason: &str| KeyRingError::Sealed {
            purpose: purpose.to_owned(),
            reason: reason.to_owned(),
        };
        let header = header_of(stored).ok_or_else(|| fail("not a JWE"))?;
        let keks = || self.current.iter().chain(&self.previous);
        if keks().next().is_none() {
            return Err(KeyRingError::MissingKek);
        }
        let plain = match header.get("kid").and_then(Value::as_str) {
            Some(kid) => {
                let kek = keks().find(|k| k.id == kid).ok_or(KeyRingError::UnknownKek)?;
                josekit::jwe::deserialize_compact(stored, &kek.decrypter)
                    .map_err(|_| fail("does not decrypt: altered, or another key-encryption key"))?
                    .0
            }
            None => {
                keks()
                    .find_map(|k| josekit::jwe::deserialize_compact(stored, &k.unnamed).ok())
                    .ok_or_else(|| fail("cannot decrypt: wrong key-encryption key?"))?
                    .0
            }
        };
        match header.get(USE).and_then(Value::as_str) {
            Some(used) if used != purpose => return Err(fail("sealed for another use")),
            _ => {}
        }
        String::from_utf8(plain).map_err(|_| fail("not text"))
    }

    /// Whether `stored` is as `seal` would store it now: sealed under the
    /// current KEK with a header naming it, or in the clear without a KEK.
    pub fn is_current(&self, stored: &str) -> bool {
        match &self.current {
            None => !is_sealed(stored),
            Some(kek) => {
                is_sealed(stored)
                    && header_of(stored).is_some_and(|h| {
                        h.get("kid").and_then(Value::as_str) == Some(kek.id.as_str()) && h.contains_key(USE)
                    })
            }
        }
    }
}

/// The mail outbox and whatever else the domain stores itself.
impl hk_idp_core::ports::sealing::Sealing for Sealer {
    fn seal(&self, purpose: &str, plain: &str) -> Result<String, String> {
        Sealer::seal(self, purpose, plain).map_err(|e| e.to_string())
    }
    fn open(&self, purpose: &str, stored: &str) -> Result<String, String> {
        Sealer::open(self, purpose, stored).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: [u8; 32] = [1; 32];
    const NEW: [u8; 32] = [2; 32];

    #[test]
    fn seals_and_opens_for_one_purpose() {
        let s = Sealer::new(Some(&OLD), &[]).unwrap();
        let sealed = s.seal("pepper", "geheim").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("geheim"));
        assert!(s.is_current(&sealed));
        assert_eq!(s.open("pepper", &sealed).unwrap(), "geheim");
        assert!(s.open("csrf", &sealed).is_err(), "moved to another row");
    }

    #[test]
    fn without_a_kek_values_stay_as_given_and_sealed_ones_need_one() {
        let clear = Sealer::default();
        assert_eq!(clear.seal("pepper", "x").unwrap(), "x");
        assert!(clear.is_current("x"));
        let sealed = Sealer::new(Some(&OLD), &[]).unwrap().seal("pepper", "x").unwrap();
        assert!(!clear.is_current(&sealed));
        assert!(matches!(clear.open("pepper", &sealed), Err(KeyRingError::MissingKek)));
    }

    #[test]
    fn a_rotation_reads_the_previous_kek_and_reseals_under_the_new() {
        let old = Sealer::new(Some(&OLD), &[]).unwrap();
        let sealed = old.seal("csrf", "k").unwrap();
        let rotating = Sealer::new(Some(&NEW), &[OLD.to_vec()]).unwrap();
        assert_eq!(rotating.open("csrf", &sealed).unwrap(), "k");
        assert!(!rotating.is_current(&sealed));
        let resealed = rotating.seal("csrf", "k").unwrap();
        let new_only = Sealer::new(Some(&NEW), &[]).unwrap();
        assert_eq!(new_only.open("csrf", &resealed).unwrap(), "k");
        assert!(matches!(new_only.open("csrf", &sealed), Err(KeyRingError::UnknownKek)));
    }

    #[test]
    fn an_altered_value_does_not_open() {
        let s = Sealer::new(Some(&OLD), &[]).unwrap();
        let sealed = s.seal("pepper", "geheim").unwrap();
        let mut parts: Vec<String> = sealed.split('.').map(str::to_owned).collect();
        parts[3] = URL_SAFE_NO_PAD.encode(b"another ciphertext");
        assert!(s.open("pepper", &parts.join(".")).is_err());
    }

    #[test]
    fn values_sealed_before_headers_named_the_kek_still_open() {
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        let enc = Dir.encrypter_from_bytes(OLD).unwrap();
        let legacy = josekit::jwe::serialize_compact(b"{\"kty\":\"oct\"}", &header, &enc).unwrap();
        let s = Sealer::new(Some(&NEW), &[OLD.to_vec()]).unwrap();
        assert_eq!(s.open("signing key k1", &legacy).unwrap(), "{\"kty\":\"oct\"}");
        assert!(!s.is_current(&legacy));
    }
}
