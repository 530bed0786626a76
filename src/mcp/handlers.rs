//! One function per verb, shared by all five entities. Arguments arrive decoded and
//! checked (see [`super::fields`]); each handler builds its REST request and shapes the
//! answer. Nothing here touches HTTP headers: the upstream client does that.

use http::Method;
use serde_json::{Map, Value, json};

use super::catalog::{Entity, Verb};
use crate::upstream::{ApiRequest, ApiResponse, CallContext, Upstream, UpstreamError};

/// Why a tool call failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The arguments were wrong; the API was not called.
    #[error("{0}")]
    Invalid(String),
    /// The API call failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

/// Payload keys the server owns; a client may not set them through additional_fields.
const SERVER_KEYS: &[&str] = &["uid", "updatedTs", "sync"];

fn str_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Value::as_str)
}

fn item_path(e: &Entity, args: &Map<String, Value>) -> String {
    // `uid` is required and was checked to be a UUID by the decoder.
    format!(
        "/v1/{}/{}",
        e.plural,
        str_arg(args, "uid").unwrap_or_default()
    )
}

/// Builds a payload from the named fields (wire names) and `additional_fields`.
fn payload(
    fields: &[super::fields::Field],
    args: &Map<String, Value>,
) -> Result<Map<String, Value>, ToolError> {
    let mut out = Map::new();
    if let Some(Value::Object(extra)) = args.get("additional_fields") {
        if let Some(k) = extra.keys().find(|k| SERVER_KEYS.contains(&k.as_str())) {
            return Err(ToolError::Invalid(format!(
                "additional_fields may not set `{k}`: the server owns {}",
                SERVER_KEYS.join(", ")
            )));
        }
        out.extend(extra.clone());
    }
    for f in fields.iter().filter(|f| !f.wire.is_empty()) {
        if let Some(v) = args.get(f.name) {
            out.insert(f.wire.to_owned(), v.clone());
        }
    }
    Ok(out)
}

/// Runs one entity tool; the answer is the API's last response, shaped for the model.
pub async fn run(
    up: &Upstream,
    ctx: &CallContext,
    e: &'static Entity,
    verb: Verb,
    fields: &[super::fields::Field],
    args: Map<String, Value>,
) -> Result<ApiResponse, ToolError> {
    let include_deleted = args.get("include_deleted").and_then(Value::as_bool) == Some(true);
    let req = match verb {
        Verb::List => {
            let limit = args.get("limit").and_then(Value::as_i64).unwrap_or(100);
            let mut req = ApiRequest::entity(Method::GET, format!("/v1/{}", e.plural));
            req.query.push(("limit", limit.to_string()));
            if let Some(c) = str_arg(&args, "cursor").filter(|c| !c.is_empty()) {
                req.query.push(("cursor", c.to_owned()));
            }
            if include_deleted {
                req.query.push(("includeDeleted", "true".into()));
            }
            let mut resp = up.call(ctx, req).await?;
            resp.body = list_result(resp.body, limit);
            return Ok(resp);
        }
        Verb::Get => {
            let mut req = ApiRequest::entity(Method::GET, item_path(e, &args));
            if include_deleted {
                req.query.push(("includeDeleted", "true".into()));
            }
            req
        }
        Verb::Create => ApiRequest::entity(Method::POST, format!("/v1/{}", e.plural))
            .json(&Value::Object(payload(fields, &args)?)),
        Verb::Update => return update(up, ctx, e, fields, &args).await,
        Verb::Patch => ApiRequest::entity(Method::PATCH, item_path(e, &args))
            .json(args.get("updates").unwrap_or(&Value::Null)),
        Verb::Delete => ApiRequest::entity(Method::DELETE, item_path(e, &args)),
        Verb::Archive => {
            ApiRequest::entity(Method::POST, format!("{}/archive", item_path(e, &args)))
                .json(&json!({}))
        }
        Verb::Process => {
            let mut body = json!({"action": args.get("action")});
            if let Some(m) = args.get("metadata") {
                body["metadata"] = m.clone();
            }
            ApiRequest::entity(Method::POST, format!("{}/process", item_path(e, &args))).json(&body)
        }
    };
    Ok(up.call(ctx, req).await?)
}

/// PUT replaces the whole payload. The API checks link fields (a comment's parent, a chat
/// message's chat) on every write, so they are read from the current item and carried over;
/// the version read then guards the PUT, so a change in between is refused, not overwritten.
async fn update(
    up: &Upstream,
    ctx: &CallContext,
    e: &'static Entity,
    fields: &[super::fields::Field],
    args: &Map<String, Value>,
) -> Result<ApiResponse, ToolError> {
    let path = item_path(e, args);
    let mut body = payload(fields, args)?;
    let mut if_match = args.get("if_match").and_then(Value::as_i64);
    if !e.links.is_empty() {
        let current = up
            .call(ctx, ApiRequest::entity(Method::GET, path.clone()))
            .await?
            .body;
        for key in e.links {
            if let Some(v) = current.pointer(&format!("/payload/{key}")) {
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

/// Adds `hasMore` (and keeps `nextCursor` only when there may be more) so a model knows
/// whether to ask for another page.
fn list_result(mut body: Value, limit: i64) -> Value {
    let count = body
        .get("items")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let has_more = count as i64 >= limit && body.get("nextCursor").is_some_and(|c| c.is_string());
    if let Value::Object(map) = &mut body {
        map.entry("items").or_insert_with(|| json!([]));
        if !has_more {
            // The API hands out a cursor after every non-empty page; after a short page
            // there is nothing more, and a cursor would only invite an empty round trip.
            map.remove("nextCursor");
        }
        map.insert("hasMore".into(), Value::Bool(has_more));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_result_says_when_there_is_more() {
        let full = list_result(json!({"items": [{}, {}], "nextCursor": "c"}), 2);
        assert_eq!(full["hasMore"], json!(true));
        assert_eq!(full["nextCursor"], json!("c"));
        let short = list_result(json!({"items": [{}], "nextCursor": "c"}), 2);
        assert_eq!(short["hasMore"], json!(false));
        assert!(short.get("nextCursor").is_none());
        let empty = list_result(json!({}), 2);
        assert_eq!(empty, json!({"items": [], "hasMore": false}));
    }
}
