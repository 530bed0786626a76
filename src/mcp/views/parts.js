// Building blocks every view uses: elements, notices, fields, the list pager.
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

