//! [`AuthError`]: why a request's credentials were refused. One enum for the whole auth
//! boundary; [`AuthError::reason`] is the metric label, [`AuthError::description`] the short
//! text a client is shown. Neither ever contains the token or any part of it.

/// Why a bearer token (or its absence) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No bearer token, and the gateway requires one.
    #[error("a bearer token is required")]
    MissingToken,
    /// A token was sent in the query string (`?access_token=`, `?token=`): never accepted,
    /// because URLs end up in proxy and browser logs.
    #[error("tokens are accepted in the Authorization header only")]
    TokenInQuery,
    /// An `Authorization` header with another scheme than `Bearer`, or more than one header.
    #[error("the Authorization header must be a single Bearer credential")]
    BadScheme,
    /// Not a compact JWS: wrong number of parts, bad base64url, a header that is not JSON,
    /// an unsupported `crit` extension, a token too long.
    #[error("the token is malformed")]
    Malformed,
    /// The `alg` is not allowed for any configured key (`none`, HS384, RS256 without a
    /// JWKS, HS256 without a secret...).
    #[error("the token's algorithm is not accepted")]
    AlgNotAllowed,
    /// An RS256 token without a `kid`.
    #[error("the token has no key id")]
    MissingKid,
    /// No key with this `kid`, even after a JWKS refresh (or a refresh was not yet allowed).
    #[error("the token's key id is unknown")]
    UnknownKid,
    /// The signature does not verify with the key.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` is past, beyond the leeway.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `aud` does not name this resource.
    #[error("the token was not issued for this resource")]
    BadAudience,
    /// `iss` is not the configured issuer.
    #[error("the token's issuer is not accepted")]
    BadIssuer,
    /// A required claim is absent (`exp`, `sub`, `aud` when an audience is configured,
    /// `iss` on an issuer's token).
    #[error("the token lacks the {0} claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type (`exp` as a string, `sub` as a number...).
    #[error("the token's {0} claim is invalid")]
    InvalidClaim(&'static str),
}

impl AuthError {
    /// The metric label (`toolbridge_auth_failures_total{reason=...}`).
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::TokenInQuery => "token_in_query",
            Self::BadScheme => "bad_scheme",
            Self::Malformed => "malformed",
            Self::AlgNotAllowed => "alg_not_allowed",
            Self::MissingKid => "missing_kid",
            Self::UnknownKid => "unknown_kid",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::BadAudience => "bad_audience",
            Self::BadIssuer => "bad_issuer",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim(_) => "invalid_claim",
        }
    }

    /// True when the client offered a credential (RFC 6750: then `error="invalid_token"`
    /// is added to the challenge; a request without credentials gets no error code).
    pub fn token_given(&self) -> bool {
        !matches!(self, Self::MissingToken | Self::BadScheme)
    }

    /// A short text for the client: the `Display` form, which is built from static
    /// strings and claim names only, so it can go into a quoted header parameter.
    pub fn description(&self) -> String {
        self.to_string()
    }

    /// Counts this failure in `toolbridge_auth_failures_total`.
    pub(crate) fn record(&self) {
        metrics::counter!(crate::telemetry::names::AUTH_FAILURES, "reason" => self.reason())
            .increment(1);
    }
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    /// Maps the library's verdict. Claim presence and types are checked by the verifier
    /// itself, so the `MissingRequiredClaim` arm only guards against a future change.
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::InvalidSignature
            | K::InvalidRsaKey(_)
            | K::InvalidEcdsaKey
            | K::InvalidEddsaKey
            | K::InvalidKeyFormat => Self::BadSignature,
            K::InvalidAlgorithm
            | K::MissingAlgorithm
            | K::UnsupportedAlgorithm
            | K::InvalidAlgorithmName => Self::AlgNotAllowed,
            K::ExpiredSignature => Self::Expired,
            K::ImmatureSignature => Self::NotYetValid,
            K::InvalidAudience => Self::BadAudience,
            K::InvalidIssuer => Self::BadIssuer,
            K::MissingRequiredClaim(c) => Self::MissingClaim(claim_name(c)),
            K::InvalidClaimFormat(c) => Self::InvalidClaim(claim_name(c)),
            _ => Self::Malformed,
        }
    }
}

/// The library names claims with a `String`; the error keeps a `&'static str` so it can
/// be a metric-friendly, allocation-free value.
fn claim_name(c: &str) -> &'static str {
    match c {
        "exp" => "exp",
        "nbf" => "nbf",
        "sub" => "sub",
        "iss" => "iss",
        "aud" => "aud",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_header_safe() {
        for e in [
            AuthError::MissingToken,
            AuthError::Malformed,
            AuthError::MissingClaim("exp"),
            AuthError::InvalidClaim("sub"),
        ] {
            let d = e.description();
            assert!(!d.contains('"') && !d.contains('\\') && d.is_ascii(), "{d}");
        }
    }

    #[test]
    fn only_credential_errors_carry_invalid_token() {
        assert!(!AuthError::MissingToken.token_given());
        assert!(!AuthError::BadScheme.token_given());
        assert!(AuthError::Expired.token_given());
        assert!(AuthError::TokenInQuery.token_given());
    }
}
