import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/mod.ts";
import { httpMetrics, serve } from "../../src/http/mod.ts";
import {
  diskCheck,
  eventLoopLagCheck,
  Health,
  httpCheck,
} from "../../src/health/mod.ts";
import { recordingLogger } from "../_tools.ts";

/** How many digits a number shows after the decimal point. */
function decimals(value: number): number {
  return String(value).split(".")[1]?.length ?? 0;
}

function assertPrecision(value: unknown, digits: number, what: string): void {
  if (value === null) return;
  assert.equal(typeof value, "number", what);
  assert.ok(
    decimals(value as number) <= digits,
    `${what} is ${value}, finer than ${digits} decimals`,
  );
}

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test("/health/detailed shows no secret of an http check's URL, in either format", async () => {
  const failing = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("down", { status: 500 }),
  );
  const registry = new Registry({ logger: recordingLogger() });
  const health = new Health({ logger: recordingLogger() });
  const closed = closedPort();
  health.register(
    "refused",
    httpCheck(`http://127.0.0.1:${closed}/ping?token=s3cret`),
  );
  health.register(
    "userinfo",
    httpCheck(`http://ops:s3cret@127.0.0.1:${closed}/ping`),
  );
  health.register(
    "erroring",
    httpCheck(`http://127.0.0.1:${failing.addr.port}/ping?api_key=s3cret`),
  );
  const server = serve({
    registry,
    health,
    port: 0,
    hostname: "127.0.0.1",
    logger: recordingLogger(),
  });
  try {
    await health.runAll();
    const base = `http://127.0.0.1:${server.addr.port}`;
    const plain = await (await fetch(`${base}/health/detailed`)).text();
    const ietf = await (await fetch(`${base}/health/detailed`, {
      headers: { accept: "application/health+json" },
    })).text();
    for (const body of [plain, ietf]) {
      assert.doesNotMatch(body, /s3cret/);
      assert.match(body, /Connection refused/);
      assert.match(body, /unexpected status 500/);
    }
    assert.match(plain, /token=\*\*\*/);
  } finally {
    await health.stop();
    await server.shutdown();
    await failing.shutdown();
    await registry.close();
  }
});

Deno.test("/health/detailed rounds its figures: 0.1 %, 0.01 load, 1 µs latency, 1 ms uptime", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  const health = new Health({ logger: recordingLogger() });
  health.register(
    "disk",
    diskCheck(Deno.cwd(), { warnFreeRatio: 0, failFreeRatio: 0 }),
    {
      measurement: "utilization",
    },
  );
  health.register("lag", eventLoopLagCheck(() => 1.23456789), {
    measurement: "responseTime",
  });
  const server = serve({
    registry,
    health,
    port: 0,
    hostname: "127.0.0.1",
    http: httpMetrics(registry),
    logger: recordingLogger(),
  });
  try {
    await health.runAll();
    const base = `http://127.0.0.1:${server.addr.port}`;
    // Requests to measure, on several routes.
    for (const path of ["/metrics", "/health", "/system/info", "/nowhere"]) {
      await (await fetch(`${base}${path}`)).body?.cancel();
    }
    const detailed = await (await fetch(`${base}/health/detailed`)).json();
    const { system, performance, components } = detailed;
    for (
      const name of [
        "cpuPercent",
        "memoryPercent",
        "systemMemoryPercent",
        "diskPercent",
      ]
    ) {
      assertPrecision(system[name], 1, `system.${name}`);
    }
    for (const load of system.loadAverage ?? []) {
      assertPrecision(load, 2, "system.loadAverage");
    }
    assertPrecision(system.uptimeSeconds, 3, "system.uptimeSeconds");
    assertPrecision(detailed.uptime, 3, "uptime");
    assert.ok(performance.length >= 4, JSON.stringify(performance));
    for (const route of performance) {
      for (const name of ["p50Ms", "p95Ms", "p99Ms"]) {
        assertPrecision(route[name], 3, `${route.route} ${name}`);
      }
    }
    const byName = new Map(
      components.map((c: { name: string }) => [c.name, c]),
    );
    const disk = byName.get("disk") as { observedValue: number };
    assertPrecision(disk.observedValue, 1, "disk observedValue");
    const lag = byName.get("lag") as { observedValue: number };
    assert.equal(lag.observedValue, 1.235);
    const root = await (await fetch(`${base}/health`)).json();
    assertPrecision(root.uptime, 3, "/health uptime");
    const info = await (await fetch(`${base}/system/info`)).json();
    assertPrecision(info.uptime, 3, "/system/info uptime");
  } finally {
    await health.stop();
    await server.shutdown();
    await registry.close();
  }
});
