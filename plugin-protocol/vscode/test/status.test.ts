// The status bar says what the server reports and whether it runs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { statusView } from "../src/status";

test("ready names the engine and is not highlighted", () => {
  const view = statusView({ server: "running", splice: { state: "ready", engine: "triton" }, enabled: true });
  assert.equal(view.text, "$(sparkle) Splice");
  assert.match(view.tooltip, /triton engine/);
  assert.equal(view.severity, "normal");
});

test("degraded says so and gives the server's reason", () => {
  const view = statusView({
    server: "running",
    splice: { state: "degraded", engine: "triton", message: "Triton at 127.0.0.1:1 is unreachable" },
    enabled: true,
  });
  assert.equal(view.text, "$(warning) Splice: degraded");
  assert.match(view.tooltip, /127\.0\.0\.1:1 is unreachable/);
  assert.equal(view.severity, "warning");
});

test("offline is an error", () => {
  const view = statusView({ server: "running", splice: { state: "offline" }, enabled: true });
  assert.equal(view.text, "$(error) Splice: offline");
  assert.equal(view.severity, "error");
});

test("the process state wins over a stale server status", () => {
  const stale = { state: "ready" as const, engine: "embedded" };
  assert.equal(statusView({ server: "starting", splice: stale, enabled: true }).text, "$(sync~spin) Splice");
  assert.equal(statusView({ server: "stopped", splice: stale, enabled: true }).text, "$(circle-slash) Splice: stopped");
  const failed = statusView({ server: "failed", splice: stale, enabled: true, problem: "it stopped 6 times in a few minutes" });
  assert.equal(failed.text, "$(error) Splice: failed");
  assert.match(failed.tooltip, /6 times/);
});

test("disabled here shows off, even when the server is fine", () => {
  const view = statusView({ server: "running", splice: { state: "ready" }, enabled: false });
  assert.equal(view.text, "$(circle-slash) Splice: off");
});

test("running before the first status is plain", () => {
  assert.equal(statusView({ server: "running", splice: undefined, enabled: true }).text, "$(sparkle) Splice");
});
