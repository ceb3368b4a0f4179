import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/mod.ts";
import {
  createHandler,
  httpMetrics,
  ROUTES,
  serve,
} from "../../src/http/mod.ts";
import { VERSION } from "../../src/base/version.ts";
import { rawRequest } from "./_raw.ts";
import {
  ignoreWithoutPython,
  parseOpenMetrics,
  recordingLogger,
} from "../_tools.ts";

const decoder = new TextDecoder();

const noPython = await ignoreWithoutPython();

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
  await withServer(async (base, registry) => {
    registry.counter({ name: "jobs_total", help: "Jobs" }).inc();
    const head = await fetch(`${base}/metrics`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    // Without HTTP metrics the exposition does not change between requests.
    const body = new TextEncoder().encode(
      await (await fetch(`${base}/metrics`)).text(),
    );
    assert.ok(body.byteLength > 0);
    assert.equal(head.headers.get("content-length"), String(body.byteLength));
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

/** A server with HTTP metrics, so measured routes carry X-Request-ID. */
async function withMeasuredServer(
  fn: (port: number, registry: Registry) => Promise<void>,
): Promise<void> {
  const registry = new Registry({ logger: recordingLogger() });
  const server = serve({
    registry,
    port: 0,
    hostname: "127.0.0.1",
    http: httpMetrics(registry),
    logger: recordingLogger(),
  });
  try {
    await fn(server.addr.port, registry);
  } finally {
    await server.shutdown();
    await registry.close();
  }
}

Deno.test("A Host header that is no host answers 400, never another route", async (t) => {
  const forged = [
    "x/system/info?",
    "x/metrics#",
    "x#",
    "x?",
    "user@x",
    "a b",
    "x\\y",
    "x/",
    "x:80/y",
  ];
  for (const measured of [false, true]) {
    await t.step(measured ? "with HTTP metrics" : "without", async () => {
      const registry = new Registry({ logger: recordingLogger() });
      const server = serve({
        registry,
        port: 0,
        hostname: "127.0.0.1",
        ...(measured ? { http: httpMetrics(registry) } : {}),
        logger: recordingLogger(),
      });
      const port = server.addr.port;
      try {
        for (const host of forged) {
          const response = await rawRequest(
            port,
            `GET /health/live HTTP/1.1\r\nHost: ${host}`,
          );
          assert.equal(response.status, 400, host);
          assert.deepEqual(JSON.parse(decoder.decode(response.body)), {
            error: "Invalid Host header",
          });
        }
        // Non-ASCII bytes in the Host.
        const utf8 = await rawRequest(
          port,
          new TextEncoder().encode("GET /health/live HTTP/1.1\r\nHost: é"),
        );
        assert.equal(utf8.status, 400);
        // The attack: the request line names the probe, the Host forges
        // /system/info into request.url.
        const attack = await rawRequest(
          port,
          "GET /health/live HTTP/1.1\r\nHost: x/system/info?",
        );
        assert.doesNotMatch(decoder.decode(attack.body), /runtime|pid/);
        for (
          const host of [
            `127.0.0.1:${port}`,
            "localhost",
            "Example.COM",
            "[::1]:9464",
            "my-svc.ns.svc.cluster.local:9464",
            "",
          ]
        ) {
          const response = await rawRequest(
            port,
            `GET /health/live HTTP/1.1\r\nHost: ${host}`,
          );
          assert.equal(response.status, 200, host);
          assert.equal(
            JSON.parse(decoder.decode(response.body)).status,
            "pass",
          );
        }
        // HTTP/1.0 without a Host, and the absolute form, route by the target.
        const old = await rawRequest(port, "GET /health/ready HTTP/1.0");
        assert.equal(JSON.parse(decoder.decode(old.body)).status, "ready");
        const absolute = await rawRequest(
          port,
          "GET http://x/health/ready HTTP/1.1\r\nHost: x",
        );
        assert.equal(
          JSON.parse(decoder.decode(absolute.body)).status,
          "ready",
        );
        if (measured) {
          const text = await registry.metrics();
          assert.doesNotMatch(text, /route="\/system\/info"/);
          assert.doesNotMatch(text, /status="400"/);
        }
      } finally {
        await server.shutdown();
        await registry.close();
      }
    });
  }
});

Deno.test("HEAD sends the headers of GET on every route, content-length included", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  registry.counter({ name: "jobs_total", help: "Jobs ✓" }).inc(3);
  const handler = createHandler({
    registry,
    http: httpMetrics(registry),
    auth: { type: "bearer", token: "t0ken" },
    aliases: { "/monitoring/metrics": "/metrics" },
    logger: recordingLogger(),
  });
  // The body the handler gave each HEAD, which Deno.serve leaves out.
  const headBodies: Uint8Array[] = [];
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (request) => {
      const response = await handler(request);
      if (request.method === "HEAD") {
        headBodies.push(new Uint8Array(await response.clone().arrayBuffer()));
      }
      return response;
    },
  );
  const port = server.addr.port;
  const cases: [path: string, headers: string][] = [
    ...ROUTES.map((path): [string, string] => [
      path,
      "Authorization: Bearer t0ken",
    ]),
    [
      "/metrics",
      "Authorization: Bearer t0ken\r\nAccept: application/openmetrics-text",
    ],
    [
      "/health/detailed",
      "Authorization: Bearer t0ken\r\nAccept: application/health+json",
    ],
    ["/monitoring/metrics", "Authorization: Bearer t0ken"],
    ["/metrics", "Authorization: Bearer wrong"],
    ["/nowhere", "X-Nothing: 1"],
  ];
  try {
    // The first round creates every series the bodies list; the second
    // compares, so a body changes only in its figures between GET and HEAD.
    for (const [path, headers] of cases) {
      const head = `HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}`;
      await rawRequest(port, `GET ${path} ${head}`);
      await rawRequest(port, `HEAD ${path} ${head}`);
    }
    for (const [path, headers] of cases) {
      const what = `${path} (${headers})`;
      const head = `HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}`;
      const get = await rawRequest(port, `GET ${path} ${head}`);
      const got = await rawRequest(port, `HEAD ${path} ${head}`);
      assert.equal(got.status, get.status, what);
      assert.equal(got.body.byteLength, 0, what);
      const headBody = headBodies.at(-1) ?? new Uint8Array();
      assert.equal(
        Number(got.headers.get("content-length")),
        headBody.byteLength,
        what,
      );
      assert.equal(
        Number(get.headers.get("content-length")),
        get.body.byteLength,
        what,
      );
      // The HEAD's answer is the GET's: the same text but for the figures
      // (clocks, counts, durations) that moved between the two requests.
      assert.equal(
        figuresMasked(headBody),
        figuresMasked(get.body),
        what,
      );
      assert.deepEqual(comparable(got.headers), comparable(get.headers), what);
    }
  } finally {
    await server.shutdown();
    await registry.close();
  }
});

// A figure may gain or lose its decimals between two requests (0.1 % CPU,
// then 0): mask whole numbers, with their fraction and exponent if any.
function figuresMasked(body: Uint8Array): string {
  return decoder.decode(body).replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/g, "#");
}

/** Headers to compare: no date, no length, the request id's presence only. */
function comparable(headers: Map<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name === "date" || name === "content-length") continue;
    kept[name] = name === "x-request-id" ? "(present)" : value;
  }
  return kept;
}

Deno.test('The health bodies report the service version "unknown" unless told', async () => {
  await withMeasuredServer(async (port) => {
    const base = `http://127.0.0.1:${port}`;
    const health = await (await fetch(`${base}/health`)).json();
    assert.equal(health.version, "unknown");
    const info = await (await fetch(`${base}/system/info`)).json();
    assert.equal(info.vigil, VERSION);
    assert.deepEqual(info.service, {
      name: "vigil",
      version: "unknown",
      environment: "development",
    });
  });
  const registry = new Registry({ logger: recordingLogger() });
  const handler = createHandler({
    registry,
    service: { name: "shop", version: "2.3.1", environment: "production" },
  });
  const health = await (await handler(new Request("http://x/health"))).json();
  assert.equal(health.version, "2.3.1");
  await registry.close();
});
