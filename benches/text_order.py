#!/usr/bin/env python3
"""Writes src/text-order.ld: which functions the linker puts first in the binary's code.

Why: the kernel maps a binary's code in page-cache folios (up to 256 KiB here), so a
process that runs a few hundred scattered functions at start-up ends up with most of its
10 MB of code resident. Put together at the front, the code that start-up, an idle
process and the call path run spans a few folios (BENCHMARKS.md, "Fifth pass").

How: the release build (which keeps its symbol table for this) runs under callgrind in
the configurations users run, against the emulator. Each run dumps what ran by the time
it was ready and idle, then what a round of tool calls over both protocol revisions ran.
Every function of the binary that ran goes in by its exact name. The hash in that name
changes with the crate's metadata (a dependency bump, another toolchain or profile), not
with its code, so each name also goes in without its hash (`_ZN...17h*`) where that takes
in little else: after a bump those globs keep most of the order until this is rerun. Rerun
it after a dependency or toolchain bump, or when start-up or the call path changes; the
gateway bench reports the idle RSS it buys (`rss idle` in its report).

Needs valgrind. Run from the repository root: `python3 benches/text_order.py`.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release", "toolbridge-mcp")
OUT = os.path.join(ROOT, "src", "text-order.ld")

TENANT, TENANT_SECRET = "order-tenant", "order-tenant-secret-0123456789"
JWT_SECRET = "order-jwt-secret-abcdefghijklmnop"
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "text-order", "version": "0"},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{url}: the process exited ({proc.returncode})")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.3)
    sys.exit(f"{url} did not answer in {seconds} s")


def emulator(generation):
    port = free_port()
    env = dict(os.environ, JWT_HS256_SECRET=JWT_SECRET, TENANT_HEADER_SECRET=TENANT_SECRET,
               TOOLBRIDGE_TENANT_ID=TENANT, DEFAULT_TENANT_ID=TENANT)
    proc = subprocess.Popen(
        [BIN, "emulator", "--port", str(port), "--generation", generation, "--no-rate-limit"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc)
    return proc, f"http://127.0.0.1:{port}"


def token(sub):
    return subprocess.run([BIN, "token", "--sub", sub, "--secret", JWT_SECRET],
                          capture_output=True, text=True, check=True).stdout.strip()


class Mcp:
    """Just enough of an MCP client over streamable HTTP to make the gateway work."""

    def __init__(self, url, auth, modern):
        self.url, self.auth, self.modern = url, auth, modern
        self.session, self.next_id, self.outcomes = None, 1, []

    def post(self, body, name=None):
        headers = {
            "authorization": f"Bearer {self.auth}",
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2026-07-28" if self.modern else "2025-11-25",
        }
        if self.session:
            headers["mcp-session-id"] = self.session
        if self.modern and "method" in body:
            headers["mcp-method"] = body["method"]
            if name:
                headers["mcp-name"] = name
        req = urllib.request.Request(self.url, json.dumps(body).encode(), headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                self.session = resp.headers.get("mcp-session-id", self.session)
                return resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.read().decode()

    def request(self, method, params=None, name=None):
        params = dict(params or {})
        if self.modern:
            params["_meta"] = MODERN_META
        self.next_id += 1
        return self.post({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                          "params": params}, name)

    def open(self):
        if not self.modern:
            self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                        "clientInfo": {"name": "text-order", "version": "0"}})
            self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return self

    def call(self, tool, arguments):
        answer = self.request("tools/call", {"name": tool, "arguments": arguments}, tool)
        self.outcomes.append("error" if '"isError":true' in answer or '"result"' not in answer
                             else "ok")
        return answer


def workload(url, user):
    """The calls users make most, over both revisions, a few times each, and some that
    fail; returns how many succeeded of how many."""
    outcomes = []
    for modern in (False, True):
        mcp = Mcp(url, token(f"{user}-{int(modern)}"), modern).open()
        mcp.request("tools/list")
        for i in range(3):
            created = mcp.call("create_note", {"title": f"note {i}", "content": "hello\nworld"})
            uid = re.search(r'"uid\\?"\s*:\s*\\?"([0-9a-f-]{36})', created)
            mcp.call("list_notes", {"limit": 5})
            if uid:
                uid = uid.group(1)
                mcp.call("get_note", {"uid": uid})
                mcp.call("patch_note", {"uid": uid, "updates": {"title": f"note {i}!"}})
                mcp.call("delete_note", {"uid": uid})
        mcp.call("health_check", {})
        mcp.call("get_note", {"uid": "00000000-0000-4000-8000-000000000000"})
        mcp.call("no_such_tool", {})
        outcomes += mcp.outcomes
    return f"{outcomes.count('ok')} of {len(outcomes)} calls succeeded"


def run(name, env, api, workdir):
    """The gateway under callgrind: dump 1 is start-up and idle, dump 2 the calls. With no
    `api`, the API stays down: only start-up, its probe failing."""
    port, metrics = free_port(), free_port()
    env = dict({"PATH": os.environ["PATH"]},
               TOOLBRIDGE_GO_API_BASE_URL=api or f"http://127.0.0.1:{free_port()}",
               TOOLBRIDGE_HOST="127.0.0.1", TOOLBRIDGE_PORT=str(port),
               TOOLBRIDGE_METRICS_PORT=str(metrics), **env)
    env.setdefault("JWT_HS256_SECRET", JWT_SECRET)
    out = os.path.join(workdir, f"cg.{name}")
    gw = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--demangle=no", "--dump-instr=no",
         f"--callgrind-out-file={out}", BIN, "serve"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/healthz", gw)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=30).read()
    except urllib.error.HTTPError:
        if api:
            raise
    time.sleep(2)  # the idle process's timers
    subprocess.run(["callgrind_control", "--dump=start-up", str(gw.pid)],
                   stdout=subprocess.DEVNULL, check=True)
    done = "API down, no calls"
    if api:
        done = workload(f"http://127.0.0.1:{port}/mcp", name)
        urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=30).read()
    gw.send_signal(signal.SIGTERM)
    gw.wait(timeout=120)
    # callgrind numbers the explicit dump `.1`; the rest goes to the final file at exit.
    return os.path.join(workdir, f"cg.{name}.1"), os.path.join(workdir, f"cg.{name}"), done


def ran(path):
    names = set()
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"c?fn=\(\d+\) (.+)", line)
            if m:
                names.add(m.group(1).strip())
    return names


# Functions chosen by the CPU's features, which valgrind's emulated CPU lacks: its runs
# take the portable path instead.
CPU_PICKED = ("_ZN4sha26sha2567x86_sha",)

HASH = re.compile(r"17h[0-9a-f]{16}E(\.llvm\.\d+)?$")


def glob(symbol):
    """A symbol without its hash, which changes whenever the crate's metadata does (a
    dependency bump, another toolchain, another profile), not with its code."""
    g = HASH.sub("17h*", symbol)
    return g if g != symbol else re.sub(r"\.llvm\.\d+$", ".llvm.*", symbol)


def patterns(ran, by_glob, placed):
    """A pattern per function that ran: its name without its hash where that glob takes in
    little else (a generic's glob matches every instance of it, most of which never
    run), else its exact name. The globs survive a rebuild with new metadata; exact names
    then match nothing until this is rerun. `by_glob`: every function, by its glob."""
    out = set()
    for name in ran - placed:
        g = glob(name)
        ran_bytes = sum(size for n, size in by_glob[g] if n in ran)
        other = sum(size for n, size in by_glob[g] if n not in ran and n not in placed)
        out.add(g if other <= max(4096, ran_bytes) else name)
    return sorted(out)


def build():
    """The release build; returns what its symbol hashes depend on, as src/build.rs (their
    one home) reports it to cargo for the script's `made for` line."""
    messages = subprocess.run(
        ["cargo", "build", "--release", "--bin", "toolbridge-mcp", "--message-format=json"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True).stdout
    for line in messages.splitlines():
        m = json.loads(line)
        if m.get("reason") == "build-script-executed" and "#toolbridge-mcp@" in m["package_id"]:
            return dict(m["env"])["TEXT_ORDER_BUILD"]
    sys.exit("cargo reported no run of src/build.rs")


def main():
    made_for = build()
    sizes, at = {}, {}
    for line in subprocess.run(["nm", "-S", "--defined-only", BIN], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            sizes[parts[3]] = int(parts[1], 16)
            at.setdefault(parts[0], []).append(parts[3])
    # rustc merges functions with identical code into aliases of one, whose section bears
    # the name of just one of them; a profiler may report any: take them all.
    aliases = {name: names for names in at.values() for name in names}
    if not sizes:
        sys.exit(f"{BIN} has no symbol table: the release profile must keep it")
    seed, seed_url = emulator("seed")
    current, current_url = emulator("current")
    seed_env = {"TOOLBRIDGE_TENANT_ID": TENANT, "TOOLBRIDGE_TENANT_HEADER_SECRET": TENANT_SECRET}
    runs = [
        # The per-tenant deployment (Fly.io, supervisord): seed API, stateful sessions,
        # the secrets under the API's own names.
        ("seed", {"TOOLBRIDGE_TENANT_ID": TENANT, "TENANT_HEADER_SECRET": TENANT_SECRET,
                  "JWT_HS256_SECRET": JWT_SECRET}, seed_url),
        # The same, started before its API is up (supervisord starts both at once): the
        # readiness probe's failure, then its retry once the API answers.
        ("api-late", seed_env, None),
        # Kubernetes-style: stateless, JSON logs, traces exported (to a port nobody
        # listens on: the exporter's set-up is what matters), one call per session.
        ("stateless", dict(seed_env, TOOLBRIDGE_STATELESS="true", TOOLBRIDGE_LOG_FORMAT="json",
                           TOOLBRIDGE_SESSION_MODE="per_call",
                           OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}"),
         seed_url),
        # The current API generation: tenant lookup, plain tenant header.
        ("current", {"TOOLBRIDGE_API_GENERATION": "current", "TOOLBRIDGE_TENANT_MODE": "resolve"},
         current_url),
    ]
    start, calls = set(), set()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for name, env, api in runs:
                first, rest, done = run(name, env, api, workdir)
                to_idle, after = ran(first) & sizes.keys(), ran(rest) & sizes.keys()
                start |= {a for n in to_idle for a in aliases[n]}
                calls |= {a for n in after for a in aliases[n]}
                print(f"{name}: {len(to_idle)} functions ran to idle, {len(after)} after; "
                      f"{done}", file=sys.stderr)
    finally:
        seed.terminate()
        current.terminate()
    start |= {n for n in sizes if n.startswith(CPU_PICKED)}
    by_glob = {}
    for name, size in sizes.items():
        by_glob.setdefault(glob(name), []).append((name, size))
    groups, placed = [], set()
    for title, group in (("start-up and idle", start), ("tool calls", calls)):
        found, fresh = patterns(group, by_glob, placed), group - placed
        placed |= group
        groups.append((title, found))
        print(f"{title}: {len(fresh)} functions, {sum(sizes[n] for n in fresh) // 1024} KiB; "
              f"{len(found)} patterns", file=sys.stderr)
    with open(OUT, "w") as f:
        f.write(f"/* made for: {made_for} */\n")
        f.write("/* Written by benches/text_order.py (see there): the functions that start-up,\n"
                "   an idle process and tool calls run, first in the binary's code so that they\n"
                "   share few page-cache folios. Names without their hashes where that takes in\n"
                "   little else, exact names where not. A name that matches nothing costs\n"
                "   nothing. src/build.rs hands this to the linker. */\n")
        f.write("SECTIONS {\n  .text.first : {\n")
        for title, found in groups:
            f.write(f"    /* {title}: {len(found)} */\n")
            for p in found:
                f.write(f"    *(.text.{p} .text.unlikely.{p})\n")
        f.write("  }\n} INSERT BEFORE .text;\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
