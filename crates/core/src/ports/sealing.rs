//! Encryption at rest for what the domain stores itself (the mail outbox):
//! `hk_idp_jose::Sealer` under `keys.encryption_key`, or in the clear.

pub trait Sealing: Send + Sync {
    /// `plain` as it is to be stored, sealed for `purpose`.
    fn seal(&self, purpose: &str, plain: &str) -> Result<String, String>;
    /// What `seal` stored for `purpose`.
    fn open(&self, purpose: &str, stored: &str) -> Result<String, String>;
}

/// No key-encryption key: stored as it is.
pub struct InTheClear;

impl Sealing for InTheClear {
    fn seal(&self, _: &str, plain: &str) -> Result<String, String> {
        Ok(plain.to_owned())
    }
    fn open(&self, _: &str, stored: &str) -> Result<String, String> {
        Ok(stored.to_owned())
    }
}
