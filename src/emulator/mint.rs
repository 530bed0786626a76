//! Minting HS256 tokens the emulator (and an API with the same `JWT_HS256_SECRET`) accepts,
//! and the backend tokens of the current generation's token exchange (contract §7.3).

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

/// Mints an HS256 JWT `{sub, iat, exp = now + ttl}`: what `toolbridge-mcp token` prints and
/// what tests send.
pub fn mint_hs256(secret: &str, sub: &str, ttl: Duration) -> String {
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    mint_hs256_with(
        secret,
        json!({ "sub": sub, "iat": now, "exp": now.saturating_add(ttl) }),
    )
}

/// Mints an HS256 JWT with exactly these claims (nothing added), for tests of bad tokens:
/// no `exp`, an `exp` in the past, no `sub`...
///
/// # Panics
/// Never for a JSON value: HS256 signing of serializable claims cannot fail.
pub fn mint_hs256_with(secret: &str, claims: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing of a JSON value cannot fail")
}

/// A backend token as `POST /auth/token-exchange` issues it: HS256 with the API's secret,
/// claims `sub`, `iss` `toolbridge-api`, `aud` (a string), `iat`, `nbf` (now),
/// `exp` (now + `ttl`), `token_type` `backend`, `exchanged_from` `mcp_oauth`. `None` when
/// the API has no secret to sign with.
pub(crate) fn issue_backend(
    secret: &str,
    sub: &str,
    audience: &str,
    ttl: Duration,
) -> Option<String> {
    if secret.is_empty() {
        return None;
    }
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let claims = json!({
        "sub": sub,
        "iss": super::auth::BACKEND_ISSUER,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(ttl),
        "token_type": "backend",
        "exchanged_from": "mcp_oauth",
    });
    Some(mint_hs256_with(secret, claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn claims_are_as_asked() {
        let t = mint_hs256("s", "alice", Duration::from_secs(90));
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["sub"], "alice");
        let exp = claims["exp"].as_i64().unwrap();
        assert_eq!(exp - claims["iat"].as_i64().unwrap(), 90);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "HS256");
    }
}
