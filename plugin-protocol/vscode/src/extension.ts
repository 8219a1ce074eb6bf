/**
 * Splice for VS Code: starts and supervises `splice serve`, shows its suggestions as inline text and in
 * the completion list, reports what the person did with them, and shows the server's state in the status
 * bar with a menu of what one can do about it.
 */

import * as vscode from "vscode";
import { INLINE_ACCEPTED_COMMAND } from "./inline";
import { menuItems, type MenuAction } from "./menu";
import type { StatusParams } from "./protocol";
import { statusView, type ServerState, type StatusModel } from "./status";
import { SERVER_SETTING_NAMES } from "./settings";
import { Supervisor } from "./supervisor";

const MENU_COMMAND = "splice.showMenu";

let running: Supervisor | undefined;

/** Whether Splice is enabled for this document (global, workspace and per-language settings). */
function enabledFor(document: vscode.TextDocument): boolean {
  return vscode.workspace.getConfiguration("splice", document).get<boolean>("enable", true);
}

class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("splice.status", vscode.StatusBarAlignment.Right, 100);
  private model: StatusModel = { server: "starting", splice: undefined, enabled: true };

  constructor() {
    this.item.name = "Splice";
    this.item.command = MENU_COMMAND;
    this.render();
    this.item.show();
  }

  update(change: Partial<StatusModel>): void {
    this.model = { ...this.model, ...change };
    this.render();
  }

  dispose(): void {
    this.item.dispose();
  }

  private render(): void {
    const document = vscode.window.activeTextEditor?.document;
    const enabled = document ? enabledFor(document) : vscode.workspace.getConfiguration("splice").get<boolean>("enable", true);
    const view = statusView({ ...this.model, enabled });
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.accessibilityInformation = { label: view.text.replace(/\$\([^)]*\)\s*/g, "") };
    this.item.backgroundColor =
      view.severity === "normal" ? undefined : new vscode.ThemeColor(`statusBarItem.${view.severity}Background`);
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<{ serverPid(): number | undefined }> {
  const output = vscode.window.createOutputChannel("Splice", { log: true });
  const status = new StatusBar();
  const supervisor = new Supervisor(
    output,
    {
      state: (server: ServerState, problem?: string) => status.update({ server, problem }),
      status: (splice: StatusParams | undefined) => status.update({ splice }),
    },
    enabledFor,
  );
  running = supervisor;
  context.subscriptions.push(
    output,
    status,
    vscode.commands.registerCommand(INLINE_ACCEPTED_COMMAND, (completionId: unknown) => {
      if (typeof completionId === "string") supervisor.feedback.accepted(completionId);
    }),
    vscode.commands.registerCommand(MENU_COMMAND, () => showMenu(supervisor, output)),
    vscode.commands.registerCommand("splice.restartServer", () => supervisor.restart()),
    vscode.commands.registerCommand("splice.showLogs", () => output.show()),
    vscode.window.onDidChangeActiveTextEditor(() => status.update({})),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("splice.server.path")) {
        void supervisor.restart();
      } else if (SERVER_SETTING_NAMES.some((name) => event.affectsConfiguration(`splice.${name}`))) {
        supervisor.settingsChanged();
      }
      status.update({});
    }),
  );
  await supervisor.start();
  return { serverPid: () => supervisor.serverPid };
}

/** Stop the server; VS Code waits for the returned promise, so `shutdown` and `exit` reach it. */
export function deactivate(): Promise<void> | undefined {
  const supervisor = running;
  running = undefined;
  return supervisor?.stop();
}

async function showMenu(supervisor: Supervisor, output: vscode.LogOutputChannel): Promise<void> {
  const config = vscode.workspace.getConfiguration("splice");
  const document = vscode.window.activeTextEditor?.document;
  const global = config.inspect<boolean>("enable");
  const language = document ? vscode.workspace.getConfiguration("splice", { languageId: document.languageId }) : undefined;
  const items = menuItems({
    enabledGlobally: global?.globalValue ?? global?.defaultValue ?? true,
    language: document && language ? { id: document.languageId, enabled: language.get<boolean>("enable", true) } : undefined,
    workspace: { open: vscode.workspace.workspaceFolders !== undefined, enabled: config.get<boolean>("enable", true) },
  });
  const picked = await vscode.window.showQuickPick(items, { title: "Splice" });
  if (picked !== undefined) {
    await run(picked.action, supervisor, output, document);
  }
}

async function run(action: MenuAction, supervisor: Supervisor, output: vscode.LogOutputChannel, document: vscode.TextDocument | undefined): Promise<void> {
  switch (action.kind) {
    case "enable": {
      if (action.scope === "language" && document) {
        await vscode.workspace
          .getConfiguration("splice", { languageId: document.languageId })
          .update("enable", action.value, vscode.ConfigurationTarget.Global, true);
      } else {
        const target = action.scope === "workspace" ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
        await vscode.workspace.getConfiguration("splice").update("enable", action.value, target);
      }
      return;
    }
    case "restart":
      return supervisor.restart();
    case "logs":
      return output.show();
    case "settings":
      await vscode.commands.executeCommand("workbench.action.openSettings", "@ext:splice.splice");
  }
}
