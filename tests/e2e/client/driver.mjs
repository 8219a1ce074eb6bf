// Drives `splice serve` over real pipes with the VS Code client library (vscode-jsonrpc and
// vscode-languageserver-protocol), the way the VS Code extension host does.
//
// Usage: node driver.mjs SCENARIO ARGS_JSON
// The server command comes from SPLICE_SERVER_CMD (a JSON array). Prints one JSON object: the
// scenario's observations, which the Python tests assert on.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  CancellationTokenSource,
} from "vscode-jsonrpc/node";
import {
  InitializeRequest,
  InitializedNotification,
  ShutdownRequest,
  ExitNotification,
  DidOpenTextDocumentNotification,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  InlineCompletionRequest,
  CompletionRequest,
  ShowMessageNotification,
} from "vscode-languageserver-protocol/node";

const here = path.dirname(new URL(import.meta.url).pathname);
const [scenarioName, rawArgs] = process.argv.slice(2);
const args = JSON.parse(rawArgs || "{}");

function initializeParams(root, processId) {
  const text = readFileSync(path.join(here, "..", "fixtures", "vscode-initialize.json"), "utf8");
  const rootUri = pathToFileURL(root).href;
  const params = JSON.parse(
    text.replaceAll("$rootUri", rootUri).replaceAll("$rootPath", root).replaceAll("$rootName", path.basename(root)),
  );
  params.processId = processId ?? process.pid;
  if (args.initializationOptions) params.initializationOptions = args.initializationOptions;
  return params;
}

function startServer() {
  const cmd = JSON.parse(process.env.SPLICE_SERVER_CMD);
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: process.env });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d.toString(); });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, exited, stderr: () => stderr };
}

function connect(child) {
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
  );
  const notifications = [];
  connection.onNotification((method, params) => notifications.push({ method, params }));
  connection.onError(() => {});
  connection.listen();
  return { connection, notifications };
}

function errorOf(err) {
  return { code: err.code, message: err.message };
}

async function settle(promise) {
  try {
    return { result: await promise };
  } catch (err) {
    return { error: errorOf(err) };
  }
}

function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms)),
  ]);
}

async function open(connection, file, languageId) {
  const text = readFileSync(file, "utf8");
  const uri = pathToFileURL(file).href;
  await connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId, version: 1, text },
  });
  return { uri, text };
}

async function session(fn) {
  const server = startServer();
  const { connection, notifications } = connect(server.child);
  const started = performance.now();
  const init = await withTimeout(
    connection.sendRequest(InitializeRequest.type, initializeParams(args.root, args.processId)),
    20000, "initialize",
  );
  const initMs = performance.now() - started;
  await connection.sendNotification(InitializedNotification.type, {});
  const out = await fn({ connection, notifications, server, init, initMs });
  return { out, server, connection, notifications };
}

async function shutdownAndExit(connection, server) {
  await withTimeout(connection.sendRequest(ShutdownRequest.type), 10000, "shutdown");
  await connection.sendNotification(ExitNotification.type);
  const exit = await withTimeout(server.exited, 10000, "exit");
  connection.dispose();
  return exit;
}

const scenarios = {
  // Initialize, open real files, ask for inline and popup completions, send feedback, shut down.
  async complete() {
    const { out, server, connection, notifications } = await session(async ({ connection, init, initMs }) => {
      for (const other of args.others || []) await open(connection, other, args.languageId);
      const { uri } = await open(connection, args.file, args.languageId);
      const position = { line: args.line, character: args.character };
      const inline = await settle(connection.sendRequest(InlineCompletionRequest.type, {
        textDocument: { uri }, position, context: { triggerKind: 1 },
      }));
      const popup = await settle(connection.sendRequest(CompletionRequest.type, {
        textDocument: { uri }, position, context: { triggerKind: 1 },
      }));
      const id = inline.result?.items?.[0]?.data?.completionId;
      if (id) {
        await connection.sendNotification("splice/didShowCompletion", { completionId: id });
        await connection.sendNotification("splice/didAcceptCompletion", { completionId: id, acceptedLength: 3 });
      }
      await connection.sendNotification("splice/didRejectCompletion", { completionId: "never-issued" });
      await connection.sendNotification("splice/didAcceptCompletion", { completionId: id || "x", acceptedLength: -1 });
      return { capabilities: init.capabilities, initMs, inline, popup };
    });
    out.exit = await shutdownAndExit(connection, server);
    out.notifications = notifications;
    out.stderr = server.stderr();
    return out;
  },

  // Cancel a request through the client's token, and supersede one with a newer request.
  async cancel() {
    const { out, server, connection } = await session(async ({ connection }) => {
      const { uri } = await open(connection, args.file, args.languageId);
      const position = { line: args.line, character: args.character };
      const source = new CancellationTokenSource();
      const cancelled = settle(connection.sendRequest(InlineCompletionRequest.type, {
        textDocument: { uri }, position, context: { triggerKind: 1 },
      }, source.token));
      source.cancel();
      const first = settle(connection.sendRequest(InlineCompletionRequest.type, {
        textDocument: { uri }, position, context: { triggerKind: 2 },
      }));
      const second = settle(connection.sendRequest(InlineCompletionRequest.type, {
        textDocument: { uri }, position, context: { triggerKind: 1 },
      }));
      return { cancelled: await cancelled, superseded: await first, latest: await second };
    });
    out.exit = await shutdownAndExit(connection, server);
    return out;
  },

  // Malformed bytes on the wire, then a valid session; malformed requests; bad documents.
  async badInput() {
    const server = startServer();
    server.child.stdin.write("GARBAGE\r\n\r\n{not json}\r\nContent-Length: zz\r\n\r\n");
    server.child.stdin.write("Content-Length: 9\r\n\r\n{\"id\": 1,");
    const { connection, notifications } = connect(server.child);
    const before = await settle(connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri: "file:///nope.py" }, position: { line: 0, character: 0 },
    }));
    const init = await withTimeout(connection.sendRequest(InitializeRequest.type, initializeParams(args.root)),
      20000, "initialize");
    await connection.sendNotification(InitializedNotification.type, {});
    const { uri } = await open(connection, args.file, args.languageId);
    const results = {
      before,
      unknownMethod: await settle(connection.sendRequest("splice/noSuchMethod", {})),
      invalidParams: await settle(connection.sendRequest(InlineCompletionRequest.type, { textDocument: {} })),
      unknownDocument: await settle(connection.sendRequest(InlineCompletionRequest.type, {
        textDocument: { uri: "file:///never/opened.py" }, position: { line: 0, character: 0 } })),
      outOfRange: await settle(connection.sendRequest(InlineCompletionRequest.type, {
        textDocument: { uri }, position: { line: 99999, character: 0 } })),
    };
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: "file:///tmp/huge.py", languageId: "python", version: 1, text: "x".repeat(3_000_000) },
    });
    results.tooLarge = await settle(connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri: "file:///tmp/huge.py" }, position: { line: 0, character: 0 } }));
    await connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: 2 }, contentChanges: [{ range: "nonsense", text: 1 }] });
    await connection.sendNotification("workspace/didChangeConfiguration", { settings: { splice: { maxNewTokens: "many" } } });
    results.afterAll = await settle(connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri }, position: { line: args.line, character: args.character }, context: { triggerKind: 1 } }));
    await connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
    results.exit = await shutdownAndExit(connection, server);
    results.notifications = notifications;
    results.initialized = Boolean(init.capabilities);
    return results;
  },

  // The process must end when stdin closes, without shutdown/exit.
  async stdinClose() {
    const { server } = await session(async () => ({}));
    server.child.stdin.end();
    return { exit: await withTimeout(server.exited, 10000, "exit after stdin closed") };
  },

  // Exit without shutdown: exit code 1, as the specification says.
  async exitWithoutShutdown() {
    const { server, connection } = await session(async () => ({}));
    await connection.sendNotification(ExitNotification.type);
    return { exit: await withTimeout(server.exited, 10000, "exit") };
  },

  // The editor's process dies: the server must notice and leave.
  async parentDies() {
    const parent = spawn("sleep", ["1"]);
    args.processId = parent.pid;
    const { server } = await session(async () => ({}));
    return { exit: await withTimeout(server.exited, 15000, "exit after the editor died") };
  },
};

// Editor -> splice serve -> real tritonserver on CPU, then Triton killed (fallback, `degraded`) and
// restarted on the same ports (recovery, `ready`). args.triton = { cmd: [...], env: {...} } starts it.
scenarios.triton = async function triton() {
  const startTriton = () => new Promise((resolve, reject) => {
    const child = spawn(args.triton.cmd[0], args.triton.cmd.slice(1), {
      stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...args.triton.env }, detached: true,
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d.toString();
      if (out.includes("triton-cpu: ready")) resolve(child);
    });
    child.stderr.on("data", () => {});
    child.on("exit", (code) => reject(new Error(`triton-cpu exited with ${code} before ready`)));
  });
  const killTriton = (child) => new Promise((resolve) => {
    child.on("exit", resolve);
    process.kill(-child.pid, "SIGKILL");
  });
  const ask = (connection, uri) => settle(connection.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri }, position: { line: args.line, character: args.character }, context: { triggerKind: 1 },
  }));
  const statuses = (notifications) => notifications.filter((n) => n.method === "splice/status").map((n) => n.params);

  let tritonProcess = await withTimeout(startTriton(), 120000, "triton ready");
  const { out, server, connection, notifications } = await session(async ({ connection, notifications }) => {
    const { uri } = await open(connection, args.file, args.languageId);
    const served = await ask(connection, uri);
    await killTriton(tritonProcess);
    const fallback = await ask(connection, uri);
    const afterKill = statuses(notifications).slice();
    tritonProcess = await withTimeout(startTriton(), 120000, "triton ready again");
    // The fallback engine probes in the background; wait for it to report `ready`, then ask once more.
    const deadline = Date.now() + 30000;
    while (!statuses(notifications).some((st, i) => i >= afterKill.length && st.state === "ready")) {
      if (Date.now() > deadline) throw new Error("no ready status after Triton came back");
      await new Promise((r) => setTimeout(r, 200));
    }
    const recovered = await ask(connection, uri);
    return { served, fallback, recovered, afterKill };
  });
  out.exit = await shutdownAndExit(connection, server);
  out.statuses = statuses(notifications);
  out.stderr = server.stderr();
  await killTriton(tritonProcess);
  return out;
};

const scenario = scenarios[scenarioName];
if (!scenario) {
  console.error(`unknown scenario ${scenarioName}`);
  process.exit(2);
}
try {
  const result = await scenario();
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
} catch (err) {
  process.stdout.write(JSON.stringify({ failure: String(err && err.stack || err) }) + "\n");
  process.exit(1);
}
