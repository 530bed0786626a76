"""YAML work for tests/procs/chart.rs (run with the test venv's Python).

  chart_tool.py validate RENDERED.yaml
      Validates every object strictly (unknown fields refused): core kinds with
      kubernetes-validate against the newest Kubernetes release it ships, the CRD kinds
      (ServiceMonitor, PrometheusRule, HTTPRoute, Certificate) with jsonschema against their
      published CRD schemas in chart_crds/. Prints one line per object; exit 1 on any error.

  chart_tool.py json FILE.yaml [...]
      Every document of the files, as one JSON array.

  chart_tool.py pod RENDERED.yaml [MORE.yaml ...]
      What the kubelet would run for the Deployment: its container's command and args and
      its environment with configMapKeyRef, secretKeyRef and envFrom resolved against the
      ConfigMaps and Secrets in the files; the probes, the preStop sleep and the termination
      grace. Prints JSON.
"""

import base64
import copy
import json
import os
import sys

import jsonschema
import kubernetes_validate
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "HTTPRoute", "Certificate"}


def load(paths):
    docs = []
    for path in paths:
        with open(path) as f:
            docs.extend(d for d in yaml.safe_load_all(f) if d)
    return docs


def strict(schema):
    """A CRD schema that refuses unknown fields, as `kubectl apply --validate=strict` does:
    every object with properties and no stated additionalProperties gets `false`."""
    s = copy.deepcopy(schema)

    def walk(n):
        if isinstance(n, dict):
            # Go's regexp takes a flag group after `^`; Python's wants it first (same meaning).
            if isinstance(n.get("pattern"), str) and n["pattern"].startswith("^(?i)"):
                n["pattern"] = "(?i)^" + n["pattern"][5:]
            if (
                "properties" in n
                and "additionalProperties" not in n
                and not n.get("x-kubernetes-preserve-unknown-fields")
            ):
                n["additionalProperties"] = False
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(s)
    # The metadata of a custom resource is the API server's ObjectMeta, not in the CRD.
    s.setdefault("properties", {})["metadata"] = {"type": "object"}
    return s


def crd_schema(kind):
    with open(os.path.join(HERE, "chart_crds", kind.lower() + ".json")) as f:
        d = json.load(f)
    return d, strict(d["schema"])


def validate(path):
    version = kubernetes_validate.latest_version()
    failures = 0
    for doc in load([path]):
        kind, name = doc.get("kind"), doc.get("metadata", {}).get("name")
        try:
            if kind in CRD_KINDS:
                meta, schema = crd_schema(kind)
                want = f"{meta['group']}/{meta['version']}"
                if doc.get("apiVersion") != want:
                    raise ValueError(f"apiVersion {doc.get('apiVersion')}, the CRD is {want}")
                jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)
                how = f"CRD schema {want}"
            else:
                kubernetes_validate.validate(doc, version, strict=True)
                how = f"Kubernetes {version} (strict)"
            print(f"valid   {kind}/{name}: {how}")
        except Exception as e:  # every kind of refusal is reported the same way
            failures += 1
            msg = getattr(e, "message", None) or str(e)
            where = "/".join(str(p) for p in getattr(e, "absolute_path", []) or getattr(e, "path", []))
            print(f"INVALID {kind}/{name}: {where}: {msg}")
    sys.exit(1 if failures else 0)


def pod(paths):
    docs = load(paths)
    by_kind = lambda k: {d["metadata"]["name"]: d for d in docs if d.get("kind") == k}
    configmaps, secrets = by_kind("ConfigMap"), by_kind("Secret")
    [deploy] = [d for d in docs if d.get("kind") == "Deployment"]
    spec = deploy["spec"]["template"]["spec"]
    [c] = spec["containers"]

    def secret_data(name):
        s = secrets.get(name)
        if s is None:
            return None
        data = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
        data.update(s.get("stringData") or {})
        return data

    env = {}
    # The kubelet's order: envFrom first, then env (which wins).
    for src in c.get("envFrom", []):
        prefix = src.get("prefix", "")
        if "configMapRef" in src:
            ref = src["configMapRef"]
            cm = configmaps.get(ref["name"])
            if cm is None and not ref.get("optional"):
                sys.exit(f"envFrom: no ConfigMap {ref['name']}")
            for k, v in ((cm or {}).get("data") or {}).items():
                env[prefix + k] = v
        if "secretRef" in src:
            ref = src["secretRef"]
            data = secret_data(ref["name"])
            if data is None and not ref.get("optional"):
                sys.exit(f"envFrom: no Secret {ref['name']}")
            for k, v in (data or {}).items():
                env[prefix + k] = v
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
            continue
        vf = e["valueFrom"]
        if "configMapKeyRef" in vf:
            ref = vf["configMapKeyRef"]
            data = (configmaps.get(ref["name"]) or {}).get("data") or {}
        elif "secretKeyRef" in vf:
            ref = vf["secretKeyRef"]
            data = secret_data(ref["name"]) or {}
        else:
            sys.exit(f"env {e['name']}: unsupported valueFrom {list(vf)}")
        if ref["key"] in data:
            env[e["name"]] = data[ref["key"]]
        elif not ref.get("optional"):
            sys.exit(f"env {e['name']}: {ref['name']} has no key {ref['key']}")

    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}

    def probe(name):
        p = c.get(name)
        if not p:
            return None
        get = p["httpGet"]
        port = get["port"]
        return {"path": get["path"], "port": ports[port] if isinstance(port, str) else port}

    out = {
        "command": c.get("command"),
        "args": c.get("args"),
        "env": env,
        "probes": {k: probe(k + "Probe") for k in ("startup", "liveness", "readiness")},
        "preStopSleepSeconds": c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0),
        "terminationGracePeriodSeconds": spec.get("terminationGracePeriodSeconds", 30),
        "readOnlyRootFilesystem": c.get("securityContext", {}).get("readOnlyRootFilesystem", False),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    commands = {
        "validate": lambda: validate(*args),
        "pod": lambda: pod(args),
        # The documents of YAML files as one JSON array (for the Rust side's assertions).
        "json": lambda: print(json.dumps(load(args))),
    }
    commands[cmd]()
