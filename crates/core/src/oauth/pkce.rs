//! PKCE, RFC 7636. Only `S256` is accepted; `plain` is refused.

use crate::error::OAuthError;
use crate::secret::constant_time_eq;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

fn is_unreserved(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Validates `code_challenge` and `code_challenge_method` of an authorization request.
pub fn parse_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<Option<String>, OAuthError> {
    match (challenge, method) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (Some(_), Some(m)) if m != "S256" => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256; plain is not supported",
        )),
        // RFC 7636 §4.2: absent method means plain, which we refuse.
        (Some(_), None) => Err(OAuthError::invalid_request(
            "code_challenge_method is required and must be S256",
        )),
        (Some(c), Some(_)) => {
            // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters.
            if c.len() != 43 || !is_unreserved(c) {
                return Err(OAuthError::invalid_request("code_challenge is malformed"));
            }
            Ok(Some(c.to_owned()))
        }
    }
}

/// RFC 7636 §4.6: verifies `code_verifier` against the stored S256 challenge.
pub fn verify(challenge: &str, verifier: &str) -> bool {
    // §4.1: 43..=128 characters from the unreserved set.
    if !(43..=128).contains(&verifier.len()) || !is_unreserved(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    constant_time_eq(&computed, challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_matches_the_rfc_example() {
        assert!(verify(CHALLENGE, VERIFIER));
        assert!(!verify(CHALLENGE, &VERIFIER.replace('d', "e")));
    }

    #[test]
    fn plain_and_missing_method_are_refused() {
        assert!(parse_challenge(Some(CHALLENGE), Some("plain")).is_err());
        assert!(parse_challenge(Some(CHALLENGE), None).is_err());
        assert!(parse_challenge(None, Some("S256")).is_err());
        assert_eq!(
            parse_challenge(Some(CHALLENGE), Some("S256")).ok().flatten().as_deref(),
            Some(CHALLENGE)
        );
    }
}
