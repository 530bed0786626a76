// Drives the gateway with the MCP Inspector's CLI mode (@modelcontextprotocol/inspector
// --cli), a client no one here wrote. Each CLI run is a whole MCP session of its own
// (initialize, notifications/initialized, the one method), the way a person runs it from
// a shell.
//
// Usage: node inspector_cli.mjs http URL TOKEN
//          streamable HTTP with the Authorization header;
//        node inspector_cli.mjs stdio BINARY
//          launches `BINARY stdio` with TOOLBRIDGE_TOKEN, TOOLBRIDGE_TENANT_ID,
//          TENANT_HEADER_SECRET and TOOLBRIDGE_GO_API_BASE_URL taken from this script's
//          environment and handed over with `-e`, as a claude_desktop_config.json does.
//
// Runs the installed Inspector (never npx) with this same node. Prints one JSON line with
// what it saw; exits non-zero on any failed expectation.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// How many tools the gateway lists: the Rust test passes the catalog's count.
const EXPECTED_TOOLS = Number(process.env.EXPECTED_TOOLS);

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, "node_modules", "@modelcontextprotocol", "inspector");
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const launcher = join(pkgDir, pkg.bin["mcp-inspector"]);

// The CLI's exit status (as 2.12.0 behaves): 0 success, 5 a tool result with isError: true
// (its error envelope says "tool_is_error"), 3 auth_required.
const TOOL_IS_ERROR = 5;

function check(cond, what) {
  if (!cond) {
    throw new Error(`interop failure: ${what}`);
  }
}

const [mode, target, token] = process.argv.slice(2);
const STDIO_ENV = ["TOOLBRIDGE_TOKEN", "TOOLBRIDGE_TENANT_ID", "TENANT_HEADER_SECRET", "TOOLBRIDGE_GO_API_BASE_URL"];
let server;
if (mode === "http" && target && token) {
  server = [
    target,
    "--transport",
    "http",
    "--header",
    `Authorization: Bearer ${token}`,
    "--stored-auth-only", // never start an interactive OAuth login in CI
  ];
} else if (mode === "stdio" && target) {
  const env = STDIO_ENV.flatMap((k) => {
    check(process.env[k], `${k} is set for stdio mode`);
    return ["-e", `${k}=${process.env[k]}`];
  });
  server = [...env, "--transport", "stdio", target, "stdio"];
} else {
  process.stderr.write("usage: node inspector_cli.mjs http URL TOKEN | stdio BINARY\n");
  process.exit(2);
}

/** One `inspector --cli` run; returns its exit code and parsed `--format json` output. */
function inspector(...args) {
  const argv = [
    launcher,
    "--cli",
    ...server,
    "--quiet", // the result (or error envelope) only: no banners, no server stderr
    "--format",
    "json",
    ...args,
  ];
  const run = spawnSync(process.execPath, argv, { encoding: "utf8", timeout: 60_000 });
  const shown = `inspector --cli ... ${args.join(" ")}`;
  check(!run.error, `${shown}: ${run.error}`);
  const out = (run.stdout || run.stderr).trim();
  let json;
  try {
    json = JSON.parse(out.split("\n").at(-1));
  } catch {
    throw new Error(`${shown}: exit ${run.status}, no JSON\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
  return { status: run.status, json, shown };
}

function ok(...args) {
  const r = inspector(...args);
  check(r.status === 0, `${r.shown}: exit ${r.status}: ${JSON.stringify(r.json)}`);
  return r.json.result;
}

const version = spawnSync(process.execPath, [launcher, "--version"], { encoding: "utf8" }).stdout.trim();

const listed = ok("--method", "tools/list");
const names = listed.tools.map((t) => t.name);
check(names.length === EXPECTED_TOOLS, `${EXPECTED_TOOLS} tools, got ${names.length}`);
const del = listed.tools.find((t) => t.name === "delete_note");
check(del?.annotations?.destructiveHint === true, "delete_note is destructive");

const created = ok(
  "--method", "tools/call", "--tool-name", "create_note",
  "--tool-arg", "title=from inspector", "--tool-arg", "content=hello",
);
check(created.isError !== true, `create_note failed: ${JSON.stringify(created)}`);
const uid = created.structuredContent?.uid;
check(created.structuredContent?.payload?.title === "from inspector", `created: ${JSON.stringify(created)}`);

const deleted = ok("--method", "tools/call", "--tool-name", "delete_note", "--tool-arg", `uid=${uid}`);
check(deleted.isError !== true, `delete_note reported failure: ${JSON.stringify(deleted)}`);
check(deleted.structuredContent?.uid === uid, `delete shape: ${JSON.stringify(deleted)}`);
check(deleted.structuredContent?.deletedAt, "delete result has deletedAt");

const gone = inspector("--method", "tools/call", "--tool-name", "get_note", "--tool-arg", `uid=${uid}`);
check(gone.status === TOOL_IS_ERROR, `get_note after delete: exit ${gone.status}, want ${TOOL_IS_ERROR}`);
check(gone.json.result?.isError === true, `get_note after delete is an error result: ${JSON.stringify(gone.json)}`);
check(gone.json.result.content[0].text.includes("deleted"), `error mentions deletion: ${JSON.stringify(gone.json)}`);

process.stdout.write(
  `${JSON.stringify({
    inspector: version,
    transport: mode,
    tools: names.length,
    created: uid,
    deleted: deleted.structuredContent.deletedAt,
  })}\n`,
);
