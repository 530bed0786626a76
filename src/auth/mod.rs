//! The token check at the edge: the `Verifier` that decides whether a bearer token is good
//! enough to let a request reach the MCP server (and, through it, the API), and makes its
//! [`Caller`].
//!
//! - `verify` mode: HS256 with the shared secret and/or RS256 with the OIDC issuer's JWKS.
//!   The token's `alg` only selects among keys we hold, and each key type has exactly one
//!   algorithm: an HS256 token is never checked against RSA key bytes, an RS256 token never
//!   against the HMAC secret, `none` never passes. `exp` is required, `nbf` checked, `iss`
//!   and `aud` checked when configured; the leeway is capped at 60 s.
//! - `passthrough` mode: the API verifies; the gateway only reads a non-empty `sub` so a
//!   garbage token is refused before it costs an upstream request.
//! - In both modes a token that passed is kept, with the `Caller` it made, in a bounded
//!   cache keyed by the whole token (`token_cache`): a client sends the same token on every
//!   call, and until its `exp` (with the leeway), for 60 s at most, and while the issuer's
//!   key set stays the one it was checked under, checking it again gives the same answer.
//!   Refusals are never kept: a bad token is checked, and counted, every time.
//!
//! Layout: `token` (header, parts, claim rules), `token_cache` (the tokens that passed),
//! `jwks` (the key cache), `discovery` (the issuer's `jwks_uri`), `scopes` (which scope a
//! tool needs), `error`.

pub(crate) mod discovery;
mod error;
mod fetch;
pub mod jwks;
pub(crate) mod scopes;
pub(crate) mod token;
mod token_cache;

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

pub use error::AuthError;
use jwks::{JwksCache, JwksSource};
use token::{ClaimRules, Claimed, Claims};
use token_cache::TokenCache;

use crate::{
    call::{Caller, Scopes, UserKeyring},
    config::{AuthMode, Config},
};

/// Largest clock leeway honoured, whatever the configuration says.
pub(crate) const MAX_LEEWAY_SECONDS: u64 = 60;

/// The verifier could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The HTTP client for the JWKS could not be built.
    #[error("JWKS client: {0}")]
    Client(String),
}

/// Checks bearer tokens. Built once from the config; cheap to clone.
#[derive(Clone)]
pub(crate) struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    mode: AuthMode,
    required: bool,
    hs256: Option<DecodingKey>,
    jwks: Option<JwksCache>,
    /// Accepted `iss` values: the configured issuer with and without its trailing slash
    /// (Auth0 writes `https://x/`; operators often configure `https://x`).
    issuers: Vec<String>,
    /// Accepted `aud` values (empty: `aud` is not checked): [`audiences`].
    audiences: Vec<String>,
    /// `TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER`: RS256 tokens from `issuers` may carry
    /// any `aud`.
    any_audience_from_issuer: bool,
    leeway: u64,
    /// Turns a token's `sub` into the caller's user key.
    user_keys: UserKeyring,
    /// The tokens that passed, with the callers they made.
    passed: TokenCache,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("mode", &self.inner.mode)
            .field("required", &self.inner.required)
            .field("hs256", &self.inner.hs256.is_some())
            .field("jwks", &self.inner.jwks.is_some())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Builds the verifier. No network: the JWKS is fetched on first use.
    pub(crate) fn new(cfg: &Config) -> Result<Self, SetupError> {
        let mode = cfg.effective_auth_mode();
        let hs256 = (!cfg.jwt_hs256_secret.is_empty())
            .then(|| DecodingKey::from_secret(cfg.jwt_hs256_secret.expose().as_bytes()));
        // The explicit URL wins; else the issuer's metadata says where its keys are.
        let source = match (&cfg.jwks_url, &cfg.oidc_issuer) {
            (Some(url), _) => Some(JwksSource::Url(url.clone())),
            (None, Some(iss)) => Some(JwksSource::Issuer(iss.url().clone())),
            (None, None) => None,
        };
        let jwks = match source {
            Some(source) if mode == AuthMode::Verify => {
                let client = jwks_client(cfg).map_err(|e| SetupError::Client(e.to_string()))?;
                let every = cfg.jwks_refresh_interval;
                Some(JwksCache::new(source, client, every))
            }
            _ => None,
        };
        if cfg.accept_any_audience_from_issuer && mode == AuthMode::Verify {
            tracing::warn!(
                issuer = cfg.oidc_issuer.as_ref().map_or("", |i| i.as_str()),
                "TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER is on: RS256 tokens from this issuer \
                 are accepted whatever their `aud` (signature, iss and exp still checked)"
            );
        }
        let issuers = cfg
            .oidc_issuer
            .iter()
            .flat_map(|i| {
                let bare = i.as_str().trim_end_matches('/');
                [bare.to_owned(), format!("{bare}/")]
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                mode,
                required: cfg.effective_auth_required(),
                hs256,
                jwks,
                issuers,
                audiences: audiences(cfg),
                any_audience_from_issuer: cfg.accept_any_audience_from_issuer,
                leeway: cfg.jwt_leeway.as_secs().min(MAX_LEEWAY_SECONDS),
                user_keys: UserKeyring::new(cfg),
                passed: TokenCache::new(),
            }),
        })
    }

    /// Whether a request without a token is refused.
    pub(crate) fn required(&self) -> bool {
        self.inner.required
    }

    /// The mode in effect.
    pub(crate) fn mode(&self) -> AuthMode {
        self.inner.mode
    }

    /// The token check: the [`Caller`] of `token` (the part after `Bearer `), the one value
    /// every later stage of the request borrows. The same token passed a moment ago gets
    /// the same caller from the cache of passed tokens (`token_cache`); any other runs the
    /// full check. A failure is counted in `toolbridge_auth_failures_total`.
    pub(crate) async fn caller(&self, token: &str) -> Result<Caller, AuthError> {
        let inner = &*self.inner;
        // Read before the check: a JWKS refresh during it counts against its answer.
        let key_set = inner.jwks.as_ref().map_or(0, JwksCache::generation);
        // No lock is held past this line: the await below never sees the cache's.
        if let Some(caller) = inner.passed.get(token, key_set) {
            return Ok(caller);
        }
        let claimed = self.verify(token).await?;
        let user = inner.user_keys.key(&claimed.sub);
        // A token that passed `token::split` is base64url and dots: always a header value.
        let caller = Caller::checked(token, user, claimed.scopes).ok_or_else(|| {
            let e = AuthError::Malformed;
            e.record();
            e
        })?;
        // Until when the check would pass it again: in `verify` mode, its `exp` under the
        // leeway `verify_signed` gives the library (a fractional `exp`, which the library
        // rounds, is not kept: such a token is checked every time); `passthrough` never
        // reads time, and its check is a parse worth skipping too (a forged token is only
        // ever its own entry: the key is the whole token). Either way, the cache's
        // `MAX_AGE` at most.
        let valid_through = match inner.mode {
            AuthMode::Verify => claimed.exp.map(|exp| exp.saturating_add(inner.leeway)),
            AuthMode::Passthrough => Some(u64::MAX),
        };
        if let Some(valid_through) = valid_through {
            inner
                .passed
                .remember(token, &caller, valid_through, key_set);
        }
        Ok(caller)
    }

    /// Checks `token` (the part after `Bearer `): what it claims. A failure is counted in
    /// `toolbridge_auth_failures_total`.
    pub(crate) async fn verify(&self, token: &str) -> Result<Claimed, AuthError> {
        let result = match self.inner.mode {
            AuthMode::Verify => self.verify_signed(token).await,
            AuthMode::Passthrough => passthrough(token),
        };
        if let Err(e) = &result {
            e.record();
        }
        result
    }

    async fn verify_signed(&self, token: &str) -> Result<Claimed, AuthError> {
        let inner = &*self.inner;
        let parts = token::split(token)?;
        // The allow-list: one algorithm per key type, and only for keys we hold.
        let (alg, key) = match parts.header.alg.as_str() {
            "HS256" => {
                let key = inner.hs256.clone().ok_or(AuthError::AlgNotAllowed)?;
                (Algorithm::HS256, Arc::new(key))
            }
            "RS256" => {
                let jwks = inner.jwks.as_ref().ok_or(AuthError::AlgNotAllowed)?;
                let kid = parts.header.kid.as_deref().filter(|k| !k.is_empty());
                let kid = kid.ok_or(AuthError::MissingKid)?;
                let key = jwks.key(kid).await.ok_or(AuthError::UnknownKid)?;
                (Algorithm::RS256, key)
            }
            _ => return Err(AuthError::AlgNotAllowed),
        };
        let mut validation = Validation::new(alg);
        // Presence and types are checked by `Claims::check`, precisely; the library checks
        // the signature, the times, and iss/aud values when present.
        validation.required_spec_claims.clear();
        validation.leeway = inner.leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        if !inner.issuers.is_empty() {
            validation.set_issuer(&inner.issuers);
        }
        // The opt-in covers the issuer's own (RS256) tokens only, never HS256 ones.
        let any_audience = inner.any_audience_from_issuer && alg == Algorithm::RS256;
        if inner.audiences.is_empty() || any_audience {
            // `Claims::check` decides; the library would refuse any token that has an `aud`.
            validation.validate_aud = false;
        } else {
            validation.set_audience(&inner.audiences);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)?;
        data.claims.check(&ClaimRules {
            issuers: &inner.issuers,
            // The issuer's own (RS256) tokens must name it; HS256 tokens come from whoever
            // holds the shared secret (dev tooling) and are only checked when they carry one.
            // With any audience accepted, `iss` is all that ties the token to us: required.
            require_iss: alg == Algorithm::RS256 && !inner.issuers.is_empty(),
            audiences: if any_audience { &[] } else { &inner.audiences },
            require_exp: true,
        })
    }
}

/// The `aud` values accepted: `TOOLBRIDGE_JWT_AUDIENCE`, and when that names the `/mcp`
/// resource, its origin too. The root metadata document (`/.well-known/oauth-protected-resource`)
/// names the origin as the resource (RFC 9728 section 3.3: the resource the metadata URL
/// was built from), so a client that found that document asks its authorization server for
/// a token for the origin; both documents describe this one gateway, so both audiences are
/// its own. An audience that names anything else (the API, a client id) gets no sibling.
fn audiences(cfg: &Config) -> Vec<String> {
    let Some(aud) = cfg.jwt_audience.as_deref() else {
        return Vec::new();
    };
    let mut out = vec![aud.to_owned()];
    let names_mcp = |url: &reqwest::Url| url.path().trim_end_matches('/') == "/mcp";
    let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    if let Ok(url) = reqwest::Url::parse(aud) {
        let is_resource = match &cfg.public_url {
            Some(public) => same(public.as_str(), aud),
            None => names_mcp(&url),
        };
        if is_resource && matches!(url.scheme(), "http" | "https") {
            out.push(url.origin().ascii_serialization());
        }
    }
    out
}

/// The JWKS fetcher's client: the gateway's transport settings (ring TLS, no proxy from
/// the environment, no redirects) within the JWKS fetch timeout.
fn jwks_client(cfg: &Config) -> reqwest::Result<reqwest::Client> {
    crate::upstream::client_builder(cfg)
        .connect_timeout(cfg.connect_timeout.min(jwks::FETCH_TIMEOUT))
        .timeout(jwks::FETCH_TIMEOUT)
        .build()
}

/// Passthrough: a well-formed JWS with a non-empty string `sub`; nothing verified.
fn passthrough(token: &str) -> Result<Claimed, AuthError> {
    let parts = token::split(token)?;
    let mut claims = token::unverified_claims(parts.payload)?;
    Ok(Claimed {
        sub: token::subject(claims.remove("sub"))?,
        scopes: Scopes::from_claims(claims.get("scope"), claims.get("scp")),
        exp: None,
    })
}

#[cfg(test)]
mod tests;
