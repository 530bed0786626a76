//! What depends on the protocol revision a request speaks: the versions this gateway
//! serves, `server/discover`, the caching hints of `tools/list` and `logging/setLevel`.
//!
//! rmcp 3.11 already serves 2026-07-28 (`server/discover`, per-request `_meta`, the
//! `Mcp-Method`/`Mcp-Name` checks, `resultType`); these are the answers it leaves to the
//! server: how long its lists stay fresh and for whom, and which legacy methods still exist.
//! Legacy revisions (2025-11-25 and earlier) get exactly what they got before.

use std::{borrow::Cow, time::Duration};

use rmcp::{
    ErrorData, RoleServer,
    model::{
        CacheScope, ConstString, DiscoverResult, ErrorCode, ListToolsResult, ProtocolVersion,
        ServerConfig, SetLevelRequestMethod,
    },
    service::RequestContext,
};

/// How long a 2026-07-28 client may reuse a `tools/list` or `server/discover` answer.
///
/// Both are fixed for the life of a gateway process (the tool catalog and the instructions
/// are compiled in), so the only change a client can miss is a redeploy; an hour bounds how
/// long it keeps a list from before one. Clients re-fetch early anyway when a call fails with
/// an unknown tool (caching spec, "Clients MAY re-fetch before the TTL expires").
pub(crate) const LIST_TTL: Duration = Duration::from_secs(3600);

/// Who the tool list depends on, which decides who may share a cached copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// The same list for every caller of this deployment: `cacheScope: "public"`.
    Everyone,
    /// The list varies with the caller's authorization (scopes filtering tools):
    /// `cacheScope: "private"`, so no cache serves it across tokens.
    Caller,
}

/// The `_meta` key of a 2026-07-28 request's own revision (rmcp keeps its name private).
pub(crate) const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// The protocol revisions this gateway serves: every one rmcp 3.11 implements. Used by
/// the handshake, by `server/discover` and by the edge's version check, so the three
/// never disagree.
pub(crate) fn supported_versions() -> Cow<'static, [ProtocolVersion]> {
    Cow::Borrowed(ProtocolVersion::KNOWN_VERSIONS)
}

/// Whether `header` (an `MCP-Protocol-Version` value) names a revision in
/// [`supported_versions`].
pub(crate) fn is_supported(header: &[u8]) -> bool {
    supported_versions()
        .iter()
        .any(|v| v.as_str().as_bytes() == header)
}

/// The revision the request speaks: its own (`_meta`, 2026-07-28), else the one its
/// session negotiated.
pub(crate) fn version(ctx: &RequestContext<RoleServer>) -> Option<ProtocolVersion> {
    ctx.protocol_version().or_else(|| {
        ctx.extensions
            .get::<crate::call::NegotiatedVersion>()
            .map(|v| v.0.clone())
    })
}

/// True when the request speaks 2026-07-28 or later (per-request `_meta`, no session).
pub(crate) fn is_modern(ctx: &RequestContext<RoleServer>) -> bool {
    version(ctx).is_some_and(|v| !v.has_initialize())
}

/// `tools` as a `tools/list` result; on 2026-07-28 with caching hints for `audience`.
///
/// Legacy results carry no hints, as before (rmcp strips `resultType` for them itself).
pub(crate) fn tool_list(
    tools: Vec<rmcp::model::Tool>,
    audience: Audience,
    ctx: &RequestContext<RoleServer>,
) -> ListToolsResult {
    let result = ListToolsResult::with_all_items(tools);
    if !is_modern(ctx) {
        return result;
    }
    result
        .with_ttl_ms(LIST_TTL.as_millis() as u64)
        .with_cache_scope(scope(audience))
}

/// The views as a `resources/list` result; on 2026-07-28 cacheable like the tool list
/// (they are compiled in, the same for every caller).
pub(crate) fn resource_list(
    resources: Vec<rmcp::model::Resource>,
    ctx: &RequestContext<RoleServer>,
) -> rmcp::model::ListResourcesResult {
    let result = rmcp::model::ListResourcesResult::with_all_items(resources);
    if !is_modern(ctx) {
        return result;
    }
    result
        .with_ttl_ms(LIST_TTL.as_millis() as u64)
        .with_cache_scope(CacheScope::Public)
}

/// One view's content as a `resources/read` result, with the same hints on 2026-07-28.
pub(crate) fn resource_read(
    contents: rmcp::model::ResourceContents,
    ctx: &RequestContext<RoleServer>,
) -> rmcp::model::ReadResourceResult {
    let result = rmcp::model::ReadResourceResult::new(vec![contents]);
    if !is_modern(ctx) {
        return result;
    }
    result
        .with_ttl_ms(LIST_TTL.as_millis() as u64)
        .with_cache_scope(CacheScope::Public)
}

/// The `server/discover` answer: versions, capabilities, instructions and server info from
/// `info`, cacheable like the tool list (it never varies with the caller).
pub(crate) fn discover(info: ServerConfig) -> DiscoverResult {
    DiscoverResult::from_server_info(supported_versions().into_owned(), info)
        .with_ttl_ms(LIST_TTL.as_millis() as u64)
        .with_cache_scope(CacheScope::Public)
}

/// `logging/setLevel`: accepted on the revisions that have it (2025-06-18, 2025-11-25 list
/// it; the conformance suite checks it), `-32601` on 2026-07-28, which removed it in favour
/// of a per-request `_meta` log level.
///
/// The gateway sends no `notifications/message` at all (tool failures are `isError`
/// results, operational logs go to the process log), so every level is honoured by
/// construction: there is nothing below or above it to deliver.
pub(crate) fn set_level(ctx: &RequestContext<RoleServer>) -> Result<(), ErrorData> {
    if is_modern(ctx) {
        return Err(ErrorData::method_not_found::<SetLevelRequestMethod>());
    }
    Ok(())
}

/// The answer to a request rmcp could not parse as any known method. A `logging/setLevel`
/// whose level is not one of the eight lands here (rmcp falls back to a custom request):
/// it gets `-32602` naming the levels, as the spec asks for invalid params; anything else
/// stays `-32601`, as rmcp answers it.
pub(crate) fn unknown_request(method: &str, ctx: &RequestContext<RoleServer>) -> ErrorData {
    if method == SetLevelRequestMethod::VALUE && !is_modern(ctx) {
        return ErrorData::invalid_params(
            "logging/setLevel needs params.level: one of debug, info, notice, warning, error, \
             critical, alert, emergency",
            None,
        );
    }
    ErrorData::new(ErrorCode::METHOD_NOT_FOUND, method.to_owned(), None)
}

fn scope(audience: Audience) -> CacheScope {
    match audience {
        Audience::Everyone => CacheScope::Public,
        Audience::Caller => CacheScope::Private,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_covers_the_legacy_revisions_and_2026() {
        for v in ["2025-06-18", "2025-11-25", "2026-07-28"] {
            assert!(is_supported(v.as_bytes()), "{v}");
        }
        for bad in ["", "v999.0.0", "2099-01-01", "2025-11-25 ", "Bearer eyJ0"] {
            assert!(!is_supported(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn discover_is_public_and_cacheable() {
        let d = discover(ServerConfig::default());
        assert_eq!(d.ttl_ms, LIST_TTL.as_millis() as u64);
        assert_eq!(d.cache_scope, CacheScope::Public);
        assert!(
            d.supported_versions
                .contains(&ProtocolVersion::V_2026_07_28)
        );
    }

    #[test]
    fn a_caller_dependent_list_is_private() {
        assert_eq!(scope(Audience::Everyone), CacheScope::Public);
        assert_eq!(scope(Audience::Caller), CacheScope::Private);
    }
}
