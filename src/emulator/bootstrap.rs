//! The current generation's bootstrap routes, behind the token and the auth-route limit:
//! `GET /v1/auth/tenant` (§7.2) and `POST /auth/token-exchange` (§7.3). Neither needs a
//! tenant header or a session.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::api_caller::ApiCaller;
use super::auth::ApiIdentity;
use super::error::{ApiError, RawBody, body_bytes, json};
use super::formats::{string_field, struct_body};
use super::mint::issue_backend;
use super::shared::Shared;
use super::tenant_check::Lookup;

/// The only grant type token exchange accepts.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The organization name answered for the default tenant.
const DEFAULT_ORGANIZATION: &str = "ThinkPen";

fn refuse(c: &ApiCaller, status: StatusCode, msg: &'static str) -> Response {
    ApiError::new(status, msg).respond(&c.cid)
}

/// `GET /v1/auth/tenant`: the caller's memberships as a tenant choice. The handler reads
/// the Bearer token itself, so a dev-mode `X-Debug-Sub` alone gets a JSON `401`.
pub(crate) async fn resolve(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<ApiCaller>,
    Extension(identity): Extension<ApiIdentity>,
) -> Response {
    if !identity.bearer {
        let msg = "Missing or invalid Authorization header";
        return refuse(&c, StatusCode::UNAUTHORIZED, msg);
    }
    let orgs = match st.tenancy.lookup(&c.sub, st.faults.membership_outage()) {
        Lookup::NotConfigured => {
            let msg = "WorkOS tenant resolution not configured";
            return refuse(&c, StatusCode::SERVICE_UNAVAILABLE, msg);
        }
        Lookup::Failed => {
            let msg = "Failed to resolve tenant";
            return refuse(&c, StatusCode::INTERNAL_SERVER_ERROR, msg);
        }
        Lookup::Orgs(orgs) => orgs,
    };
    let body = match orgs.as_slice() {
        [] => json!({
            "tenant_id": st.tenancy.default_tenant(),
            "organization_name": DEFAULT_ORGANIZATION,
            "requires_selection": false,
        }),
        [only] => {
            let mut one = Map::new();
            one.insert("tenant_id".into(), Value::from(only.id.clone()));
            if !only.name.is_empty() {
                one.insert("organization_name".into(), Value::from(only.name.clone()));
            }
            one.insert("requires_selection".into(), Value::Bool(false));
            Value::Object(one)
        }
        several => json!({
            "tenant_id": "",
            "organizations": several,
            "requires_selection": true,
        }),
    };
    st.counters.tenant_lookups.fetch_add(1, Ordering::Relaxed);
    json(StatusCode::OK, &body)
}

/// `POST /auth/token-exchange`: the Bearer token (the subject) for a backend token. The
/// body is a JSON object decoded like the API's struct: `grant_type` must be the
/// token-exchange URN and `audience` non-empty; `subject_token` and `subject_token_type`
/// are accepted and ignored.
pub(crate) async fn exchange(
    State(st): State<Arc<Shared>>,
    Extension(c): Extension<ApiCaller>,
    Extension(identity): Extension<ApiIdentity>,
    body: RawBody,
) -> Response {
    // Reachable only in dev mode, where `X-Debug-Sub` passes the token check.
    if !identity.authorization {
        return refuse(&c, StatusCode::UNAUTHORIZED, "Missing Authorization header");
    }
    if !identity.bearer {
        let msg = "Invalid Authorization header format";
        return refuse(&c, StatusCode::UNAUTHORIZED, msg);
    }
    let request = body_bytes(body, "Invalid request body").and_then(|bytes| {
        let invalid = |()| ApiError::new(StatusCode::BAD_REQUEST, "Invalid request body");
        let fields = struct_body(&bytes).map_err(invalid)?;
        for ignored in ["subject_token", "subject_token_type"] {
            string_field(&fields, ignored).map_err(invalid)?;
        }
        let grant = string_field(&fields, "grant_type").map_err(invalid)?;
        let audience = string_field(&fields, "audience").map_err(invalid)?;
        Ok((grant, audience))
    });
    let (grant, audience) = match request {
        Ok(r) => r,
        Err(e) => return e.respond(&c.cid),
    };
    if grant != GRANT_TYPE {
        let msg = format!("Invalid grant_type. Expected: {GRANT_TYPE}");
        return ApiError::new(StatusCode::BAD_REQUEST, msg).respond(&c.cid);
    }
    if audience.is_empty() {
        return refuse(&c, StatusCode::BAD_REQUEST, "Missing audience");
    }
    let ttl = st.cfg.backend_token_ttl;
    let Some(token) = issue_backend(&st.cfg.jwt_hs256_secret, &c.sub, &audience, ttl) else {
        return refuse(
            &c,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Failed to issue token",
        );
    };
    st.counters.token_exchanges.fetch_add(1, Ordering::Relaxed);
    let body = json!({
        "access_token": token,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
    });
    json(StatusCode::OK, &body)
}
