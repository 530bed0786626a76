// Drives the gateway with the TypeScript SDK v2 client (@modelcontextprotocol/client), a
// client no one here wrote, pinned to protocol revision 2026-07-28: no initialize, no
// session, the version and capabilities in every request's _meta, Mcp-Method/Mcp-Name
// headers, tools/list cached by the client as the server's hints allow.
//
// Usage: node sdk_v2_client.mjs http URL TOKEN
//
// Prints one JSON line with what it saw; exits non-zero on any failed expectation.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

// How many tools the gateway lists: the Rust test passes the catalog's count.
const EXPECTED_TOOLS = Number(process.env.EXPECTED_TOOLS);

function check(cond, what) {
  if (!cond) {
    throw new Error(`interop failure: ${what}`);
  }
}

function textOf(result) {
  return (result.content ?? [])
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join(" ");
}

// argv: MODE (always "http") URL TOKEN, as the other interop scripts take it.
const [, url, token] = process.argv.slice(2);

// Every HTTP request the client makes, as the gateway sees its headers.
const requests = [];
async function recordingFetch(input, init) {
  const headers = new Headers(init?.headers);
  requests.push({
    verb: init?.method ?? "GET",
    method: headers.get("mcp-method"),
    name: headers.get("mcp-name"),
    version: headers.get("mcp-protocol-version"),
    session: headers.get("mcp-session-id"),
  });
  return fetch(input, init);
}

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
  fetch: recordingFetch,
});
const client = new Client(
  { name: "toolbridge-interop-ts-v2", version: "1.0.0" },
  { versionNegotiation: { mode: { pin: "2026-07-28" } } },
);
await client.connect(transport);
check(client.getNegotiatedProtocolVersion() === "2026-07-28", "negotiated 2026-07-28");

const discovered = await client.discover();
check(discovered.supportedVersions.includes("2026-07-28"), "discover lists 2026-07-28");
check(discovered.capabilities?.tools, "discover offers tools");
check(discovered.instructions?.includes("ToolBridge"), "discover carries the instructions");
check(client.getServerVersion()?.name === "toolbridge-mcp", "server info from discover");

const { tools } = await client.listTools();
check(tools.length === EXPECTED_TOOLS, `${EXPECTED_TOOLS} tools, got ${tools.length}`);
const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
check(byName.delete_note?.annotations?.destructiveHint === true, "delete_note is destructive");
// The second listing is the client's cached copy (ttlMs > 0): no request reaches the server.
const again = await client.listTools();
check(again.tools.length === EXPECTED_TOOLS, "cached listing has every tool");

const created = await client.callTool({
  name: "create_note",
  arguments: { title: "from ts v2", content: "hello" },
});
check(!created.isError, `create_note failed: ${textOf(created)}`);
const uid = created.structuredContent?.uid;
check(created.structuredContent?.payload?.title === "from ts v2", "created payload");

const deleted = await client.callTool({ name: "delete_note", arguments: { uid } });
check(!deleted.isError, `delete_note failed: ${textOf(deleted)}`);
check(deleted.structuredContent?.deletedAt, "delete result has deletedAt");

const gone = await client.callTool({ name: "get_note", arguments: { uid } });
check(gone.isError && textOf(gone).includes("deleted"), `get after delete: ${textOf(gone)}`);
const protocol = client.getNegotiatedProtocolVersion();
const server = client.getServerVersion()?.name;
await client.close();

const posts = requests.filter((r) => r.verb === "POST");
check(posts.every((r) => r.version === "2026-07-28"), "every POST names 2026-07-28");
check(posts.every((r) => r.method), "every POST carries Mcp-Method");
check(requests.every((r) => !r.session), "no request carries a session id");
check(!posts.some((r) => r.method === "initialize"), "no initialize");
const calls = posts.filter((r) => r.method === "tools/call").map((r) => r.name);
check(calls.join(",") === "create_note,delete_note,get_note", `Mcp-Name: ${calls}`);

console.log(
  JSON.stringify({
    protocol,
    server,
    tools: tools.length,
    toolsListRequests: posts.filter((r) => r.method === "tools/list").length,
    methods: posts.map((r) => r.method),
    nonPost: requests.filter((r) => r.verb !== "POST").map((r) => r.verb),
    created: uid,
    deleted: deleted.structuredContent.deletedAt,
  }),
);
