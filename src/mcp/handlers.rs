//! One function per verb, shared by every entity. Arguments arrive decoded, checked and
//! sorted by role ([`Args`]); each handler builds its REST request and shapes the answer.
//! Nothing here touches HTTP headers: the upstream client does that.

use http::Method;
use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};

use super::catalog::{Entity, Verb};
use super::fields::Args;
use super::shape::{self, Fit, Shaping};
use crate::upstream::{ApiRequest, ApiResponse, Call, Upstream, UpstreamError};

/// Why a tool call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ToolError {
    /// The arguments were wrong; the API was not called.
    #[error("{0}")]
    Invalid(String),
    /// The API call failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// A write was sent and its answer lost (`UpstreamError::outcome_unknown`): it may or
    /// may not have been applied to the item `uid`.
    #[error("{err}")]
    Unsure {
        /// The item the write was for (a create's too: every create carries its uid).
        uid: String,
        /// How the answer was lost.
        err: UpstreamError,
    },
}

impl ToolError {
    /// The failure of a write to the item `uid`: unknown when its answer was lost.
    pub(crate) fn of_write(err: UpstreamError, uid: &str) -> Self {
        if err.outcome_unknown() {
            Self::Unsure {
                uid: uid.to_owned(),
                err,
            }
        } else {
            Self::Upstream(err)
        }
    }
}

/// Whether repeating a process action leaves what doing it once leaves. Every action of
/// the contract (§4, §7.6) sets fixed values (`pin` sets `pinned: true`, `complete` sets
/// `status: "completed"`, ...), so every one is. An action that counted, toggled or
/// appended would not be: it would be named here and never sent twice.
fn action_repeatable(action: &str) -> bool {
    const NOT_REPEATABLE: &[&str] = &[];
    !NOT_REPEATABLE.contains(&action)
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

/// Runs one entity tool: the API's last response shaped for the model, as a tool result,
/// and the API's status.
pub(crate) async fn run(
    up: &Upstream,
    call: Call<'_>,
    e: &'static Entity,
    verb: Verb,
    args: Args,
    shaping: &Shaping,
) -> Result<(CallToolResult, u16), ToolError> {
    let fields = args.fields.clone();
    let resp = match verb {
        Verb::List => return list(up, call, e, args, shaping).await,
        Verb::Update => update(up, call, e, args).await?,
        Verb::Get => up.call(call, request(e, verb, args).0).await?,
        _ => {
            let (req, uid) = request(e, verb, args);
            write(up, call, req, &uid).await?
        }
    };
    let body = shape::item(shaping, resp.body, fields.as_deref());
    Ok((CallToolResult::structured(body), resp.status.as_u16()))
}

/// A `list_*` page within the result bound. A page that would be larger is asked for
/// again with fewer items, from the same cursor: the API's own cursor after that shorter
/// page then continues exactly after its last item, so walking the pages never skips or
/// repeats one. Each round asks for fewer items, so the loop ends; usually after one
/// round, two when bounded.
async fn list(
    up: &Upstream,
    call: Call<'_>,
    e: &'static Entity,
    args: Args,
    shaping: &Shaping,
) -> Result<(CallToolResult, u16), ToolError> {
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
        let resp = up.call(call, req).await?;
        let status = resp.status.as_u16();
        let mut page = shape::page(shaping, e, resp.body, limit, args.fields.as_deref());
        match shape::fit(shaping, &mut page, asked) {
            Fit::Fits(text) => return Ok((shape::fitted_result(page, text), status)),
            Fit::Fewer(fewer) if fewer > 0 => limit = fewer as i64,
            // The first item alone is too large: on a page of its own it goes out shortened.
            Fit::Fewer(_) if page.count == 1 && limit == 1 => {
                let body = shape::alone(shaping, e, page);
                return Ok((CallToolResult::structured(body), status));
            }
            Fit::Fewer(_) => limit = 1,
        }
    }
}

/// The REST request of a verb that needs one request (all but list and update), and the
/// uid of the item it addresses.
fn request(e: &Entity, verb: Verb, mut args: Args) -> (ApiRequest, String) {
    let req = match verb {
        Verb::Get => {
            let mut req = ApiRequest::entity(Method::GET, item_path(e, &args));
            if args.include_deleted {
                req.query.push(("includeDeleted", "true".into()));
            }
            req
        }
        Verb::Create => {
            // Every create carries its uid, so sending it twice upserts one item (contract
            // §4), and an unknown outcome can name the item to check.
            let uid = args
                .uid
                .take()
                .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string());
            let mut payload = args.payload;
            payload.insert("uid".into(), Value::String(uid.clone()));
            let mut req =
                ApiRequest::entity(Method::POST, collection(e)).json(&Value::Object(payload));
            req.repeatable = true;
            return (req, uid);
        }
        Verb::Patch => ApiRequest::entity(Method::PATCH, item_path(e, &args))
            .json(&Value::Object(args.updates.take().unwrap_or_default())),
        Verb::Delete => ApiRequest::entity(Method::DELETE, item_path(e, &args)),
        Verb::Archive => {
            let mut req =
                ApiRequest::entity(Method::POST, format!("{}/archive", item_path(e, &args)))
                    .json(&json!({}));
            req.repeatable = true;
            req
        }
        Verb::Process => {
            let action = args.action.clone().unwrap_or_default();
            let mut body = Map::new();
            body.insert("action".into(), action.clone().into());
            if let Some(m) = args.metadata.clone() {
                body.insert("metadata".into(), Value::Object(m));
            }
            let mut req =
                ApiRequest::entity(Method::POST, format!("{}/process", item_path(e, &args)))
                    .json(&Value::Object(body));
            req.repeatable = action_repeatable(&action);
            req
        }
        Verb::List | Verb::Update => unreachable!("{verb:?} has its own function"),
    };
    (req, args.uid.unwrap_or_default())
}

/// Sends a write to the item `uid`; a lost answer becomes [`ToolError::Unsure`].
async fn write(
    up: &Upstream,
    call: Call<'_>,
    req: ApiRequest,
    uid: &str,
) -> Result<ApiResponse, ToolError> {
    up.call(call, req)
        .await
        .map_err(|e| ToolError::of_write(e, uid))
}

/// PUT replaces the whole payload. The API checks link fields (a comment's parent, a chat
/// message's chat) on every write, so they are read from the current item and carried over;
/// the version read then guards the PUT, so a change in between is refused, not overwritten.
async fn update(
    up: &Upstream,
    call: Call<'_>,
    e: &'static Entity,
    args: Args,
) -> Result<ApiResponse, ToolError> {
    let path = item_path(e, &args);
    let mut body = args.payload;
    let mut if_match = args.if_match;
    if !e.links.is_empty() {
        let current = up
            .call(call, ApiRequest::entity(Method::GET, path.clone()))
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
    write(up, call, req, args.uid.as_deref().unwrap_or_default()).await
}
