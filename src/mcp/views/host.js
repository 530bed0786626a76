// The view's side of the MCP Apps protocol (2026-01-26): JSON-RPC 2.0 over postMessage
// with window.parent, the host's context (theme, styles), size reports, tool calls.
  const VIEW = document.documentElement.dataset.view;
  // The payload keys the API writes itself (the gateway's RESERVED_KEYS, filled in when the
  // document is built): bookkeeping, not the item's fields.
  const SERVER_KEYS = new Set(/*SERVER_KEYS*/);
  const PROTOCOL = "2026-01-26";
  const app = document.getElementById("app");
  const statusLine = document.getElementById("status");

  // ---- the host: JSON-RPC 2.0 over postMessage with window.parent ----
  let nextId = 1;
  const pending = new Map();
  const host = { capabilities: {}, context: {} };
  const state = { input: {}, result: null };

  function post(message) {
    window.parent.postMessage(message, "*");
  }
  function request(method, params) {
    const id = nextId++;
    post({ jsonrpc: "2.0", id, method, params });
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }
  function notify(method, params) {
    post({ jsonrpc: "2.0", method, params: params || {} });
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const m = event.data;
    if (!m || m.jsonrpc !== "2.0") return;
    if (m.method === undefined) {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error.message || "the host refused the request"));
      else p.resolve(m.result);
      return;
    }
    if (m.id !== undefined) {
      if (m.method === "ui/resource-teardown" || m.method === "ping") {
        post({ jsonrpc: "2.0", id: m.id, result: {} });
      } else {
        post({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found: " + m.method } });
      }
      return;
    }
    const params = m.params || {};
    switch (m.method) {
      case "ui/notifications/tool-input":
        state.input = params.arguments || {};
        break;
      case "ui/notifications/tool-result":
        state.result = params;
        render();
        break;
      case "ui/notifications/tool-cancelled":
        replace(notice("error", "The tool call was cancelled" + (params.reason ? ": " + params.reason : ".")));
        break;
      case "ui/notifications/host-context-changed":
        Object.assign(host.context, params);
        applyTheme();
        break;
    }
  });

  function applyTheme() {
    const c = host.context;
    const dark = c.theme ? c.theme === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
    document.documentElement.dataset.theme = dark ? "dark" : "light";
    const vars = (c.styles && c.styles.variables) || {};
    for (const [k, v] of Object.entries(vars)) {
      if (k.startsWith("--") && typeof v === "string") document.documentElement.style.setProperty(k, v);
    }
  }

  let lastSize = "";
  function reportSize() {
    const el = document.documentElement;
    const size = { width: Math.ceil(el.getBoundingClientRect().width), height: Math.ceil(el.scrollHeight) };
    const key = size.width + "x" + size.height;
    if (key !== lastSize) {
      lastSize = key;
      notify("ui/notifications/size-changed", size);
    }
  }

  // A tool call through the host. Resolves with the CallToolResult (isError included);
  // rejects only when the host could not make the call at all.
  async function call(name, args) {
    if (!host.capabilities.serverTools) {
      throw new Error("this host does not let views call tools; ask the assistant to run " + name);
    }
    return request("tools/call", { name, arguments: args });
  }
  function errorText(result) {
    const text = (result.content || []).filter((c) => c.type === "text").map((c) => c.text).join(" ");
    return text || "the tool reported an error";
  }
  function say(text) {
    statusLine.textContent = text;
  }

