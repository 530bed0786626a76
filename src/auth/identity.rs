//! [`Identity`]: who a verified token says the caller is.

use super::scopes::Scopes;

/// The verified caller, put into the request extensions next to the credential the edge
/// accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The token's `sub` claim (verified in `verify` mode, only decoded in `passthrough`).
    pub sub: String,
    /// Its `scope`/`scp` claims (likewise; in `passthrough` the API sees the same token,
    /// so a forged scope claim fails there with the signature).
    pub scopes: Scopes,
}
