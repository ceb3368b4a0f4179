import assert from "node:assert/strict";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { LogRecord } from "@logtape/logtape";
import { configureLogging, logContextStorage } from "../../src/logging/mod.ts";
import { httpMetrics, UNMATCHED_ROUTE } from "../../src/http/mod.ts";
import { honoMiddleware } from "../../src/http/hono.ts";
import { recordingLogger } from "../_tools.ts";
import { registry, sample } from "./_shared.ts";

/** Serves `app` on 127.0.0.1 for `fn`, then shuts the server down. */
async function serving(
  app: Hono,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    // A non-Error thrown through Hono rejects app.fetch.
    onError: () => new Response("Internal Server Error", { status: 500 }),
  }, app.fetch);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

async function call(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(url, init);
  return {
    status: response.status,
    headers: response.headers,
    body: await response.text(),
  };
}

Deno.test("honoMiddleware() labels requests by Hono's route template, never the raw path", async () => {
  const r = registry();
  const logger = recordingLogger();
  try {
    const app = new Hono();
    app.use(honoMiddleware({ metrics: r, logger }));
    app.use("/users/*", async (_c, next) => {
      await next();
    });
    app.get(
      "/users/:id",
      (c) =>
        c.req.param("id") === "7"
          ? c.text("no such user", 404)
          : c.text(`user ${c.req.param("id")}`),
    );
    const api = new Hono();
    api.post("/items/:itemId", (c) => c.json({ id: c.req.param("itemId") }));
    app.route("/api", api);
    await serving(app, async (base) => {
      assert.equal((await call(`${base}/users/1`)).body, "user 1");
      assert.equal((await call(`${base}/users/2`)).status, 200);
      assert.equal((await call(`${base}/users/7`)).status, 404);
      assert.equal(
        (await call(`${base}/api/items/9`, { method: "POST" })).status,
        200,
      );
      assert.equal((await call(`${base}/nowhere/3`)).status, 404);
      // Only the pass-through middleware of /users/* saw it.
      assert.equal((await call(`${base}/users/1/x`)).status, 404);
      assert.equal(
        (await call(`${base}/users/1`, { method: "DELETE" })).status,
        404,
      );
    });
    const text = await r.metrics();
    const requests = (route: string, status: number, method = "GET") =>
      sample(
        text,
        new RegExp(
          `^http_requests_total\\{method="${method}",route="${route}",status="${status}"\\} (\\d+)$`,
          "m",
        ),
      );
    assert.equal(requests("/users/:id", 200), 2);
    assert.equal(requests("/users/:id", 404), 1);
    assert.equal(requests("/api/items/:itemId", 200, "POST"), 1);
    assert.equal(requests(UNMATCHED_ROUTE, 404), 2);
    assert.equal(requests(UNMATCHED_ROUTE, 404, "DELETE"), 1);
    assert.ok(!text.includes("/users/1"), "no raw path in a label");
    assert.ok(!text.includes("nowhere"));
    assert.match(
      text,
      /^http_request_duration_seconds_count\{method="GET",route="\/users\/:id"\} 3$/m,
    );
    assert.match(text, /^http_requests_in_progress 0$/m);
    assert.deepEqual(logger.records, []);
  } finally {
    await r.close();
  }
});

Deno.test("honoMiddleware() counts handler errors and leaves the answer to Hono", async (t) => {
  const r = registry();
  const logger = recordingLogger();
  try {
    // Two applications, one set of metrics.
    const metrics = httpMetrics(r);
    const app = new Hono();
    app.use(honoMiddleware({ metrics, logger }));
    app.get("/boom", () => {
      throw new RangeError("boom");
    });
    app.get("/denied", () => {
      throw new HTTPException(401, { message: "who are you" });
    });
    app.get("/thrown", () => {
      throw "not an error";
    });
    const custom = new Hono();
    custom.use(honoMiddleware({ metrics, logger }));
    custom.onError((error, c) => c.text(`custom ${error.message}`, 503));
    custom.get("/down", () => {
      throw new TypeError("dependency down");
    });
    await serving(app, async (base) => {
      await t.step("an Error: Hono's 500, counted and logged", async () => {
        const response = await call(`${base}/boom`, {
          headers: { "x-request-id": "req-boom" },
        });
        assert.equal(response.status, 500);
        assert.equal(response.headers.get("x-request-id"), "req-boom");
        const [record] = logger.records;
        assert.equal(record?.level, "error");
        assert.equal(record?.message, "Request handler failed");
        assert.equal(record?.fields?.request_id, "req-boom");
        assert.equal(record?.fields?.route, "/boom");
      });
      await t.step(
        "an HTTPException below 500: its status, no error",
        async () => {
          const response = await call(`${base}/denied`);
          assert.equal(response.status, 401);
          assert.equal(response.body, "who are you");
          assert.ok(response.headers.get("x-request-id"));
        },
      );
      await t.step("a non-Error: counted with 500 and re-thrown", async () => {
        assert.equal((await call(`${base}/thrown`)).status, 500);
      });
    });
    await t.step("the application's onError keeps its answer", async () => {
      const response = await custom.request("/down");
      assert.equal(response.status, 503);
      assert.equal(await response.text(), "custom dependency down");
      assert.ok(response.headers.get("x-request-id"));
    });
    const text = await r.metrics();
    assert.match(
      text,
      /^http_request_errors_total\{method="GET",route="\/boom",error="RangeError"\} 1$/m,
    );
    assert.match(
      text,
      /^http_request_errors_total\{method="GET",route="\/thrown",error="string"\} 1$/m,
    );
    assert.match(
      text,
      /^http_request_errors_total\{method="GET",route="\/down",error="TypeError"\} 1$/m,
    );
    assert.ok(!/error_total\{[^}]*route="\/denied"/.test(text));
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/boom",status="500"\} 1$/m,
    );
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/denied",status="401"\} 1$/m,
    );
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/thrown",status="500"\} 1$/m,
    );
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/down",status="503"\} 1$/m,
    );
    assert.match(text, /^http_requests_in_progress 0$/m);
    assert.equal(logger.records.length, 3);
  } finally {
    await r.close();
  }
});

Deno.test("honoMiddleware() sets the request id in the response and the log context", async () => {
  const r = registry();
  const records: LogRecord[] = [];
  const logging = await configureLogging({
    stdout: false,
    sinks: [(record) => records.push(record)],
  });
  try {
    const seen: unknown[] = [];
    const app = new Hono();
    app.use(honoMiddleware({ metrics: r, accessLog: true }));
    app.get("/id", async (c) => {
      await Promise.resolve();
      seen.push(logContextStorage.getStore()?.request_id);
      return c.text("ok");
    });
    // Response.redirect has immutable headers.
    app.get("/moved", () => Response.redirect("http://127.0.0.1/id", 302));
    await serving(app, async (base) => {
      const given = await call(`${base}/id`, {
        headers: { "x-request-id": "abc-123" },
      });
      assert.equal(given.headers.get("x-request-id"), "abc-123");
      const invalid = await call(`${base}/id`, {
        headers: { "x-request-id": "no spaces allowed" },
      });
      const made = invalid.headers.get("x-request-id");
      assert.match(made ?? "", /^[0-9a-f-]{36}$/);
      const moved = await call(`${base}/moved`, { redirect: "manual" });
      assert.equal(moved.status, 302);
      assert.ok(moved.headers.get("x-request-id"));
      assert.deepEqual(seen, ["abc-123", made]);
    });
    const access = records.filter((record) =>
      record.properties.event === "http.request"
    );
    assert.equal(access.length, 3);
    assert.deepEqual(access[0]!.category, ["vigil", "http", "access"]);
    assert.equal(access[0]!.properties.route, "/id");
    assert.equal(access[0]!.properties.path, "/id");
    assert.equal(access[0]!.properties.request_id, "abc-123");
    assert.match(
      await r.metrics(),
      /^http_requests_total\{method="GET",route="\/moved",status="302"\} 1$/m,
    );
  } finally {
    await logging.close();
    await r.close();
  }
});

Deno.test("honoMiddleware() labels a 404 answered by a wildcard handler with its route", async () => {
  const r = registry();
  try {
    const app = new Hono();
    app.use(honoMiddleware({ metrics: r }));
    app.use("*", async (_c, next) => {
      await next();
    });
    app.all("/proxy/*", (c) => c.text("gone", 404));
    assert.equal((await app.request("/proxy/a")).status, 404);
    assert.equal((await app.request("/elsewhere")).status, 404);
    const text = await r.metrics();
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/proxy\/\*",status="404"\} 1$/m,
    );
    assert.ok(
      text.includes(
        `http_requests_total{method="GET",route="${UNMATCHED_ROUTE}",status="404"} 1`,
      ),
    );
  } finally {
    await r.close();
  }
});
