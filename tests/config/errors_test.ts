import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/mod.ts";

Deno.test("ConfigError formats source, position and path", () => {
  const error = new ConfigError("c.yaml", "unknown key", {
    path: "a.b",
    line: 3,
    column: 5,
  });
  assert.equal(error.message, "c.yaml:3:5: a.b: unknown key");
  assert.equal(
    new ConfigError("VIGIL_PORT", "bad", { path: "server.port" }).message,
    "VIGIL_PORT: server.port: bad",
  );
  assert.equal(new ConfigError("x.yaml", "bad").message, "x.yaml: bad");
  assert.ok(error instanceof Error);
});
