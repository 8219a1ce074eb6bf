// Latency benchmark through the VS Code client library: start-up to the initialize reply, and
// end-to-end inlineCompletion latency with many documents open. Driven by scripts/bench-server.
//
// Usage: node bench.mjs ARGS_JSON   (root, file, others[], positions[[line, character, pauseMs]], starts)
// pauseMs: how long after the change the request is sent (0: back to back; an editor's debounce: ~75).
// Prints one JSON object with raw samples in milliseconds; the server's own per-stage timings come
// from its stderr log lines ("completion" events), in request order.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";
import {
  InitializeRequest, InitializedNotification, ShutdownRequest, ExitNotification,
  DidOpenTextDocumentNotification, DidChangeTextDocumentNotification, InlineCompletionRequest,
} from "vscode-languageserver-protocol/node";

const here = path.dirname(new URL(import.meta.url).pathname);
const args = JSON.parse(process.argv[2]);
const cmd = JSON.parse(process.env.SPLICE_SERVER_CMD);

function initParams(root) {
  const text = readFileSync(path.join(here, "..", "fixtures", "vscode-initialize.json"), "utf8");
  const params = JSON.parse(text.replaceAll("$rootUri", pathToFileURL(root).href)
    .replaceAll("$rootPath", root).replaceAll("$rootName", path.basename(root)));
  params.processId = process.pid;
  return params;
}

async function start() {
  const t0 = performance.now();
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d.toString(); });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  connection.listen();
  await connection.sendRequest(InitializeRequest.type, initParams(args.root));
  const initMs = performance.now() - t0;
  await connection.sendNotification(InitializedNotification.type, {});
  return { connection, initMs, exited, stderr: () => stderr };
}

async function stop(s) {
  await s.connection.sendRequest(ShutdownRequest.type);
  await s.connection.sendNotification(ExitNotification.type);
  await s.exited;
  s.connection.dispose();
}

const startups = [];
for (let i = 0; i < (args.starts ?? 5); i++) {
  const s = await start();
  startups.push(s.initMs);
  await stop(s);
}

const s = await start();
for (const other of args.others) {
  await s.connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri: pathToFileURL(other).href, languageId: "python", version: 1, text: readFileSync(other, "utf8") },
  });
}
const uri = pathToFileURL(args.file).href;
const targetText = readFileSync(args.file, "utf8");
const targetLines = targetText.split("\n");
await s.connection.sendNotification(DidOpenTextDocumentNotification.type, {
  textDocument: { uri, languageId: "python", version: 1, text: targetText },
});
let version = 1;
// Simulate having typed up to the cursor: delete the rest of the line, ask, then put it back.
async function edit(line, start, end, text) {
  version += 1;
  await s.connection.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version },
    contentChanges: [{ range: { start: { line, character: start }, end: { line, character: end } }, text }],
  });
}
// Let the workspace index finish before timing, as it would have long before a person types.
await new Promise((r) => setTimeout(r, args.settleMs ?? 3000));
const latencies = [];
let withItems = 0;
for (const [line, character, pauseMs] of args.positions) {
  const rest = targetLines[line].slice(character);
  await edit(line, character, character + rest.length, "");
  if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
  const t = performance.now();
  const result = await s.connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri }, position: { line, character }, context: { triggerKind: 2 },
  });
  latencies.push(performance.now() - t);
  if (result.items.length) withItems++;
  await edit(line, character, character, rest);
}
await stop(s);
process.stdout.write(JSON.stringify({ startups, latencies, withItems, stderr: s.stderr() }) + "\n");
