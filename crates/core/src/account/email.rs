//! E-mail addresses: trimmed, lower-cased, the domain in its IDNA ASCII form
//! (UTS #46, so `kari@blåbær.no` and `kari@xn--blbr-roah.no` are one
//! address), checked for a plausible shape.

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
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("e-mail address has no @".into());
        };
        let domain = if domain.is_ascii() {
            domain.to_owned()
        } else {
            idna::domain_to_ascii_strict(domain).map_err(|_| "e-mail address has an invalid domain name".to_owned())?
        };
        let s = format!("{local}@{domain}");
        if s.len() > 254 {
            return Err("e-mail address is too long".into());
        }
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
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
        // IDNA: the Unicode and the ASCII spelling of a domain are one address.
        let unicode = Email::parse("Kari@Blåbær.no").unwrap();
        assert_eq!(unicode.as_str(), "kari@xn--blbr-roah.no");
        assert_eq!(Email::parse("kari@xn--blbr-roah.no").unwrap(), unicode);
        for bad in [
            "",
            "kari",
            "kari@",
            "@hk.no",
            "kari@hk",
            "ka ri@hk.no",
            "kari@hk..no",
            "<a>@hk.no",
            "kari@hk_no.no",
            "kari@a\u{2028}b.no",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
