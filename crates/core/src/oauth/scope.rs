//! Scopes (RFC 6749 §3.3) and the claims each one releases.

use crate::error::{OAuthError, OAuthErrorCode};
use std::collections::BTreeSet;

/// The scopes HK ID knows.
pub const SUPPORTED: [&str; 5] = ["openid", "email", "profile", "organization", "offline_access"];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Parses a space-separated scope list; unknown scopes are `invalid_scope`.
    pub fn parse(raw: &str) -> Result<Self, OAuthError> {
        let mut set = BTreeSet::new();
        for s in raw.split(' ').filter(|s| !s.is_empty()) {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            if !s
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
            {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    "scope has invalid characters",
                ));
            }
            if !SUPPORTED.contains(&s) {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    format!("unknown scope {s}"),
                ));
            }
            set.insert(s.to_owned());
        }
        Ok(Self(set))
    }

    pub fn contains(&self, s: &str) -> bool {
        self.0.contains(s)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn without(&self, s: &str) -> Self {
        Self(self.0.iter().filter(|x| *x != s).cloned().collect())
    }

    /// Every scope of either.
    pub fn union(&self, other: &Scope) -> Self {
        Self(self.0.union(&other.0).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// True if every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v: Vec<&str> = self.0.iter().map(String::as_str).collect();
        f.write_str(&v.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn parses_known_scopes_and_refuses_others() {
        let s = Scope::parse("openid  email profile").ok().unwrap_or_default();
        assert!(s.contains("openid") && s.contains("email"));
        assert_eq!(s.to_string(), "email openid profile");
        assert!(Scope::parse("openid admin").is_err());
        assert!(Scope::parse("openid \"x").is_err());
    }
}
