// The notes, note, tasks and task views.
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
              onclick: async () => {
                expanded ? open.delete(item.uid) : open.add(item.uid);
                // A list page previews long text (item.cut): read the note whole to show it.
                if (!expanded && item.cut) {
                  try {
                    const r = await call("get_note", { uid: item.uid });
                    if (!r.isError && r.structuredContent) list.items[list.items.indexOf(item)] = r.structuredContent;
                  } catch (err) {
                    say("Could not read the whole note: " + err.message);
                  }
                }
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

