// Signs in to the gateway the way an MCP client does, with the official TypeScript SDK's
// OAuth client (`OAuthClientProvider` + the transport's `auth()` flow), against a real
// authorization server (authorization_server.mjs). No browser: the authorization
// redirects are followed programmatically, cookies kept, up to the redirect URI's code.
//
// Usage: node client.mjs GATEWAY_URL   (EXCHANGE_AS / API_RESOURCE: see exchangeAsGateway)
//
// 1. full: unauthenticated POST → 401 challenge → protected-resource metadata → the SDK's
//    own discovery, dynamic registration, authorization code with PKCE and `resource` →
//    token → tools/list → create_note → refresh.
// 2. read-only: a second client whose user grants only the read scope: list_notes works,
//    create_note gets 403 insufficient_scope, the SDK steps up (signs in again for the
//    scopes the challenge names), and the call is retried.
//
// Prints one JSON line with what it saw (no token: only SHA-256 digests of the access
// tokens, so the test can check which tokens reached the API); exits non-zero when a step
// of the protocol did not happen as it must.

import { createHash, randomUUID } from "node:crypto";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const REDIRECT = "http://127.0.0.1:1/callback";
const READ = "toolbridge:read";
const WRITE = "toolbridge:write";

function check(cond, what) {
  if (!cond) throw new Error(`oauth flow failure: ${what}`);
}
const sha256 = (s) => createHash("sha256").update(s).digest("hex");
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
const textOf = (r) => (r.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join(" ");

/// An in-memory OAuthClientProvider: what a desktop client keeps in its keychain.
class MemoryProvider {
  constructor(name, grantTypes) {
    this.name = name;
    this.grantTypes = grantTypes;
    this.pending = undefined;
    this.seenTokens = [];
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: this.name,
      redirect_uris: [REDIRECT],
      grant_types: this.grantTypes,
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() {
    this.lastState = randomUUID();
    return this.lastState;
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
    this.seenTokens.push(sha256(tokens.access_token));
  }
  redirectToAuthorization(url) {
    this.pending = new URL(url);
  }
  saveCodeVerifier(v) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/// Follows the authorization server's redirects (login, consent, resume) with a cookie jar
/// until the redirect URI, and returns the authorization code.
async function authorize(provider, grantOnly) {
  check(provider.pending, "the SDK asked for no authorization");
  const url = provider.pending;
  provider.pending = undefined;
  const asked = {
    scope: url.searchParams.get("scope"),
    resource: url.searchParams.get("resource"),
    pkce: url.searchParams.get("code_challenge_method"),
    hasChallenge: !!url.searchParams.get("code_challenge"),
  };
  // The user grants less than asked (the consent screen's unticked box).
  if (grantOnly) url.searchParams.set("scope", grantOnly);
  const jar = new Map();
  let next = url.href;
  for (let hop = 0; hop < 12; hop++) {
    if (next.startsWith(REDIRECT)) {
      const back = new URL(next);
      check(!back.searchParams.get("error"), `authorization error: ${back.search}`);
      check(back.searchParams.get("state") === provider.lastState, "state round-trips");
      return { code: back.searchParams.get("code"), asked };
    }
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(next, { redirect: "manual", headers: cookie ? { cookie } : {} });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const location = res.headers.get("location");
    check(location, `authorization stopped at ${res.status} ${new URL(next).pathname}: ${await res.text()}`);
    next = new URL(location, next).href;
  }
  throw new Error("too many authorization redirects");
}

/// Connects, signing in when the gateway asks (the SDK's own 401 handling).
async function connect(url, provider, grantOnly) {
  const open = async () => {
    const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
    const client = new Client({ name: `oauth-${provider.name}`, version: "0" });
    await client.connect(transport);
    return { client, transport };
  };
  try {
    await open();
    throw new Error("connected without signing in");
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }
  check(provider.client?.client_id, "dynamic registration gave a client_id");
  const { code, asked } = await authorize(provider, grantOnly);
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  await transport.finishAuth(code);
  const client = new Client({ name: `oauth-${provider.name}`, version: "0" });
  await client.connect(transport);
  return { client, transport, asked };
}

/// The full client's last access token (kept for exchangeAsGateway, never printed).
let lastToken;

async function full(url) {
  // The unauthenticated request and what it says, before the SDK takes over.
  const first = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } } }),
  });
  check(first.status === 401, `unauthenticated initialize: ${first.status}`);
  const challenge = first.headers.get("www-authenticate") ?? "";
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
  check(metadataUrl, `challenge names the metadata: ${challenge}`);
  const metadata = await (await fetch(metadataUrl)).json();

  const provider = new MemoryProvider("full", ["authorization_code", "refresh_token"]);
  const { client, asked } = await connect(url, provider);
  check(asked.pkce === "S256" && asked.hasChallenge, "PKCE S256 in the authorization request");
  check(asked.resource === metadata.resource, `resource ${asked.resource} = ${metadata.resource}`);
  const claims = claimsOf(provider.saved.access_token);
  const { tools } = await client.listTools();
  const created = await client.callTool({ name: "create_note", arguments: { title: "via oauth", content: "x" } });

  // Refresh: the SDK's auth() with a refresh token gets a new access token, which works.
  check(provider.saved.refresh_token, "a refresh token was issued");
  const before = provider.saved.access_token;
  const { auth } = await import("@modelcontextprotocol/sdk/client/auth.js");
  check((await auth(provider, { serverUrl: url })) === "AUTHORIZED", "refreshed");
  check(provider.saved.access_token !== before, "a new access token");
  const afterRefresh = await client.listTools();
  await client.close();
  lastToken = provider.saved.access_token;
  return {
    challenge,
    metadata,
    clientId: provider.client.client_id,
    asked,
    token: { aud: claims.aud, iss: claims.iss, scope: claims.scope, sub: claims.sub, alg: JSON.parse(Buffer.from(provider.saved.access_token.split(".")[0], "base64url")).alg },
    tools: tools.length,
    toolsAfterRefresh: afterRefresh.tools.length,
    created: { isError: !!created.isError, text: textOf(created), uid: created.structuredContent?.uid },
    tokens: provider.seenTokens,
  };
}

async function readOnly(url) {
  // No refresh token for this client: SDK 1.32.2 tries a refresh before stepping up, and a
  // refresh cannot add a scope (typescript-sdk#2255), so it would stop at the second 403.
  const provider = new MemoryProvider("read-only", ["authorization_code"]);
  const { client, asked } = await connect(url, provider, READ);
  const granted = claimsOf(provider.saved.access_token).scope;
  // Passes the gateway's scope check; whether the API accepts it is the test's to judge.
  const listed = await client.callTool({ name: "list_notes", arguments: {} });
  let stepUp;
  try {
    await client.callTool({ name: "create_note", arguments: { title: "after step-up", content: "y" } });
    throw new Error("create_note went through with the read scope only");
  } catch (e) {
    check(e instanceof UnauthorizedError, `the 403 led to a new authorization: ${e}`);
    stepUp = await authorize(provider);
  }
  await client.transport.finishAuth(stepUp.code);
  const regranted = claimsOf(provider.saved.access_token).scope;
  const created = await client.callTool({ name: "create_note", arguments: { title: "after step-up", content: "y" } });
  await client.close();
  return {
    firstAsked: asked.scope,
    granted,
    listed: { isError: !!listed.isError, text: textOf(listed) },
    stepUpAsked: stepUp.asked.scope,
    regranted,
    created: { isError: !!created.isError, text: textOf(created), uid: created.structuredContent?.uid },
    tokens: provider.seenTokens,
  };
}

/// Plays the gateway's part once (EXCHANGE_AS="client_id:secret", API_RESOURCE): exchanges
/// `subject` at the token endpoint as RFC 8693 says, and tries the same with the exchanged
/// token as subject, which is for the API, not the gateway, and must be refused. Lets the
/// test check the authorization server's exchange grant on its own.
async function exchangeAsGateway(issuer, subject) {
  const [id, secret] = process.env.EXCHANGE_AS.split(":");
  const exchange = (subjectToken) =>
    fetch(`${issuer}/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: subjectToken,
        subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
        resource: process.env.API_RESOURCE,
      }),
    });
  const ok = await exchange(subject);
  const answer = await ok.json();
  const again = await exchange(answer.access_token ?? "none");
  return { status: ok.status, answer, refused: { status: again.status, body: await again.json() } };
}

const [url] = process.argv.slice(2);
check(url, "usage: node client.mjs GATEWAY_URL");
const result = { full: await full(url), readOnly: await readOnly(url) };
if (process.env.EXCHANGE_AS) {
  result.exchange = await exchangeAsGateway(result.full.metadata.authorization_servers[0], lastToken);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
