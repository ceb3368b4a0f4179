import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/mod.ts";
import { serve } from "../../src/http/mod.ts";
import {
  ignoreWithout,
  parseOpenMetrics,
  PYTHON,
  recordingLogger,
} from "../_tools.ts";

const noPython = await ignoreWithout(
  PYTHON,
  "apt-get install python3-prometheus-client",
);

async function withServer(
  fn: (base: string, registry: Registry) => Promise<void>,
): Promise<void> {
  const registry = new Registry({ logger: recordingLogger() });
  const server = serve({ registry, port: 0, hostname: "127.0.0.1" });
  try {
    assert.equal(server.addr.hostname, "127.0.0.1");
    await fn(`http://127.0.0.1:${server.addr.port}`, registry);
  } finally {
    await server.shutdown();
    await registry.close();
  }
}

Deno.test("GET /metrics serves Prometheus text 0.0.4 by default", async () => {
  await withServer(async (base, registry) => {
    registry.counter({ name: "jobs_total", help: "Jobs" }).inc(3);
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(
      response.headers.get("content-type"),
      "text/plain; version=0.0.4; charset=utf-8",
    );
    const body = await response.text();
    assert.match(body, /^jobs_total 3$/m);
    assert.doesNotMatch(body, /# EOF/);
  });
});

Deno.test({
  name: "GET /metrics serves OpenMetrics when Prometheus asks for it",
  ignore: noPython,
  fn: async () => {
    await withServer(async (base, registry) => {
      registry.counter({ name: "jobs_total", help: "Jobs" }).inc(3);
      const response = await fetch(`${base}/metrics`, {
        headers: {
          accept:
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        },
      });
      assert.equal(
        response.headers.get("content-type"),
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
      );
      const families = await parseOpenMetrics(await response.text());
      const jobs = families.find((family) => family.name === "jobs");
      assert.equal(jobs?.samples[0]?.value, 3);
    });
  },
});

Deno.test("GET /health/live answers 200 with a JSON status", async () => {
  await withServer(async (base) => {
    const response = await fetch(`${base}/health/live`);
    assert.equal(response.status, 200);
    assert.match(
      response.headers.get("content-type") ?? "",
      /^application\/json/,
    );
    assert.deepEqual(await response.json(), {
      status: "pass",
      workers: 0,
      unresponsiveWorkers: [],
    });
  });
});

Deno.test("HEAD is answered without a body; other methods get 405, other paths 404", async () => {
  await withServer(async (base) => {
    const head = await fetch(`${base}/metrics`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const post = await fetch(`${base}/metrics`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    await post.body?.cancel();
    const missing = await fetch(`${base}/metricsx`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: "Not found" });
  });
});

Deno.test("A scrape that fails to render gets a 500 and is logged, without details", async () => {
  const logger = recordingLogger();
  const registry = new Registry({ logger });
  const { metricsHandler } = await import("../../src/http/mod.ts");
  const broken = Object.create(registry, {
    metrics: { value: () => Promise.reject(new Error("secret detail")) },
  });
  const response = await metricsHandler(broken, { logger })(
    new Request("http://localhost/metrics"),
  );
  assert.equal(response.status, 500);
  const body = await response.text();
  assert.doesNotMatch(body, /secret/);
  assert.equal(logger.records[0]?.level, "error");
  await registry.close();
});

Deno.test("serve() rejects an invalid port", () => {
  const registry = new Registry({ logger: recordingLogger() });
  for (const port of [-1, 65536, 1.5, NaN]) {
    assert.throws(() => serve({ registry, port }), RangeError);
  }
});
