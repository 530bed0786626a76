"use strict";
// Every toolbridge view: one script, switched on <html data-view>. It speaks the MCP Apps
// protocol (2026-01-26) to its host over postMessage and nothing else: no network, no
// storage. Text from tool results is only ever set as textContent, never parsed as HTML.
(() => {
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

  // ---- building blocks ----
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined && c !== false) node.append(c);
    }
    return node;
  }
  function replace(...nodes) {
    app.replaceChildren(...nodes.flat(2).filter((n) => n !== null && n !== undefined && n !== false));
    reportSize();
  }
  function notice(kind, text, ...more) {
    return el("div", { class: "notice " + kind, role: kind === "error" || kind === "conflict" ? "alert" : null }, el("p", { text }), more);
  }
  function when(ts) {
    if (!ts) return "";
    const d = new Date(ts);
    return isNaN(d) ? String(ts) : d.toLocaleString(host.context.locale || undefined);
  }
  const payloadOf = (item) => (item && item.payload) || {};
  function fields(item, skip) {
    const p = payloadOf(item);
    const rows = [];
    for (const [k, v] of Object.entries(p)) {
      if (skip.includes(k) || SERVER_KEYS.has(k)) continue;
      const shown = typeof v === "string" ? v : Array.isArray(v) && v.every((x) => typeof x === "string") ? v.join(", ") : JSON.stringify(v);
      rows.push(el("dt", { text: k }), el("dd", { text: shown }));
    }
    rows.push(el("dt", { text: "version" }), el("dd", { text: String(item.version) }));
    rows.push(el("dt", { text: "updated" }), el("dd", { text: when(item.updatedAt) }));
    return el("dl", { class: "fields" }, rows);
  }
  function failed(result) {
    return result.isError ? notice("error", errorText(result)) : null;
  }

  // The "Load more" button of a list view: the next page of `tool` through the host, with
  // the page size the model asked for, appended to `list` ({items, hasMore, cursor}).
  function pager(tool, what, list, redraw) {
    const more = el("button", {
      text: "Load more",
      onclick: async () => {
        more.disabled = true;
        say("Loading more " + what + "…");
        try {
          const args = { cursor: list.cursor };
          if (state.input.limit) args.limit = state.input.limit;
          const r = await call(tool, args);
          if (r.isError) return say(errorText(r));
          const page = r.structuredContent;
          list.items = list.items.concat(page.items || []);
          list.hasMore = page.hasMore;
          list.cursor = page.nextCursor;
          say("Loaded " + (page.items || []).length + " more.");
        } catch (e) {
          say("Could not load more: " + e.message);
        } finally {
          more.disabled = false;
          redraw();
        }
      },
    });
    return more;
  }

  // ---- notes ----
  function noteDetail(item) {
    const p = payloadOf(item);
    return [el("div", { class: "content", text: p.content || "" }), fields(item, ["title", "content"])];
  }
  function renderNote(result) {
    const item = result.structuredContent;
    const p = payloadOf(item);
    replace(el("article", {}, el("h1", { text: p.title || "(untitled)" }), noteDetail(item)));
  }
  function renderNotes(result) {
    const page = result.structuredContent;
    const list = { items: page.items || [], hasMore: page.hasMore, cursor: page.nextCursor };
    let query = "";
    const open = new Set();
    const ul = el("ul", { class: "items", "aria-label": "Notes" });
    const count = el("span", { class: "muted" });
    const more = pager("list_notes", "notes", list, () => draw());
    const search = el("input", {
      type: "search",
      placeholder: "Search the loaded notes",
      "aria-label": "Search the loaded notes",
      oninput: (e) => {
        query = e.target.value.trim().toLowerCase();
        draw();
      },
    });
    function matches(item) {
      if (!query) return true;
      const p = payloadOf(item);
      return [p.title, p.content, (p.tags || []).join(" ")].some((s) => typeof s === "string" && s.toLowerCase().includes(query));
    }
    function draw() {
      const shown = list.items.filter(matches);
      ul.replaceChildren(
        ...shown.map((item) => {
          const p = payloadOf(item);
          const expanded = open.has(item.uid);
          const head = el(
            "button",
            {
              class: "open",
              "aria-expanded": String(expanded),
              onclick: () => {
                expanded ? open.delete(item.uid) : open.add(item.uid);
                draw();
              },
            },
            el("div", { class: "row" }, el("div", { class: "grow" }, el("div", { class: "title", text: p.title || "(untitled)" }), el("div", { class: "snippet", text: (p.content || "").split("\n")[0] })), el("span", { class: "muted", text: when(item.updatedAt) }))
          );
          return el("li", {}, head, expanded ? el("div", { class: "detail" }, noteDetail(item)) : null);
        })
      );
      count.textContent = query ? shown.length + " of " + list.items.length + " loaded" : list.items.length + " loaded";
      more.hidden = !list.hasMore;
      reportSize();
    }
    replace(el("h1", { text: "Notes" }), el("div", { class: "toolbar" }, search, count), ul, el("div", { class: "toolbar" }, more));
    draw();
  }

  // ---- tasks ----
  const TASK_ACTIONS = [
    { label: "Start", tool: "process_task", action: "start", sets: "in_progress" },
    { label: "Complete", tool: "process_task", action: "complete", sets: "completed" },
    { label: "Reopen", tool: "process_task", action: "reopen", sets: "open" },
    { label: "Archive", tool: "archive_task", sets: "archived" },
  ];
  function taskCard(item, onChange, withFields) {
    const p = payloadOf(item);
    const title = p.title || "(untitled)";
    const status = p.status || "open";
    const buttons = TASK_ACTIONS.map((a) =>
      el("button", {
        text: a.label,
        "aria-label": a.label + ": " + title,
        disabled: status === a.sets || Boolean(item.deletedAt),
        onclick: async (e) => {
          const row = e.target.closest(".task");
          row.querySelectorAll("button").forEach((b) => (b.disabled = true));
          say(a.label + "…");
          try {
            const args = { uid: item.uid };
            if (a.action) args.action = a.action;
            const r = await call(a.tool, args);
            if (r.isError) {
              say(errorText(r));
              onChange(item);
              return;
            }
            say(a.label + ": " + title + " is now " + (payloadOf(r.structuredContent).status || a.sets) + " (version " + r.structuredContent.version + ").");
            onChange(r.structuredContent);
          } catch (err) {
            say(a.label + " failed: " + err.message);
            onChange(item);
          }
        },
      })
    );
    const meta = el("div", { class: "meta" }, p.priority ? el("span", { text: "priority " + p.priority }) : null, p.dueDate ? el("span", { text: "due " + p.dueDate }) : null);
    return el(
      "div",
      { class: "task", "data-uid": item.uid },
      el("div", { class: "row" }, el("div", { class: "grow" }, el("div", { class: "title", text: title }), p.description ? el("div", { class: "snippet", text: p.description }) : null, meta), el("span", { class: "badge " + status, text: status.replace("_", " ") })),
      el("div", { class: "row actions" }, buttons),
      withFields ? el("div", { class: "detail" }, fields(item, ["title", "description", "status"])) : null
    );
  }
  function renderTask(result) {
    let item = result.structuredContent;
    const holder = el("article", {});
    const draw = (next) => {
      item = next;
      holder.replaceChildren(taskCard(item, draw, true));
      reportSize();
    };
    replace(el("h1", { text: "Task" }), holder);
    draw(item);
  }
  function renderTasks(result) {
    const page = result.structuredContent;
    const list = { items: (page.items || []).slice(), hasMore: page.hasMore, cursor: page.nextCursor };
    const ul = el("ul", { class: "items", "aria-label": "Tasks" });
    const count = el("p", { class: "muted" });
    const draw = () => {
      ul.replaceChildren(
        ...list.items.map((item, i) =>
          el("li", {}, taskCard(item, (next) => {
            list.items[i] = next;
            draw();
          }, false))
        )
      );
      count.textContent = list.items.length + " tasks loaded";
      more.hidden = !list.hasMore;
      reportSize();
    };
    const more = pager("list_tasks", "tasks", list, () => draw());
    replace(el("h1", { text: "Tasks" }), count, ul, el("div", { class: "toolbar" }, more));
    draw();
  }

  // ---- the note edit review ----
  function lines(text, cls, mark) {
    if (!text) return [];
    const parts = text.replace(/\n$/, "").split("\n");
    return parts.map((l) => el("div", { class: cls, text: mark + l }));
  }
  function renderReview(result) {
    const r = result.structuredContent;
    const hunks = r.hunks || [];
    const decisions = hunks.map(() => null);
    const sections = [];
    const progress = el("span", { class: "muted" });
    const apply = el("button", { class: "primary", text: "Apply", onclick: doApply });
    const header = [
      el("h1", { text: "Review edit: " + (r.title || "(untitled)") }),
      r.summary ? el("p", { text: r.summary }) : null,
      el("p", { class: "meta" }, el("span", { text: "based on version " + r.base_version }), el("span", { text: hunks.length + (hunks.length === 1 ? " change" : " changes") })),
    ];
    if (!hunks.length) {
      replace(...header, notice("done", "The proposal is the same as the note: nothing to review."));
      return;
    }
    function update() {
      hunks.forEach((h, i) => {
        const d = decisions[i];
        const s = sections[i];
        s.className = "hunk" + (d ? " decided-" + d.action : "");
        s.querySelectorAll("button[data-action]").forEach((b) => b.setAttribute("aria-pressed", String(Boolean(d && d.action === b.dataset.action))));
        s.querySelector(".revise").hidden = !(d && d.action === "revise");
      });
      const done = decisions.filter(Boolean).length;
      progress.textContent = done + " of " + hunks.length + " decided";
      apply.disabled = done !== hunks.length;
      reportSize();
    }
    function decide(i, action) {
      const text = sections[i].querySelector("textarea").value;
      decisions[i] = action === "revise" ? { action, text } : { action };
      update();
      if (action === "revise") sections[i].querySelector("textarea").focus();
    }
    hunks.forEach((h, i) => {
      const where = h.removed ? "line " + h.base_line : "before line " + h.base_line;
      const label = "Change " + (i + 1) + " of " + hunks.length + ", " + where;
      const area = el("textarea", {
        "aria-label": "Your text for change " + (i + 1),
        oninput: (e) => {
          decisions[i] = { action: "revise", text: e.target.value };
          update();
        },
      });
      area.value = h.added;
      const section = el(
        "section",
        {
          class: "hunk",
          tabindex: "0",
          role: "group",
          "aria-label": label,
          onkeydown: (e) => {
            if (e.target.tagName === "TEXTAREA" || e.ctrlKey || e.metaKey || e.altKey) return;
            const keys = { a: "accept", r: "reject", e: "revise" };
            if (keys[e.key]) {
              e.preventDefault();
              decide(i, keys[e.key]);
            } else if (e.key === "j" || e.key === "ArrowDown") {
              e.preventDefault();
              (sections[i + 1] || section).focus();
            } else if (e.key === "k" || e.key === "ArrowUp") {
              e.preventDefault();
              (sections[i - 1] || section).focus();
            }
          },
        },
        el(
          "header",
          {},
          el("h2", { text: label }),
          el("div", { class: "actions" }, ["accept", "reject", "revise"].map((a) => el("button", { "data-action": a, "aria-pressed": "false", text: a[0].toUpperCase() + a.slice(1), "aria-label": a[0].toUpperCase() + a.slice(1) + " change " + (i + 1), onclick: () => decide(i, a) })))
        ),
        el("div", { class: "lines" }, lines(h.before, "ctx", "  "), lines(h.removed, "del", "− "), lines(h.added, "add", "+ "), lines(h.after, "ctx", "  ")),
        el("div", { class: "revise", hidden: true }, area)
      );
      sections.push(section);
    });
    const all = (action) => () => {
      hunks.forEach((_, i) => (decisions[i] = { action }));
      update();
    };
    async function doApply() {
      apply.disabled = true;
      say("Applying…");
      const sent = decisions.map((d, i) => (d.action === "revise" ? { hunk: i, action: "revise", text: d.text } : { hunk: i, action: d.action }));
      try {
        const res = await call("apply_note_edit", { uid: r.uid, base_version: r.base_version, proposed_content: r.proposed_content, decisions: sent });
        const out = res.structuredContent || {};
        if (out.status === "conflict") return renderConflict(r, out);
        if (res.isError) {
          say(errorText(res));
          apply.disabled = false;
          return;
        }
        renderApplied(r, out);
      } catch (e) {
        say("Could not apply: " + e.message);
        apply.disabled = false;
      }
    }
    replace(
      ...header,
      el("p", { class: "muted" }, "Keys on a change: ", el("kbd", { text: "a" }), " accept, ", el("kbd", { text: "r" }), " reject, ", el("kbd", { text: "e" }), " revise, ", el("kbd", { text: "j" }), "/", el("kbd", { text: "k" }), " next/previous."),
      el("div", { class: "toolbar" }, el("button", { text: "Accept all", onclick: all("accept") }), el("button", { text: "Reject all", onclick: all("reject") }), progress),
      sections,
      el("div", { class: "toolbar" }, apply)
    );
    update();
    say("");
  }
  function renderApplied(review, out) {
    const t = out.tally || {};
    const text =
      out.status === "unchanged"
        ? "Nothing to write: every change was rejected. The note stays at version " + out.version + "."
        : "Saved as version " + out.version + ": " + (t.accepted || 0) + " accepted, " + (t.rejected || 0) + " rejected, " + (t.revised || 0) + " revised.";
    replace(el("h1", { text: "Edit applied: " + (review.title || "(untitled)") }), notice("done", text), el("div", { class: "content", text: out.content || "" }));
    say("Applied.");
  }
  function renderConflict(review, out) {
    const again = el("button", {
      class: "primary",
      text: "Review again against the current note",
      onclick: async () => {
        again.disabled = true;
        try {
          const res = await call("edit_note_ui", { uid: review.uid, proposed_content: review.proposed_content, summary: review.summary || undefined });
          if (res.isError) {
            say(errorText(res));
            again.disabled = false;
            return;
          }
          renderReview(res);
        } catch (e) {
          say("Could not reload: " + e.message);
          again.disabled = false;
        }
      },
    });
    replace(
      el("h1", { text: "Edit not applied: " + (review.title || "(untitled)") }),
      notice("conflict", "This note changed while you were reviewing (version " + out.base_version + " reviewed, version " + out.current_version + " now). Nothing was written.", el("div", { class: "toolbar" }, again)),
      el("h2", { text: "The note now" }),
      el("div", { class: "content", text: out.current_content || "" })
    );
    say("Conflict: nothing was written.");
  }

  function render() {
    const result = state.result;
    if (!result) return;
    const problem = failed(result);
    if (problem && !(result.structuredContent && result.structuredContent.status === "conflict")) return replace(problem);
    if (!result.structuredContent) return replace(notice("error", "The result carries no structured content to show."));
    ({ notes: renderNotes, note: renderNote, tasks: renderTasks, task: renderTask, "note-edit": renderReview })[VIEW](result);
  }

  async function start() {
    applyTheme();
    new ResizeObserver(reportSize).observe(document.documentElement);
    try {
      const r = await request("ui/initialize", {
        appInfo: { name: "toolbridge-views", version: "1.0.0" },
        appCapabilities: { availableDisplayModes: ["inline"] },
        protocolVersion: PROTOCOL,
      });
      host.capabilities = r.hostCapabilities || {};
      host.context = r.hostContext || {};
      applyTheme();
      notify("ui/notifications/initialized", {});
    } catch (e) {
      replace(notice("error", "The host did not start this view: " + e.message));
    }
  }
  start();
})();
