//! A JWT's claims read without checking the signature (the relying-party
//! tests check signatures with `openidconnect`).

use serde_json::Value;

pub fn decode_claims(jwt: &str) -> Value {
    decode_part(jwt, 1)
}

/// A JWT's JOSE header (`alg`, `kid`).
pub fn decode_header(jwt: &str) -> Value {
    decode_part(jwt, 0)
}

fn decode_part(jwt: &str, i: usize) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}
