/**
 * Which `splice` executable to start: the `splice.server.path` setting, else the workspace's
 * `.venv/bin/splice`, else `splice` on PATH. A setting that names no executable is an error rather than a
 * silent fallback, since the person asked for that one.
 */

import * as path from "node:path";

export interface ServerCommand {
  command: string;
  args: string[];
  source: "setting" | "workspace" | "path";
}

export type Discovery = { found: ServerCommand } | { problem: string };

export interface DiscoveryInput {
  setting: string;
  workspaceFolders: readonly string[];
  pathVariable: string;
  home: string;
  isExecutable: (file: string) => boolean;
  platform?: NodeJS.Platform;
}

const SERVE_ARGS = ["serve"];

/** The server command for these settings and folders, or why there is none. */
export function discoverServer(input: DiscoveryInput): Discovery {
  const windows = (input.platform ?? process.platform) === "win32";
  const setting = input.setting.trim();
  if (setting) {
    const file = resolveSetting(setting, input);
    if (input.isExecutable(file)) {
      return { found: { command: file, args: SERVE_ARGS, source: "setting" } };
    }
    return { problem: `splice.server.path is ${JSON.stringify(setting)}, which is not an executable file (${file})` };
  }
  for (const folder of input.workspaceFolders) {
    const file = windows ? path.join(folder, ".venv", "Scripts", "splice.exe") : path.join(folder, ".venv", "bin", "splice");
    if (input.isExecutable(file)) {
      return { found: { command: file, args: SERVE_ARGS, source: "workspace" } };
    }
  }
  const name = windows ? "splice.exe" : "splice";
  for (const dir of input.pathVariable.split(windows ? ";" : ":")) {
    if (dir && input.isExecutable(path.join(dir, name))) {
      return { found: { command: path.join(dir, name), args: SERVE_ARGS, source: "path" } };
    }
  }
  return {
    problem: "no splice executable: set splice.server.path, or install Splice in the workspace's .venv or on PATH",
  };
}

function resolveSetting(setting: string, input: DiscoveryInput): string {
  let file = setting;
  const folder = input.workspaceFolders[0];
  if (folder !== undefined) {
    file = file.replace(/\$\{workspaceFolder\}/g, folder);
  }
  if (file === "~" || file.startsWith("~/")) {
    file = path.join(input.home, file.slice(1));
  }
  if (!path.isAbsolute(file) && folder !== undefined) {
    file = path.join(folder, file);
  }
  return file;
}
