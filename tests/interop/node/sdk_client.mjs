// Drives the gateway with the official MCP TypeScript SDK (@modelcontextprotocol/sdk), a
// client no one here wrote.
//
// Usage: node sdk_client.mjs http URL TOKEN
//          Streamable HTTP straight to the gateway, with `Authorization: Bearer TOKEN`.
//        node sdk_client.mjs mcp-remote URL TOKEN
//          The SDK's stdio client launches mcp-remote (its installed bin, with this same
//          node), which bridges stdio to the gateway's HTTP endpoint. The token reaches
//          mcp-remote through the environment, as in a claude_desktop_config.json:
//          `--header "Authorization: Bearer ${TOOLBRIDGE_TOKEN}"`.
//
// Prints one JSON line with what it saw; exits non-zero on any failed expectation.

import { createRequire } from "node:module";
import { dirname, join } from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

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

async function exercise(client) {
  const server = client.getServerVersion();
  check(server?.name === "toolbridge-mcp", `server name: ${JSON.stringify(server)}`);
  check(client.getServerCapabilities()?.tools, "server offers tools");

  const { tools } = await client.listTools();
  check(tools.length === EXPECTED_TOOLS, `${EXPECTED_TOOLS} tools, got ${tools.length}`);
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  check(byName.delete_note?.annotations?.destructiveHint === true, "delete_note is destructive");
  check(byName.list_notes?.annotations?.readOnlyHint === true, "list_notes is read-only");
  check(byName.create_note?.outputSchema, "create_note has an output schema");

  // The SDK validates structuredContent against each tool's outputSchema here.
  const created = await client.callTool({
    name: "create_note",
    arguments: { title: "from node", content: "hello" },
  });
  check(!created.isError, `create_note failed: ${textOf(created)}`);
  const note = created.structuredContent;
  check(note?.payload?.title === "from node", `created payload: ${JSON.stringify(note)}`);
  check(JSON.stringify(JSON.parse(textOf(created))) === JSON.stringify(note), "text = structured");
  const uid = note.uid;

  const deleted = await client.callTool({ name: "delete_note", arguments: { uid } });
  check(!deleted.isError, `delete_note reported failure: ${textOf(deleted)}`);
  check(deleted.structuredContent?.uid === uid, `delete shape: ${JSON.stringify(deleted)}`);
  check(deleted.structuredContent?.deletedAt, "delete result has deletedAt");

  const gone = await client.callTool({ name: "get_note", arguments: { uid } });
  check(gone.isError === true, "get_note after delete is an error result");
  check(textOf(gone).includes("deleted"), `error mentions deletion: ${textOf(gone)}`);

  const bad = await client.callTool({ name: "get_note", arguments: { uid: "nope" } });
  check(bad.isError === true, "a bad uid is an error result");

  return {
    server: server.name,
    version: server.version,
    tools: tools.length,
    created: uid,
    deleted: deleted.structuredContent.deletedAt,
  };
}

async function overHttp(url, token) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "interop-ts-sdk", version: "1.0.0" });
  await client.connect(transport);
  check(transport.sessionId, "the gateway assigned an MCP session id");
  const seen = await exercise(client);
  await transport.terminateSession(); // DELETE /mcp ends the session
  await client.close();
  return { ...seen, transport: "streamable-http", session: true };
}

async function overMcpRemote(url, token) {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("mcp-remote/package.json");
  const proxy = join(dirname(pkg), require(pkg).bin["mcp-remote"]);
  const stderr = [];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [proxy, url, "--header", "Authorization: Bearer ${TOOLBRIDGE_TOKEN}"],
    // The SDK hands the child only a safe default environment (HOME, PATH, ...) plus this.
    env: {
      TOOLBRIDGE_TOKEN: token,
      ...(process.env.MCP_REMOTE_CONFIG_DIR && { MCP_REMOTE_CONFIG_DIR: process.env.MCP_REMOTE_CONFIG_DIR }),
    },
    stderr: "pipe",
  });
  transport.stderr?.on("data", (chunk) => stderr.push(chunk.toString()));
  const client = new Client({ name: "interop-mcp-remote", version: "1.0.0" });
  try {
    await client.connect(transport);
    const seen = await exercise(client);
    await client.close();
    const log = stderr.join("");
    check(
      log.includes("Connected to remote server using StreamableHTTPClientTransport"),
      "mcp-remote reached the gateway over streamable HTTP",
    );
    // The static header is enough: mcp-remote never needs to start an OAuth login.
    check(!log.includes("Authentication required"), "mcp-remote started no OAuth flow");
    return { ...seen, transport: "stdio via mcp-remote", oauthFlow: false };
  } catch (e) {
    process.stderr.write(`mcp-remote stderr:\n${stderr.join("")}\n`);
    throw e;
  }
}

const [mode, url, token] = process.argv.slice(2);
if (!url || !token || !["http", "mcp-remote"].includes(mode)) {
  process.stderr.write("usage: node sdk_client.mjs http|mcp-remote URL TOKEN\n");
  process.exit(2);
}
try {
  const seen = mode === "http" ? await overHttp(url, token) : await overMcpRemote(url, token);
  process.stdout.write(`${JSON.stringify(seen)}\n`);
} catch (e) {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
}
