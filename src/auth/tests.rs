//! Unit checks of the verifier without a network (HS256 and passthrough); the JWKS path and
//! the HTTP answers are covered by `tests/inproc/auth_tokens.rs` and `tests/inproc/auth_jwks.rs`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::*;
use crate::{emulator::mint_hs256_with, secret::Secret};

const SECRET: &str = "unit-test-secret";

fn config(tweak: impl FnOnce(&mut Config)) -> Config {
    let mut cfg = Config {
        jwt_hs256_secret: Secret::new(SECRET),
        ..Config::default()
    };
    tweak(&mut cfg);
    cfg
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn unsigned(header: Value, claims: Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", enc(&header), enc(&claims))
}

async fn check(cfg: &Config, token: &str) -> Result<Claimed, AuthError> {
    Verifier::new(cfg).unwrap().verify(token).await
}

#[tokio::test]
async fn hs256_happy_path_and_claim_failures() {
    let cfg = config(|c| c.jwt_audience = Some("toolbridge".into()));
    let good = json!({"sub": "alice", "exp": now() + 60, "aud": "toolbridge"});
    let t = mint_hs256_with(SECRET, good.clone());
    assert_eq!(check(&cfg, &t).await.unwrap().sub, "alice");

    let cases = [
        (json!({"exp": now() - 120}), AuthError::Expired),
        (json!({"nbf": now() + 120}), AuthError::NotYetValid),
        (json!({"aud": "other"}), AuthError::BadAudience),
        (json!({"aud": null}), AuthError::MissingClaim("aud")),
        (json!({"exp": null}), AuthError::MissingClaim("exp")),
        (json!({"exp": "9999999999"}), AuthError::InvalidClaim("exp")),
        (json!({"exp": -5}), AuthError::InvalidClaim("exp")),
        (json!({"sub": null}), AuthError::MissingClaim("sub")),
        (json!({"sub": 42}), AuthError::InvalidClaim("sub")),
    ];
    for (patch, want) in cases {
        let mut claims = good.clone();
        // `null` in the patch removes the claim.
        for (k, v) in patch.as_object().unwrap() {
            match v {
                Value::Null => drop(claims.as_object_mut().unwrap().remove(k)),
                v => claims[k] = v.clone(),
            }
        }
        let t = mint_hs256_with(SECRET, claims.clone());
        assert_eq!(check(&cfg, &t).await, Err(want), "{claims}");
    }
}

#[tokio::test]
async fn leeway_is_capped_at_sixty_seconds() {
    let cfg = config(|c| c.jwt_leeway = std::time::Duration::from_secs(3600));
    let t = mint_hs256_with(SECRET, json!({"sub": "a", "exp": now() - 90}));
    assert_eq!(check(&cfg, &t).await, Err(AuthError::Expired));
    let t = mint_hs256_with(SECRET, json!({"sub": "a", "exp": now() - 30}));
    assert!(check(&cfg, &t).await.is_ok());
}

#[tokio::test]
async fn algorithms_are_allow_listed_per_key() {
    let claims = json!({"sub": "a", "exp": now() + 60});
    let hs_only = config(|_| {});
    for alg in ["none", "None", "HS384", "HS512", "RS256", "ES256", "PS256"] {
        let t = unsigned(json!({"alg": alg, "kid": "k"}), claims.clone());
        assert_eq!(
            check(&hs_only, &t).await,
            Err(AuthError::AlgNotAllowed),
            "{alg}"
        );
    }
    // An issuer configured but no secret: HS256 has no key to be checked against.
    let rs_only = config(|c| {
        c.jwt_hs256_secret = Secret::default();
        c.oidc_issuer = Some("http://127.0.0.1:9/".parse().unwrap());
    });
    let t = mint_hs256_with(SECRET, claims);
    assert_eq!(check(&rs_only, &t).await, Err(AuthError::AlgNotAllowed));
}

#[tokio::test]
async fn passthrough_reads_sub_only() {
    let cfg = Config {
        auth_mode: Some(AuthMode::Passthrough),
        ..Config::default()
    };
    let t = mint_hs256_with("any-other-secret", json!({"sub": "bob"}));
    assert_eq!(check(&cfg, &t).await.unwrap().sub, "bob");
    let t = mint_hs256_with("x", json!({"name": "no sub"}));
    assert_eq!(check(&cfg, &t).await, Err(AuthError::MissingClaim("sub")));
    assert_eq!(check(&cfg, "a.b").await, Err(AuthError::Malformed));
}

#[test]
fn the_origin_is_an_audience_only_when_the_audience_names_the_mcp_resource() {
    let aud = |public: Option<&str>, aud: &str| {
        audiences(&config(|c| {
            c.public_url = public.map(|p| p.parse().unwrap());
            c.jwt_audience = Some(aud.into());
        }))
    };
    let mcp = "https://gw.example/mcp";
    assert_eq!(aud(Some(mcp), mcp), [mcp, "https://gw.example"]);
    assert_eq!(aud(None, mcp), [mcp, "https://gw.example"]);
    assert_eq!(
        aud(
            Some("https://gw.example:8443/mcp/"),
            "https://gw.example:8443/mcp"
        ),
        ["https://gw.example:8443/mcp", "https://gw.example:8443"]
    );
    // An audience that is not this gateway's resource gets no sibling.
    assert_eq!(
        aud(Some(mcp), "https://api.example"),
        ["https://api.example"]
    );
    assert_eq!(
        aud(None, "https://gw.example/other"),
        ["https://gw.example/other"]
    );
    assert_eq!(aud(None, "toolbridge"), ["toolbridge"]);
    assert!(audiences(&config(|_| {})).is_empty());
}

#[tokio::test]
async fn the_any_audience_opt_in_does_not_cover_hs256_tokens() {
    let cfg = config(|c| {
        c.jwt_audience = Some("https://gw.example/mcp".into());
        c.oidc_issuer = Some("https://issuer.example/".parse().unwrap());
        c.accept_any_audience_from_issuer = true;
    });
    let claims = json!({"sub": "a", "exp": now() + 60, "aud": "client_01X"});
    let t = mint_hs256_with(SECRET, claims);
    assert_eq!(check(&cfg, &t).await, Err(AuthError::BadAudience));
}

/// The cache of passed tokens (`token_cache`), through `Verifier::caller`. A hit is seen
/// as the very caller the first check made ([`Caller::same`]: nothing verified or built
/// again); a check that runs makes a new one.
mod passed_tokens {
    use std::time::Duration;

    use super::*;
    use crate::auth::token_cache::MAX_AGE;

    fn verifier(cfg: &Config) -> Verifier {
        Verifier::new(cfg).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_passed_token_is_answered_from_the_cache_until_its_max_age() {
        let v = verifier(&config(|_| {}));
        let claims = json!({"sub": "alice", "exp": now() + 3600, "scope": "notes.read"});
        let t = mint_hs256_with(SECRET, claims);
        let first = v.caller(&t).await.unwrap();
        let key = first.credential_key();
        let again = v.caller(&t).await.unwrap();
        assert!(again.same(&first));
        assert_eq!(again.credential_key(), key);
        assert!(again.scopes().has("notes.read"));

        tokio::time::advance(MAX_AGE - Duration::from_secs(1)).await;
        assert!(v.caller(&t).await.unwrap().same(&first));
        // Past its max age the token is checked again: a new caller, the same answer.
        tokio::time::advance(Duration::from_secs(2)).await;
        let rechecked = v.caller(&t).await.unwrap();
        assert!(!rechecked.same(&first));
        assert_eq!(rechecked.user(), first.user());
        assert_eq!(rechecked.scopes(), first.scopes());
        assert_eq!(rechecked.credential_key(), key);
        // ...and that answer is kept in turn.
        assert!(v.caller(&t).await.unwrap().same(&rechecked));
        assert_eq!(v.inner.passed.len(), 1);
    }

    /// The check reads `exp` on the wall clock (jsonwebtoken's), which no test can move
    /// without waiting; so the entry is stored as `caller` stores one after a pass, for a
    /// token whose `exp` (plus the leeway) is already behind: the hit must drop it, and the
    /// full check then refuses the token exactly as without an entry.
    #[tokio::test]
    async fn an_expired_token_with_an_entry_is_refused_as_one_without() {
        let cfg = config(|_| {});
        let v = verifier(&cfg);
        let exp = now() - 120;
        let t = mint_hs256_with(SECRET, json!({"sub": "alice", "exp": exp}));
        let uncached = verifier(&cfg).caller(&t).await.unwrap_err();
        assert_eq!(uncached, AuthError::Expired);

        let user = v.inner.user_keys.key("alice");
        let stale = Caller::checked(&t, user, Scopes::default()).unwrap();
        let valid_through = u64::try_from(exp).unwrap() + v.inner.leeway;
        v.inner.passed.remember(&t, &stale, valid_through, 0);
        assert_eq!(v.inner.passed.len(), 1);
        assert_eq!(v.caller(&t).await.unwrap_err(), uncached);
        assert_eq!(v.inner.passed.len(), 0, "the stale entry is dropped");

        // The same rule on a token the check still passes: an entry whose time is over is
        // not served (a new caller comes from the full check), one whose time is not is.
        let good = mint_hs256_with(SECRET, json!({"sub": "alice", "exp": now() + 3600}));
        let behind = u64::try_from(now()).unwrap() - 1;
        v.inner.passed.remember(&good, &stale, behind, 0);
        assert!(!v.caller(&good).await.unwrap().same(&stale));
        v.inner.passed.remember(&good, &stale, behind + 3600, 0);
        assert!(v.caller(&good).await.unwrap().same(&stale));
    }

    /// A token within the leeway passes and is kept: the entry's time is `exp` plus the
    /// leeway, as the check's.
    #[tokio::test]
    async fn a_token_within_the_leeway_is_kept() {
        let v = verifier(&config(|c| c.jwt_leeway = Duration::from_secs(60)));
        let t = mint_hs256_with(SECRET, json!({"sub": "alice", "exp": now() - 30}));
        let first = v.caller(&t).await.unwrap();
        assert!(v.caller(&t).await.unwrap().same(&first));
    }

    #[tokio::test]
    async fn each_token_of_a_user_is_its_own_entry() {
        let v = verifier(&config(|_| {}));
        let one = mint_hs256_with(SECRET, json!({"sub": "alice", "exp": now() + 3600}));
        let two = mint_hs256_with(
            SECRET,
            json!({"sub": "alice", "exp": now() + 3601, "scope": "notes.write"}),
        );
        let (a1, a2) = (v.caller(&one).await.unwrap(), v.caller(&two).await.unwrap());
        assert_eq!(a1.user(), a2.user());
        assert_ne!(a1.credential_key(), a2.credential_key());
        assert_eq!(v.inner.passed.len(), 2);
        assert!(v.caller(&one).await.unwrap().same(&a1));
        let again = v.caller(&two).await.unwrap();
        assert!(again.same(&a2));
        assert!(again.scopes().has("notes.write") && !a1.scopes().has("notes.write"));
    }

    /// Only passes are kept, and only the exact token: the same header and claims with
    /// another signature are checked (and refused), not served from the good token's entry.
    #[tokio::test]
    async fn refused_tokens_are_checked_every_time() {
        let v = verifier(&config(|_| {}));
        let good = mint_hs256_with(SECRET, json!({"sub": "alice", "exp": now() + 3600}));
        v.caller(&good).await.unwrap();
        let (signed, _) = good.rsplit_once('.').unwrap();
        let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
        for _ in 0..2 {
            assert_eq!(
                v.caller(&forged).await.unwrap_err(),
                AuthError::BadSignature
            );
        }
        let expired = mint_hs256_with(SECRET, json!({"sub": "alice", "exp": now() - 120}));
        assert_eq!(v.caller(&expired).await.unwrap_err(), AuthError::Expired);
        assert_eq!(v.inner.passed.len(), 1);
    }

    /// Passthrough keeps its answers too (the whole token is the key, so a forged token
    /// only ever reaches its own entry).
    #[tokio::test]
    async fn passthrough_keeps_its_answers() {
        let v = verifier(&Config {
            auth_mode: Some(AuthMode::Passthrough),
            ..Config::default()
        });
        let t = mint_hs256_with("any", json!({"sub": "bob"}));
        let first = v.caller(&t).await.unwrap();
        assert!(v.caller(&t).await.unwrap().same(&first));
        let other = mint_hs256_with("other", json!({"sub": "bob"}));
        assert!(!v.caller(&other).await.unwrap().same(&first));
    }

    /// Not a test: ns per `caller()` for a hit, a miss (a new token each time, through a
    /// full cache) and the check alone (`verify` and the user key, the path before the
    /// cache). Release numbers:
    /// `cargo test --release --lib auth::tests::passed_tokens::cost -- --ignored --nocapture`
    #[tokio::test]
    #[ignore]
    async fn cost() {
        let v = verifier(&config(|_| {}));
        let n = 20_000;
        let tokens: Vec<String> = (0..n)
            .map(|i| {
                let claims = json!({"sub": format!("user-{i}"), "exp": now() + 3600,
                    "iss": "https://issuer.example/", "scope": "notes.read notes.write"});
                mint_hs256_with(SECRET, claims)
            })
            .collect();
        let per = |start: std::time::Instant| start.elapsed().as_nanos() / n as u128;

        let start = std::time::Instant::now();
        for t in &tokens {
            let claimed = v.verify(t).await.unwrap();
            std::hint::black_box(v.inner.user_keys.key(&claimed.sub));
        }
        let check = per(start);
        let start = std::time::Instant::now();
        for t in &tokens {
            std::hint::black_box(v.caller(t).await.unwrap());
        }
        let miss = per(start);
        let hot = &tokens[n - 1];
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(v.caller(hot).await.unwrap());
        }
        let hit = per(start);
        println!(
            "token {} bytes: check alone {check} ns, caller() miss {miss} ns, hit {hit} ns",
            hot.len()
        );
    }
}
