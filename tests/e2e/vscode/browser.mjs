// Stands in for a person at VS Code: a headless Chromium, driven with playwright-core, on a code-server
// workbench. The test sends one JSON command per line on stdin and reads one JSON answer per line on
// stdout; each command waits for a condition on the page, never for a fixed time. Only loopback traffic
// leaves the browser: names resolve to nothing and every other request is aborted.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

let context;
let page;

const LOOPBACK = /^(https?|wss?):\/\/(127\.0\.0\.1|localhost)(:\d+)?\//;

const commands = {
  async launch({ profile, url, executablePath }) {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
      ],
    });
    await context.route("**/*", (route) => (LOOPBACK.test(route.request().url()) ? route.continue() : route.abort()));
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.waitForSelector(".monaco-workbench", { timeout: 120_000 });
    return true;
  },

  // Open a file from the Explorer, expanding its folders; a double click pins it and focuses the editor.
  async openFile({ path }) {
    const parts = path.split("/");
    for (const [index, name] of parts.entries()) {
      const row = page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`).first();
      await row.waitFor({ timeout: 60_000 });
      if (index < parts.length - 1) {
        if ((await row.getAttribute("aria-expanded")) !== "true") await row.click();
      } else {
        await row.dblclick();
      }
    }
    await page.locator(`.tabs-container .tab[aria-label^="${parts.at(-1)}"]`).first().waitFor({ timeout: 30_000 });
    await page.locator(".monaco-editor textarea").first().waitFor({ state: "attached", timeout: 30_000 });
    return true;
  },

  async gotoLine({ line, column }) {
    await page.keyboard.press("Control+G");
    await page.locator(".quick-input-widget input").waitFor({ timeout: 10_000 });
    await page.keyboard.type(column ? `${line}:${column}` : String(line));
    // Enter only once the widget has read the number, or it goes nowhere.
    await page.locator(".quick-input-widget .monaco-list-row", { hasText: `line ${line}` }).first().waitFor({ timeout: 10_000 });
    await page.keyboard.press("Enter");
    await page.locator(".quick-input-widget").waitFor({ state: "hidden", timeout: 10_000 });
    return true;
  },

  async press({ key }) {
    await page.keyboard.press(key);
    return true;
  },

  async type({ text }) {
    await page.keyboard.type(text, { delay: 60 });
    return true;
  },

  // The ghost text on screen: the inline part on the cursor's line and any further lines below it.
  async ghostText({ timeout }) {
    await page.locator(".ghost-text-decoration").first().waitFor({ state: "visible", timeout });
    // Monaco renders spaces as non-breaking ones.
    const text = (parts) => parts.map((part) => part.replaceAll("\u00a0", " "));
    const inline = text(await page.locator(".ghost-text-decoration").allTextContents());
    const below = text(await page.locator(".ghost-text .view-line").allTextContents());
    return { inline: inline.join(""), below };
  },

  // Wait until the inline ghost text reads something other than `previous` (cycling to another item).
  async otherGhostText({ previous, timeout }) {
    const handle = await page.waitForFunction(
      (before) => {
        const now = [...document.querySelectorAll(".ghost-text-decoration")].map((n) => n.textContent ?? "").join("").replaceAll("\u00a0", " ");
        return now && now !== before ? now : null;
      },
      previous,
      { timeout },
    );
    return handle.jsonValue();
  },

  async noGhostText({ timeout }) {
    await page.locator(".ghost-text-decoration").first().waitFor({ state: "hidden", timeout });
    return true;
  },

  async suggestions({ timeout }) {
    const rows = page.locator(".suggest-widget.visible .monaco-list-row");
    await rows.first().waitFor({ state: "visible", timeout });
    return rows.evaluateAll((nodes) => nodes.map((node) => ({ label: node.getAttribute("aria-label") ?? "", text: node.textContent ?? "" })));
  },

  // The status bar entries that mention Splice, once one of them contains `contains`.
  async statusBar({ contains, timeout }) {
    const entry = page.locator(".statusbar-item", { hasText: contains }).first();
    await entry.waitFor({ state: "visible", timeout });
    const texts = await page.locator(".statusbar-item").allInnerTexts();
    return texts.filter((text) => text.includes("Splice"));
  },

  // Click the status bar entry that contains `contains`; answer the rows of the quick pick it opens.
  async clickStatus({ contains, timeout }) {
    await page.locator(".statusbar-item", { hasText: contains }).first().click({ timeout });
    const rows = page.locator(".quick-input-widget .monaco-list-row");
    await rows.first().waitFor({ state: "visible", timeout });
    return rows.allInnerTexts();
  },

  // Choose the quick pick row whose text contains `label`.
  async pick({ label, timeout }) {
    await page.locator(".quick-input-widget .monaco-list-row", { hasText: label }).first().click({ timeout });
    await page.locator(".quick-input-widget").waitFor({ state: "hidden", timeout });
    return true;
  },

  // The text of the first notification toast that contains `contains` (a message or one of its buttons).
  async notification({ contains, timeout }) {
    const toast = page.locator(".notification-toast", { hasText: contains }).first();
    await toast.waitFor({ state: "visible", timeout });
    return toast.innerText();
  },

  async screenshot({ path }) {
    await page.screenshot({ path, fullPage: true });
    return path;
  },

  async close() {
    await context?.close();
    return true;
  },
};

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  const { name, args } = JSON.parse(line);
  let answer;
  try {
    answer = { ok: true, result: await commands[name](args ?? {}) };
  } catch (error) {
    answer = { ok: false, error: String(error?.message ?? error).split("\n").slice(0, 12).join("\n") };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
  if (name === "close") break;
}
process.exit(0);
