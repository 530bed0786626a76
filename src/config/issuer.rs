//! [`Issuer`]: an OAuth issuer identifier, parsed once and kept exactly as configured.

use std::fmt;

/// An issuer identifier (`TOOLBRIDGE_OIDC_ISSUER`, `TOOLBRIDGE_AUTHORIZATION_SERVERS`): an
/// http(s) URL, parsed once at start, whose text is kept as written. Issuers are compared
/// and published as strings (RFC 8414 §3.3, RFC 9728), and a parsed URL would add a `/` to
/// a bare host (`https://x.authkit.app` → `https://x.authkit.app/`), which would then no
/// longer be the issuer the authorization server names.
#[derive(Clone, PartialEq, Eq)]
pub struct Issuer {
    url: reqwest::Url,
    text: String,
}

impl Issuer {
    /// Parses an http(s) URL with a host; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let url = super::de::parse_http_url(text)?;
        Ok(Self {
            url,
            text: text.to_owned(),
        })
    }

    /// The issuer as configured.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The issuer as a URL, for building its metadata URLs.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Issuer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}
