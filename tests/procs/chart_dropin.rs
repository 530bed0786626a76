//! The drop-in for the API team's MCP chart (`chart-mcp` in the API's repository), with the
//! real binary:
//!
//! - an environment written with their chart's names starts the gateway with the same
//!   effective configuration as ours (`check` prints it);
//! - their probes' path, `/.well-known/oauth-protected-resource/mcp`, answers 200 when
//!   sign-in is configured, whatever the Host (a kubelet sends the pod's IP);
//! - a WorkOS-style token (`aud` = a client id) is refused by default and accepted with
//!   `TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER`, from the pinned issuer only;
//! - a token for the origin the root metadata document names is accepted.

use crate::{auth_support::*, common};

use std::process::Command;

use common::{binary::*, *};
use serde_json::json;

const AUTHKIT: &str = "svelte-monolith-27-staging.authkit.app";

/// `toolbridge-mcp check` with exactly `env`: its "effective configuration" block.
fn effective(env: &[(&str, &str)]) -> Vec<String> {
    let workdir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("check")
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(workdir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let block: Vec<String> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("effective configuration"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_owned())
        .collect();
    assert!(
        !block.is_empty(),
        "check printed no effective configuration:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    block
}

#[test]
fn their_chart_names_start_the_same_gateway_as_ours() {
    let api = format!("http://127.0.0.1:{}", free_port());
    // What the API team's configmap.yaml sets (their names), plus what the drop-in table
    // says to add (the tenant and the audience choice their sidecar never needed).
    let theirs = [
        ("TOOLBRIDGE_HOST", "0.0.0.0"),
        ("TOOLBRIDGE_PORT", "8001"),
        ("TOOLBRIDGE_LOG_LEVEL", "INFO"),
        ("TOOLBRIDGE_AUTHKIT_DOMAIN", AUTHKIT),
        (
            "TOOLBRIDGE_PUBLIC_BASE_URL",
            "https://toolbridge-mcp.example.dev",
        ),
        ("TOOLBRIDGE_GO_API_BASE_URL", api.as_str()),
        (
            "TOOLBRIDGE_BACKEND_API_AUDIENCE",
            "https://toolbridgeapi.example.dev",
        ),
        ("TOOLBRIDGE_UI_HTML_MIME_TYPE", "text/html"),
        ("TOOLBRIDGE_SHUTDOWN_TIMEOUT_SECONDS", "7"),
        ("TOOLBRIDGE_TENANT_MODE", "resolve"),
        ("TOOLBRIDGE_BACKEND_AUTH", "exchange"),
        ("TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER", "true"),
    ];
    let ours = [
        ("TOOLBRIDGE_HOST", "0.0.0.0"),
        ("TOOLBRIDGE_PORT", "8001"),
        ("TOOLBRIDGE_LOG_LEVEL", "INFO"),
        (
            "TOOLBRIDGE_OIDC_ISSUER",
            "https://svelte-monolith-27-staging.authkit.app",
        ),
        (
            "TOOLBRIDGE_PUBLIC_URL",
            "https://toolbridge-mcp.example.dev/mcp",
        ),
        ("TOOLBRIDGE_GO_API_BASE_URL", api.as_str()),
        (
            "TOOLBRIDGE_TOKEN_EXCHANGE_RESOURCE",
            "https://toolbridgeapi.example.dev",
        ),
        ("TOOLBRIDGE_SHUTDOWN_GRACE_SECONDS", "7"),
        ("TOOLBRIDGE_TENANT_MODE", "resolve"),
        ("TOOLBRIDGE_BACKEND_AUTH", "exchange"),
        ("TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER", "true"),
    ];
    let (a, b) = (effective(&theirs), effective(&ours));
    eprintln!("{}", a.join("\n"));
    assert_eq!(a, b, "the same gateway, whichever names were used");
    for line in [
        "TOOLBRIDGE_OIDC_ISSUER=https://svelte-monolith-27-staging.authkit.app",
        "TOOLBRIDGE_AUTHORIZATION_SERVERS=https://svelte-monolith-27-staging.authkit.app",
        "TOOLBRIDGE_PUBLIC_URL=https://toolbridge-mcp.example.dev/mcp",
        "TOOLBRIDGE_TOKEN_EXCHANGE_RESOURCE=https://toolbridgeapi.example.dev",
        "TOOLBRIDGE_SHUTDOWN_GRACE_SECONDS=7.0",
        "TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER=true",
        "TOOLBRIDGE_AUTH_MODE=verify",
        "TOOLBRIDGE_TENANT_HEADER_SECRET=(unset)",
    ] {
        assert!(
            a.contains(&line.to_owned()),
            "{line} missing:\n{}",
            a.join("\n")
        );
    }
    // Ours wins where both are given; and the block does tell configurations apart.
    let mut both = ours.to_vec();
    both.push((
        "TOOLBRIDGE_PUBLIC_BASE_URL",
        "https://elsewhere.example.dev",
    ));
    assert_eq!(effective(&both), b);
    let mut other = ours.to_vec();
    other[7] = ("TOOLBRIDGE_SHUTDOWN_GRACE_SECONDS", "9");
    assert_ne!(effective(&other), b);
}

/// A gateway verifying RS256 tokens of `issuer`, with `extra` settings.
fn gateway(emu: &Api, issuer: &JwksServer, extra: &[(&str, &str)]) -> Gateway {
    let iss = issuer.issuer();
    let mut env = vec![("TOOLBRIDGE_OIDC_ISSUER", iss.as_str())];
    env.extend_from_slice(extra);
    Gateway::start(&emu.base_url(), &env)
}

fn rs256(key: &RsaKey, iss: &str, aud: &str) -> String {
    let t = key.rs256(
        "k1",
        &json!({"sub": "workos-user", "iss": iss, "aud": aud, "exp": now() + 600}),
    );
    common::leaks::record([t.as_str()]);
    t
}

async fn init_status(gw: &Gateway, token: &str) -> u16 {
    post_init(
        &http(),
        &gw.url(),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
    .status
}

const PUBLIC: &str = "https://mcp.example.test/mcp";
const CLIENT_ID: &str = "client_01KABXHNQ09QGWEX4APPYG2AH5";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workos_token_is_refused_by_default_and_accepted_with_the_opt_in_from_the_issuer_only() {
    let key = RsaKey::load("a");
    let doc = jwks_doc(&[("k1", &key)]);
    let issuer = JwksServer::start(JwksMode::Serve(doc.clone())).await;
    // Another issuer with the very same keys: only `iss` tells them apart.
    let stranger = JwksServer::start(JwksMode::Serve(doc)).await;
    let emu = api(emulator_config()).await;
    let pinned = [
        ("TOOLBRIDGE_PUBLIC_URL", PUBLIC),
        ("TOOLBRIDGE_JWT_AUDIENCE", PUBLIC),
    ];

    let strict = gateway(&emu, &issuer, &pinned);
    let workos = rs256(&key, &issuer.issuer(), CLIENT_ID);
    assert_eq!(
        init_status(&strict, &workos).await,
        401,
        "refused by default"
    );
    assert_eq!(
        init_status(&strict, &rs256(&key, &issuer.issuer(), PUBLIC)).await,
        200
    );
    assert!(!strict.logs().contains("ACCEPT_ANY_AUDIENCE"));
    drop(strict);

    let mut opted = pinned.to_vec();
    opted.push(("TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER", "true"));
    let open = gateway(&emu, &issuer, &opted);
    assert_eq!(
        init_status(&open, &workos).await,
        200,
        "accepted with the opt-in"
    );
    let foreign = rs256(&key, &stranger.issuer(), CLIENT_ID);
    assert_eq!(
        init_status(&open, &foreign).await,
        401,
        "another issuer, refused"
    );
    let expired = key.rs256(
        "k1",
        &json!({"sub": "u", "iss": issuer.issuer(), "aud": CLIENT_ID, "exp": now() - 3600}),
    );
    assert_eq!(init_status(&open, &expired).await, 401, "exp still checked");
    let unsigned = format!("{}x", &workos[..workos.len() - 1]);
    assert_eq!(
        init_status(&open, &unsigned).await,
        401,
        "signature still checked"
    );
    // The choice is logged at start.
    let logs = open.logs();
    assert!(
        logs.contains("TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER is on"),
        "not logged at start:\n{logs}"
    );

    // The opt-in without an issuer to pin is refused at start, naming the variable.
    let out = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("TOOLBRIDGE_TENANT_ID", TENANT)
        .env("TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER", "true")
        .env("TOOLBRIDGE_PORT", free_port().to_string())
        .env("TOOLBRIDGE_HOST", "127.0.0.1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_the_origin_the_root_metadata_names_is_accepted() {
    let key = RsaKey::load("a");
    let issuer = JwksServer::start(JwksMode::Serve(jwks_doc(&[("k1", &key)]))).await;
    let emu = api(emulator_config()).await;
    let gw = gateway(
        &emu,
        &issuer,
        &[
            ("TOOLBRIDGE_PUBLIC_URL", PUBLIC),
            ("TOOLBRIDGE_JWT_AUDIENCE", PUBLIC),
        ],
    );
    let root = request(
        &http(),
        "GET",
        &format!(
            "http://127.0.0.1:{}/.well-known/oauth-protected-resource",
            gw.port
        ),
        &[],
        "",
    )
    .await;
    assert_eq!(root.status, 200);
    let origin = root.json()["resource"].as_str().unwrap().to_owned();
    assert_eq!(origin, "https://mcp.example.test", "RFC 9728 section 3.3");
    // A client that read the root document asks for a token for its resource: accepted.
    assert_eq!(
        init_status(&gw, &rs256(&key, &issuer.issuer(), &origin)).await,
        200
    );
    // Only that one: another origin, or a path beside /mcp, is not this resource.
    for aud in [
        "https://other.example.test",
        "https://mcp.example.test/other",
    ] {
        assert_eq!(
            init_status(&gw, &rs256(&key, &issuer.issuer(), aud)).await,
            401,
            "{aud}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn their_probe_path_answers_200_to_a_kubelet_when_sign_in_is_configured() {
    let emu = api(emulator_config()).await;
    // Their chart's two sign-in names, nothing else about sign-in.
    let gw = Gateway::start(
        &emu.base_url(),
        &[
            ("TOOLBRIDGE_AUTHKIT_DOMAIN", AUTHKIT),
            (
                "TOOLBRIDGE_PUBLIC_BASE_URL",
                "https://toolbridge-mcp.example.dev",
            ),
            ("TOOLBRIDGE_ACCEPT_ANY_AUDIENCE_FROM_ISSUER", "true"),
        ],
    );
    // A kubelet's httpGet probe: Host is the pod's IP and the container port.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], gw.port));
    let raw = "GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: 10.244.1.17:8001\r\n\
               User-Agent: kube-probe/1.34\r\nConnection: close\r\n\r\n";
    let answer = common::mcp_http::exchange(addr, raw.as_bytes()).await;
    assert_eq!(common::mcp_http::status_of(&answer), 200, "{answer}");
    assert!(
        answer.contains("\"resource\":\"https://toolbridge-mcp.example.dev/mcp\""),
        "{answer}"
    );
    assert!(
        answer.contains(&format!(
            "\"authorization_servers\":[\"https://{AUTHKIT}\"]"
        )),
        "{answer}"
    );
    // Without a public URL too: the document then names the address the probe used.
    let bare = Gateway::start(&emu.base_url(), &[("TOOLBRIDGE_AUTHKIT_DOMAIN", AUTHKIT)]);
    let bare_addr = std::net::SocketAddr::from(([127, 0, 0, 1], bare.port));
    let answer = common::mcp_http::exchange(bare_addr, raw.as_bytes()).await;
    assert_eq!(common::mcp_http::status_of(&answer), 200, "{answer}");
    // A name that is not allowed still is not echoed.
    let named = raw.replace("10.244.1.17:8001", "rebound.example");
    let answer = common::mcp_http::exchange(bare_addr, named.as_bytes()).await;
    assert_eq!(common::mcp_http::status_of(&answer), 403, "{answer}");
    // /mcp itself still checks the Host.
    let raw = "POST /mcp HTTP/1.1\r\nHost: 10.244.1.17:8001\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let answer = common::mcp_http::exchange(addr, raw.as_bytes()).await;
    assert_eq!(common::mcp_http::status_of(&answer), 403, "{answer}");
}
