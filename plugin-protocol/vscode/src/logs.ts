/**
 * The server's stderr as lines of the Output channel at their own level: `splice serve` writes JSON lines
 * with a `level` field, and an info line shown as an error would teach people to ignore the channel.
 */

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface LogLine {
  level: LogLevel;
  text: string;
}

const LEVELS: Record<string, LogLevel> = {
  debug: "debug",
  info: "info",
  warning: "warn",
  warn: "warn",
  error: "error",
  critical: "error",
  exception: "error",
};

/** One stderr line as a log entry: the event and its fields when it is Splice's JSON, else the raw text. */
export function logLine(raw: string): LogLine {
  const line = raw.trimEnd();
  if (line.startsWith("{")) {
    try {
      const record: unknown = JSON.parse(line);
      if (record !== null && typeof record === "object" && !Array.isArray(record)) {
        return structured(record as Record<string, unknown>);
      }
    } catch {
      // Not JSON after all: shown as written below.
    }
  }
  // Anything else on stderr (a Python warning, a traceback) is not a log line the server meant to write.
  return { level: "warn", text: line };
}

function structured(record: Record<string, unknown>): LogLine {
  const { level, event, timestamp: _timestamp, ...fields } = record;
  const name = typeof level === "string" ? level.toLowerCase() : "";
  const parts = [typeof event === "string" ? event : JSON.stringify(event ?? "")];
  for (const [key, value] of Object.entries(fields)) {
    parts.push(`${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  return { level: LEVELS[name] ?? "info", text: parts.join(" ") };
}
