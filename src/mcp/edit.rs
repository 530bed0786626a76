//! The note edit review's two tools. `edit_note_ui(uid, proposed_content, summary?)` reads
//! the note and answers its hunks against the proposal (shown by the `note-edit` view);
//! `apply_note_edit(uid, base_version, proposed_content, decisions)`, which only the view
//! calls, reads the note again, recomputes the same hunks, merges the decisions and writes
//! with `If-Match: base_version`.
//!
//! Nothing is kept between the two calls: the arguments carry everything (the version
//! reviewed and the proposal), and the hunks are recomputed from them, so any replica, in
//! any mode, serves either step. A note changed in between is a conflict that writes
//! nothing; the `If-Match` closes the gap between the read and the write.

use http::{Method, StatusCode};
use rmcp::model::{CallToolResult, Tool, ToolAnnotations};
use serde_json::{Value, json};

use super::{
    catalog::{APPLY_NOTE_EDIT, EDIT_NOTE_UI, ENTITIES, Entity},
    fields::{Args, Field, Kind, Role, input_schema, params::UID, schema_object},
    handlers::ToolError,
    review::{self, Decision, Hunk},
    views,
};
use crate::upstream::{ApiRequest, Call, Upstream, UpstreamError};

/// Which of the two tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Review {
    /// `edit_note_ui`.
    Show,
    /// `apply_note_edit`.
    Apply,
}

const PROPOSAL: Field = Field::param(
    "proposed_content",
    Role::Proposal,
    Kind::Text,
    true,
    "The whole new content proposed for the note (not a diff).",
);
const SUMMARY: Field = Field::param(
    "summary",
    Role::Summary,
    Kind::Text,
    false,
    "One line on what the edit does, shown above the review.",
);
const BASE_VERSION: Field = Field::param(
    "base_version",
    Role::IfMatch,
    Kind::Integer {
        min: 1,
        max: i64::MAX,
    },
    true,
    "The note's version the review was made against (edit_note_ui's base_version).",
);
const DECISIONS: Field = Field::param(
    "decisions",
    Role::Decisions,
    Kind::Decisions,
    true,
    "One decision per hunk: {\"hunk\": <index>, \"action\": \"accept\" | \"reject\" | \"revise\", \"text\": <with revise>}.",
);

/// The two tools, with their parameters.
pub(crate) fn tools() -> Vec<(Tool, Review, Vec<Field>)> {
    let show_fields = vec![UID, PROPOSAL, SUMMARY];
    let mut show = Tool::new(
        EDIT_NOTE_UI,
        "Propose new content for a note and let the user review it before anything is written: an \
         interactive view shows the changes (hunks); the user accepts, rejects or revises each and \
         applies the result. Writes nothing itself. Use it instead of update_note or patch_note when \
         the user should approve an edit of a note's text. Returns the note's version, the hunks \
         and a unified diff. Example: {\"uid\":\"0b6f1f3e-2f6e-4c1b-9d3a-6f1e2d3c4b5a\",\
         \"proposed_content\":\"eggs\\noat milk\\n\",\"summary\":\"Switch to oat milk\"}.",
        schema_object(Value::Object(input_schema(&show_fields))),
    );
    show.annotations = Some(
        ToolAnnotations::with_title("Review a note edit")
            .read_only(true)
            .open_world(false),
    );
    show.output_schema = Some(schema_object(json!({
        "type": "object",
        "properties": {
            "uid": {"type": "string"},
            "title": {"type": "string"},
            "base_version": {"type": "integer", "description": "apply_note_edit writes only over this version."},
            "summary": {"type": "string"},
            "proposed_content": {"type": "string"},
            "hunks": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "base_line": {"type": "integer", "description": "First line it changes (1-based)."},
                    "removed": {"type": "string"},
                    "added": {"type": "string"},
                    "before": {"type": "string", "description": "Unchanged lines before it."},
                    "after": {"type": "string", "description": "Unchanged lines after it."}
                },
                "required": ["index", "base_line", "removed", "added"]
            }},
            "diff": {"type": "string", "description": "The hunks as a unified diff."},
            "message": {"type": "string"}
        },
        "required": ["uid", "base_version", "proposed_content", "hunks"]
    })));
    show.meta = Some(views::tool_meta(views::NOTE_EDIT));

    let apply_fields = vec![UID, BASE_VERSION, PROPOSAL, DECISIONS];
    let mut apply = Tool::new(
        APPLY_NOTE_EDIT,
        "Apply a reviewed note edit (the review view calls it; the model uses edit_note_ui): \
         merges one decision per hunk over the note at base_version and writes only if the note is \
         still at that version; otherwise nothing is written and the error result gives the current \
         version and content.",
        schema_object(Value::Object(input_schema(&apply_fields))),
    );
    apply.annotations = Some(
        ToolAnnotations::with_title("Apply a reviewed note edit")
            .read_only(false)
            .destructive(false)
            .idempotent(false)
            .open_world(false),
    );
    apply.output_schema = Some(schema_object(json!({
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["applied", "unchanged", "conflict"]},
            "uid": {"type": "string"},
            "version": {"type": "integer", "description": "The note's version now."},
            "content": {"type": "string", "description": "The note's content now."},
            "tally": {"type": "object", "properties": {
                "accepted": {"type": "integer"}, "rejected": {"type": "integer"}, "revised": {"type": "integer"}
            }},
            "base_version": {"type": "integer"},
            "current_version": {"type": ["integer", "null"], "description": "null: the note could not be read again."},
            "current_content": {"type": ["string", "null"]},
            "message": {"type": "string", "description": "What happened, in words."}
        },
        "required": ["status", "uid"]
    })));
    apply.meta = Some(views::app_only_meta());
    vec![
        (show, Review::Show, show_fields),
        (apply, Review::Apply, apply_fields),
    ]
}

/// The catalog's note row: the path segment and labels come from there.
pub(crate) fn note() -> &'static Entity {
    ENTITIES
        .iter()
        .find(|e| e.singular == "note")
        .expect("the catalog has notes")
}

/// A note as the review needs it.
struct Note {
    version: i64,
    title: String,
    content: String,
}

async fn read(up: &Upstream, call: Call<'_>, path: &str) -> Result<Note, ToolError> {
    let item = up
        .call(call, ApiRequest::entity(Method::GET, path.to_owned()))
        .await?
        .body;
    let payload = &item["payload"];
    let content = match &payload["content"] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        _ => {
            return Err(ToolError::Invalid(
                "the note's content is not text, so it cannot be reviewed line by line; use \
                 patch_note"
                    .into(),
            ));
        }
    };
    Ok(Note {
        version: item["version"].as_i64().unwrap_or_default(),
        title: payload["title"].as_str().unwrap_or_default().to_owned(),
        content,
    })
}

/// The hunks, off the async workers (a large rewrite is millions of table cells).
async fn diff(base: String, proposed: String) -> Result<(Vec<Hunk>, String, String), ToolError> {
    tokio::task::spawn_blocking(move || {
        review::hunks(&base, &proposed).map(|h| (h, base, proposed))
    })
    .await
    .map_err(|_| ToolError::Upstream(UpstreamError::Other("the diff failed".into())))?
    .map_err(ToolError::Invalid)
}

/// Runs one of the two tools; also returns the API's last status for the metrics.
pub(crate) async fn run(
    up: &Upstream,
    call: Call<'_>,
    which: Review,
    args: Args,
) -> Result<(CallToolResult, u16), ToolError> {
    // Both fields are required, so the decoder has set them.
    let uid = args.uid.unwrap_or_default();
    let proposal = args.proposal.unwrap_or_default();
    let path = format!("/v1/{}/{uid}", note().plural);
    let current = read(up, call, &path).await?;
    match which {
        Review::Show => show(uid, current, proposal, args.summary).await,
        Review::Apply => {
            let base_version = args.if_match.unwrap_or_default();
            apply(
                up,
                call,
                &path,
                uid,
                current,
                base_version,
                proposal,
                args.decisions,
            )
            .await
        }
    }
}

async fn show(
    uid: String,
    note: Note,
    proposal: String,
    summary: Option<String>,
) -> Result<(CallToolResult, u16), ToolError> {
    let (hunks, _, proposal) = diff(note.content, proposal).await?;
    let unified = review::unified(&hunks);
    let message = format!(
        "Proposed edit of note \"{title}\" (version {v}): {n} change{s}, in `diff`. In a host that \
         shows MCP Apps the user reviews each change in the view and applies it. Without one, \
         the whole proposal can be written with patch_note {{\"uid\": \"{uid}\", \"updates\": \
         {{\"content\": ...}}, \"if_match\": {v}}} once the user agrees.",
        title = note.title,
        v = note.version,
        n = hunks.len(),
        s = if hunks.len() == 1 { "" } else { "s" },
    );
    let mut structured = json!({
        "uid": uid,
        "title": note.title,
        "base_version": note.version,
        "proposed_content": proposal,
        "hunks": hunks,
        "diff": unified,
        "message": message,
    });
    if let Some(s) = summary {
        structured["summary"] = Value::String(s);
    }
    Ok((result(structured, false), 200))
}

#[allow(clippy::too_many_arguments)]
async fn apply(
    up: &Upstream,
    call: Call<'_>,
    path: &str,
    uid: String,
    current: Note,
    base_version: i64,
    proposal: String,
    decisions: Vec<Decision>,
) -> Result<(CallToolResult, u16), ToolError> {
    if current.version != base_version {
        return Ok((conflict(&uid, base_version, Some(current)), 200));
    }
    let (hunks, base, _) = diff(current.content, proposal).await?;
    let (merged, tally) = review::merge(&base, &hunks, &decisions).map_err(ToolError::Invalid)?;
    let tally_json = serde_json::to_value(tally).unwrap_or_default();
    if merged == base {
        let message = format!(
            "Nothing to write: every change was rejected; note \"{}\" stays at version {base_version}.",
            current.title
        );
        let body = json!({"status": "unchanged", "uid": uid, "version": base_version,
            "content": base, "tally": tally_json, "message": message});
        return Ok((result(body, false), 200));
    }
    let mut req =
        ApiRequest::entity(Method::PATCH, path.to_owned()).json(&json!({"content": merged}));
    req.if_match = Some(base_version.to_string());
    match up.call(call, req).await {
        Ok(resp) => {
            let version = resp.body["version"].as_i64().unwrap_or_default();
            let message = format!(
                "Applied: note \"{}\" is now version {version} ({} accepted, {} rejected, {} revised).",
                current.title, tally.accepted, tally.rejected, tally.revised
            );
            let body = json!({"status": "applied", "uid": uid, "version": version,
                "content": merged, "tally": tally_json, "message": message});
            Ok((result(body, false), resp.status.as_u16()))
        }
        // Changed between the read and the write: the If-Match refused it.
        Err(UpstreamError::Status { status, .. }) if status == StatusCode::PRECONDITION_FAILED => {
            let now = read(up, call, path).await.ok();
            Ok((conflict(&uid, base_version, now), status.as_u16()))
        }
        Err(e) => Err(ToolError::of_write(e, &uid)),
    }
}

/// The conflict result: an error for the model, with what the view needs to show it.
fn conflict(uid: &str, base_version: i64, now: Option<Note>) -> CallToolResult {
    let (version, content) = match now {
        Some(n) => (Value::from(n.version), Value::String(n.content)),
        None => (Value::Null, Value::Null),
    };
    let message = format!(
        "Not applied: the note changed since the review (version {base_version} was reviewed, \
         it is at version {version} now); nothing was written. Call edit_note_ui again to review \
         the proposal against the current text."
    );
    let body = json!({"status": "conflict", "uid": uid, "base_version": base_version,
        "current_version": version, "current_content": content, "message": message});
    result(body, true)
}

/// Like every tool here, the structured result is also the text (as JSON), so a host that
/// reads only text gets all of it; `message` says in words what happened.
fn result(structured: Value, is_error: bool) -> CallToolResult {
    if is_error {
        CallToolResult::structured_error(structured)
    } else {
        CallToolResult::structured(structured)
    }
}
