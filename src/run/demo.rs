//! `demo` and `emulator`: the gateway on an embedded API emulator, and the emulator alone.

use std::{net::SocketAddr, time::Duration};

use super::{RunError, bind, serve_gateway, shutdown_signal};
use crate::{
    config::Config,
    emulator::{Emulator, EmulatorConfig, mint_hs256},
    secret::Secret,
};

/// How long the demo token is valid.
const DEMO_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// `toolbridge-mcp demo`: the emulator on a loopback port and the gateway on
/// `127.0.0.1:port`, wired together, with a ready token and instructions.
pub async fn demo(port: u16, api_port: u16) -> Result<(), RunError> {
    let emu_cfg = EmulatorConfig {
        // The demo is for trying tools by hand: the contract's rate limit would only get
        // in the way of a human clicking around.
        rate_limit: None,
        ..EmulatorConfig::default()
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
        tenant_id: emu_cfg.tenant_id.clone(),
        tenant_header_secret: Secret::new(emu_cfg.tenant_header_secret.clone().unwrap_or_default()),
        go_api_base_url: emu.base_url(),
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
    tracing::info!(%addr, tenant = %cfg.tenant_id, "ToolBridge API emulator listening");
    Emulator::new(cfg)
        .serve(listener, shutdown_signal())
        .await
        .map_err(|source| RunError::Io {
            context: "serving the emulator".into(),
            source,
        })
}

/// Mints a dev token (`toolbridge-mcp token`).
pub fn token(secret: &str, sub: &str, ttl: Duration) -> String {
    mint_hs256(secret, sub, ttl)
}
