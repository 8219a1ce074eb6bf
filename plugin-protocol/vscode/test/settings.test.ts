// Only the settings a person set are sent; removing one sends its default; names follow config.py.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { SERVER_SETTINGS } from "../src/serverSettings.generated";
import { explicitValue, SERVER_SETTING_NAMES, SettingsSync, type Inspected } from "../src/settings";

const PACKAGE = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8"));

function inspect(values: Record<string, Inspected>) {
  return (name: string): Inspected | undefined => values[name];
}

test("defaults are not sent, so SPLICE_ variables in the environment keep working", () => {
  assert.deepEqual(new SettingsSync().payload(inspect({})), {});
});

test("the most specific scope wins", () => {
  assert.equal(explicitValue({ globalValue: "a", workspaceValue: "b", workspaceFolderValue: "c" }), "c");
  assert.equal(explicitValue({ globalValue: "a", workspaceValue: "b" }), "b");
  assert.equal(explicitValue({ globalValue: "a" }), "a");
  assert.equal(explicitValue(undefined), undefined);
});

test("set values are sent, and a removed one goes back to the server's default once", () => {
  const sync = new SettingsSync();
  assert.deepEqual(sync.payload(inspect({ tritonUrl: { workspaceValue: "127.0.0.1:8001" }, tenant: { globalValue: "acme" } })), {
    tenant: "acme",
    tritonUrl: "127.0.0.1:8001",
  });
  assert.deepEqual(sync.payload(inspect({ tenant: { globalValue: "acme" } })), { tritonUrl: "", tenant: "acme" });
  assert.deepEqual(sync.payload(inspect({ tenant: { globalValue: "acme" } })), { tenant: "acme" });
});

test("a new server process starts from its own defaults", () => {
  const sync = new SettingsSync();
  sync.payload(inspect({ engine: { globalValue: "embedded" } }));
  sync.reset();
  assert.deepEqual(sync.payload(inspect({})), {});
});

test("every server setting is contributed in package.json with the same default", () => {
  const properties = PACKAGE.contributes.configuration.properties;
  for (const name of SERVER_SETTING_NAMES) {
    assert.deepEqual(properties[`splice.${name}`]?.default, SERVER_SETTINGS[name], name);
  }
  assert.ok(SERVER_SETTING_NAMES.includes("tritonUrl") && SERVER_SETTING_NAMES.includes("telemetry"));
});
