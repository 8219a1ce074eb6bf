/**
 * Starts `splice serve` over stdio with vscode-languageclient and keeps it running. One path handles every
 * stop nobody asked for (a crash, a failed start, a start that never got a process): the restart policy
 * decides between a new client after a growing delay and giving up with a notification that offers the
 * logs. The client library's own error pop-ups are turned off, so a crash loop is one message, not dozens.
 * The server's stderr goes to the Output channel line by line at each line's own level.
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as readline from "node:readline";
import * as vscode from "vscode";
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  InlineCompletionRequest,
  LanguageClient,
  State,
  type DynamicFeature,
  type LanguageClientOptions,
  type StaticFeature,
} from "vscode-languageclient/node";
import { discoverServer, type ServerCommand } from "./discovery";
import { FeedbackReporter } from "./feedback";
import { InlineCompletionFeature } from "./inline";
import { logLine } from "./logs";
import { SpliceMethods, type StatusParams } from "./protocol";
import { RestartPolicy } from "./restart";
import { SettingsSync, type Inspect } from "./settings";
import type { ServerState } from "./status";

const SELECTOR: vscode.DocumentSelector = [{ scheme: "file" }, { scheme: "untitled" }];

/** The language client with Splice's own inline feature in place of the built-in one. */
class SpliceLanguageClient extends LanguageClient {
  override registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
    const method = (feature as Partial<DynamicFeature<unknown>>).registrationType?.method;
    if (method === InlineCompletionRequest.method) {
      return; // replaced by InlineCompletionFeature, which keeps completion ids and reports feedback
    }
    super.registerFeature(feature);
  }

  override error(message: string, data?: unknown, _showNotification?: boolean | "force"): void {
    super.error(message, data, false); // logged; what the person is told is the supervisor's decision
  }
}

export interface SupervisorEvents {
  state(state: ServerState, problem?: string): void;
  status(params: StatusParams | undefined): void;
}

export class Supervisor {
  private client: SpliceLanguageClient | undefined;
  private readonly policy = new RestartPolicy();
  private readonly settings = new SettingsSync();
  private readonly handled = new WeakSet<SpliceLanguageClient>();
  private pendingStart: ReturnType<typeof setTimeout> | undefined;
  readonly feedback: FeedbackReporter;
  /** The process id of the running server, for people (and tests) who need to find it. */
  serverPid: number | undefined;

  constructor(
    private readonly output: vscode.LogOutputChannel,
    private readonly events: SupervisorEvents,
    private readonly enabledFor: (document: vscode.TextDocument) => boolean,
  ) {
    this.feedback = new FeedbackReporter((method, params) => {
      this.client?.sendNotification(method, params).catch((error: unknown) => this.output.warn(`${method} not sent: ${String(error)}`));
    });
  }

  /** Find the server and start it; problems are shown, never thrown. */
  async start(): Promise<void> {
    const discovery = discoverServer({
      setting: vscode.workspace.getConfiguration("splice").get<string>("server.path", ""),
      workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath),
      pathVariable: process.env.PATH ?? "",
      home: os.homedir(),
      isExecutable,
    });
    if ("problem" in discovery) {
      this.output.error(discovery.problem);
      this.events.state("failed", discovery.problem);
      void this.offerHelp(`Splice cannot start: ${discovery.problem}.`);
      return;
    }
    this.output.info(`starting ${discovery.found.command} ${discovery.found.args.join(" ")} (found via ${discovery.found.source})`);
    this.events.state("starting");
    this.settings.reset();
    const client = this.createClient(discovery.found);
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      this.stoppedUnexpectedly(client, `it did not start: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Stop the server (if any) and start it again, forgetting earlier crashes. */
  async restart(): Promise<void> {
    this.policy.reset();
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    clearTimeout(this.pendingStart);
    if (client !== undefined) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.output.warn(`the server did not stop cleanly: ${String(error)}`);
      }
      await client.dispose().catch(() => undefined);
    }
    this.events.state("stopped");
  }

  /** Send the person's current server settings after they changed. */
  settingsChanged(): void {
    if (this.client?.state === State.Running) {
      const settings = this.settings.payload(inspectServerSettings());
      this.output.info(`settings sent to the server: ${Object.keys(settings).join(", ") || "none"}`);
      void this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: { splice: settings } });
    }
  }

  private createClient(server: ServerCommand): SpliceLanguageClient {
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const serverOptions = async () => {
      const child = spawn(server.command, server.args, { cwd, env: process.env, stdio: "pipe" });
      this.serverPid = child.pid;
      child.on("exit", (code, signal) => {
        this.output.info(`the server exited (${signal ?? `code ${String(code)}`})`);
      });
      return child;
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: SELECTOR as LanguageClientOptions["documentSelector"],
      outputChannel: this.output,
      initializationOptions: () => ({ splice: this.settings.payload(inspectServerSettings()) }),
      stdioOptions: {
        stdout: () => undefined,
        stderr: (input) => {
          readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on("line", (raw) => {
            const { level, text } = logLine(raw);
            this.output[level](text);
          });
        },
      },
      middleware: {
        provideCompletionItem: (document, position, context, token, next) =>
          this.enabledFor(document) ? next(document, position, context, token) : undefined,
      },
      // A failed initialize is a failed start like any other; without this the library pops up its own error.
      initializationFailedHandler: () => false,
      errorHandler: {
        error: (_error, _message, count) => {
          if ((count ?? 0) <= 3) {
            return { action: ErrorAction.Continue, handled: true };
          }
          this.stoppedUnexpectedly(client, "its connection kept failing");
          return { action: ErrorAction.Shutdown, handled: true };
        },
        closed: () => {
          this.stoppedUnexpectedly(client, "it exited");
          return { action: CloseAction.DoNotRestart, handled: true, message: "the server's connection closed" };
        },
      },
    };
    const client = new SpliceLanguageClient("splice", "Splice", serverOptions, clientOptions);
    // Registered once the server has answered initialize, again after each restart.
    client.registerFeature(new InlineCompletionFeature(client, this.feedback, this.enabledFor, SELECTOR, (api) => {
      this.output.info(`the server is running (pid ${String(this.serverPid)}); feedback events via the ${api} API`);
    }));
    client.onNotification(SpliceMethods.status, (params: StatusParams) => this.events.status(params));
    client.onDidChangeState(({ newState }) => {
      if (newState === State.Running) {
        this.events.state("running");
      } else if (newState === State.Starting) {
        this.events.state("starting");
      }
      this.events.status(undefined);
    });
    return client;
  }

  /** A stop nobody asked for: start a new client after the policy's delay, or give up and say so. */
  private stoppedUnexpectedly(client: SpliceLanguageClient, problem: string): void {
    if (client !== this.client || this.handled.has(client)) {
      return; // stopped on purpose, or already handled (a failed start also closes the connection)
    }
    this.handled.add(client);
    const decision = this.policy.crashed(Date.now());
    if (decision.action === "restart") {
      this.output.warn(`the server stopped (${problem}); restarting in ${decision.delayMs} ms`);
      this.events.state("starting");
      this.pendingStart = setTimeout(() => void this.replace(client), decision.delayMs);
      return;
    }
    const summary = `it stopped ${decision.crashes} times in a few minutes, last: ${problem}`;
    this.output.error(`the server keeps failing (${summary}); not restarting it`);
    this.events.state("failed", summary);
    void this.offerHelp(`The Splice server keeps failing (${summary}).`);
  }

  /** Dispose a stopped client and start a new one (a client whose start failed cannot start again). */
  private async replace(client: SpliceLanguageClient): Promise<void> {
    if (client !== this.client) {
      return;
    }
    this.client = undefined;
    await client.dispose().catch(() => undefined);
    await this.start();
  }

  private async offerHelp(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, "Show logs", "Restart", "Open settings");
    if (choice === "Show logs") {
      this.output.show();
    } else if (choice === "Restart") {
      await this.restart();
    } else if (choice === "Open settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "splice.");
    }
  }
}

function inspectServerSettings(): Inspect {
  const config = vscode.workspace.getConfiguration("splice");
  return (name) => config.inspect(name);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
