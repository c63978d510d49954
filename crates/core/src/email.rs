//! E-mail addresses: trimmed, lower-cased, checked for a plausible shape.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses untrusted input. Addresses compare case-insensitively, so the
    /// stored form is lower case.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("e-mail address is empty".into());
        }
        if s.len() > 254 {
            return Err("e-mail address is too long".into());
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("e-mail address has no @".into());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
            && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains(char::is_whitespace)
            && !local.chars().any(|c| c.is_control() || "<>()[]\\,;:\"@".contains(c));
        if !domain_ok || !local_ok {
            return Err("e-mail address is not valid".into());
        }
        Ok(Self(s))
    }

    /// Wraps a value that was parsed before (e.g. read back from the database).
    pub fn new_unchecked(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn normalises_and_validates() {
        assert_eq!(
            Email::parse("  Kari.Nordmann@HK.no ").map(|e| e.0),
            Ok("kari.nordmann@hk.no".into())
        );
        for bad in [
            "",
            "kari",
            "kari@",
            "@hk.no",
            "kari@hk",
            "ka ri@hk.no",
            "kari@hk..no",
            "<a>@hk.no",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
