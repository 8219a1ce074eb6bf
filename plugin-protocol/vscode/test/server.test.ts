// Finding the server, restarting it, reading its stderr, the status menu and the wire names.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { discoverServer } from "../src/discovery";
import { inlineItems } from "../src/inlineItems";
import { logLine } from "../src/logs";
import { menuItems } from "../src/menu";
import { SpliceMethods } from "../src/protocol";
import { RestartPolicy } from "../src/restart";

const base = { workspaceFolders: ["/ws"], pathVariable: "/usr/local/bin:/usr/bin", home: "/home/me", platform: "linux" as const };

test("the setting wins, with ~ and ${workspaceFolder} expanded", () => {
  const found = discoverServer({ ...base, setting: "${workspaceFolder}/tools/splice", isExecutable: (f) => f === "/ws/tools/splice" });
  assert.deepEqual(found, { found: { command: "/ws/tools/splice", args: ["serve"], source: "setting" } });
  const home = discoverServer({ ...base, setting: "~/bin/splice", isExecutable: (f) => f === "/home/me/bin/splice" });
  assert.ok("found" in home && home.found.command === "/home/me/bin/splice");
});

test("a setting naming no executable is an error, not a silent fallback", () => {
  const result = discoverServer({ ...base, setting: "/nope/splice", isExecutable: (f) => f === "/usr/bin/splice" });
  assert.ok("problem" in result);
  assert.match(result.problem, /\/nope\/splice/);
});

test("then the workspace's .venv, then PATH", () => {
  const venv = discoverServer({ ...base, setting: "", isExecutable: (f) => f === "/ws/.venv/bin/splice" || f === "/usr/bin/splice" });
  assert.ok("found" in venv && venv.found.source === "workspace" && venv.found.command === "/ws/.venv/bin/splice");
  const onPath = discoverServer({ ...base, setting: "", isExecutable: (f) => f === "/usr/bin/splice" });
  assert.ok("found" in onPath && onPath.found.source === "path" && onPath.found.command === "/usr/bin/splice");
  const none = discoverServer({ ...base, setting: "", isExecutable: () => false });
  assert.ok("problem" in none && /splice\.server\.path/.test(none.problem));
});

test("restarts back off, then stop after too many crashes in a short time", () => {
  const policy = new RestartPolicy([100, 200, 400], 60_000, 3);
  assert.deepEqual(policy.crashed(0), { action: "restart", delayMs: 100 });
  assert.deepEqual(policy.crashed(1000), { action: "restart", delayMs: 200 });
  assert.deepEqual(policy.crashed(2000), { action: "restart", delayMs: 400 });
  assert.deepEqual(policy.crashed(3000), { action: "giveUp", crashes: 4 });
});

test("crashes long ago do not count, and a manual restart forgets them", () => {
  const policy = new RestartPolicy([100, 200], 60_000, 2);
  policy.crashed(0);
  policy.crashed(1);
  assert.deepEqual(policy.crashed(120_000), { action: "restart", delayMs: 100 });
  policy.crashed(120_001);
  policy.reset();
  assert.deepEqual(policy.crashed(120_002), { action: "restart", delayMs: 100 });
});

test("Splice's JSON log lines keep their level; info is not an error", () => {
  assert.deepEqual(logLine('{"event": "initialized", "level": "info", "timestamp": "t", "root": "/ws"}'), {
    level: "info",
    text: "initialized root=/ws",
  });
  assert.equal(logLine('{"event": "invalid_setting", "level": "warning"}').level, "warn");
  assert.equal(logLine('{"event": "x", "level": "error", "n": 3}').text, "x n=3");
  assert.equal(logLine('{"event": "x", "level": "debug"}').level, "debug");
  assert.deepEqual(logLine("Traceback (most recent call last):"), { level: "warn", text: "Traceback (most recent call last):" });
  assert.equal(logLine("{not json").level, "warn");
});

test("the menu offers each scope's opposite and the server actions", () => {
  const items = menuItems({ enabledGlobally: true, language: { id: "python", enabled: false }, workspace: { open: true, enabled: true } });
  assert.deepEqual(
    items.map((item) => item.label),
    [
      "Disable Splice globally",
      "Enable Splice for python",
      "Disable Splice for this workspace",
      "$(debug-restart) Restart the Splice server",
      "$(output) Show Splice logs",
      "$(settings-gear) Open Splice settings",
    ],
  );
  assert.deepEqual(items[1]?.action, { kind: "enable", scope: "language", value: true });
  const bare = menuItems({ enabledGlobally: false, language: undefined, workspace: { open: false, enabled: true } });
  assert.deepEqual(bare[0]?.action, { kind: "enable", scope: "global", value: true });
  assert.equal(bare.length, 4);
});

test("inline items keep their completionId, in every result shape", () => {
  const range = { start: { line: 1, character: 2 }, end: { line: 1, character: 2 } };
  const list = { items: [{ insertText: "a", range, data: { completionId: "x-0" } }, { insertText: "b", data: { completionId: "x-1" } }] };
  assert.deepEqual(
    inlineItems(list as never).map((item) => [item.insertText, item.completionId]),
    [["a", "x-0"], ["b", "x-1"]],
  );
  assert.equal(inlineItems([{ insertText: { kind: "snippet", value: "c" } }] as never)[0]?.insertText, "c");
  assert.deepEqual(inlineItems(null), []);
  assert.equal(inlineItems([{ insertText: "d", data: 7 }] as never)[0]?.completionId, undefined);
});

test("the extension's method names are the schema's", () => {
  const schema = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../splice-protocol.schema.json"), "utf8"));
  assert.deepEqual(Object.values(SpliceMethods).sort(), Object.keys(schema.methods).sort());
});
