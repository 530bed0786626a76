//! `demo` and `emulator`: the gateway on an embedded API emulator, and the emulator alone.

use std::{collections::HashMap, net::SocketAddr, path::Path, time::Duration};

use super::{RunError, bind, serve_gateway, shutdown_signal};
use crate::{
    config::{Config, ConfigError},
    emulator::{Emulator, EmulatorConfig, Organization, mint_hs256},
    secret::Secret,
};

/// How long the demo token is valid.
const DEMO_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// `toolbridge-mcp demo`: the emulator on a loopback port and the gateway on
/// `127.0.0.1:port`, wired together, with a ready token and instructions.
pub async fn demo(port: u16, api_port: u16) -> Result<(), RunError> {
    let emu_cfg = EmulatorConfig {
        // The demo is for trying tools by hand: the contract's rate limits would only get
        // in the way of a human clicking around.
        rate_limit: None,
        auth_rate_limit: None,
        // The current API reads no tenant secret; it is kept only for a gateway that still
        // signs its tenant header (the signature is then ignored).
        tenant_header_secret: EmulatorConfig::default().tenant_header_secret,
        ..EmulatorConfig::current()
    };
    let emu = Emulator::spawn(
        emu_cfg.clone(),
        SocketAddr::from(([127, 0, 0, 1], api_port)),
    )
    .await
    .map_err(|source| RunError::Io {
        context: format!("cannot start the API emulator on 127.0.0.1:{api_port}"),
        source,
    })?;
    let config = Config {
        tenant_id: emu_cfg.default_tenant_id.clone(),
        tenant_header_secret: Secret::new(emu_cfg.tenant_header_secret.clone().unwrap_or_default()),
        go_api_base_url: emu.base_url().parse().expect("the emulator's URL"),
        host: [127, 0, 0, 1].into(),
        port,
        jwt_hs256_secret: Secret::new(emu_cfg.jwt_hs256_secret.clone()),
        ..Config::default()
    };
    config.validate()?;
    let listener = bind(SocketAddr::new(config.host, config.port)).await?;
    let addr = listener.local_addr().map_err(|source| RunError::Io {
        context: "reading the bound address".into(),
        source,
    })?;
    let token = mint_hs256(&emu_cfg.jwt_hs256_secret, "demo-user", DEMO_TOKEN_TTL);
    println!("{}", banner(addr, &emu.base_url(), &token));
    serve_gateway(config, listener, shutdown_signal()).await?;
    emu.shutdown().await;
    Ok(())
}

fn banner(addr: SocketAddr, api: &str, token: &str) -> String {
    format!(
        r#"toolbridge-mcp demo is running.

  MCP endpoint   http://{addr}/mcp
  API emulator   {api}   (in-process, data in memory)
  Dev token      {token}
                 (HS256, sub=demo-user, valid 24 h)
  Sign-in        none: demo has no OAuth authorization server, so clients send the
                 token themselves, with --header as below (docs/auth.md for OAuth)

MCP Inspector (UI):
  npx @modelcontextprotocol/inspector --transport http --server-url http://{addr}/mcp \
    --header "Authorization: Bearer {token}"

MCP Inspector (CLI):
  npx @modelcontextprotocol/inspector --cli http://{addr}/mcp --transport http \
    --header "Authorization: Bearer {token}" --method tools/list

Claude Desktop (claude_desktop_config.json):
  {{"mcpServers": {{"toolbridge": {{"command": "npx", "args": ["-y", "mcp-remote",
    "http://{addr}/mcp", "--header", "Authorization: Bearer {token}"]}}}}}}

Press Ctrl-C to stop."#
    )
}

/// `toolbridge-mcp emulator`: the API emulator alone (for supervisord tests and local
/// development against a stand-in API), until SIGTERM.
pub async fn emulator_main(cfg: EmulatorConfig, addr: SocketAddr) -> Result<(), RunError> {
    let listener = bind(addr).await?;
    let tenant = match cfg.generation {
        crate::emulator::Generation::Seed => &cfg.tenant_id,
        crate::emulator::Generation::Current => &cfg.default_tenant_id,
    };
    tracing::info!(%addr, generation = %cfg.generation, %tenant, "ToolBridge API emulator listening");
    Emulator::new(cfg)
        .serve(listener, shutdown_signal())
        .await
        .map_err(|source| RunError::Io {
            context: "serving the emulator".into(),
            source,
        })
}

/// Reads `toolbridge-mcp emulator --memberships FILE`: a JSON object mapping each `sub` to
/// its organizations, `{"sub": [{"id": "org_1", "name": "Acme"}]}`.
pub fn read_memberships(path: &Path) -> Result<HashMap<String, Vec<Organization>>, RunError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunError::Io {
        context: format!("reading the membership table {}", path.display()),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| {
        RunError::Config(ConfigError::Invalid {
            var: format!("--memberships {}", path.display()),
            why: format!(r#"expected {{"sub": [{{"id": "org_1", "name": "Acme"}}]}}: {e}"#),
        })
    })
}

/// Mints a dev token (`toolbridge-mcp token`).
pub fn token(secret: &str, sub: &str, ttl: Duration) -> String {
    mint_hs256(secret, sub, ttl)
}
