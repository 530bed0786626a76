//! A real trace backend: Jaeger v2 (`target/tools/jaeger`, built by `.ci/run` from
//! `tests/go/jaeger`), on loopback ports with in-memory storage and its OTLP/HTTP receiver,
//! queried back through its HTTP API.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::binary::free_port;

/// The `jaeger` program: `TOOLBRIDGE_JAEGER`, or `target/tools/jaeger`.
pub fn program() -> PathBuf {
    let path = std::env::var_os("TOOLBRIDGE_JAEGER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/tools/jaeger"))
        });
    assert!(
        path.exists(),
        "the jaeger program is missing at {}: `.ci/run` builds it \
         (go build -C tests/go/jaeger -o ../../../target/tools/jaeger \
         github.com/jaegertracing/jaeger/cmd/jaeger), or point TOOLBRIDGE_JAEGER at one",
        path.display()
    );
    path
}

/// A running Jaeger, killed on drop.
pub struct Jaeger {
    child: Child,
    pub otlp_port: u16,
    pub query_port: u16,
    _dir: tempfile::TempDir,
}

impl Jaeger {
    /// Starts Jaeger with a config of its own (every port on 127.0.0.1, memory storage, no
    /// metrics port of its own) and waits until its query API answers.
    pub fn start() -> Self {
        let bin = program();
        let dir = tempfile::tempdir().unwrap();
        let (otlp_port, query_port, query_grpc) = (free_port(), free_port(), free_port());
        let config = format!(
            r#"service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:{query_port}
    grpc:
      endpoint: 127.0.0.1:{query_grpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp_port}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"#
        );
        let config_path = dir.path().join("jaeger.yaml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("jaeger.log")).unwrap();
        let child = Command::new(bin)
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("jaeger starts");
        let mut jaeger = Self {
            child,
            otlp_port,
            query_port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = [otlp_port, query_port]
                .iter()
                .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok());
            if ready {
                break;
            }
            if let Ok(Some(status)) = jaeger.child.try_wait() {
                panic!("jaeger exited at start ({status}): {}", jaeger.log());
            }
            assert!(
                Instant::now() < deadline,
                "jaeger did not listen within 60 s: {}",
                jaeger.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        jaeger
    }

    /// What Jaeger logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("jaeger.log")).unwrap_or_default()
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` for a gateway exporting here.
    pub fn otlp_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.otlp_port)
    }

    /// The trace `trace_id` (32 hex digits) from `GET /api/traces/{id}`, once it holds at
    /// least `min_spans` spans (waiting up to a minute for the batch to arrive); its JSON
    /// is also written to the leak folder, so the leak scan reads what the gateway exported.
    pub async fn trace(&self, trace_id: &str, min_spans: usize, name: &str) -> Value {
        let url = format!("http://127.0.0.1:{}/api/traces/{trace_id}", self.query_port);
        let http = super::mcp_http::client();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            if let Ok(resp) = http.get(&url).send().await
                && let Ok(body) = resp.json::<Value>().await
            {
                let n = body["data"][0]["spans"].as_array().map_or(0, Vec::len);
                last = body;
                if n >= min_spans {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if let Some(dir) = super::leaks::dir() {
            let _ = std::fs::write(
                dir.join(format!("{name}-jaeger-{trace_id}.log")),
                serde_json::to_string_pretty(&last).unwrap(),
            );
        }
        last
    }
}

impl Drop for Jaeger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One span of a Jaeger trace, as the tests look at it.
#[derive(Debug, Clone)]
pub struct Span {
    pub span_id: String,
    pub trace_id: String,
    pub name: String,
    /// The span ids of its `CHILD_OF` references.
    pub parents: Vec<String>,
    pub tags: std::collections::HashMap<String, Value>,
    pub json: Value,
}

impl Span {
    pub fn tag(&self, key: &str) -> Option<String> {
        self.tags.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

/// The spans of a `/api/traces/{id}` answer.
pub fn spans(trace: &Value) -> Vec<Span> {
    trace["data"][0]["spans"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|s| Span {
            span_id: s["spanID"].as_str().unwrap_or_default().to_owned(),
            trace_id: s["traceID"].as_str().unwrap_or_default().to_owned(),
            name: s["operationName"].as_str().unwrap_or_default().to_owned(),
            parents: s["references"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["refType"] == "CHILD_OF")
                .filter_map(|r| r["spanID"].as_str().map(str::to_owned))
                .collect(),
            tags: s["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| Some((t["key"].as_str()?.to_owned(), t["value"].clone())))
                .collect(),
            json: s,
        })
        .collect()
}
