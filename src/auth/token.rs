//! Taking a token apart before any key is involved: the `Authorization` header, the three
//! base64url parts, the JOSE header, and the claims checks the library leaves to us.
//!
//! The structure is checked here, not only inside jsonwebtoken, so every refusal gets a
//! precise reason and so the `alg` and `kid` can pick the key (never the other way round).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderMap, header};
use serde::Deserialize;
use serde_json::Value;

use super::AuthError;
use crate::call::Scopes;

/// What a checked token says about its holder: the verifier's step on the way to a
/// [`crate::call::Caller`], where the `sub` becomes the user key and goes no further.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claimed {
    /// The token's `sub` claim (verified in `verify` mode, only decoded in `passthrough`).
    pub(crate) sub: String,
    /// Its `scope`/`scp` claims (likewise; in `passthrough` the API sees the same token,
    /// so a forged scope claim fails there with the signature).
    pub(crate) scopes: Scopes,
    /// Its `exp` in whole seconds, as the check that passed it read it: `verify` mode and
    /// an integer `exp`. `None` in `passthrough` (nothing there looks at time) or for a
    /// fractional `exp`. How long the token cache may keep the answer.
    pub(crate) exp: Option<u64>,
}

/// Longest token accepted. Real ones are 1–4 KiB; this bounds the decoding work an
/// anonymous client can cause.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What the `Authorization` header holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credential<'a> {
    /// No header, or an empty one, or `Bearer` with nothing after it.
    Absent,
    /// `Bearer <token>` (scheme case-insensitive, RFC 7235).
    Bearer(&'a str),
}

/// Reads the one `Authorization` header. Two headers, another scheme, or a token with
/// inner whitespace are refused rather than guessed at.
pub(crate) fn credential(headers: &HeaderMap) -> Result<Credential<'_>, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(Credential::Absent);
    };
    if values.next().is_some() {
        return Err(AuthError::BadScheme);
    }
    let value = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
    if value.is_empty() {
        return Ok(Credential::Absent);
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::BadScheme);
    }
    let token = rest.trim();
    if token.is_empty() {
        return Ok(Credential::Absent);
    }
    // `to_str` let through visible ASCII and spaces only, so a byte test is the whole test.
    if token.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(AuthError::Malformed);
    }
    Ok(Credential::Bearer(token))
}

/// True when the query string carries a token (`access_token` or `token`), which is refused
/// even when it is also valid: URLs are logged by proxies and browsers.
pub(crate) fn token_in_query(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|pair| {
            let name = pair.split_once('=').map_or(pair, |(k, _)| k);
            name.eq_ignore_ascii_case("access_token") || name.eq_ignore_ascii_case("token")
        })
    })
}

/// The JOSE header fields the verifier uses.
#[derive(Debug, Deserialize)]
pub(crate) struct JoseHeader {
    /// The algorithm the token claims; only picks among keys we already trust.
    pub(crate) alg: String,
    /// The key id; used only as a lookup key into the JWKS.
    #[serde(default)]
    pub(crate) kid: Option<String>,
    /// Critical extensions: we implement none, so any is a refusal (RFC 7515 §4.1.11).
    #[serde(default)]
    pub(crate) crit: Option<Value>,
}

/// The three parts of a compact JWS, checked for shape: exactly three non-empty
/// base64url parts (no padding), within [`MAX_TOKEN_LEN`].
pub(crate) struct Parts<'a> {
    /// The JOSE header, decoded.
    pub(crate) header: JoseHeader,
    /// The claims part, still encoded.
    pub(crate) payload: &'a str,
}

/// Splits and decodes the header of `token`.
pub(crate) fn split(token: &str) -> Result<Parts<'_>, AuthError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(AuthError::Malformed);
    }
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(AuthError::Malformed);
    };
    let b64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if h.is_empty() || p.is_empty() || !b64url(h) || !b64url(p) || !b64url(s) {
        return Err(AuthError::Malformed);
    }
    let raw = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| AuthError::Malformed)?;
    let header: JoseHeader = serde_json::from_slice(&raw).map_err(|_| AuthError::Malformed)?;
    if header.crit.is_some() {
        return Err(AuthError::Malformed);
    }
    Ok(Parts { header, payload: p })
}

/// Decodes the claims part as a JSON object, without verifying anything (passthrough mode,
/// where the API verifies).
pub(crate) fn unverified_claims(
    payload: &str,
) -> Result<serde_json::Map<String, Value>, AuthError> {
    let raw = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AuthError::Malformed)?;
    match serde_json::from_slice(&raw) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(AuthError::Malformed),
    }
}

/// The claims the verifier checks itself after the library has verified the signature
/// and the times: presence and type, which the library only checks when told to and then
/// reports less precisely.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Claims {
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default)]
    exp: Option<Value>,
    #[serde(default)]
    iss: Option<Value>,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    scp: Option<Value>,
}

/// What a verified token must also satisfy.
pub(crate) struct ClaimRules<'a> {
    /// Accepted `iss` values (empty: any).
    pub(crate) issuers: &'a [String],
    /// Whether `iss` must be present.
    pub(crate) require_iss: bool,
    /// The accepted audiences (empty: `aud` is not checked); a token must name one.
    pub(crate) audiences: &'a [String],
    /// Whether `exp` must be present (always, when verifying).
    pub(crate) require_exp: bool,
}

impl Claims {
    /// Applies `rules` and returns the caller: its subject and scopes.
    pub(crate) fn check(self, rules: &ClaimRules<'_>) -> Result<Claimed, AuthError> {
        if rules.require_exp {
            match self.exp {
                None => return Err(AuthError::MissingClaim("exp")),
                Some(Value::Number(_)) => {}
                Some(_) => return Err(AuthError::InvalidClaim("exp")),
            }
        }
        match (&self.iss, rules.issuers.is_empty()) {
            (None, _) if rules.require_iss => return Err(AuthError::MissingClaim("iss")),
            (None, _) | (Some(_), true) => {}
            (Some(Value::String(iss)), false) if rules.issuers.contains(iss) => {}
            (Some(Value::String(_)), false) => return Err(AuthError::BadIssuer),
            (Some(_), false) => return Err(AuthError::InvalidClaim("iss")),
        }
        if !rules.audiences.is_empty() {
            let want = |a: &str| rules.audiences.iter().any(|w| w == a);
            let ok = match &self.aud {
                None => return Err(AuthError::MissingClaim("aud")),
                Some(Value::String(a)) => want(a),
                Some(Value::Array(list)) => list.iter().any(|a| a.as_str().is_some_and(want)),
                Some(_) => return Err(AuthError::InvalidClaim("aud")),
            };
            if !ok {
                return Err(AuthError::BadAudience);
            }
        }
        Ok(Claimed {
            exp: self.exp.as_ref().and_then(Value::as_u64),
            sub: subject(self.sub)?,
            scopes: Scopes::from_claims(self.scope.as_ref(), self.scp.as_ref()),
        })
    }
}

/// The `sub` claim as a non-empty string.
pub(crate) fn subject(sub: Option<Value>) -> Result<String, AuthError> {
    match sub {
        None | Some(Value::Null) => Err(AuthError::MissingClaim("sub")),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(AuthError::InvalidClaim("sub")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_the_bearer_credential() {
        assert_eq!(credential(&headers(&[])), Ok(Credential::Absent));
        assert_eq!(credential(&headers(&[""])), Ok(Credential::Absent));
        assert_eq!(credential(&headers(&["Bearer "])), Ok(Credential::Absent));
        assert_eq!(
            credential(&headers(&["bearer a.b.c"])),
            Ok(Credential::Bearer("a.b.c"))
        );
        assert_eq!(
            credential(&headers(&["Basic dXNlcjpwYXNz"])),
            Err(AuthError::BadScheme)
        );
        assert_eq!(
            credential(&headers(&["Bearer a b"])),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            credential(&headers(&["Bearer x", "Bearer y"])),
            Err(AuthError::BadScheme)
        );
    }

    #[test]
    fn finds_tokens_in_queries() {
        assert!(token_in_query(Some("access_token=x")));
        assert!(token_in_query(Some("a=1&TOKEN=x")));
        assert!(token_in_query(Some("token")));
        assert!(!token_in_query(Some("tokens=1&x=access_token")));
        assert!(!token_in_query(None));
    }

    #[test]
    fn splits_only_well_formed_tokens() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"k"}"#);
        let ok = format!("{h}.e30.c2ln");
        assert_eq!(split(&ok).unwrap().header.kid.as_deref(), Some("k"));
        for bad in [
            String::new(),
            "a.b".into(),
            "..".into(),
            format!("{h}.e30.c2ln.x"),
            format!("{h}.e3=.c2ln"),
            format!("{h}.e30.c2+n"),
            "bm90IGpzb24.e30.c2ln".into(),
            format!(
                "{}.e30.c2ln",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","crit":["b64"]}"#)
            ),
            format!("{h}.{}.c2ln", "A".repeat(MAX_TOKEN_LEN)),
        ] {
            assert!(split(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn claim_rules() {
        let rules = ClaimRules {
            issuers: &["https://idp/".to_owned()],
            require_iss: true,
            audiences: &["api".to_owned()],
            require_exp: true,
        };
        let check =
            |v: serde_json::Value| serde_json::from_value::<Claims>(v).unwrap().check(&rules);
        let good =
            serde_json::json!({"sub": "u", "exp": 1, "iss": "https://idp/", "aud": ["x", "api"]});
        assert_eq!(check(good.clone()).map(|i| i.sub), Ok("u".into()));
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            check(c)
        };
        assert_eq!(with("exp", "1".into()), Err(AuthError::InvalidClaim("exp")));
        assert_eq!(
            with("iss", "https://evil/".into()),
            Err(AuthError::BadIssuer)
        );
        assert_eq!(
            with("iss", Value::Null),
            Err(AuthError::MissingClaim("iss"))
        );
        assert_eq!(with("aud", "other".into()), Err(AuthError::BadAudience));
        assert_eq!(with("aud", 5.into()), Err(AuthError::InvalidClaim("aud")));
        assert_eq!(
            with("aud", Value::Null),
            Err(AuthError::MissingClaim("aud"))
        );
        assert_eq!(with("sub", "".into()), Err(AuthError::InvalidClaim("sub")));
        assert_eq!(with("sub", 7.into()), Err(AuthError::InvalidClaim("sub")));
        assert_eq!(
            with("sub", Value::Null),
            Err(AuthError::MissingClaim("sub"))
        );
    }
}
