//! Shared test harness: the emulator and the gateway on real sockets (127.0.0.1:0), and
//! rmcp's own client talking to the gateway.
#![allow(dead_code)]

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::Value;
use tokio::sync::oneshot;
use toolbridge_mcp::{
    config::Config,
    emulator::{Emulator, EmulatorConfig, EmulatorHandle, mint_hs256},
    run::serve_gateway,
    secret::Secret,
};

pub const TENANT: &str = "tenant-test-1";
pub const TENANT_SECRET: &str = "tenant-secret-for-tests-0123456789";
pub const JWT_SECRET: &str = "jwt-secret-for-tests-abcdefghijklmnop";

pub type Client = RunningService<RoleClient, ()>;

pub mod binary;
pub mod jaeger;
pub mod leaks;
pub mod mcp_http;
pub mod metrics;
pub mod node;

/// The emulator plus a gateway wired to it.
pub struct Stack {
    pub emu: Api,
    pub gateway: SocketAddr,
    pub config: Config,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub fn emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        jwt_hs256_secret: JWT_SECRET.into(),
        tenant_id: TENANT.into(),
        tenant_header_secret: Some(TENANT_SECRET.into()),
        ..EmulatorConfig::default()
    }
}

/// The current generation of the API (contract §7) with its real limits: the gateway's
/// tenant is the API's default tenant, and no organization service is configured.
pub fn current_emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        jwt_hs256_secret: JWT_SECRET.into(),
        tenant_id: TENANT.into(),
        default_tenant_id: TENANT.into(),
        ..EmulatorConfig::current()
    }
}

pub fn gateway_config(api: &str) -> Config {
    Config {
        tenant_id: TENANT.into(),
        tenant_header_secret: Secret::new(TENANT_SECRET),
        go_api_base_url: api.into(),
        host: [127, 0, 0, 1].into(),
        port: 0,
        ..Config::default()
    }
}

/// A token for `sub`, valid for an hour.
pub fn token(sub: &str) -> String {
    let t = mint_hs256(JWT_SECRET, sub, Duration::from_secs(3600));
    leaks::record([t.as_str()]);
    t
}

/// An emulator on 127.0.0.1:0 whose received signatures are written down for the leak
/// watch when it is dropped.
pub struct Api(pub EmulatorHandle);

impl std::ops::Deref for Api {
    type Target = EmulatorHandle;
    fn deref(&self) -> &EmulatorHandle {
        &self.0
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        leaks::record_signatures(&self.0.emulator);
    }
}

/// Starts an emulator (see [`Api`]).
pub async fn api(cfg: EmulatorConfig) -> Api {
    toolbridge_mcp::upstream::install_crypto_provider();
    leaks::watch();
    Api(Emulator::spawn(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts"))
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(emulator_config(), |_| {}).await
    }

    pub async fn start_with(emu: EmulatorConfig, tweak: impl FnOnce(&mut Config)) -> Self {
        toolbridge_mcp::upstream::install_crypto_provider();
        let emu = api(emu).await;
        let mut config = gateway_config(&emu.base_url());
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let cfg = config.clone();
        let task = tokio::spawn(async move {
            serve_gateway(cfg, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("gateway serves");
        });
        // The gateway asks the API's generation in the background at start (the tests'
        // configuration keeps `auto`). Wait for that request to be answered, so a test's
        // faults and delays (set next) meet only its own calls, never the start-up question.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !emu
            .emulator
            .requests()
            .iter()
            .any(|r| r.path == "/v1/sync/info")
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Self {
            emu,
            gateway,
            config,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.gateway)
    }

    pub fn emulator(&self) -> &Emulator {
        &self.emu.emulator
    }

    /// An rmcp client with `Authorization: Bearer <token for sub>`.
    pub async fn client(&self, sub: &str) -> Client {
        self.client_with(Some(token(sub)), HashMap::new()).await
    }

    pub async fn client_with(
        &self,
        bearer: Option<String>,
        headers: HashMap<http::HeaderName, http::HeaderValue>,
    ) -> Client {
        let mut cfg =
            StreamableHttpClientTransportConfig::with_uri(self.mcp_url()).custom_headers(headers);
        if let Some(b) = bearer {
            cfg = cfg.auth_header(b);
        }
        let transport = StreamableHttpClientTransport::from_config(cfg);
        ().serve(transport).await.expect("client connects")
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

/// Calls a tool with JSON arguments.
pub async fn call(client: &Client, name: &str, args: Value) -> CallToolResult {
    let params = match args {
        Value::Object(map) => CallToolRequestParams::new(name.to_owned()).with_arguments(map),
        Value::Null => CallToolRequestParams::new(name.to_owned()),
        other => panic!("arguments must be an object, got {other}"),
    };
    client.call_tool(params).await.expect("tools/call answered")
}

/// The structured result of a successful call (panics with the error text otherwise).
pub async fn ok(client: &Client, name: &str, args: Value) -> Value {
    let r = call(client, name, args.clone()).await;
    assert_ne!(r.is_error, Some(true), "{name} {args} failed: {}", text(&r));
    let structured = r.structured_content.clone().expect("structuredContent");
    // The same JSON is also given as text.
    let as_text: Value = serde_json::from_str(&text(&r)).expect("text content is JSON");
    assert_eq!(
        as_text, structured,
        "{name}: text and structuredContent differ"
    );
    structured
}

/// The error text of a failed call (panics if it succeeded).
pub async fn err(client: &Client, name: &str, args: Value) -> String {
    let r = call(client, name, args.clone()).await;
    assert_eq!(
        r.is_error,
        Some(true),
        "{name} {args} should fail: {}",
        text(&r)
    );
    text(&r)
}

pub fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until the emulator is handling a request, i.e. a call got through to the API
/// (at most 10 s).
pub async fn until_api_busy(emu: &Emulator) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while emu.in_flight() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the call never reached the API"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How many tools a seed-generation gateway lists (the catalog is the one home of it).
pub fn seed_tool_count() -> usize {
    toolbridge_mcp::mcp::catalog::tool_names(toolbridge_mcp::config::Generation::Seed).len()
}

/// What the API received on callers' behalf: every request but the gateway's own
/// token-less `GET /v1/sync/info`, which asks the API generation at start.
pub fn api_calls(emu: &Emulator) -> Vec<toolbridge_mcp::emulator::RecordedRequest> {
    emu.requests()
        .into_iter()
        .filter(|r| !(r.path == "/v1/sync/info" && r.header("authorization").is_none()))
        .collect()
}
