//! MCP Apps views (extension `io.modelcontextprotocol/ui`, spec 2026-01-26): `ui://`
//! resources a host renders in a sandboxed iframe next to a tool's result, and the link
//! from each tool to its view.
//!
//! A view is a complete HTML document with everything inline (one stylesheet and one
//! script, `views/view.css` and `views/*.js`, shared by all of them) and a CSP that
//! allows nothing outside the document. It talks only to its host, over `postMessage`
//! (JSON-RPC: `ui/initialize`, the tool input and result notifications, `tools/call`), so
//! its data is what the tool results carry and every call it makes comes back through the
//! host and this gateway's edge like any other call. Hosts without the extension ignore the
//! `_meta` and get the same tools with the same text and structured results.

use std::sync::OnceLock;

use rmcp::model::{JsonObject, MetaObject, Resource, ResourceContents};
use serde_json::json;

use super::catalog::Verb;

/// The extension's identifier, for the capability.
pub(crate) const EXTENSION: &str = "io.modelcontextprotocol/ui";
/// The MIME type of a view (spec: "text/html;profile=mcp-app").
pub(crate) const MIME: &str = "text/html;profile=mcp-app";
/// The flat key older hosts read the view's URI from (the spec's earlier draft; the
/// extension's own server helper writes both).
const LEGACY_URI_KEY: &str = "ui/resourceUri";

/// One view.
#[derive(Debug)]
pub(crate) struct View {
    /// Its `ui://` URI.
    pub uri: &'static str,
    /// Short programmatic name (also what the script switches on).
    pub name: &'static str,
    /// Human title.
    pub title: &'static str,
    /// What it shows, for `resources/list`.
    pub about: &'static str,
    /// The entity tools whose results it renders: (entity singular, verb).
    pub shows: &'static [(&'static str, Verb)],
}

/// Every view, in listing order.
pub(crate) static VIEWS: [View; 5] = [
    View {
        uri: "ui://toolbridge/notes",
        name: "notes",
        title: "Notes",
        about: "A page of notes: search the loaded page as you type, load more, open one.",
        shows: &[("note", Verb::List)],
    },
    View {
        uri: "ui://toolbridge/note",
        name: "note",
        title: "Note",
        about: "One note with its fields.",
        shows: &[("note", Verb::Get)],
    },
    View {
        uri: "ui://toolbridge/tasks",
        name: "tasks",
        title: "Tasks",
        about: "A page of tasks with start, complete, reopen and archive buttons.",
        shows: &[("task", Verb::List)],
    },
    View {
        uri: "ui://toolbridge/task",
        name: "task",
        title: "Task",
        about: "One task with its fields and its start, complete, reopen and archive buttons.",
        shows: &[
            ("task", Verb::Get),
            ("task", Verb::Process),
            ("task", Verb::Archive),
        ],
    },
    View {
        uri: NOTE_EDIT,
        name: "note-edit",
        title: "Review a note edit",
        about: "A proposed note edit by hunks: accept, reject or revise each, then apply it \
                against the version reviewed.",
        shows: &[],
    },
];

/// The edit review's view, shown by `edit_note_ui`.
pub(crate) const NOTE_EDIT: &str = "ui://toolbridge/note-edit";

/// The view that renders an entity tool's result, if any.
pub(crate) fn for_tool(entity: &str, verb: Verb) -> Option<&'static View> {
    VIEWS.iter().find(|v| v.shows.contains(&(entity, verb)))
}

/// A tool's `_meta` linking it to a view (both the spec's `ui.resourceUri` and the older
/// flat key).
pub(crate) fn tool_meta(uri: &str) -> MetaObject {
    let mut m = JsonObject::new();
    m.insert("ui".into(), json!({ "resourceUri": uri }));
    m.insert(LEGACY_URI_KEY.into(), json!(uri));
    MetaObject(m)
}

/// `_meta` of a tool only a view may call: hosts keep it from the model.
pub(crate) fn app_only_meta() -> MetaObject {
    let mut m = JsonObject::new();
    m.insert("ui".into(), json!({ "visibility": ["app"] }));
    MetaObject(m)
}

/// The view's `_meta.ui`, on its listing and on its content: no origin outside the
/// document for anything (the secure default, said explicitly), and a border.
fn resource_meta() -> MetaObject {
    let mut m = JsonObject::new();
    m.insert(
        "ui".into(),
        json!({
            "csp": {"connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": []},
            "prefersBorder": true
        }),
    );
    MetaObject(m)
}

/// The `resources/list` entries.
pub(crate) fn resources() -> Vec<Resource> {
    VIEWS
        .iter()
        .zip(documents())
        .map(|(v, html)| {
            Resource::new(v.uri, v.name)
                .with_title(v.title)
                .with_description(v.about)
                .with_mime_type(MIME)
                .with_size(html.len() as u64)
                .with_meta(resource_meta())
        })
        .collect()
}

/// The content of a view, by URI.
pub(crate) fn read(uri: &str) -> Option<ResourceContents> {
    let i = VIEWS.iter().position(|v| v.uri == uri)?;
    Some(
        ResourceContents::text(documents()[i].as_str(), uri)
            .with_mime_type(MIME)
            .with_meta(resource_meta()),
    )
}

/// The views' one script, in the order its parts build on each other (wrapped in one
/// function scope by `view.html`).
const SCRIPT: &str = concat!(
    include_str!("views/host.js"),
    include_str!("views/parts.js"),
    include_str!("views/items.js"),
    include_str!("views/review.js"),
    include_str!("views/start.js"),
);

/// Every view's document, built once: the shared page with the view's name and title.
fn documents() -> &'static [String] {
    static DOCS: OnceLock<Vec<String>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let page = include_str!("views/view.html")
            .replace("/*STYLE*/", include_str!("views/view.css"))
            .replace("/*SCRIPT*/", SCRIPT)
            .replace(
                "/*SERVER_KEYS*/",
                &serde_json::to_string(super::fields::RESERVED_KEYS).unwrap_or_default(),
            );
        VIEWS
            .iter()
            .map(|v| {
                page.replace("__VIEW__", v.name)
                    .replace("__TITLE__", v.title)
            })
            .collect()
    })
}

/// The server's `extensions` capability: this extension, with the one MIME type it serves.
pub(crate) fn capability() -> rmcp::model::ExtensionCapabilities {
    let mut settings = JsonObject::new();
    settings.insert("mimeTypes".into(), json!([MIME]));
    [(EXTENSION.to_owned(), settings)].into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::Generation, mcp::catalog::entities};

    #[test]
    fn every_view_names_real_tools_and_is_a_whole_document() {
        for v in &VIEWS {
            for (entity, _) in v.shows {
                assert!(
                    entities(Generation::Seed).any(|e| e.singular == *entity),
                    "{} shows {entity}, which the catalog does not have",
                    v.uri
                );
            }
            let ResourceContents::TextResourceContents {
                text, mime_type, ..
            } = read(v.uri).unwrap()
            else {
                panic!("text")
            };
            assert_eq!(mime_type.as_deref(), Some(MIME));
            assert!(text.starts_with("<!doctype html>"), "{}", v.uri);
            assert!(text.contains(&format!("data-view=\"{}\"", v.name)));
            // Nothing loaded from anywhere: no src= or href= to another document.
            for attr in ["src=", "href=", "@import", "url("] {
                assert!(!text.contains(attr), "{} has {attr}", v.uri);
            }
            assert!(text.contains("default-src 'none'"));
            for placeholder in [
                "/*STYLE*/",
                "/*SCRIPT*/",
                "/*SERVER_KEYS*/",
                "__VIEW__",
                "__TITLE__",
            ] {
                assert!(!text.contains(placeholder), "{} keeps {placeholder}", v.uri);
            }
        }
        assert!(read("ui://toolbridge/nope").is_none());
    }
}
