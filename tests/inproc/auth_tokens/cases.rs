//! The bad-token table: which token, against which gateway, refused for which reason.

use base64::Engine;
use jsonwebtoken::{Algorithm, Header};
use serde_json::json;
use toolbridge_mcp::{auth::AuthError as E, emulator::mint_hs256_with};

use super::{B64, JWT_SECRET, RsaKey, b64, claims, fixture, hs, now, unsigned, with};

/// Which gateway a case runs against.
#[derive(Clone, Copy, Debug)]
pub enum Gw {
    /// HS256 secret and the issuer's JWKS, audience and issuer required.
    Full,
    /// HS256 secret only.
    HsOnly,
    /// The issuer's JWKS only.
    RsOnly,
}

pub struct Case {
    pub name: &'static str,
    pub gw: Gw,
    /// Extra request headers (the Authorization header, usually).
    pub headers: Vec<(&'static str, String)>,
    /// Query string appended to `/mcp`.
    pub query: &'static str,
    pub want: E,
}

fn bearer(name: &'static str, gw: Gw, token: String, want: E) -> Case {
    Case {
        name,
        gw,
        headers: vec![("authorization", format!("Bearer {token}"))],
        query: "",
        want,
    }
}

pub fn cases(iss: &str) -> Vec<Case> {
    let (a, b, c) = (RsaKey::load("a"), RsaKey::load("b"), RsaKey::load("c"));
    let good = claims(iss);
    let good_hs = hs(&good);
    let t = now();
    // The RS256→HS256 confusion: the public key (PEM text) as an HMAC secret, with the
    // RSA key's kid, as an attacker who fetched the JWKS would do.
    let public_pem = String::from_utf8(fixture("jwt_rs256_a.pub.pem")).unwrap();
    let mut confused = Header::new(Algorithm::HS256);
    confused.kid = Some("key-a".into());
    let confused = jsonwebtoken::encode(
        &confused,
        &good,
        &jsonwebtoken::EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .unwrap();
    let mut jku = Header::new(Algorithm::RS256);
    jku.kid = Some("key-c".into());
    jku.jku = Some("http://127.0.0.1:9/evil-jwks.json".into());
    let mut embedded = Header::new(Algorithm::RS256);
    embedded.kid = Some("key-c".into());
    embedded.jwk = serde_json::from_value(c.jwk("key-c")).ok();
    let tampered = {
        let mut p: Vec<&str> = good_hs.split('.').collect();
        let evil = b64(&with(&good, json!({"sub": "mallory"})).to_string());
        p[1] = &evil;
        p.join(".")
    };
    let hs_alg = |alg| {
        let h = Header::new(alg);
        jsonwebtoken::encode(
            &h,
            &good,
            &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let rs_alg = |alg| {
        let mut h = Header::new(alg);
        h.kid = Some("key-a".into());
        a.sign(h, &good)
    };
    use Gw::*;
    vec![
        bearer(
            "expired beyond leeway",
            Full,
            hs(&with(&good, json!({"exp": t - 120}))),
            E::Expired,
        ),
        bearer(
            "expired RS256",
            Full,
            a.rs256("key-a", &with(&good, json!({"exp": t - 3600}))),
            E::Expired,
        ),
        bearer(
            "nbf in the future",
            Full,
            hs(&with(&good, json!({"nbf": t + 600}))),
            E::NotYetValid,
        ),
        bearer(
            "wrong secret",
            Full,
            mint_hs256_with("not-the-secret", good.clone()),
            E::BadSignature,
        ),
        bearer("tampered payload", Full, tampered, E::BadSignature),
        bearer(
            "signature stripped",
            Full,
            format!("{}.", good_hs.rsplit_once('.').unwrap().0),
            E::BadSignature,
        ),
        bearer(
            "alg none",
            Full,
            unsigned(r#"{"alg":"none","typ":"JWT"}"#, &good),
            E::AlgNotAllowed,
        ),
        bearer(
            "alg None",
            Full,
            unsigned(r#"{"alg":"None"}"#, &good),
            E::AlgNotAllowed,
        ),
        bearer(
            "alg missing",
            Full,
            unsigned(r#"{"typ":"JWT"}"#, &good),
            E::Malformed,
        ),
        bearer(
            "HS512 with the right secret",
            Full,
            hs_alg(Algorithm::HS512),
            E::AlgNotAllowed,
        ),
        bearer(
            "RS384 with a known key",
            Full,
            rs_alg(Algorithm::RS384),
            E::AlgNotAllowed,
        ),
        bearer(
            "PS256 with a known key",
            Full,
            rs_alg(Algorithm::PS256),
            E::AlgNotAllowed,
        ),
        bearer(
            "HS256 signed with the RSA public key",
            Full,
            confused.clone(),
            E::BadSignature,
        ),
        bearer(
            "HS256 signed with the RSA public key, no HS secret",
            RsOnly,
            confused,
            E::AlgNotAllowed,
        ),
        bearer(
            "RS256 token, no JWKS configured",
            HsOnly,
            a.rs256("key-a", &good),
            E::AlgNotAllowed,
        ),
        bearer(
            "RS256 signed by another key",
            Full,
            b.rs256("key-a", &good),
            E::BadSignature,
        ),
        bearer(
            "wrong aud",
            Full,
            hs(&with(&good, json!({"aud": "someone-else"}))),
            E::BadAudience,
        ),
        bearer(
            "aud list without us",
            Full,
            hs(&with(&good, json!({"aud": ["x", "y"]}))),
            E::BadAudience,
        ),
        bearer(
            "missing aud",
            Full,
            hs(&with(&good, json!({"aud": null}))),
            E::MissingClaim("aud"),
        ),
        bearer(
            "missing aud RS256",
            RsOnly,
            a.rs256("key-a", &with(&good, json!({"aud": null}))),
            E::MissingClaim("aud"),
        ),
        bearer(
            "wrong iss RS256",
            Full,
            a.rs256(
                "key-a",
                &with(&good, json!({"iss": "https://evil.example/"})),
            ),
            E::BadIssuer,
        ),
        bearer(
            "missing iss RS256",
            Full,
            a.rs256("key-a", &with(&good, json!({"iss": null}))),
            E::MissingClaim("iss"),
        ),
        bearer(
            "wrong iss HS256",
            Full,
            hs(&with(&good, json!({"iss": "https://evil.example/"}))),
            E::BadIssuer,
        ),
        bearer(
            "missing sub",
            Full,
            hs(&with(&good, json!({"sub": null}))),
            E::MissingClaim("sub"),
        ),
        bearer(
            "empty sub",
            Full,
            hs(&with(&good, json!({"sub": ""}))),
            E::InvalidClaim("sub"),
        ),
        bearer(
            "numeric sub",
            Full,
            hs(&with(&good, json!({"sub": 42}))),
            E::InvalidClaim("sub"),
        ),
        bearer(
            "missing exp",
            Full,
            hs(&with(&good, json!({"exp": null}))),
            E::MissingClaim("exp"),
        ),
        bearer(
            "exp as a string",
            Full,
            hs(&with(&good, json!({"exp": (t + 600).to_string()}))),
            E::InvalidClaim("exp"),
        ),
        bearer(
            "exp negative",
            Full,
            hs(&with(&good, json!({"exp": -1}))),
            E::InvalidClaim("exp"),
        ),
        bearer("unknown kid", Full, c.rs256("key-c", &good), E::UnknownKid),
        bearer(
            "kid path traversal",
            Full,
            c.rs256("../../etc/passwd", &good),
            E::UnknownKid,
        ),
        bearer(
            "missing kid",
            Full,
            a.sign(Header::new(Algorithm::RS256), &good),
            E::MissingKid,
        ),
        bearer(
            "jku to a foreign JWKS",
            Full,
            c.sign(jku, &good),
            E::UnknownKid,
        ),
        bearer("embedded jwk", Full, c.sign(embedded, &good), E::UnknownKid),
        bearer(
            "broken base64",
            Full,
            "eyJhbGciOiJIUzI1NiJ9!.e30.c2ln".into(),
            E::Malformed,
        ),
        bearer(
            "padded base64",
            Full,
            format!("{}=.e30.c2ln", b64(r#"{"alg":"HS256"}"#)),
            E::Malformed,
        ),
        bearer("two dots only", Full, "..".into(), E::Malformed),
        bearer("four parts", Full, format!("{good_hs}.x"), E::Malformed),
        bearer("not a JWT", Full, "hello".into(), E::Malformed),
        bearer(
            "garbage JSON header",
            Full,
            format!("{}.e30.c2ln", b64("{not json")),
            E::Malformed,
        ),
        bearer(
            "header is an array",
            Full,
            format!("{}.e30.c2ln", b64(r#"["HS256"]"#)),
            E::Malformed,
        ),
        bearer(
            "crit header",
            Full,
            unsigned(r#"{"alg":"HS256","crit":["exp"]}"#, &good),
            E::Malformed,
        ),
        bearer(
            "payload not JSON",
            Full,
            mint_like_hs("not json"),
            E::Malformed,
        ),
        bearer(
            "longer than 16 KiB",
            Full,
            hs(&with(&good, json!({"pad": "x".repeat(17_000)}))),
            E::Malformed,
        ),
        bearer(
            "token with a space",
            Full,
            format!("{} {}", &good_hs[..10], &good_hs[10..]),
            E::Malformed,
        ),
        bearer("empty bearer", Full, String::new(), E::MissingToken),
        Case {
            name: "no Authorization header",
            gw: Full,
            headers: vec![],
            query: "",
            want: E::MissingToken,
        },
        Case {
            name: "scheme Basic",
            gw: Full,
            headers: vec![("authorization", "Basic YWxpY2U6cHc=".into())],
            query: "",
            want: E::BadScheme,
        },
        Case {
            name: "scheme Token",
            gw: Full,
            headers: vec![("authorization", format!("Token {good_hs}"))],
            query: "",
            want: E::BadScheme,
        },
        Case {
            name: "token in ?access_token=",
            gw: Full,
            headers: vec![],
            query: "?access_token=VALID",
            want: E::TokenInQuery,
        },
        Case {
            name: "token in ?token= next to a valid header",
            gw: Full,
            headers: vec![("authorization", format!("Bearer {good_hs}"))],
            query: "?token=VALID",
            want: E::TokenInQuery,
        },
    ]
}

/// An HS256-signed token whose payload is `payload` verbatim (not JSON).
fn mint_like_hs(payload: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let signing = format!("{}.{}", b64(r#"{"alg":"HS256","typ":"JWT"}"#), b64(payload));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(JWT_SECRET.as_bytes()).unwrap();
    mac.update(signing.as_bytes());
    format!("{signing}.{}", B64.encode(mac.finalize().into_bytes()))
}
