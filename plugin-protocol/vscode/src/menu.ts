/**
 * The quick pick behind the status bar item: enable or disable Splice globally, for the current language
 * or for the workspace; restart the server; show its logs; open the settings. The list is built from plain
 * state so its wording and choices can be tested without VS Code.
 */

export type MenuAction =
  | { kind: "enable"; scope: "global" | "language" | "workspace"; value: boolean }
  | { kind: "restart" }
  | { kind: "logs" }
  | { kind: "settings" };

export interface MenuItem {
  label: string;
  description?: string;
  action: MenuAction;
}

export interface MenuState {
  enabledGlobally: boolean;
  language: { id: string; enabled: boolean } | undefined;
  workspace: { open: boolean; enabled: boolean };
}

/** The quick pick entries for this state, in the order they are shown. */
export function menuItems(state: MenuState): MenuItem[] {
  const verb = (enabled: boolean): string => (enabled ? "Disable" : "Enable");
  const items: MenuItem[] = [
    {
      label: `${verb(state.enabledGlobally)} Splice globally`,
      action: { kind: "enable", scope: "global", value: !state.enabledGlobally },
    },
  ];
  if (state.language !== undefined) {
    items.push({
      label: `${verb(state.language.enabled)} Splice for ${state.language.id}`,
      description: "all workspaces",
      action: { kind: "enable", scope: "language", value: !state.language.enabled },
    });
  }
  if (state.workspace.open) {
    items.push({
      label: `${verb(state.workspace.enabled)} Splice for this workspace`,
      action: { kind: "enable", scope: "workspace", value: !state.workspace.enabled },
    });
  }
  items.push(
    { label: "$(debug-restart) Restart the Splice server", action: { kind: "restart" } },
    { label: "$(output) Show Splice logs", action: { kind: "logs" } },
    { label: "$(settings-gear) Open Splice settings", action: { kind: "settings" } },
  );
  return items;
}
