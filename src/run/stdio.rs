//! `toolbridge-mcp stdio`: the same tools over MCP stdio, for clients that launch local
//! servers (Claude Desktop's `claude_desktop_config.json`). The bearer token comes from
//! `TOOLBRIDGE_TOKEN`; stdout carries protocol only, logs go to stderr.

use rmcp::ServiceExt;

use super::RunError;
use crate::{call::Caller, config::Config, mcp::Gateway, secret::Secret, upstream::Upstream};

/// The `Authorization` value for a configured token, with or without its `Bearer ` prefix.
pub(crate) fn bearer(token: &Secret) -> Option<Secret> {
    let t = token.expose().trim();
    if t.is_empty() {
        None
    } else if t.len() > 7 && t[..7].eq_ignore_ascii_case("bearer ") {
        Some(Secret::new(t))
    } else {
        Some(Secret::new(format!("Bearer {t}")))
    }
}

/// Serves MCP on stdin/stdout until the client closes it.
pub async fn stdio_main(config: Config) -> Result<(), RunError> {
    let caller = match bearer(&config.token) {
        None => {
            tracing::warn!(
                "TOOLBRIDGE_TOKEN is not set: tools that reach the API will answer with an error"
            );
            None
        }
        Some(token) => {
            let caller = Caller::configured(&token);
            if caller.is_none() {
                tracing::warn!(
                    "TOOLBRIDGE_TOKEN is not a valid header value: tools that reach the API \
                     will answer with an error"
                );
            }
            caller
        }
    };
    let gateway = Gateway::new(Upstream::new(&config)?, &config, caller, Default::default())?;
    let service = gateway
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| RunError::Io {
            context: "starting MCP on stdio".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
    tracing::info!("serving MCP on stdio");
    let _ = service.waiting().await;
    crate::telemetry::otel::shutdown(config.shutdown_grace).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_prefix_is_added_once() {
        let b = |s: &str| bearer(&Secret::new(s)).map(|s| s.expose().to_owned());
        assert_eq!(b("abc").as_deref(), Some("Bearer abc"));
        assert_eq!(b("Bearer abc").as_deref(), Some("Bearer abc"));
        assert_eq!(b("bearer abc").as_deref(), Some("bearer abc"));
        assert_eq!(b("  ").as_deref(), None);
    }
}
