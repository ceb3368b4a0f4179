// Error tracking in the server: the `errors` section starts it, a health
// status change and a drift event become breadcrumbs of the next event, and
// shutdown flushes it.
import assert from "node:assert/strict";
import { defaultConfig } from "../../src/config/mod.ts";
import { startVigil } from "../../src/app.ts";
import { captureException } from "../../src/errors/mod.ts";
import { startReceiver } from "./_receiver.ts";

Deno.test("startVigil() with errors.sentryDsn reports to Sentry, with health and drift breadcrumbs", async () => {
  const receiver = startReceiver();
  const base = defaultConfig();
  let up = true;
  const app = startVigil({
    ...base,
    server: { ...base.server, port: 0, drainDelayMs: 0 },
    health: { checks: [] },
    drift: {
      ...base.drift,
      models: [{
        name: "fraud",
        classes: [0, 1],
        detectors: [{ kind: "ddm" }],
      }],
    },
    errors: { sentryDsn: receiver.dsn, sampleRate: 1 },
  }, { onListen: () => {} });
  try {
    app.health.register("database", () => ({ status: up ? "pass" : "fail" }), {
      critical: true,
      intervalMs: 60_000,
    });
    await app.health.runAll();
    up = false;
    await app.health.runAll();
    const model = app.registry.getModel("fraud")!;
    // A perfect warm-up, then an error: DDM's first drift.
    for (let i = 0; i < 40; i++) model.record(0, 0);
    for (let i = 0; i < 5; i++) model.record(1, 0);
    await model.status();
    captureException(new Error("checkout failed"), { component: "checkout" });
  } finally {
    await app.shutdown();
  }
  await receiver.close();
  const raw = receiver.envelopes.find((e) => e.raw.includes("checkout failed"))
    ?.raw;
  assert.ok(raw !== undefined, "the event arrived");
  const event = JSON.parse(raw.split("\n")[2]!);
  const crumbs = JSON.stringify(event.breadcrumbs);
  // The health status change, as the logger wrapper made it a breadcrumb.
  assert.match(crumbs, /database/);
  // The drift event of the configured model.
  // One breadcrumb an event: the drift (a perfect warm-up's first error).
  assert.equal(crumbs.match(/"category":"drift"/g)?.length, 1, crumbs);
  assert.match(crumbs, /fraud/);
  assert.equal(event.tags.component, "checkout");
});
