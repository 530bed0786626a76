//! The bottom layer: the tenant header on every request (contract §2 and §7.1), made
//! afresh for each one (a signature expires with its timestamp).
//!
//! - `signed`: `X-TB-Tenant-ID` + `X-TB-Timestamp` + `X-TB-Signature` (seed; the current API
//!   reads the id and ignores the rest, so it works against both generations);
//! - `plain`: the id alone;
//! - `resolve`: per caller, the tenant the API names at `GET /v1/auth/tenant` (cached,
//!   fetched single-flight), signed when a tenant secret is set. `TOOLBRIDGE_TENANT_ID` is
//!   the fallback where the API has no lookup (seed, or no organization service).
//!
//! The tenant never comes from anything a client sends: only configuration or the API.

use std::{sync::Arc, time::Duration};

use http::{Extensions, HeaderValue, StatusCode, header};
use reqwest::{Request, Response};
use reqwest_middleware::{Error, Middleware, Next, Result};
use serde::Deserialize;

use super::{
    UpstreamError,
    answer::json_answer,
    flight::Flights,
    generation::GenerationCell,
    marks::NoTenant,
    signing::{self, SIGNATURE, TENANT_ID, TIMESTAMP},
};
use crate::{
    call::CredentialKey,
    config::{Config, Generation, TenantMode},
};

/// A tenant and, when the deployment signs, its signer.
#[derive(Clone)]
struct Tenant {
    id: HeaderValue,
    signer: Option<signing::Signer>,
}

impl Tenant {
    fn new(id: &str, secret: Option<&[u8]>) -> Option<Self> {
        Some(Self {
            // from_bytes accepts UTF-8 tenant ids (obs-text); control characters fail.
            id: HeaderValue::from_bytes(id.as_bytes()).ok()?,
            signer: secret.map(|s| signing::Signer::new(s, id)),
        })
    }

    fn apply(&self, req: &mut Request) {
        let h = req.headers_mut();
        h.insert(TENANT_ID, self.id.clone());
        if let Some(signer) = &self.signer {
            let ts = HeaderValue::from(signing::now_millis());
            let sig = signer.sign(ts.to_str().expect("digits"));
            h.insert(TIMESTAMP, ts);
            h.insert(SIGNATURE, HeaderValue::from_bytes(&sig).expect("hex"));
        }
    }
}

/// What the API said about a caller's tenant.
#[derive(Clone)]
enum Resolution {
    Tenant(Tenant),
    /// Several organizations, `(id, name)`: the API will not pick one.
    Selection(Vec<(String, String)>),
}

/// `GET /v1/auth/tenant`'s answer (contract §7.2).
#[derive(Deserialize)]
struct Lookup {
    #[serde(default)]
    tenant_id: String,
    #[serde(default)]
    requires_selection: bool,
    #[serde(default)]
    organizations: Vec<Org>,
}

#[derive(Deserialize)]
struct Org {
    id: String,
    #[serde(default)]
    name: String,
}

struct Resolver {
    url: reqwest::Url,
    fallback: Option<Tenant>,
    secret: Option<Vec<u8>>,
    ttl: Duration,
    cache: Flights<Resolution>,
    generation: Arc<GenerationCell>,
    max_body: usize,
}

/// The layer: a fixed tenant, or one resolved per caller.
pub(crate) struct TenantLayer(Source);

enum Source {
    Fixed(Tenant),
    Resolve(Box<Resolver>),
}

impl TenantLayer {
    pub(crate) fn new(cfg: &Config, base: &reqwest::Url, generation: Arc<GenerationCell>) -> Self {
        let secret = (!cfg.tenant_header_secret.is_empty())
            .then(|| cfg.tenant_header_secret.expose().as_bytes().to_vec());
        let fixed =
            |signed: bool| Tenant::new(&cfg.tenant_id, secret.as_deref().filter(|_| signed));
        Self(match cfg.effective_tenant_mode() {
            // Config validation refused control characters in the tenant id.
            TenantMode::Signed => Source::Fixed(fixed(true).expect("validated tenant id")),
            TenantMode::Plain => Source::Fixed(fixed(false).expect("validated tenant id")),
            TenantMode::Resolve => Source::Resolve(Box::new(Resolver {
                url: super::marks::join(base, "/v1/auth/tenant"),
                fallback: Some(cfg.tenant_id.trim())
                    .filter(|t| !t.is_empty())
                    .and_then(|t| Tenant::new(t, secret.as_deref())),
                secret,
                ttl: cfg.tenant_cache,
                cache: Flights::new(10_000),
                generation,
                max_body: cfg.upstream_max_body_bytes,
            })),
        })
    }
}

impl Resolver {
    fn fallback(&self, why: &str) -> std::result::Result<(Resolution, Duration), UpstreamError> {
        match &self.fallback {
            Some(t) => Ok((Resolution::Tenant(t.clone()), self.ttl)),
            None => Err(UpstreamError::NoTenant(why.to_owned())),
        }
    }

    async fn lookup(
        &self,
        template: &Request,
        next: &Next<'_>,
    ) -> std::result::Result<(Resolution, Duration), UpstreamError> {
        // The seed API has no lookup: its one tenant is the configured one.
        if self.generation.known() == Some(Generation::Seed) {
            return self.fallback("the seed API has no tenant lookup");
        }
        let mut req = Request::new(http::Method::GET, self.url.clone());
        for name in [
            header::AUTHORIZATION,
            super::marks::CORRELATION_ID.parse().expect("static"),
        ] {
            if let Some(v) = template.headers().get(&name) {
                req.headers_mut().insert(name, v.clone());
            }
        }
        let mut ext = Extensions::new();
        ext.insert(NoTenant);
        let resp = next
            .clone()
            .run(req, &mut ext)
            .await
            .map_err(UpstreamError::from_middleware)?;
        let answer = json_answer::<Lookup>(resp, self.max_body).await;
        metrics::counter!(
            crate::telemetry::names::TENANT_LOOKUPS,
            "outcome" => if answer.is_ok() { "ok" } else { "error" }
        )
        .increment(1);
        match answer {
            Ok((l, _)) if l.requires_selection => Ok((
                Resolution::Selection(
                    l.organizations
                        .into_iter()
                        .map(|o| (o.id, o.name))
                        .collect(),
                ),
                self.ttl,
            )),
            Ok((l, _)) if l.tenant_id.is_empty() => self.fallback("the API named none"),
            Ok((l, _)) => match Tenant::new(&l.tenant_id, self.secret.as_deref()) {
                Some(t) => Ok((Resolution::Tenant(t), self.ttl)),
                None => Err(UpstreamError::NoTenant(
                    "the API named an unusable tenant id".into(),
                )),
            },
            // No lookup route (404) or no organization service behind it (503).
            Err(UpstreamError::Status {
                status: StatusCode::NOT_FOUND,
                ..
            }) => self.fallback("the API has no tenant lookup"),
            Err(UpstreamError::Status {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message,
                ..
            }) => self.fallback(&message),
            Err(e) => Err(e),
        }
    }
}

#[async_trait::async_trait]
impl Middleware for TenantLayer {
    async fn handle(
        &self,
        mut req: Request,
        ext: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        if ext.get::<NoTenant>().is_some() {
            return next.run(req, ext).await;
        }
        match &self.0 {
            Source::Fixed(t) => t.apply(&mut req),
            Source::Resolve(r) => {
                let key = ext
                    .get::<CredentialKey>()
                    .copied()
                    .unwrap_or_else(|| CredentialKey::of(b""));
                let resolution = r
                    .cache
                    .get(key, || r.lookup(&req, &next))
                    .await
                    .map_err(Error::from)?;
                match resolution {
                    Resolution::Tenant(t) => t.apply(&mut req),
                    Resolution::Selection(organizations) => {
                        return Err(Error::from(UpstreamError::TenantSelection {
                            organizations,
                        }));
                    }
                }
            }
        }
        next.run(req, ext).await
    }
}
