// A real OAuth 2.1 / OpenID Connect authorization server for the end-to-end identity test
// (tests/procs/oauth_flow.rs): panva's oidc-provider (OpenID Certified), configured the way a
// deployment would configure its provider for the gateway:
//
// - dynamic client registration (RFC 7591), open, as MCP clients expect;
// - authorization code with PKCE (required for public clients);
// - RFC 8707 resource indicators: an access token is a JWT (RFC 9068, RS256) for exactly
//   the resource asked for, with the toolbridge scopes the user granted;
// - refresh tokens for clients registered with the refresh_token grant;
// - an RFC 8693 token-exchange grant for the gateway's own confidential client: it turns a
//   token issued for the gateway into one for the API's audience (the gateway never
//   forwards the user's token to the API).
//
// There is no browser: the interaction (login and consent) is approved automatically for
// one test user, granting exactly the scopes requested, so an OAuth client can follow the
// redirects programmatically.
//
// Usage: node authorization_server.mjs   (configuration in the environment, below)
// Prints one JSON line {"issuer": ...} once listening on 127.0.0.1 (a free port), and
// exits when its stdin closes, so it never outlives the test that started it.
//
//   GATEWAY_CLIENT_ID / GATEWAY_CLIENT_SECRET   the gateway's client (token exchange)
//   API_RESOURCE                                the API's audience (exchanged tokens)
//   ACCOUNT                                     the test user's id (default oauth-user)

import { createHash, generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";

import { createLocalJWKSet, jwtVerify } from "jose";
import Provider, { errors } from "oidc-provider";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
const SCOPES = "toolbridge:read toolbridge:write";

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};
const GATEWAY_CLIENT_ID = env("GATEWAY_CLIENT_ID");
const GATEWAY_CLIENT_SECRET = env("GATEWAY_CLIENT_SECRET");
const API_RESOURCE = env("API_RESOURCE");
const ACCOUNT = env("ACCOUNT", "oauth-user");

// A fresh signing key per run; its public half is served at the provider's jwks_uri.
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "as-key-1", alg: "RS256", use: "sig" };
const { d, p, q, dp, dq, qi, ...publicKey } = signingKey;
const verifyKeys = createLocalJWKSet({ keys: [publicKey] });

/// The gateway's own resource: any loopback `/mcp` URL (the test picks the port later).
const isGateway = (resource) => /^http:\/\/127\.0\.0\.1:\d+\/mcp$/.test(resource ?? "");

const gatewayServer = (resource) => ({
  audience: resource,
  scope: SCOPES,
  accessTokenTTL: 600,
  accessTokenFormat: "jwt",
  jwt: { sign: { alg: "RS256" } },
});
const apiServer = {
  audience: API_RESOURCE,
  scope: SCOPES,
  accessTokenTTL: 600,
  accessTokenFormat: "jwt",
  jwt: { sign: { alg: "RS256" } },
};

// What happened, for the test's assertions (GET /_test/stats). Tokens are never kept, only
// their SHA-256, so a test can check which tokens went where without printing any.
const stats = { registrations: 0, codes: 0, refreshes: 0, exchanges: [], exchangeRefusals: [] };
const sha256 = (s) => createHash("sha256").update(s).digest("hex");

async function tokenExchange(ctx) {
  const { client, params } = ctx.oidc;
  const refuse = (Err, why) => {
    stats.exchangeRefusals.push(why);
    return new Err(why);
  };
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw refuse(errors.InvalidRequest, "subject_token_type must be an access token");
  }
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(params.subject_token, verifyKeys, {
      issuer: ctx.oidc.provider.issuer,
      algorithms: ["RS256"],
    }));
  } catch {
    throw refuse(errors.InvalidGrant, "subject_token is not a valid token of this issuer");
  }
  // Only a token issued to the gateway may be exchanged, and only by the gateway.
  if (!isGateway(claims.aud)) {
    throw refuse(errors.InvalidGrant, "subject_token was not issued for the gateway");
  }
  if ((params.resource ?? params.audience) !== API_RESOURCE) {
    throw refuse(errors.InvalidTarget, "resource must be the API");
  }
  const token = new ctx.oidc.provider.AccessToken({
    accountId: claims.sub,
    client,
    scope: claims.scope,
    gty: "token_exchange",
  });
  token.resourceServer = new ctx.oidc.provider.ResourceServer(API_RESOURCE, apiServer);
  const value = await token.save();
  stats.exchanges.push({ subject: sha256(params.subject_token), issued: sha256(value), sub: claims.sub });
  ctx.body = {
    access_token: value,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: "Bearer",
    expires_in: token.expiration,
    scope: claims.scope,
  };
}

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: GATEWAY_CLIENT_ID,
      client_secret: GATEWAY_CLIENT_SECRET,
      grant_types: [TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ["test-only-cookie-key"] },
  // The toolbridge scopes are listed too: registration checks a client's `scope` against
  // this list (the SDK registers with the scopes the gateway's challenge names).
  scopes: ["openid", "offline_access", ...SCOPES.split(" ")],
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // One resource per token: the one the client asked for (the SDK always asks).
      defaultResource: (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource, client) => {
        if (isGateway(resource)) return gatewayServer(resource);
        if (resource === API_RESOURCE && client.clientId === GATEWAY_CLIENT_ID) return apiServer;
        throw new errors.InvalidTarget();
      },
    },
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600 },
});
provider.registerGrantType(TOKEN_EXCHANGE, tokenExchange, [
  "subject_token",
  "subject_token_type",
  "resource",
  "audience",
  "scope",
  "requested_token_type",
]);
provider.on("registration_create.success", () => stats.registrations++);
provider.on("grant.success", (ctx) => {
  if (ctx.oidc.params.grant_type === "authorization_code") stats.codes++;
  if (ctx.oidc.params.grant_type === "refresh_token") stats.refreshes++;
});
provider.on("server_error", (_ctx, err) => console.error("authorization server error:", err));

/// The user's side, approved at once: log in as ACCOUNT, consent to what was asked.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (prompt.name === "login") {
    await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(" "));
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on("request", (req, res) => {
  if (req.url.startsWith("/interaction/")) {
    interaction(req, res).catch((err) => {
      console.error("interaction failed:", err);
      res.statusCode = 500;
      res.end(String(err));
    });
  } else if (req.url === "/_test/stats") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(stats));
  } else {
    callback(req, res);
  }
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
