//! Request parameters as name/value pairs, with the RFC 6749 §3.1 rules:
//! a parameter sent twice is an error, one sent without a value is absent.

use crate::error::OAuthError;

/// Longest value we accept for any single parameter.
pub const MAX_VALUE_LEN: usize = 4096;

#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The single value of `name`, `None` when absent or empty.
    pub fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found = None;
        for (k, v) in &self.0 {
            if k == name && !v.is_empty() {
                if found.is_some() {
                    return Err(OAuthError::invalid_request(format!("{name} is repeated")));
                }
                if v.len() > MAX_VALUE_LEN {
                    return Err(OAuthError::invalid_request(format!("{name} is too long")));
                }
                // No protocol value carries a NUL; databases refuse them.
                if v.contains('\0') {
                    return Err(OAuthError::invalid_request(format!("{name} contains a NUL character")));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    /// A form field on a page: like `get`, but a value it refuses (repeated,
    /// oversized) reads as absent, so the form comes back with its own error.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.get(name).ok().flatten()
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::Params;

    #[test]
    fn repeated_is_an_error_and_empty_is_absent() {
        let p = Params::new(vec![
            ("a".into(), "1".into()),
            ("a".into(), "2".into()),
            ("b".into(), "".into()),
        ]);
        assert!(p.get("a").is_err());
        assert_eq!(p.get("b").ok().flatten(), None);
        assert!(p.require("c").is_err());
    }
}
