// The note edit review: hunks, decisions, apply, the applied and conflict views.
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

