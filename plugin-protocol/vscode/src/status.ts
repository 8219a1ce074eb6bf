/**
 * What the status bar item says: the server's own `splice/status` (ready, degraded with the reason,
 * offline) when it runs, else whether it is starting, stopped or has failed; and "off" where the person
 * disabled Splice. A pure function of that state, so every combination can be checked without VS Code.
 */

import type { StatusParams } from "./protocol";

export type ServerState = "starting" | "running" | "stopped" | "failed";

export interface StatusModel {
  server: ServerState;
  splice: StatusParams | undefined;
  enabled: boolean;
  problem?: string | undefined;
}

export interface StatusView {
  text: string;
  tooltip: string;
  severity: "normal" | "warning" | "error";
}

/** The status bar text, tooltip and colour for this state. */
export function statusView(model: StatusModel): StatusView {
  const engine = model.splice?.engine ? ` (${model.splice.engine} engine)` : "";
  if (model.server === "failed") {
    return { text: "$(error) Splice: failed", tooltip: `The Splice server is not running: ${model.problem ?? "it kept failing"}. Click for options.`, severity: "error" };
  }
  if (model.server === "stopped") {
    return { text: "$(circle-slash) Splice: stopped", tooltip: "The Splice server is stopped. Click for options.", severity: "warning" };
  }
  if (model.server === "starting") {
    return { text: "$(sync~spin) Splice", tooltip: "The Splice server is starting.", severity: "normal" };
  }
  if (!model.enabled) {
    return { text: "$(circle-slash) Splice: off", tooltip: "Splice is disabled here. Click to enable it.", severity: "normal" };
  }
  switch (model.splice?.state) {
    case "degraded":
      return {
        text: "$(warning) Splice: degraded",
        tooltip: `Splice serves from a stand-in${engine}: ${model.splice.message ?? "the configured engine is unavailable"}`,
        severity: "warning",
      };
    case "offline":
      return {
        text: "$(error) Splice: offline",
        tooltip: `No engine can serve${model.splice.message ? `: ${model.splice.message}` : ""}`,
        severity: "error",
      };
    case "ready":
      return { text: "$(sparkle) Splice", tooltip: `Splice is ready${engine}.`, severity: "normal" };
    default:
      return { text: "$(sparkle) Splice", tooltip: "The Splice server is running.", severity: "normal" };
  }
}
