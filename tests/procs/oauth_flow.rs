//! Identity end to end, with nothing written here on the client or the authorization
//! server side: panva's `oidc-provider` (tests/interop/node/oauth/authorization_server.mjs,
//! its configuration in that file) and the official TypeScript SDK's OAuth client
//! (tests/interop/node/oauth/client.mjs), against the real gateway binary and the API
//! emulator, all on loopback sockets.
//!
//! The gateway is configured with the issuer only (no `TOOLBRIDGE_JWKS_URL`): it finds the
//! keys through the issuer's metadata. With scopes enforced, the client goes 401 →
//! metadata → authorization-server discovery → dynamic registration → authorization code
//! with PKCE and `resource` → token → `tools/list` → `create_note` → refresh; a second
//! client granted only the read scope gets 403 `insufficient_scope` on `create_note`,
//! steps up, and retries.
//!
//! The gateway runs with `TOOLBRIDGE_BACKEND_AUTH=exchange` against the authorization
//! server's RFC 8693 endpoint: it trades the user's token for one issued for the API's
//! audience, and the API (the emulator, trusting the authorization server's RS256 keys for
//! that audience only) receives only exchanged tokens, never one a client held.

use crate::common;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use common::{binary::*, *};
use serde_json::Value;
use sha2::{Digest, Sha256};
use toolbridge_mcp::emulator::EmulatorConfig;

const NODE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/node");
const INSTALL: &str = "(cd tests/interop/node && npm ci)";
const GATEWAY_CLIENT_ID: &str = "toolbridge-gateway";
const GATEWAY_CLIENT_SECRET: &str = "gateway-client-secret-for-tests-0123456789";
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// The API's audience: what exchanged tokens are issued for.
const API_AUDIENCE: &str = "https://api.toolbridge.test/";
const READ: &str = "toolbridge:read";
const WRITE: &str = "toolbridge:write";

/// Node 22 from the `node` npm package, or a failure that says how to install it.
fn node() -> std::path::PathBuf {
    let modules = Path::new(NODE_DIR).join("node_modules");
    for needed in [
        "node/bin/node",
        "oidc-provider/package.json",
        "jose/package.json",
        "@modelcontextprotocol/sdk/package.json",
    ] {
        assert!(
            modules.join(needed).exists(),
            "{needed} is missing from {}: run `{INSTALL}` (.ci/run does) and test again.",
            modules.display()
        );
    }
    modules.join("node/bin/node")
}

/// The authorization server, killed (and its stdin closed) on drop.
struct AuthorizationServer {
    child: Child,
    issuer: String,
    stderr: tempfile::NamedTempFile,
}

impl AuthorizationServer {
    fn start(api: &str) -> Self {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(node())
            .arg("oauth/authorization_server.mjs")
            .current_dir(NODE_DIR)
            .env("GATEWAY_CLIENT_ID", GATEWAY_CLIENT_ID)
            .env("GATEWAY_CLIENT_SECRET", GATEWAY_CLIENT_SECRET)
            .env("API_RESOURCE", api)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .expect("the authorization server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let first: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "authorization server did not start ({e}): {line}\n{}",
                std::fs::read_to_string(stderr.path()).unwrap_or_default()
            )
        });
        let issuer = first["issuer"].as_str().unwrap().to_owned();
        Self {
            child,
            issuer,
            stderr,
        }
    }

    /// Its `jwks_uri`, from its discovery document.
    async fn jwks_uri(&self) -> String {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let doc: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        doc["jwks_uri"].as_str().unwrap().to_owned()
    }

    /// What it counted (registrations, codes, refreshes, exchanges as token digests).
    async fn stats(&self) -> Value {
        reqwest::get(format!("{}/_test/stats", self.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }
}

impl Drop for AuthorizationServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the SDK client against `url`; its JSON line. It also plays the gateway's part in
/// one token exchange against the API's audience `api` (see `exchangeAsGateway`).
fn run_client(url: &str, api: &str, authorization_server: &AuthorizationServer) -> Value {
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(node())
        .arg("oauth/client.mjs")
        .arg(url)
        .current_dir(NODE_DIR)
        .env(
            "EXCHANGE_AS",
            format!("{GATEWAY_CLIENT_ID}:{GATEWAY_CLIENT_SECRET}"),
        )
        .env("API_RESOURCE", api)
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("client.mjs still running after {SCRIPT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (
        std::fs::read_to_string(out.path()).unwrap(),
        std::fs::read_to_string(err.path()).unwrap(),
    );
    assert!(
        status.success(),
        "client.mjs failed ({status})\nstdout: {out}\nstderr: {err}\nauthorization server: {}",
        authorization_server.log()
    );
    serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("client.mjs: not one JSON line ({e}): {out}"))
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The claims of a JWT, unverified (the test only reads what the API was sent).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap_or_default()).unwrap_or_default()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdk_client_signs_in_through_a_real_authorization_server() {
    node();
    toolbridge_mcp::upstream::install_crypto_provider();
    let authorization_server = AuthorizationServer::start(API_AUDIENCE);
    let issuer = authorization_server.issuer.clone();
    // The API trusts the authorization server's RS256 keys for its own audience only
    // (contract §1: issuer, audience, key by `kid` from the JWKS).
    let emu = api(EmulatorConfig {
        jwt_issuer: Some(issuer.clone()),
        jwks_url: Some(authorization_server.jwks_uri().await),
        jwt_audiences: vec![API_AUDIENCE.into()],
        ..emulator_config()
    })
    .await;
    let api_url = emu.base_url();
    let port = free_port();
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let token_url = format!("{issuer}/token");
    let env = [
        ("TOOLBRIDGE_OIDC_ISSUER", issuer.as_str()),
        ("TOOLBRIDGE_JWT_AUDIENCE", resource.as_str()),
        ("TOOLBRIDGE_ENFORCE_SCOPES", "true"),
        ("TOOLBRIDGE_BACKEND_AUTH", "exchange"),
        ("TOOLBRIDGE_TOKEN_EXCHANGE_URL", token_url.as_str()),
        ("TOOLBRIDGE_TOKEN_EXCHANGE_RESOURCE", API_AUDIENCE),
        ("TOOLBRIDGE_TOKEN_EXCHANGE_CLIENT_ID", GATEWAY_CLIENT_ID),
        (
            "TOOLBRIDGE_TOKEN_EXCHANGE_CLIENT_SECRET",
            GATEWAY_CLIENT_SECRET,
        ),
    ];
    let gw = Gateway::start_on(port, &api_url, &env);
    let url = gw.url();
    let mut seen =
        tokio::task::block_in_place(|| run_client(&url, API_AUDIENCE, &authorization_server));
    let exchanged = seen["exchange"]["answer"]["access_token"]
        .take()
        .as_str()
        .map(str::to_owned)
        .expect("the authorization server exchanged the gateway's token");
    leaks::record([exchanged.as_str()]);
    eprintln!("{seen:#}");
    let (full, read_only) = (&seen["full"], &seen["readOnly"]);

    // 401 → metadata → discovery → registration → PKCE code with resource → token.
    let both = format!("{READ} {WRITE}");
    assert_eq!(
        full["challenge"],
        format!(
            r#"Bearer resource_metadata="http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp", scope="{both}""#
        )
    );
    assert_eq!(full["metadata"]["resource"], resource);
    assert_eq!(full["metadata"]["authorization_servers"][0], issuer);
    assert_eq!(full["asked"]["resource"], resource);
    assert_eq!(
        full["asked"]["scope"], both,
        "the client asks for the challenge's scopes"
    );
    let token = &full["token"];
    assert_eq!(
        (&token["aud"], &token["iss"], &token["alg"]),
        (
            &Value::from(resource.clone()),
            &Value::from(issuer.clone()),
            &Value::from("RS256")
        )
    );
    assert_eq!(token["scope"], both);
    // The gateway verified RS256 tokens knowing only the issuer: jwks_uri was discovered.
    assert_eq!(full["tools"], common::seed_tool_count());
    assert_eq!(
        full["toolsAfterRefresh"],
        common::seed_tool_count(),
        "the refreshed token works"
    );

    // The read-only grant: 403, step-up for both scopes, and the call goes on.
    assert_eq!(read_only["granted"], READ);
    assert_eq!(read_only["stepUpAsked"], both);
    assert_eq!(read_only["regranted"], both);

    let stats = authorization_server.stats().await;
    assert_eq!(stats["registrations"], 2, "{stats}");
    assert_eq!(stats["codes"], 3, "full, read-only, step-up: {stats}");
    assert_eq!(stats["refreshes"], 1, "{stats}");

    let client_tokens: Vec<String> = strings(&full["tokens"])
        .into_iter()
        .chain(strings(&read_only["tokens"]))
        .collect();
    let log = emu.emulator.requests();
    let bearers: Vec<&str> = log
        .iter()
        .filter_map(|r| r.header("authorization"))
        .filter_map(|h| h.strip_prefix("Bearer "))
        .collect();
    assert!(!bearers.is_empty(), "the API was called");
    // create_note went through, after the step-up too, and the API saw only exchanged
    // tokens, for its own audience: never one the client held.
    for created in [&full["created"], &read_only["created"]] {
        assert_eq!(created["isError"], false, "{created}");
    }
    assert_eq!(read_only["listed"]["isError"], false);
    for b in &bearers {
        assert!(
            !client_tokens.contains(&sha256(b)),
            "the API received a client's token"
        );
        assert_eq!(claims(b)["aud"], API_AUDIENCE, "an exchanged token");
        assert_eq!(claims(b)["iss"], issuer);
    }
    assert!(
        log.iter().all(|r| r.status < 400),
        "the API accepted every call"
    );
    let creates = log
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/notes")
        .count();
    assert_eq!(
        creates, 2,
        "the create refused with 403 never reached the API"
    );
    let subjects: Vec<String> = stats["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap().to_owned())
        .collect();
    assert!(!subjects.is_empty(), "the gateway exchanged: {stats}");
    assert!(
        subjects.iter().all(|s| client_tokens.contains(s)),
        "only the clients' own tokens were exchanged: {stats}"
    );
    // Last, since it adds a request of its own to the API's log.
    the_exchange_grant_issues_a_token_the_api_accepts(&seen["exchange"], &exchanged, &emu, &issuer)
        .await;
    let gateway_log = gw.logs();
    assert!(
        !gateway_log.contains("eyJ"),
        "a JWT appeared in the gateway's log"
    );
    drop(gw);
    drop(authorization_server);
}

/// The authorization server's RFC 8693 grant on its own (the client played the gateway's
/// part): an RS256 token for the API's audience, for the same user and scopes, that the
/// API accepts; and a subject token that was not issued for the gateway is refused.
async fn the_exchange_grant_issues_a_token_the_api_accepts(
    seen: &Value,
    token: &str,
    emu: &Api,
    issuer: &str,
) {
    assert_eq!(seen["status"], 200, "{seen}");
    let answer = &seen["answer"];
    assert_eq!(
        answer["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(answer["token_type"], "Bearer");
    let (header, c) = (jsonwebtoken::decode_header(token).unwrap(), claims(token));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert!(header.kid.is_some());
    assert_eq!(
        (&c["iss"], &c["aud"], &c["sub"]),
        (
            &Value::from(issuer),
            &Value::from(API_AUDIENCE),
            &Value::from("oauth-user")
        )
    );
    assert_eq!(c["scope"], format!("{READ} {WRITE}"));
    assert_eq!(seen["refused"]["status"], 400, "{seen}");
    assert_eq!(seen["refused"]["body"]["error"], "invalid_grant", "{seen}");
    // The API itself takes it: a sync session opens with it.
    let ts = toolbridge_mcp::upstream::signing::now_millis().to_string();
    let sig = toolbridge_mcp::upstream::signing::sign(TENANT_SECRET.as_bytes(), TENANT, &ts);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/sync/sessions", emu.base_url()))
        .bearer_auth(token)
        .header("x-tb-tenant-id", TENANT)
        .header("x-tb-timestamp", ts)
        .header("x-tb-signature", sig)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "the API accepts the exchanged token");
}
