//! The credential layer: which token the API sees.
//!
//! `passthrough` sends the caller's verified token. `exchange` trades it, once per caller
//! and until shortly before the result expires, for a backend token, and only that reaches
//! the API: at an RFC 8693 token endpoint (`TOOLBRIDGE_TOKEN_EXCHANGE_URL`, form-encoded,
//! HTTP Basic client authentication) or at the API's own `POST /auth/token-exchange`
//! (contract §7.3: the subject is the Bearer token, the body JSON). A `401` on a request
//! made with a cached backend token exchanges again, once.

use std::time::Duration;

use base64::Engine;
use http::{Extensions, HeaderValue, StatusCode, header};
use reqwest::{Request, Response};
use reqwest_middleware::{Error, Middleware, Next, Result};
use serde::Deserialize;

use super::{
    UpstreamError,
    answer::json_answer,
    flight::Flights,
    marks::{CORRELATION_ID, NoTenant},
};
use crate::{
    call::CredentialKey,
    config::{BackendAuth, Config},
};

/// RFC 8693's grant type and token type.
const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Lifetime assumed when an answer gives no `expires_in`.
const DEFAULT_TTL: Duration = Duration::from_secs(300);

enum Endpoint {
    /// The API's `POST /auth/token-exchange`.
    Api { url: reqwest::Url, audience: String },
    /// An authorization server's RFC 8693 token endpoint.
    Rfc8693 {
        url: reqwest::Url,
        resource: String,
        basic: HeaderValue,
    },
}

pub(crate) struct Exchanger {
    endpoint: Endpoint,
    /// Backend `Authorization` values per caller.
    cache: Flights<HeaderValue>,
    max_body: usize,
}

#[derive(Deserialize)]
struct Issued {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The layer; `None` inside means passthrough.
pub(crate) struct CredentialLayer(Option<Exchanger>);

impl CredentialLayer {
    pub(crate) fn new(
        cfg: &Config,
        base: &reqwest::Url,
    ) -> std::result::Result<Self, UpstreamError> {
        if cfg.backend_auth == BackendAuth::Passthrough {
            return Ok(Self(None));
        }
        let resource = cfg
            .token_exchange_resource
            .clone()
            .unwrap_or_else(|| cfg.api_base().to_owned());
        let endpoint = match &cfg.token_exchange_url {
            None => Endpoint::Api {
                url: super::marks::join(base, "/auth/token-exchange"),
                audience: resource,
            },
            Some(url) => {
                let url = url.clone();
                // RFC 6749 §2.3.1: id and secret are form-encoded before Base64.
                let pair = format!(
                    "{}:{}",
                    form(&[("", cfg.token_exchange_client_id.as_deref().unwrap_or(""))])[1..]
                        .to_owned(),
                    form(&[("", cfg.token_exchange_client_secret.expose())])[1..].to_owned()
                );
                let mut basic = HeaderValue::from_str(&format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
                .map_err(|_| {
                    UpstreamError::Other("bad token exchange client credentials".into())
                })?;
                basic.set_sensitive(true);
                Endpoint::Rfc8693 {
                    url,
                    resource,
                    basic,
                }
            }
        };
        Ok(Self(Some(Exchanger {
            endpoint,
            cache: Flights::new(10_000),
            max_body: cfg.upstream_max_body_bytes,
        })))
    }
}

/// `application/x-www-form-urlencoded`, by the URL crate's own serializer.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("form:/").expect("static");
    url.query_pairs_mut().extend_pairs(pairs);
    // "=value" for an empty key: callers that want the value alone strip the '='.
    url.query().unwrap_or_default().to_owned()
}

impl Exchanger {
    fn step(&self) -> &'static str {
        match self.endpoint {
            Endpoint::Api { .. } => "the API's /auth/token-exchange",
            Endpoint::Rfc8693 { .. } => "the authorization server's token endpoint",
        }
    }

    async fn exchange(
        &self,
        caller: &HeaderValue,
        correlation: Option<&HeaderValue>,
        next: &Next<'_>,
    ) -> std::result::Result<(HeaderValue, Duration), UpstreamError> {
        let subject = caller
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(UpstreamError::NoToken)?;
        let mut req = match &self.endpoint {
            Endpoint::Api { url, audience } => {
                let mut req = Request::new(http::Method::POST, url.clone());
                let body = serde_json::json!({"grant_type": GRANT, "audience": audience});
                *req.body_mut() = Some(body.to_string().into());
                req.headers_mut()
                    .insert(header::AUTHORIZATION, caller.clone());
                req.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                req
            }
            Endpoint::Rfc8693 {
                url,
                resource,
                basic,
            } => {
                let mut req = Request::new(http::Method::POST, url.clone());
                let body = form(&[
                    ("grant_type", GRANT),
                    ("subject_token", subject),
                    ("subject_token_type", ACCESS_TOKEN),
                    ("requested_token_type", ACCESS_TOKEN),
                    ("resource", resource),
                ]);
                *req.body_mut() = Some(body.into());
                req.headers_mut()
                    .insert(header::AUTHORIZATION, basic.clone());
                req.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                req
            }
        };
        if let Some(c) = correlation {
            req.headers_mut().insert(CORRELATION_ID, c.clone());
        }
        let mut ext = Extensions::new();
        ext.insert(NoTenant);
        let sent = next.clone().run(req, &mut ext).await;
        let answer = match sent {
            Ok(resp) => json_answer::<Issued>(resp, self.max_body).await,
            Err(e) => Err(UpstreamError::from_middleware(e)),
        };
        metrics::counter!(
            crate::telemetry::names::TOKEN_EXCHANGES,
            "outcome" => if answer.is_ok() { "ok" } else { "error" }
        )
        .increment(1);
        let issued = match answer {
            Ok((issued, _)) => issued,
            // Rate limited: the retry layer waits it out; the rest says which step failed.
            Err(e) if e.retry_after().is_some() => return Err(e),
            Err(UpstreamError::Status {
                status,
                message,
                body,
                ..
            }) => {
                let described = body
                    .as_ref()
                    .and_then(|b| b.get("error_description"))
                    .and_then(|d| d.as_str())
                    .map(|d| format!("{message}: {d}"))
                    .unwrap_or(message);
                return Err(UpstreamError::Exchange {
                    step: self.step(),
                    detail: format!("{} {described}", status.as_u16()),
                });
            }
            Err(e) => {
                return Err(UpstreamError::Exchange {
                    step: self.step(),
                    detail: e.to_string(),
                });
            }
        };
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", issued.access_token)).map_err(|_| {
                UpstreamError::Exchange {
                    step: self.step(),
                    detail: "the issued token is not a valid header value".into(),
                }
            })?;
        value.set_sensitive(true);
        let ttl = issued.expires_in.map_or(DEFAULT_TTL, |s| {
            // Renew a little early: a tenth of the lifetime, at most a minute.
            let margin = (s / 10).min(60);
            Duration::from_secs(s.saturating_sub(margin).max(1))
        });
        tracing::debug!(ttl_s = ttl.as_secs(), "backend token exchanged");
        Ok((value, ttl))
    }
}

#[async_trait::async_trait]
impl Middleware for CredentialLayer {
    async fn handle(&self, req: Request, ext: &mut Extensions, next: Next<'_>) -> Result<Response> {
        let Some(ex) = &self.0 else {
            return next.run(req, ext).await;
        };
        let (Some(key), Some(caller)) = (
            ext.get::<CredentialKey>().copied(),
            req.headers().get(header::AUTHORIZATION).cloned(),
        ) else {
            return next.run(req, ext).await;
        };
        let correlation = req.headers().get(CORRELATION_ID).cloned();
        let mut reexchanged = false;
        loop {
            let backend = ex
                .cache
                .get(key, || ex.exchange(&caller, correlation.as_ref(), &next))
                .await
                .map_err(Error::from)?;
            let mut attempt = req.try_clone().ok_or_else(|| {
                Error::from(UpstreamError::Other(
                    "request body cannot be retried".into(),
                ))
            })?;
            attempt
                .headers_mut()
                .insert(header::AUTHORIZATION, backend.clone());
            let resp = next.clone().run(attempt, ext).await?;
            if resp.status() != StatusCode::UNAUTHORIZED || reexchanged {
                return Ok(resp);
            }
            // Expired or revoked early: exchange again, once.
            reexchanged = true;
            tracing::info!("backend token refused; exchanging again");
            ex.cache.forget_if(key, |v| *v == backend);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_what_it_must() {
        assert_eq!(
            form(&[("a", "b c"), ("r", "http://x/y?z=1")]),
            "a=b+c&r=http%3A%2F%2Fx%2Fy%3Fz%3D1"
        );
        assert_eq!(&form(&[("", "id:with&odd")])[1..], "id%3Awith%26odd");
    }
}
