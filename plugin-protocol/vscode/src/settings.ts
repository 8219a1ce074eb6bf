/**
 * The server settings the extension sends: only those the person set (in user, workspace or folder
 * settings), so that `SPLICE_*` variables an organization sets in the environment are not overridden by
 * defaults. A setting that was sent and is then removed is sent once more with its default, since the
 * server merges each update over what it has.
 */

import { SERVER_SETTINGS, type ServerSettingName } from "./serverSettings.generated";

export interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export type Inspect = (name: ServerSettingName) => Inspected | undefined;

export const SERVER_SETTING_NAMES = Object.keys(SERVER_SETTINGS) as ServerSettingName[];

/** The value the person set for `name`, the most specific scope winning, or undefined. */
export function explicitValue(inspected: Inspected | undefined): unknown {
  if (inspected === undefined) {
    return undefined;
  }
  return inspected.workspaceFolderValue ?? inspected.workspaceValue ?? inspected.globalValue;
}

export class SettingsSync {
  private sent = new Set<ServerSettingName>();

  /** The settings for `initializationOptions` or `workspace/didChangeConfiguration`, camelCase keys. */
  payload(inspect: Inspect): Record<string, unknown> {
    const payload: Record<string, unknown> = {};
    const now = new Set<ServerSettingName>();
    for (const name of SERVER_SETTING_NAMES) {
      const value = explicitValue(inspect(name));
      if (value !== undefined) {
        payload[name] = value;
        now.add(name);
      } else if (this.sent.has(name)) {
        payload[name] = SERVER_SETTINGS[name];
      }
    }
    this.sent = now;
    return payload;
  }

  /** Forget what was sent: a new server process starts from its own defaults. */
  reset(): void {
    this.sent = new Set();
  }
}
