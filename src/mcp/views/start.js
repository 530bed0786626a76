// Which view this document is, and the handshake that starts it.
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
