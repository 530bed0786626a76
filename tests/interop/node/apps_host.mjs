// A real MCP Apps host, in a headless browser, around the gateway's views. The host side is
// the extension's own library (AppBridge + PostMessageTransport from
// @modelcontextprotocol/ext-apps, bundled for the page by esbuild); the view is loaded into
// a sandboxed iframe (allow-scripts only: an opaque origin, no network); the host forwards
// the view's tools/call requests to the gateway with the TypeScript SDK v2 client, as a
// real host forwards them through its backend. Debian's chromium, driven by playwright-core.
//
// Usage: node apps_host.mjs URL TOKEN SCREENSHOT_DIR
//
// Prints one JSON line with the uids it made and what the views showed; the Rust test
// (tests/procs/apps.rs) checks the emulator's state against it. Exits non-zero on any failed
// expectation.

import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

const [url, token, shots] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
mkdirSync(shots, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error(`apps failure: ${what}`);
}

// ---- the gateway, through the official client ----
const client = new Client({ name: "toolbridge-apps-host", version: "1.0.0" }, { capabilities: { extensions: { "io.modelcontextprotocol/ui": { mimeTypes: ["text/html;profile=mcp-app"] } } } });
await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
const forwarded = [];
async function callTool(name, args) {
  const r = await client.callTool({ name, arguments: args });
  check(!r.isError || r.structuredContent?.status === "conflict", `${name} failed: ${JSON.stringify(r.content)}`);
  return r;
}

const { tools } = await client.listTools();
const viewOf = (name) => tools.find((t) => t.name === name)?._meta?.ui?.resourceUri;
const apply = tools.find((t) => t.name === "apply_note_edit");
check(JSON.stringify(apply?._meta?.ui?.visibility) === '["app"]', "apply_note_edit is app-only");
const { resources } = await client.listResources();
check(resources.length === 5 && resources.every((r) => r.mimeType === "text/html;profile=mcp-app"), `five views: ${JSON.stringify(resources)}`);
async function html(uri) {
  const { contents } = await client.readResource({ uri });
  check(contents[0].mimeType === "text/html;profile=mcp-app", `${uri} mime type`);
  return contents[0].text;
}

// ---- the host page ----
const bundle = (
  await esbuild.build({
    stdin: { contents: "export { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';", resolveDir: process.cwd() },
    bundle: true,
    format: "iife",
    globalName: "ExtApps",
    platform: "browser",
    write: false,
    logLevel: "error",
  })
).outputFiles[0].text;

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
const seen = { forwarded, screenshots: [] };
try {
  const page = await browser.newPage({ viewport: { width: 760, height: 900 } });
  // The view's tools/call, forwarded by the host to the gateway.
  await page.exposeFunction("hostCallTool", async (params) => {
    forwarded.push(params.name);
    return client.callTool({ name: params.name, arguments: params.arguments });
  });
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.setContent(`<!doctype html><html><body style="margin:0;background:#888">
    <iframe id="view" sandbox="allow-scripts" title="view" style="display:block;width:720px;height:560px;border:0;margin:20px"></iframe>
    <script>${bundle}</script>
    <script>
      window.startView = async (html, input, result, theme) => {
        // One bridge per view, as a chat has one per result: the last one stops
        // listening before the frame loads the next view.
        if (window.bridge) await window.bridge.close();
        const frame = document.getElementById("view");
        const bridge = new ExtApps.AppBridge(null, { name: "toolbridge-test-host", version: "1.0.0" },
          { serverTools: {}, serverResources: {} }, { hostContext: { theme, displayMode: "inline", locale: "en-US" } });
        bridge.oncalltool = (params) => window.hostCallTool(params);
        bridge.onsizechange = ({ height }) => { if (height) frame.style.height = Math.min(height, 1600) + "px"; };
        const ready = new Promise((resolve) => (bridge.oninitialized = resolve));
        // Listen before the view loads: it sends ui/initialize as soon as its script runs.
        await bridge.connect(new ExtApps.PostMessageTransport(frame.contentWindow, frame.contentWindow));
        frame.srcdoc = html;
        await ready;
        await bridge.sendToolInput({ arguments: input });
        await bridge.sendToolResult(result);
        window.bridge = bridge;
      };
      window.setTheme = (theme) => window.bridge.setHostContext({ theme, displayMode: "inline", locale: "en-US" });
    </script></body></html>`);

  const frame = page.frameLocator("#view");
  async function show(tool, args, result, theme = "light") {
    const uri = viewOf(tool);
    check(uri, `${tool} links a view`);
    await page.evaluate(([h, a, r, t]) => window.startView(h, a, r, t), [await html(uri), args, result, theme]);
    return uri;
  }
  async function shoot(name) {
    for (const theme of ["light", "dark"]) {
      await page.evaluate((t) => window.setTheme(t), theme);
      await frame.locator(`html[data-theme="${theme}"]`).waitFor({ state: "attached" });
      const file = join(shots, `${name}-${theme}.png`);
      await page.locator("#view").screenshot({ path: file });
      seen.screenshots.push(file);
    }
    await page.evaluate(() => window.setTheme("light"));
  }

  // On a failure, what the view showed says more than a timeout.
  page.setDefaultTimeout(30000);
  globalThis.dumpView = async () => {
    await page.screenshot({ path: join(shots, "failure.png") }).catch(() => {});
    const text = await frame.locator("main").innerText().catch((e) => e.message);
    console.error(`forwarded: ${forwarded.join(", ")}\nthe view showed (failure.png):\n${text.slice(0, 2000)}`);
  };

  // Tasks: the list, then a click on "Complete" goes host → gateway → API.
  const made = [];
  for (const [title, priority, due] of [["File taxes", "high", "2027-04-15"], ["Water the plants", "low", null], ["Book the dentist", "medium", "2026-12-10"]]) {
    const args = { title, priority };
    if (due) args.due_date = due;
    made.push((await callTool("create_task", args)).structuredContent);
  }
  await callTool("process_task", { uid: made[2].uid, action: "start" });
  const tasks = await callTool("list_tasks", { limit: 2 });
  await show("list_tasks", { limit: 2 }, tasks);
  await frame.getByText("2 tasks loaded").waitFor();
  await frame.getByRole("button", { name: "Load more" }).click();
  await frame.getByText("3 tasks loaded").waitFor();
  await frame.getByRole("button", { name: "Complete: File taxes" }).waitFor();
  await shoot("tasks");
  await frame.getByRole("button", { name: "Complete: File taxes" }).click();
  await frame.getByText("File taxes is now completed").waitFor();
  check(await frame.getByRole("button", { name: "Complete: File taxes" }).isDisabled(), "Complete is disabled once completed");
  seen.completed = made[0].uid;

  const task = await callTool("get_task", { uid: made[2].uid });
  await show("get_task", { uid: made[2].uid }, task);
  await frame.getByRole("button", { name: "Reopen: Book the dentist" }).waitFor();
  await shoot("task");

  // Notes: the list with search-as-you-type over the loaded page, then one note.
  for (const [title, content] of [["Groceries", "eggs\nmilk\nbread\n"], ["Trip to Lisbon", "Flights on the 3rd.\nHotel near Alfama.\n"], ["Reading list", "The Dispossessed\nPiranesi\n"]]) {
    await callTool("create_note", { title, content, tags: ["home"] });
  }
  const notes = await callTool("list_notes", { limit: 2 });
  await show("list_notes", { limit: 2 }, notes);
  await frame.getByText("2 loaded").waitFor();
  await frame.getByRole("button", { name: "Load more" }).click();
  await frame.getByText("3 loaded").waitFor();
  await frame.getByRole("searchbox", { name: "Search the loaded notes" }).fill("lisbon");
  await frame.getByText("1 of 3 loaded").waitFor();
  await frame.getByRole("button", { name: /Trip to Lisbon/ }).click();
  await frame.getByText("Hotel near Alfama.").waitFor();
  await shoot("notes");
  const one = await callTool("get_note", { uid: notes.structuredContent.items[0].uid });
  await show("get_note", { uid: one.structuredContent.uid }, one);
  await shoot("note");

  // The edit review: accept one hunk, reject another, revise a third, apply.
  const base = "# Plan\nPack the bags.\nWater the plants.\nCall mum.\n\nLeave at 9.\n";
  const proposed = "# Plan\nPack the bags tonight.\nWater the plants.\nCall mum and dad.\n\nLeave at 8.\nLock the door.\n";
  const note = (await callTool("create_note", { title: "Saturday", content: base })).structuredContent;
  const reviewArgs = { uid: note.uid, proposed_content: proposed, summary: "Tighten the plan" };
  const review = await callTool("edit_note_ui", reviewArgs);
  check(review.structuredContent.hunks.length === 3, `3 hunks: ${JSON.stringify(review.structuredContent.hunks)}`);
  await show("edit_note_ui", reviewArgs, review);
  await frame.getByRole("button", { name: "Accept change 1" }).click();
  await frame.getByRole("button", { name: "Reject change 2" }).click();
  await frame.getByRole("group", { name: /Change 3 of 3/ }).focus();
  await page.keyboard.press("e");
  await frame.getByRole("textbox", { name: "Your text for change 3" }).fill("Leave at 8:30.\nLock the door.\n");
  await frame.getByText("3 of 3 decided").waitFor();
  await shoot("note-edit");
  await frame.getByRole("button", { name: "Apply" }).click();
  await frame.getByText(/Saved as version 2: 1 accepted, 1 rejected, 1 revised/).waitFor();
  await shoot("note-edit-applied");
  seen.reviewed = { uid: note.uid, base_version: note.version, merged: "# Plan\nPack the bags tonight.\nWater the plants.\nCall mum.\n\nLeave at 8:30.\nLock the door.\n" };

  // A concurrent edit between the review and the apply: the conflict view, nothing written.
  const other = (await callTool("create_note", { title: "Sunday", content: base })).structuredContent;
  const otherArgs = { uid: other.uid, proposed_content: proposed };
  await show("edit_note_ui", otherArgs, await callTool("edit_note_ui", otherArgs));
  await frame.getByRole("button", { name: "Accept all" }).click();
  const concurrent = "# Plan\nSomeone else rewrote this.\n";
  await callTool("patch_note", { uid: other.uid, updates: { content: concurrent } });
  await frame.getByRole("button", { name: "Apply" }).click();
  await frame.getByText(/changed while you were reviewing/).waitFor();
  await frame.getByText("Someone else rewrote this.").waitFor();
  await shoot("note-edit-conflict");
  seen.conflicted = { uid: other.uid, content: concurrent, version: other.version + 1 };
} catch (e) {
  if (globalThis.dumpView) await globalThis.dumpView();
  throw e;
} finally {
  await browser.close();
  await client.close();
}
console.log(JSON.stringify(seen));
