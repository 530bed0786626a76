//! One function per verb, shared by every entity. Arguments arrive decoded, checked and
//! sorted by role ([`Args`]); each handler builds its REST request and shapes the answer.
//! Nothing here touches HTTP headers: the upstream client does that.

use http::Method;
use serde_json::{Map, Value, json};

use super::catalog::{Entity, Verb};
use super::fields::Args;
use super::shape::{self, Shaping};
use crate::upstream::{ApiRequest, ApiResponse, CallContext, Upstream, UpstreamError};

/// Why a tool call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ToolError {
    /// The arguments were wrong; the API was not called.
    #[error("{0}")]
    Invalid(String),
    /// The API call failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

fn collection(e: &Entity) -> String {
    format!("/v1/{}", e.plural)
}

fn item_path(e: &Entity, args: &Args) -> String {
    // `uid` is required by every verb that addresses an item, and the decoder checked it.
    format!(
        "{}/{}",
        collection(e),
        args.uid.as_deref().unwrap_or_default()
    )
}

/// Runs one entity tool; the answer is the API's last response, shaped for the model.
pub(crate) async fn run(
    up: &Upstream,
    ctx: &CallContext,
    e: &'static Entity,
    verb: Verb,
    args: Args,
    shaping: &Shaping,
) -> Result<ApiResponse, ToolError> {
    let fields = args.fields.clone();
    let mut resp = match verb {
        Verb::List => return list(up, ctx, e, args, shaping).await,
        Verb::Update => update(up, ctx, e, args).await?,
        _ => up.call(ctx, request(e, verb, args)).await?,
    };
    resp.body = shape::item(shaping, resp.body, fields.as_deref());
    Ok(resp)
}

/// A `list_*` page within the result bound. A page that would be larger is asked for
/// again with fewer items, from the same cursor: the API's own cursor after that shorter
/// page then continues exactly after its last item, so walking the pages never skips or
/// repeats one. Each round asks for fewer items, so the loop ends; usually after one
/// round, two when bounded.
async fn list(
    up: &Upstream,
    ctx: &CallContext,
    e: &'static Entity,
    args: Args,
    shaping: &Shaping,
) -> Result<ApiResponse, ToolError> {
    // The field's default applies, so there always is one.
    let asked = args.limit.unwrap_or(1);
    let mut limit = asked;
    loop {
        let mut req = ApiRequest::entity(Method::GET, collection(e));
        req.query.push(("limit", limit.to_string()));
        if let Some(c) = &args.cursor {
            req.query.push(("cursor", c.clone()));
        }
        if args.include_deleted {
            req.query.push(("includeDeleted", "true".into()));
        }
        let mut resp = up.call(ctx, req).await?;
        let body = std::mem::take(&mut resp.body);
        let mut page = shape::page(shaping, e, body, limit, args.fields.as_deref());
        match shape::fit(shaping, &mut page, asked) {
            None => {
                resp.body = page.body;
                return Ok(resp);
            }
            Some(fewer) if fewer > 0 => limit = fewer as i64,
            // The first item alone is too large: on a page of its own it goes out shortened.
            Some(_) if page.count == 1 && limit == 1 => {
                resp.body = shape::alone(shaping, e, page);
                return Ok(resp);
            }
            Some(_) => limit = 1,
        }
    }
}

/// The REST request of a verb that needs one request (all but list and update).
fn request(e: &Entity, verb: Verb, args: Args) -> ApiRequest {
    match verb {
        Verb::Get => {
            let mut req = ApiRequest::entity(Method::GET, item_path(e, &args));
            if args.include_deleted {
                req.query.push(("includeDeleted", "true".into()));
            }
            req
        }
        Verb::Create => {
            ApiRequest::entity(Method::POST, collection(e)).json(&Value::Object(args.payload))
        }
        Verb::Patch => ApiRequest::entity(Method::PATCH, item_path(e, &args))
            .json(&Value::Object(args.updates.unwrap_or_default())),
        Verb::Delete => ApiRequest::entity(Method::DELETE, item_path(e, &args)),
        Verb::Archive => {
            ApiRequest::entity(Method::POST, format!("{}/archive", item_path(e, &args)))
                .json(&json!({}))
        }
        Verb::Process => {
            let mut body = Map::new();
            body.insert("action".into(), args.action.clone().into());
            if let Some(m) = args.metadata.clone() {
                body.insert("metadata".into(), Value::Object(m));
            }
            ApiRequest::entity(Method::POST, format!("{}/process", item_path(e, &args)))
                .json(&Value::Object(body))
        }
        Verb::List | Verb::Update => unreachable!("{verb:?} has its own function"),
    }
}

/// PUT replaces the whole payload. The API checks link fields (a comment's parent, a chat
/// message's chat) on every write, so they are read from the current item and carried over;
/// the version read then guards the PUT, so a change in between is refused, not overwritten.
async fn update(
    up: &Upstream,
    ctx: &CallContext,
    e: &'static Entity,
    args: Args,
) -> Result<ApiResponse, ToolError> {
    let path = item_path(e, &args);
    let mut body = args.payload;
    let mut if_match = args.if_match;
    if !e.links.is_empty() {
        let current = up
            .call(ctx, ApiRequest::entity(Method::GET, path.clone()))
            .await?
            .body;
        for key in e.links {
            if let Some(v) = current.get("payload").and_then(|p| p.get(*key)) {
                body.insert((*key).to_owned(), v.clone());
            }
        }
        if if_match.is_none() {
            if_match = current.get("version").and_then(Value::as_i64);
        }
    }
    let mut req = ApiRequest::entity(Method::PUT, path).json(&Value::Object(body));
    req.if_match = if_match.map(|v| v.to_string());
    Ok(up.call(ctx, req).await?)
}
