//! Scale-out: with `TOOLBRIDGE_STATELESS=true` any replica serves any request. Two gateway
//! binaries sit behind nginx (round-robin, a generated config in a temp dir, run as a
//! non-daemon child); one MCP client talks only to nginx. Each replica's /metrics must
//! show some of the calls, and together exactly all of them.
//!
//! Needs nginx from Debian's packages: `apt-get install -y nginx`.

use crate::common;

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{binary::*, metrics::*, *};
use rmcp::{
    ServiceExt,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::json;

const INSTALL: &str = "apt-get install -y nginx";

/// nginx from PATH, or Debian's /usr/sbin/nginx (not on a normal user's PATH).
fn nginx_binary() -> PathBuf {
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("nginx")).collect())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nginx is not installed; this test needs it as the round-robin proxy: `{INSTALL}`"
            )
        })
}

/// nginx in the foreground with everything (pid, logs, temp files) inside `dir`.
struct Nginx {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn start(replicas: &[u16]) -> Nginx {
        let bin = nginx_binary();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display();
        let servers: String = replicas
            .iter()
            .map(|p| format!("server 127.0.0.1:{p};\n"))
            .collect();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\nevents {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/client_body;\n\
             proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             upstream gateways {{\n{servers} keepalive 8;\n }}\n\
             server {{\n listen 127.0.0.1:{port};\n location / {{\n proxy_pass http://gateways;\n\
             proxy_http_version 1.1;\n proxy_set_header Connection \"\";\n\
             proxy_set_header Host $http_host;\n proxy_buffering off;\n }}\n }}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(&bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e} (install: `{INSTALL}`)", bin.display()));
        let mut nginx = Nginx { child, port, dir };
        nginx.wait_ready();
        nginx
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited ({status}): {}", self.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sum of every `toolbridge_tool_calls_total` sample of a replica.
async fn calls_served(port: u16) -> f64 {
    samples(&scrape(port).await, "toolbridge_tool_calls_total{", &[]).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stateless_replicas_behind_nginx_share_one_client() {
    let nginx_bin = nginx_binary();
    let emu = api(emulator_config()).await;
    let env = [
        ("TOOLBRIDGE_STATELESS", "true"),
        ("TOOLBRIDGE_JWT_HS256_SECRET", JWT_SECRET),
    ];
    let replicas = [
        Gateway::start(&emu.base_url(), &env),
        Gateway::start(&emu.base_url(), &env),
    ];
    let nginx = Nginx::start(&[replicas[0].port, replicas[1].port]);

    let url = format!("http://127.0.0.1:{}/mcp", nginx.port);
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(token("scale-out")),
    );
    let client = ().serve(transport).await.expect("client connects through nginx");
    let mut made = 0;
    let mut uids = Vec::new();
    for i in 0..10 {
        let note = ok(
            &client,
            "create_note",
            json!({"title": format!("n{i}"), "content": "via nginx"}),
        )
        .await;
        uids.push(note["uid"].as_str().unwrap().to_owned());
        made += 1;
    }
    // Each note is read back, most likely through the other replica than the one that
    // created it: the state lives in the API, not in a replica.
    for uid in &uids {
        let got = ok(&client, "get_note", json!({"uid": uid})).await;
        assert_eq!(got["uid"].as_str(), Some(uid.as_str()));
        made += 1;
    }
    for _ in 0..10 {
        ok(&client, "list_notes", json!({"limit": 5})).await;
        made += 1;
    }
    // The edit review keeps nothing between its steps: each note is reviewed and applied
    // in consecutive calls, which round robin sends to different replicas.
    for uid in &uids[..4] {
        let review = ok(
            &client,
            "edit_note_ui",
            json!({"uid": uid, "proposed_content": "via nginx, reviewed\n"}),
        )
        .await;
        let applied = ok(
            &client,
            "apply_note_edit",
            json!({"uid": uid, "base_version": review["base_version"],
                "proposed_content": "via nginx, reviewed\n",
                "decisions": [{"hunk": 0, "action": "accept"}]}),
        )
        .await;
        assert_eq!(applied["status"], "applied", "{applied}");
        let item = emu.emulator.item("scale-out", "notes", uid).unwrap();
        assert_eq!(item["payload"]["content"], "via nginx, reviewed\n");
        made += 2;
    }
    client.cancel().await.ok();

    let mut served = Vec::new();
    for r in &replicas {
        served.push(calls_served(r.port).await);
    }
    println!(
        "{} tool calls through nginx ({}): replica A served {}, replica B served {}",
        made,
        nginx_bin.display(),
        served[0],
        served[1]
    );
    assert!(
        served.iter().all(|&n| n > 0.0),
        "both replicas must serve calls: {served:?}; nginx log: {}",
        nginx.error_log()
    );
    assert_eq!(served.iter().sum::<f64>(), f64::from(made), "{served:?}");
}
