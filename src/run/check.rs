//! `toolbridge-mcp check`: the first thing an operator runs when something is wrong.
//! Validates the configuration, calls the API's /healthz, tells the API generation, then
//! with a token tests each configured mode on its own line (the token at the gateway's edge,
//! the backend credential, the tenant header) and opens a sync session. One line per check,
//! with the reason; a non-zero exit when any fails.

use std::{path::Path, time::Instant};

use http::StatusCode;

use super::stdio::bearer;
use crate::{
    config::{Config, Generation},
    mcp::tools::Choice,
    secret::Secret,
    upstream::{Call, Upstream, UpstreamError, configured_caller},
};

/// One line of the report.
#[derive(Debug)]
pub(crate) struct CheckLine {
    /// What was checked.
    pub(crate) name: &'static str,
    /// Passed?
    pub(crate) ok: bool,
    /// Why (or what was seen).
    pub(crate) detail: String,
}

impl std::fmt::Display for CheckLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = if self.ok { "PASS" } else { "FAIL" };
        write!(f, "[{mark}] {:<22} {}", self.name, self.detail)
    }
}

fn line(name: &'static str, ok: bool, detail: impl Into<String>) -> CheckLine {
    CheckLine {
        name,
        ok,
        detail: detail.into(),
    }
}

/// Why a request failed, in an operator's words.
fn failure(e: &UpstreamError, window: u64) -> String {
    match e {
        e if e.is_tenant_refusal() => format!(
            "the API refused the tenant header ({e}): TOOLBRIDGE_TENANT_ID is not allowed for this \
             user or not configured at the API, TENANT_HEADER_SECRET differs (seed), or the clocks \
             are more than {window} s apart"
        ),
        UpstreamError::Status {
            status: StatusCode::UNAUTHORIZED,
            message,
            ..
        } => format!(
            "the API refused the token ({message}): it is expired, malformed, signed with another \
             key, or its issuer or audience is not the API's"
        ),
        other => other.to_string(),
    }
}

/// The backend-credential and tenant lines, from the probe's outcome.
/// The backend credential's line when the API took it (whatever it then said of the tenant).
fn accepted(lines: &mut Vec<CheckLine>, backend: &str) {
    lines.push(line(
        "backend credential",
        true,
        format!("{backend}: accepted"),
    ));
}

fn mode_lines(config: &Config, probe: &Result<(), UpstreamError>, lines: &mut Vec<CheckLine>) {
    let backend = format!("{:?}", config.backend_auth).to_lowercase();
    let tenant = format!("{:?}", config.effective_tenant_mode()).to_lowercase();
    let window = config.max_timestamp_skew.as_secs();
    match probe {
        Err(e @ UpstreamError::Exchange { .. }) => {
            lines.push(line("backend credential", false, format!("{backend}: {e}")));
        }
        Err(
            e @ UpstreamError::Status {
                status: StatusCode::UNAUTHORIZED,
                ..
            },
        ) if !e.is_tenant_refusal() => {
            lines.push(line(
                "backend credential",
                false,
                format!("{backend}: {}", failure(e, window)),
            ));
        }
        Err(e)
            if e.is_tenant_refusal()
                || matches!(
                    e,
                    UpstreamError::TenantSelection { .. } | UpstreamError::NoTenant(_)
                ) =>
        {
            accepted(lines, &backend);
            lines.push(line(
                "tenant",
                false,
                format!("{tenant}: {}", failure(e, window)),
            ));
        }
        Err(e) => lines.push(line("backend credential", false, format!("{backend}: {e}"))),
        Ok(()) => {
            accepted(lines, &backend);
            lines.push(line(
                "tenant",
                true,
                format!("{tenant}: accepted for this user"),
            ));
        }
    }
}

/// Tenant signatures carry our clock; the API refuses them outside its window.
fn clock_line(api_clock: Option<chrono::DateTime<chrono::Utc>>, window: u64) -> CheckLine {
    let Some(api) = api_clock else {
        return line("clock", true, "the API sent no Date header; skipped");
    };
    // `Date` has whole seconds, so allow one second of rounding.
    let skew = (chrono::Utc::now() - api).num_milliseconds().abs() as f64 / 1000.0;
    if skew <= window as f64 - 1.0 {
        line(
            "clock",
            true,
            format!("within {skew:.0} s of the API's (window {window} s)"),
        )
    } else {
        line(
            "clock",
            false,
            format!(
                "{skew:.0} s from the API's clock, beyond its {window} s window: fix NTP on one side"
            ),
        )
    }
}

/// Whether the gateway's own edge would accept the token (in `verify` mode).
async fn gateway_token_line(config: &Config, token: &Secret) -> CheckLine {
    let verifier = match crate::auth::Verifier::new(config) {
        Ok(v) => v,
        Err(e) => return line("token at the gateway", false, e.to_string()),
    };
    if verifier.mode() != crate::config::AuthMode::Verify {
        return line(
            "token at the gateway",
            true,
            "passthrough mode: the API verifies tokens",
        );
    }
    let raw = token
        .expose()
        .split_once(' ')
        .map_or(token.expose(), |(_, t)| t.trim());
    match verifier.verify(raw).await {
        Ok(id) => line(
            "token at the gateway",
            true,
            format!("valid, for user {}", id.sub),
        ),
        Err(e) => line(
            "token at the gateway",
            false,
            format!("the gateway would refuse it: {e}"),
        ),
    }
}

/// Runs every check; the lines come back in order, with later ones skipped when an
/// earlier one makes them meaningless.
pub(crate) async fn run_checks(
    config: Result<Config, String>,
    token: Option<Secret>,
) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let config = match config {
        Ok(c) => {
            lines.push(line(
                "configuration",
                true,
                format!(
                    "tenant {} ({:?} mode), API {}, generation {:?}, backend auth {:?}, session mode {:?}, edge auth {:?}",
                    c.tenant_id,
                    c.effective_tenant_mode(),
                    c.api_base(),
                    c.api_generation,
                    c.backend_auth,
                    c.session_mode,
                    c.effective_auth_mode()
                ),
            ));
            c
        }
        Err(e) => {
            lines.push(line("configuration", false, e));
            return lines;
        }
    };
    let choice = match Choice::new(&config.tools) {
        Ok(c) => c,
        Err(e) => {
            lines.push(line("tools", false, e.to_string()));
            return lines;
        }
    };
    let upstream = match Upstream::new(&config) {
        Ok(u) => u,
        Err(e) => {
            lines.push(line("http client", false, e.to_string()));
            return lines;
        }
    };
    let started = Instant::now();
    match upstream.healthz_clock().await {
        Ok(api_clock) => {
            lines.push(line(
                "API health",
                true,
                format!("/healthz answered in {} ms", started.elapsed().as_millis()),
            ));
            if config.effective_tenant_mode() != crate::config::TenantMode::Plain {
                lines.push(clock_line(api_clock, config.max_timestamp_skew.as_secs()));
            }
        }
        Err(e) => {
            lines.push(line(
                "API health",
                false,
                format!("{e} (is TOOLBRIDGE_GO_API_BASE_URL right, and the API running?)"),
            ));
            return lines;
        }
    }
    let how = if config.api_generation.fixed().is_some() {
        "configured"
    } else {
        "detected from /v1/sync/info"
    };
    let generations = match upstream.detect_generation().await {
        Ok(g) => {
            lines.push(line(
                "API generation",
                true,
                format!("{} ({how})", g.as_str()),
            ));
            vec![g]
        }
        Err(e) => {
            lines.push(line("API generation", false, format!("cannot tell: {e}")));
            vec![Generation::Seed, Generation::Current]
        }
    };
    for g in generations {
        let names = choice.names(g);
        let how = if choice.is_all() {
            "all"
        } else {
            "chosen by TOOLBRIDGE_TOOLS"
        };
        lines.push(line(
            "tools",
            true,
            format!(
                "{} offered on {} ({how}): {}",
                names.len(),
                g.as_str(),
                names.join(", ")
            ),
        ));
    }
    let token = token.or_else(|| bearer(&config.token));
    let Some(token) = token else {
        lines.push(line(
            "token",
            false,
            "no token to test with: pass --token or set TOOLBRIDGE_TOKEN (mint one with `toolbridge-mcp token`)",
        ));
        return lines;
    };
    lines.push(gateway_token_line(&config, &token).await);
    let probe = upstream.probe(token.clone()).await;
    mode_lines(&config, &probe, &mut lines);
    if probe.is_err() {
        return lines;
    }
    let opened = async {
        let caller = configured_caller(&token)?;
        let correlation_id = crate::upstream::correlation::new_id();
        let call = Call {
            caller: &caller,
            correlation_id: &correlation_id,
        };
        upstream.open_session(call).await
    };
    match opened.await {
        Ok(s) => lines.push(line(
            "sync session",
            true,
            format!("the API opened a sync session (epoch {})", s.epoch),
        )),
        Err(e) => lines.push(line(
            "sync session",
            false,
            failure(&e, config.max_timestamp_skew.as_secs()),
        )),
    }
    lines
}

/// The configuration in effect, one `TOOLBRIDGE_<KEY>=value` line per key in `KEYS` order:
/// after the defaults, the file, `.env`, the environment and the aliases, with the choices
/// the gateway derives (tenant mode, auth mode, authorization servers) as it derives them.
/// Secrets appear only as `(set)` or `(unset)`. Two environments that start the same
/// gateway print the same lines, whatever names they used.
pub(crate) fn effective_config(c: &Config) -> Vec<String> {
    let serde_json::Value::Object(mut map) = serde_json::to_value(c).unwrap_or_default() else {
        return Vec::new();
    };
    let derived = [
        (
            "tenant_mode",
            serde_json::to_value(c.effective_tenant_mode()),
        ),
        ("auth_mode", serde_json::to_value(c.effective_auth_mode())),
        (
            "auth_required",
            serde_json::to_value(c.effective_auth_required()),
        ),
        (
            "authorization_servers",
            serde_json::to_value(c.effective_authorization_servers()),
        ),
    ];
    for (key, value) in derived {
        if let Ok(v) = value {
            map.insert(key.into(), v);
        }
    }
    crate::config::KEYS
        .iter()
        .map(|key| {
            let value = match map.get(key.name) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
                Some(other) => other.to_string(),
            };
            format!("{}={value}", key.env())
        })
        .collect()
}

/// `toolbridge-mcp check`: prints the effective configuration and the report; true when
/// every line passed.
pub async fn check_main(config_file: Option<&Path>, token: Option<String>) -> bool {
    let config = Config::load(config_file).map_err(|e| e.to_string());
    if let Ok(c) = &config {
        println!("effective configuration (secrets shown only as set or unset):");
        for l in effective_config(c) {
            println!("  {l}");
        }
        if c.accept_any_audience_from_issuer {
            println!(
                "  note: tokens from {} are accepted whatever their `aud` \
                 (TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER)",
                c.oidc_issuer.as_ref().map_or("", |i| i.as_str())
            );
        }
    }
    let token = token.and_then(|t| bearer(&Secret::new(t)));
    let lines = run_checks(config, token).await;
    for l in &lines {
        println!("{l}");
    }
    let ok = lines.iter().all(|l| l.ok);
    println!(
        "{}",
        if ok {
            "all checks passed"
        } else {
            "some checks failed"
        }
    );
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_skew_beyond_the_window_fails_and_names_the_window() {
        let now = chrono::Utc::now();
        assert!(clock_line(Some(now), 300).ok);
        assert!(clock_line(None, 300).ok);
        let off = clock_line(Some(now - chrono::Duration::seconds(400)), 300);
        assert!(!off.ok);
        assert!(off.detail.contains("300 s window"), "{}", off.detail);
    }
}
