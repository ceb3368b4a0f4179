// Health results as metrics: what /health/detailed shows, scrapeable.
import assert from "node:assert/strict";
import { Health, registerHealthMetrics } from "../../src/health/mod.ts";
import { Registry } from "../../src/metrics/mod.ts";
import { promtoolCheck } from "../_tools.ts";
import { fakeClock } from "./_helpers.ts";
import { recordingLogger } from "../_tools.ts";

Deno.test("registerHealthMetrics() follows every check through its statuses", async () => {
  const registry = new Registry();
  const clock = fakeClock();
  const health = new Health({ now: clock.now, logger: recordingLogger() });
  let cacheStatus: "pass" | "warn" | "fail" = "warn";
  health.register("db", () => {
    clock.ms += 12.5;
    return { status: "pass" };
  });
  health.register("cache", () => ({ status: cacheStatus }), {
    critical: false,
  });
  registerHealthMetrics(registry, health);
  try {
    // Before any run: pending, no duration yet, healthy but not ready.
    let text = await registry.metrics();
    assert.match(
      text,
      /^vigil_health_check_status\{check="db",status="pending"\} 1$/m,
    );
    assert.match(
      text,
      /^vigil_health_check_status\{check="db",status="pass"\} 0$/m,
    );
    assert.doesNotMatch(text, /^vigil_health_check_duration_seconds\{/m);
    assert.match(text, /^vigil_health_ready 0$/m);

    await health.runAll();
    text = await registry.metrics();
    assert.match(
      text,
      /^vigil_health_check_status\{check="db",status="pass"\} 1$/m,
    );
    assert.match(
      text,
      /^vigil_health_check_status\{check="cache",status="warn"\} 1$/m,
    );
    assert.match(
      text,
      /^vigil_health_check_duration_seconds\{check="db"\} 0\.0125$/m,
    );
    assert.match(text, /^vigil_health_status\{status="degraded"\} 1$/m);
    assert.match(text, /^vigil_health_status\{status="healthy"\} 0$/m);
    assert.match(text, /^vigil_health_ready 1$/m);

    cacheStatus = "pass";
    await health.runAll();
    text = await registry.metrics();
    assert.match(
      text,
      /^vigil_health_check_status\{check="cache",status="warn"\} 0$/m,
    );
    assert.match(text, /^vigil_health_status\{status="healthy"\} 1$/m);
    // Exactly one status per check is 1.
    for (const check of ["db", "cache"]) {
      const ones = text.split("\n").filter((line) =>
        line.startsWith(`vigil_health_check_status{check="${check}",`) &&
        line.endsWith(" 1")
      );
      assert.equal(ones.length, 1, check);
    }
    health.markShuttingDown();
    assert.match(await registry.metrics(), /^vigil_health_ready 0$/m);
    const { code, stderr } = await promtoolCheck(text);
    assert.equal(code, 0, stderr);
  } finally {
    await health.stop();
    await registry.close();
  }
});
