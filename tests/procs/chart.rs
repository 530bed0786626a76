//! The Helm chart (`charts/toolbridge-mcp`), with Helm v4 itself (built from the Go module
//! proxy by `.ci/run` into `target/tools/helm`) and the Kubernetes schemas of
//! `kubernetes-validate` (PyPI):
//!
//! - `helm lint --strict` and `helm template` pass with the defaults and each example;
//! - every rendered object validates strictly (unknown fields refused) against the newest
//!   Kubernetes release's schemas, the CRD kinds against their published CRD schemas
//!   (`tests/procs/chart_crds`);
//! - `values.schema.json` refuses each bad case, and Helm's message names the value to fix;
//! - no secret value lands anywhere but in a Secret;
//! - the PrometheusRule's spec is the rules file, the dashboard ConfigMap the dashboard;
//! - the rendered pod, run: each example's Deployment, ConfigMap and Secret give the real
//!   binary its command, args and environment (`tests/procs/chart_tool.py pod` resolves
//!   `envFrom`, `configMapKeyRef` and `secretKeyRef`), started in a read-only directory
//!   against the emulator; the rendered probes answer 200, a tool call works, and SIGTERM
//!   during a slow call lets it finish within `terminationGracePeriodSeconds` minus the
//!   `preStop` pause.

use crate::{auth_support::*, common};

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{binary::*, *};
use rmcp::{
    ServiceExt,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/toolbridge-mcp");
const TOOL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/procs/chart_tool.py");
const EXAMPLES: [&str; 2] = ["per-tenant.yaml", "multi-tenant.yaml"];
/// Kinds whose schema is a CRD's, validated from `tests/procs/chart_crds`.
const CRD_KINDS: [&str; 4] = [
    "ServiceMonitor",
    "PrometheusRule",
    "HTTPRoute",
    "Certificate",
];

/// Helm v4: `$TOOLBRIDGE_HELM`, else `target/tools/helm`, else a failure that says how to
/// build it.
fn helm() -> PathBuf {
    let path = std::env::var_os("TOOLBRIDGE_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("target/tools/helm"));
    assert!(
        path.exists(),
        "Helm is missing at {}: build it with `(cd tests/go/helm && go build -o \
         ../../../target/tools/helm helm.sh/helm/v4/cmd/helm)` (.ci/run does), or point \
         TOOLBRIDGE_HELM at a Helm v4 binary",
        path.display()
    );
    path
}

fn example(name: &str) -> String {
    format!("{CHART}/examples/{name}")
}

/// `helm template` with these values files and `(flag, key=value)` pairs: the manifests,
/// or Helm's error.
fn helm_template(files: &[String], sets: &[(&str, String)]) -> Result<String, String> {
    let mut cmd = Command::new(helm());
    cmd.args(["template", "t", CHART, "--namespace", "tb"]);
    for f in files {
        cmd.args(["-f", f]);
    }
    for (flag, set) in sets {
        cmd.arg(flag).arg(set);
    }
    let out = cmd.output().expect("helm runs");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// [`helm_template`] with `--set-string` pairs.
fn template(files: &[String], sets: &[(&str, &str)]) -> Result<String, String> {
    let sets: Vec<_> = sets
        .iter()
        .map(|(k, v)| ("--set-string", format!("{k}={v}")))
        .collect();
    helm_template(files, &sets)
}

/// [`helm_template`] with typed `--set` values (numbers, booleans).
fn template_typed(files: &[String], sets: &[&str]) -> Result<String, String> {
    let sets: Vec<_> = sets.iter().map(|s| ("--set", (*s).to_owned())).collect();
    helm_template(files, &sets)
}

/// Runs `chart_tool.py` with the test venv's Python.
fn tool(args: &[&str]) -> std::process::Output {
    let out = Command::new(python())
        .arg(TOOL)
        .args(args)
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named"),
        "{stderr}\nthe chart tests need the test venv: `python3 -m venv .venv && .venv/bin/pip \
         install -r tests/requirements.txt` (.ci/run does)"
    );
    out
}

/// Writes `text` to a temporary file (removed on drop).
fn temp_file(text: &str) -> tempfile::TempPath {
    let f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f.into_temp_path()
}

/// The rendered objects as JSON.
fn objects(manifests: &str) -> Vec<Value> {
    let path = temp_file(manifests);
    let out = tool(&["json", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn kinds(objs: &[Value]) -> Vec<&str> {
    objs.iter().filter_map(|o| o["kind"].as_str()).collect()
}

/// Every optional object switched on, on top of the multi-tenant example.
const EVERYTHING: &[&str] = &[
    "ingress.enabled=true",
    "grafanaDashboard.enabled=true",
    "gateway.otlpEndpoint=http://otel-collector.observability:4317",
    "networkPolicy.egress.otlp.to[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=observability",
];

#[test]
fn helm_lint_strict_passes_for_the_defaults_and_each_example() {
    let mut runs = vec![Vec::new()];
    runs.extend(EXAMPLES.iter().map(|e| vec!["-f".to_owned(), example(e)]));
    for files in runs {
        let out = Command::new(helm())
            .args(["lint", "--strict", CHART])
            .args(&files)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!("helm lint --strict {files:?}:\n{text}");
        assert!(
            out.status.success(),
            "helm lint --strict {files:?} failed:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("0 chart(s) failed"), "{text}");
    }
}

#[test]
fn every_rendered_object_validates_strictly() {
    let mut renders = vec![("defaults".to_owned(), template(&[], &[]).unwrap())];
    for e in EXAMPLES {
        renders.push((e.to_owned(), template(&[example(e)], &[]).unwrap()));
    }
    let all_on = template_typed(&[example("multi-tenant.yaml")], EVERYTHING).unwrap();
    renders.push((
        "multi-tenant.yaml with every switch on".into(),
        all_on.clone(),
    ));
    for (name, manifests) in &renders {
        let path = temp_file(manifests);
        let out = tool(&["validate", path.to_str().unwrap()]);
        let report = String::from_utf8_lossy(&out.stdout);
        eprintln!("{name}:\n{report}");
        assert!(
            out.status.success(),
            "{name}: not every object is valid:\n{report}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The validation is strict: an unknown field in a core object or a CRD object fails.
    for (kind, at, field) in [
        (
            "Deployment",
            "      terminationGracePeriodSeconds:",
            "      bogusField: 1\n",
        ),
        ("HTTPRoute", "  parentRefs:", "  bogusField: 1\n"),
        ("PrometheusRule", "  groups:", "  bogusField: 1\n"),
    ] {
        let tampered = all_on.replacen(at, &format!("{field}{at}"), 1);
        assert_ne!(tampered, all_on, "{at} not found");
        let path = temp_file(&tampered);
        let out = tool(&["validate", path.to_str().unwrap()]);
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success(),
            "{kind}: an unknown field passed:\n{report}"
        );
        assert!(
            report.contains(&format!("INVALID {kind}/")) && report.contains("bogusField"),
            "{report}"
        );
    }
    // Each kind the chart can make was among them, the CRD kinds validated by their CRD.
    let all = kinds(&objects(&all_on)).join(" ");
    for kind in [
        "ConfigMap",
        "Deployment",
        "Service",
        "ServiceAccount",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Ingress",
    ]
    .iter()
    .chain(&CRD_KINDS)
    {
        assert!(all.contains(kind), "{kind} not rendered: {all}");
    }
}

/// The objects of the multi-tenant example, with every switch on.
fn all_on_objects() -> Vec<Value> {
    objects(&template_typed(&[example("multi-tenant.yaml")], EVERYTHING).unwrap())
}

/// The one object of `kind` (for ConfigMaps: the configuration, not the dashboard).
fn the<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<_> = objs
        .iter()
        .filter(|o| o["kind"] == kind)
        .filter(|o| {
            kind != "ConfigMap" || o["metadata"]["name"].as_str().unwrap().ends_with("-config")
        })
        .collect();
    assert_eq!(found.len(), 1, "one {kind} expected");
    found[0]
}

#[test]
fn the_pod_is_locked_down_and_drains_before_sigterm() {
    for files in [vec![], vec![example("per-tenant.yaml")]] {
        let objs = objects(&template(&files, &[]).unwrap());
        let deploy = the(&objs, "Deployment");
        let pod = &deploy["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(pod["securityContext"]["runAsUser"], 1000);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert!(c["startupProbe"]["httpGet"]["path"].is_string());
        let grace = pod["terminationGracePeriodSeconds"].as_f64().unwrap();
        let pause = c["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_f64()
            .unwrap();
        let cm = the(&objs, "ConfigMap");
        let shutdown: f64 = cm["data"]["TOOLBRIDGE_SHUTDOWN_GRACE_SECONDS"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            pause > 0.0 && grace > pause + shutdown,
            "{grace} {pause} {shutdown}"
        );
        let annotations = &deploy["spec"]["template"]["metadata"]["annotations"];
        assert!(annotations["checksum/config"].as_str().unwrap().len() == 64);
        assert!(
            pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname",
            "{pod}"
        );
    }
    // A config change rolls the pods: the checksum follows the ConfigMap.
    let checksum = |sets: &[(&str, &str)]| {
        let objs = objects(&template(&[example("per-tenant.yaml")], sets).unwrap());
        the(&objs, "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            .clone()
    };
    assert_ne!(checksum(&[]), checksum(&[("gateway.logLevel", "debug")]));
    // A grace that cannot hold the pause plus the shutdown is refused, naming all three.
    let err = template_typed(&[], &["terminationGracePeriodSeconds=10"]).unwrap_err();
    assert!(
        err.contains("terminationGracePeriodSeconds (10)")
            && err.contains("lifecycle.preStopSleepSeconds")
            && err.contains("gateway.shutdownGraceSeconds"),
        "{err}"
    );
}

#[test]
fn replicas_mean_stateless_by_default_and_one_stateful_replica_stays_possible() {
    let stateless = |files: &[String], sets: &[&str]| {
        let objs = objects(&template_typed(files, sets).unwrap());
        the(&objs, "ConfigMap")["data"]["TOOLBRIDGE_STATELESS"].clone()
    };
    assert_eq!(stateless(&[], &[]), "true", "two replicas by default");
    assert_eq!(
        stateless(&[example("multi-tenant.yaml")], &[]),
        "true",
        "HPA"
    );
    assert_eq!(
        stateless(&[example("per-tenant.yaml")], &[]),
        "false",
        "one replica"
    );
    assert_eq!(
        stateless(
            &[],
            &[
                "replicaCount=3",
                "gateway.stateless=false",
                "service.sessionAffinity=ClientIP"
            ]
        ),
        "false"
    );
    // One replica gets no disruption budget (it would block every drain); two do.
    let objs = objects(&template(&[example("per-tenant.yaml")], &[]).unwrap());
    assert!(!kinds(&objs).contains(&"PodDisruptionBudget"));
    assert!(kinds(&objects(&template(&[], &[]).unwrap())).contains(&"PodDisruptionBudget"));
}

#[test]
fn no_secret_value_lands_outside_a_secret() {
    let secrets = [
        ("secrets.tenantHeaderSecret", "tenant-secret-3e7c9a"),
        ("secrets.jwtHs256Secret", "jwt-secret-8b1f44"),
        ("secrets.tokenExchangeClientSecret", "client-secret-5d02e1"),
    ];
    let mut sets = vec![("gateway.tenantMode", "signed"), ("gateway.tenantId", "t1")];
    sets.extend(secrets);
    let manifests = template(&[], &sets).unwrap();
    let objs = objects(&manifests);
    for (_, value) in secrets {
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, value);
        for o in &objs {
            let text = o.to_string();
            if o["kind"] == "Secret" {
                assert!(text.contains(&b64), "the Secret holds {value}");
            } else {
                assert!(
                    !text.contains(value) && !text.contains(&b64),
                    "{value} is in a {}",
                    o["kind"]
                );
            }
        }
    }
    // extraEnv, which goes into the ConfigMap, refuses the secrets' names.
    refused(
        &["gateway.extraEnv.TOOLBRIDGE_JWT_HS256_SECRET=oops"],
        &["/gateway/extraEnv"],
    );
    // The pod reads each from the Secret by key.
    let env = the(&objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"].clone();
    for name in [
        "TOOLBRIDGE_TENANT_HEADER_SECRET",
        "TOOLBRIDGE_JWT_HS256_SECRET",
        "TOOLBRIDGE_TOKEN_EXCHANGE_CLIENT_SECRET",
    ] {
        let e = env
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap();
        assert_eq!(
            e["valueFrom"]["secretKeyRef"]["name"],
            "t-toolbridge-mcp-secret"
        );
    }
}

#[test]
fn the_prometheus_rule_is_the_rules_file_and_the_dashboard_the_dashboard() {
    let objs = all_on_objects();
    let rule = the(&objs, "PrometheusRule");
    let out = tool(&["json", &format!("{CHART}/files/alerts.rules.yaml")]);
    assert!(out.status.success());
    let file: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rule["spec"], file[0],
        "the PrometheusRule's spec is the rules file"
    );
    assert!(!file[0]["groups"][0]["rules"].as_array().unwrap().is_empty());
    let dashboard = objs
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["labels"]["grafana_dashboard"] == "1")
        .expect("the dashboard ConfigMap");
    let text = std::fs::read_to_string(format!("{CHART}/files/grafana-dashboard.json")).unwrap();
    let want: Value = serde_json::from_str(&text).unwrap();
    let got: Value =
        serde_json::from_str(dashboard["data"]["toolbridge-mcp.json"].as_str().unwrap()).unwrap();
    assert_eq!(got, want);
    // The ServiceMonitor scrapes the metrics port, and the route and certificate name the
    // public URL's host.
    assert_eq!(
        the(&objs, "ServiceMonitor")["spec"]["endpoints"][0]["port"],
        "metrics"
    );
    assert_eq!(
        the(&objs, "HTTPRoute")["spec"]["hostnames"],
        json!(["mcp.example.com"])
    );
    assert_eq!(
        the(&objs, "Certificate")["spec"]["dnsNames"],
        json!(["mcp.example.com"])
    );
    let cm = &the(&objs, "ConfigMap")["data"];
    assert_eq!(
        cm["TOOLBRIDGE_ALLOWED_HOSTS"],
        "mcp.example.com,t-toolbridge-mcp,t-toolbridge-mcp.tb,t-toolbridge-mcp.tb.svc,\
         t-toolbridge-mcp.tb.svc.cluster.local"
    );
    // The network policy lets the pod reach the API, the issuer, the collector and DNS only.
    let egress = the(&objs, "NetworkPolicy")["spec"]["egress"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(egress, 4);
}

/// Helm's refusal of these `--set` values, which must name every one of `names`.
fn refused(sets: &[&str], names: &[&str]) {
    let err = template_typed(&[], sets).expect_err("the schema should refuse these values");
    eprintln!("{sets:?}:\n{err}");
    assert!(
        err.contains("values don't meet the specifications of the schema"),
        "{err}"
    );
    for n in names {
        assert!(err.contains(n), "the error should name {n}:\n{err}");
    }
}

#[test]
fn schema_refuses_no_tenant_id() {
    refused(
        &["gateway.tenantMode=signed", "secrets.tenantHeaderSecret=x"],
        &["/gateway/tenantId"],
    );
    refused(&["gateway.tenantMode=plain"], &["/gateway/tenantId"]);
    // resolve needs none: the API names each user's tenant.
    template_typed(&[], &["gateway.tenantMode=resolve"]).unwrap();
}

#[test]
fn schema_refuses_a_secret_given_inline_and_as_existing_secret() {
    refused(
        &[
            "secrets.existingSecret=mine",
            "secrets.jwtHs256Secret=inline-value-1",
        ],
        &["/secrets/jwtHs256Secret"],
    );
    let err = template_typed(
        &[],
        &[
            "secrets.existingSecret=mine",
            "secrets.jwtHs256Secret=inline-value-1",
        ],
    )
    .unwrap_err();
    assert!(
        !err.contains("inline-value-1"),
        "the message shows the secret:\n{err}"
    );
}

#[test]
fn schema_refuses_an_unknown_tenant_mode() {
    refused(
        &["gateway.tenantMode=signd"],
        &["/gateway/tenantMode", "'signed'", "'resolve'"],
    );
}

#[test]
fn schema_refuses_an_unknown_session_mode() {
    refused(
        &["gateway.sessionMode=per-call"],
        &["/gateway/sessionMode", "'per_call'"],
    );
}

#[test]
fn schema_refuses_an_unknown_backend_auth_mode() {
    refused(
        &["gateway.backendAuth=exchnage"],
        &["/gateway/backendAuth", "'exchange'"],
    );
}

#[test]
fn schema_refuses_stateful_replicas_without_session_affinity() {
    refused(
        &["replicaCount=2", "gateway.stateless=false"],
        &["/service/sessionAffinity", "'ClientIP'"],
    );
    refused(
        &[
            "replicaCount=1",
            "autoscaling.enabled=true",
            "gateway.stateless=false",
        ],
        &["/service/sessionAffinity"],
    );
    template_typed(&[], &["replicaCount=1", "gateway.stateless=false"]).unwrap();
}

#[test]
fn schema_refuses_a_public_url_that_is_not_https_with_sign_in() {
    refused(
        &[
            "gateway.auth.oidcIssuer=https://auth.example.com/",
            "gateway.auth.audience=a",
            "gateway.publicUrl=http://mcp.example.com/mcp",
        ],
        &["/gateway/publicUrl", "https"],
    );
    refused(
        &["gateway.auth.authorizationServers[0]=https://as.example.com/"],
        &["/gateway/publicUrl"],
    );
    // Without sign-in, plain http is the operator's business (a private network).
    template_typed(&[], &["gateway.publicUrl=http://mcp.internal/mcp"]).unwrap();
}

#[test]
fn schema_refuses_sign_in_without_an_audience_unless_any_is_accepted() {
    refused(
        &[
            "gateway.auth.oidcIssuer=https://auth.example.com/",
            "gateway.publicUrl=https://m.example.com/mcp",
        ],
        &["/gateway/auth/audience"],
    );
    template_typed(
        &[],
        &[
            "gateway.auth.oidcIssuer=https://auth.example.com/",
            "gateway.publicUrl=https://m.example.com/mcp",
            "gateway.auth.acceptAnyAudienceFromIssuer=true",
        ],
    )
    .unwrap();
    refused(
        &["gateway.auth.acceptAnyAudienceFromIssuer=true"],
        &["/gateway/auth/oidcIssuer"],
    );
}

/// What `Dockerfile.mcp --target gateway` puts in the image the chart runs.
struct GatewayImage {
    base: String,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    user: String,
    expose: Vec<u16>,
    env: Vec<(String, String)>,
    /// Whether no stage follows (the combined image must stay the default, last, target).
    last: bool,
}

fn gateway_image() -> GatewayImage {
    let text = std::fs::read_to_string(format!("{ROOT}/Dockerfile.mcp")).unwrap();
    // Instructions, continuation lines joined, comments dropped.
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => instructions.push(std::mem::take(&mut current) + line),
        }
    }
    let start = instructions
        .iter()
        .position(|i| i.starts_with("FROM ") && i.ends_with(" AS gateway"))
        .expect("Dockerfile.mcp has a `gateway` stage");
    let stage: Vec<&String> = instructions[start + 1..]
        .iter()
        .take_while(|i| !i.starts_with("FROM "))
        .collect();
    let arg = |op: &str| {
        stage
            .iter()
            .find_map(|i| i.strip_prefix(op))
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    let json = |op: &str| serde_json::from_str(&arg(op)).unwrap_or_default();
    GatewayImage {
        base: instructions[start]
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned(),
        entrypoint: json("ENTRYPOINT "),
        cmd: json("CMD "),
        user: arg("USER "),
        expose: arg("EXPOSE ")
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect(),
        env: arg("ENV ")
            .split_whitespace()
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("ENV K=V");
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        last: start + 1 + stage.len() == instructions.len(),
    }
}

#[test]
fn the_chart_runs_the_gateway_image_as_the_dockerfile_builds_it() {
    let image = gateway_image();
    assert!(
        image.base.contains("distroless"),
        "no shell at run time: {}",
        image.base
    );
    assert!(
        !image.last,
        "the combined image stays the default (last) target"
    );
    assert_eq!(image.entrypoint, ["/usr/local/bin/toolbridge-mcp"]);
    assert_eq!(image.cmd, ["serve"]);
    // The image tag defaults to the chart's appVersion: the crate's version.
    let out = tool(&["json", &format!("{CHART}/Chart.yaml")]);
    let chart: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(chart[0]["appVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(chart[0]["apiVersion"], "v2");
    let (uid, gid) = image.user.split_once(':').expect("USER uid:gid");
    for file in ["", "per-tenant.yaml", "multi-tenant.yaml"] {
        let files: Vec<String> = (!file.is_empty())
            .then(|| example(file))
            .into_iter()
            .collect();
        let objs = objects(&template(&files, &[]).unwrap());
        let pod = &the(&objs, "Deployment")["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        // The chart's uid and ports are the image's.
        assert_eq!(pod["securityContext"]["runAsUser"].to_string(), uid);
        assert_eq!(pod["securityContext"]["runAsGroup"].to_string(), gid);
        for port in c["ports"].as_array().unwrap() {
            let n = u16::try_from(port["containerPort"].as_u64().unwrap()).unwrap();
            assert!(
                image.expose.contains(&n),
                "port {n} is not exposed by the image"
            );
        }
        // `serve`, by the image's entrypoint.
        assert!(c["command"].is_null(), "the image's entrypoint");
        assert_eq!(c["args"], json!(image.cmd));
        // The ConfigMap sets every variable the image sets: the image's defaults decide
        // nothing on Kubernetes.
        let cm = &the(&objs, "ConfigMap")["data"];
        for (k, _) in &image.env {
            assert!(cm[k].is_string(), "the ConfigMap leaves {k} to the image");
        }
    }
}

/// What `chart_tool.py pod` says the kubelet would run.
struct Pod {
    spec: Value,
}

impl Pod {
    fn from(manifests: &str, extra: &[&Path]) -> Self {
        let path = temp_file(manifests);
        let mut args = vec!["pod", path.to_str().unwrap()];
        args.extend(extra.iter().map(|p| p.to_str().unwrap()));
        let out = tool(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            spec: serde_json::from_slice(&out.stdout).unwrap(),
        }
    }

    fn env(&self, name: &str) -> &str {
        self.spec["env"][name].as_str().unwrap_or_default()
    }

    fn probe_url(&self, which: &str) -> String {
        let p = &self.spec["probes"][which];
        format!(
            "http://127.0.0.1:{}{}",
            p["port"],
            p["path"].as_str().unwrap()
        )
    }

    /// The binary with exactly the pod's command, args and environment, in a read-only
    /// working directory (the image's /app: no .env).
    fn start(&self, workdir: &Path) -> (std::process::Child, PathBuf) {
        // As the kubelet does: the container's command, else the image's entrypoint; its
        // args, else (with no command) the image's CMD; the image's ENV under the pod's env.
        let image = gateway_image();
        let strings = |v: &Value| -> Option<Vec<String>> {
            let list: Vec<String> = v
                .as_array()?
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect();
            (!list.is_empty()).then_some(list)
        };
        let command = strings(&self.spec["command"]);
        let args = strings(&self.spec["args"])
            .or_else(|| command.is_none().then(|| image.cmd.clone()))
            .unwrap_or_default();
        let argv = command.unwrap_or(image.entrypoint);
        assert_eq!(
            argv,
            ["/usr/local/bin/toolbridge-mcp"],
            "the image's binary"
        );
        let mut cmd = Command::new(BIN);
        cmd.args(&args).env_clear().current_dir(workdir);
        cmd.envs(image.env);
        for (k, v) in self.spec["env"].as_object().unwrap() {
            cmd.env(k, v.as_str().unwrap());
        }
        common::leaks::record(
            [
                "TOOLBRIDGE_TENANT_HEADER_SECRET",
                "TOOLBRIDGE_JWT_HS256_SECRET",
            ]
            .iter()
            .map(|k| self.env(k))
            .filter(|v| !v.is_empty()),
        );
        let log = common::leaks::binary_log_path().unwrap_or_else(|| {
            tempfile::NamedTempFile::new()
                .unwrap()
                .into_temp_path()
                .keep()
                .unwrap()
        });
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        (cmd.spawn().expect("the binary starts"), log)
    }
}

/// A directory the gateway may not write to (the pod's root filesystem is read-only).
fn read_only_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    dir
}

/// Polls `url` until it answers 200 (the kubelet's view of a probe).
async fn probe_ok(url: &str, within: Duration) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = Instant::now() + within;
    loop {
        let status = http.get(url).send().await.map(|r| r.status().as_u16());
        if status.as_ref().is_ok_and(|s| *s == 200) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "probe {url} never answered 200 (last: {status:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the rendered pod: probes, a tool call, then SIGTERM during a slow call.
async fn run_pod(pod: &Pod, emu: &Api, auth: String) {
    let workdir = read_only_dir();
    let (mut child, log) = pod.start(workdir.path());
    for which in ["startup", "liveness", "readiness"] {
        probe_ok(&pod.probe_url(which), Duration::from_secs(60)).await;
    }
    let url = format!("http://127.0.0.1:{}/mcp", pod.env("TOOLBRIDGE_PORT"));
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(auth),
    );
    let client = std::sync::Arc::new(().serve(transport).await.expect("MCP client connects"));
    let note = ok(
        &client,
        "create_note",
        json!({"title": "from the pod", "content": "x"}),
    )
    .await;
    assert_eq!(note["payload"]["title"], "from the pod", "{note}");

    // SIGTERM during a slow call: the kubelet sends it after the preStop sleep and kills
    // the pod at terminationGracePeriodSeconds, so the process has the difference.
    let grace = pod.spec["terminationGracePeriodSeconds"].as_f64().unwrap();
    let pause = pod.spec["preStopSleepSeconds"].as_f64().unwrap();
    let budget = Duration::from_secs_f64(grace - pause);
    emu.emulator.faults().set_delay(Duration::from_secs(3));
    let slow = {
        let client = client.clone();
        tokio::spawn(async move {
            call(
                &client,
                "create_note",
                json!({"title": "in flight", "content": "x"}),
            )
            .await
        })
    };
    until_api_busy(&emu.emulator).await;
    let sent = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let result = slow.await.unwrap();
    assert_ne!(
        result.is_error,
        Some(true),
        "the in-flight call failed: {}",
        text(&result)
    );
    let status = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + budget;
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    let took = sent.elapsed();
    let status = status.unwrap_or_else(|| {
        panic!(
            "still running {budget:?} after SIGTERM (grace {grace} s - preStop {pause} s): the \
             kubelet would have killed it\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert_eq!(status.code(), Some(0));
    eprintln!("SIGTERM to exit: {took:?} (budget {budget:?}); the in-flight call finished");
    assert_eq!(
        std::fs::read_dir(workdir.path()).unwrap().count(),
        0,
        "the gateway wrote into its working directory"
    );
    if common::leaks::dir().is_none() {
        let _ = std::fs::remove_file(&log);
    }
}

/// The overrides a test machine needs: the emulator's URL, loopback, free ports.
fn local_sets(api: &str) -> Vec<(String, String)> {
    vec![
        ("gateway.apiBaseUrl".into(), api.to_owned()),
        ("gateway.host".into(), "127.0.0.1".into()),
        ("gateway.port".into(), free_port().to_string()),
        ("gateway.metricsPort".into(), free_port().to_string()),
    ]
}

fn render_with(example_file: &str, sets: &[(String, String)]) -> String {
    // Typed: the ports are integers in the schema.
    let sets: Vec<_> = sets.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    template_typed(&[example(example_file)], &sets).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_tenant_pod_runs() {
    let emu = api(toolbridge_mcp::emulator::EmulatorConfig {
        rate_limit: None,
        tenant_id: "tenant-123".into(),
        ..emulator_config()
    })
    .await;
    let manifests = render_with("per-tenant.yaml", &local_sets(&emu.base_url()));
    // The Secret the example's comment tells the operator to create (kubectl create secret
    // generic ... --from-literal=...), as the API server would store it.
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let secret = temp_file(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: toolbridge-mcp-tenant-123\ndata:\n  \
         tenant-header-secret: {}\n  jwt-hs256-secret: {}\n",
        b64(TENANT_SECRET),
        b64(JWT_SECRET)
    ));
    let pod = Pod::from(&manifests, &[secret.as_ref()]);
    assert_eq!(pod.env("TOOLBRIDGE_TENANT_ID"), "tenant-123");
    assert_eq!(pod.env("TOOLBRIDGE_TENANT_HEADER_SECRET"), TENANT_SECRET);
    assert_eq!(pod.env("TOOLBRIDGE_STATELESS"), "false");
    run_pod(&pod, &emu, token("pod-user")).await;
    // Every API request carried the signed tenant headers of tenant-123.
    let notes = api_calls(&emu.emulator)
        .into_iter()
        .filter(|r| r.path == "/v1/notes" && r.status == 201)
        .count();
    assert_eq!(notes, 2, "both calls reached the API");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_multi_tenant_pod_runs() {
    let key = RsaKey::load("a");
    let issuer = JwksServer::start(JwksMode::Serve(jwks_doc(&[("k1", &key)]))).await;
    let audience = "https://mcp.example.com/mcp";
    let emu = api(toolbridge_mcp::emulator::EmulatorConfig {
        rate_limit: None,
        auth_rate_limit: None,
        jwt_issuer: Some(issuer.issuer()),
        jwks_url: Some(issuer.jwks_url()),
        jwt_audiences: vec![audience.into()],
        ..current_emulator_config()
    })
    .await;
    let mut sets = local_sets(&emu.base_url());
    sets.push(("gateway.auth.oidcIssuer".into(), issuer.issuer()));
    let manifests = render_with("multi-tenant.yaml", &sets);
    let pod = Pod::from(&manifests, &[]);
    assert_eq!(pod.env("TOOLBRIDGE_TENANT_MODE"), "resolve");
    assert_eq!(pod.env("TOOLBRIDGE_BACKEND_AUTH"), "exchange");
    assert_eq!(pod.env("TOOLBRIDGE_STATELESS"), "true");
    let user_token = key.rs256(
        "k1",
        &json!({"sub": "pod-user", "iss": issuer.issuer(), "aud": audience, "exp": now() + 3600}),
    );
    common::leaks::record([user_token.as_str()]);
    run_pod(&pod, &emu, user_token).await;
    // Only exchanged (backend) tokens reached the entity routes.
    let calls = api_calls(&emu.emulator);
    assert!(
        calls.iter().any(|r| r.path == "/auth/token-exchange"),
        "no exchange"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|r| r.path == "/v1/notes" && r.status == 201)
            .count(),
        2
    );
}
