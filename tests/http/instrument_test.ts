import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { configureLogging } from "../../src/logging/mod.ts";
import {
  httpMetrics,
  instrument,
  UNMATCHED_ROUTE,
} from "../../src/http/mod.ts";
import { recordingLogger } from "../_tools.ts";
import { registry, sample } from "./_shared.ts";

Deno.test("instrument() labels requests by route template, never the raw path", async () => {
  const r = registry();
  try {
    const handler = instrument(
      (request) =>
        new Response(null, {
          status: new URL(request.url).pathname.endsWith("/7") ? 404 : 200,
        }),
      {
        metrics: r,
        routes: ["/users/:id", new URLPattern({ pathname: "/orders/*" })],
      },
    );
    for (
      const path of [
        "/users/1",
        "/users/2",
        "/users/7",
        "/orders/a/b",
        "/x",
        "/y/z",
      ]
    ) {
      const response = await handler(new Request(`http://localhost${path}`));
      await response.body?.cancel();
    }
    await (await handler(
      new Request("http://localhost/users/3", { method: "BREW" }),
    )).body?.cancel();
    const text = await r.metrics();
    assert.equal(
      sample(
        text,
        /^http_requests_total\{method="GET",route="\/users\/:id",status="200"\} (\d+)$/m,
      ),
      2,
    );
    assert.equal(
      sample(
        text,
        /^http_requests_total\{method="GET",route="\/users\/:id",status="404"\} (\d+)$/m,
      ),
      1,
    );
    assert.equal(
      sample(
        text,
        /^http_requests_total\{method="GET",route="\/orders\/\*",status="200"\} (\d+)$/m,
      ),
      1,
    );
    assert.equal(
      sample(
        text,
        new RegExp(
          `^http_requests_total\\{method="GET",route="${UNMATCHED_ROUTE}",status="200"\\} (\\d+)$`,
          "m",
        ),
      ),
      2,
    );
    assert.equal(
      sample(
        text,
        /^http_requests_total\{method="OTHER",route="\/users\/:id",status="200"\} (\d+)$/m,
      ),
      1,
    );
    assert.equal(
      sample(
        text,
        /^http_request_duration_seconds_count\{method="GET",route="\/users\/:id"\} (\d+)$/m,
      ),
      3,
    );
    assert.doesNotMatch(text, /route="\/users\/1"/);
    assert.equal(sample(text, /^http_requests_in_progress (\d+)$/m), 0);
  } finally {
    await r.close();
  }
});

Deno.test("instrument() takes the route from a callback", async () => {
  const r = registry();
  try {
    const handler = instrument(() => new Response("ok"), {
      metrics: r,
      routes: (request) => request.headers.get("x-route") ?? undefined,
    });
    await (await handler(
      new Request("http://localhost/a", { headers: { "x-route": "custom" } }),
    )).text();
    await (await handler(new Request("http://localhost/b"))).text();
    const text = await r.metrics();
    assert.match(text, /route="custom",status="200"\} 1$/m);
    assert.match(text, /route="unmatched",status="200"\} 1$/m);
  } finally {
    await r.close();
  }
});

Deno.test("instrument() honours a valid X-Request-ID, replaces an invalid one, and passes it on", async () => {
  const r = registry();
  try {
    const seen: string[] = [];
    const handler = instrument((_request, context) => {
      seen.push(context.requestId);
      return Response.redirect("http://localhost/elsewhere", 302); // immutable headers
    }, { metrics: r });
    const valid = await handler(
      new Request("http://localhost/", {
        headers: { "x-request-id": "abc-123.x:y" },
      }),
    );
    assert.equal(valid.headers.get("x-request-id"), "abc-123.x:y");
    const invalid = await handler(
      new Request("http://localhost/", {
        headers: { "x-request-id": "bad id\u0001" },
      }),
    );
    const generated = invalid.headers.get("x-request-id") ?? "";
    assert.match(generated, /^[0-9a-f-]{36}$/);
    const none = await handler(new Request("http://localhost/"));
    assert.notEqual(none.headers.get("x-request-id"), generated);
    assert.deepEqual(seen.slice(0, 2), ["abc-123.x:y", generated]);
    assert.equal(valid.status, 302);
  } finally {
    await r.close();
  }
});

Deno.test("A thrown handler error becomes a 500 without a stack, counted and logged", async () => {
  const r = registry();
  const logger = recordingLogger();
  try {
    const handler = instrument(() => {
      throw new RangeError("secret internal detail");
    }, { metrics: r, routes: ["/boom"], logger });
    const response = await handler(
      new Request("http://localhost/boom", {
        headers: { "x-request-id": "req-1" },
      }),
    );
    assert.equal(response.status, 500);
    const body = await response.json();
    assert.deepEqual(body, {
      error: "Internal Server Error",
      requestId: "req-1",
    });
    const text = await r.metrics();
    assert.match(
      text,
      /^http_request_errors_total\{method="GET",route="\/boom",error="RangeError"\} 1$/m,
    );
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/boom",status="500"\} 1$/m,
    );
    assert.equal(logger.records[0]?.fields?.request_id, "req-1");
  } finally {
    await r.close();
  }
});

Deno.test("httpMetrics() shares one set of metrics between handlers", async () => {
  const r = registry();
  try {
    const metrics = httpMetrics(r);
    const a = instrument(() => new Response("a"), { metrics, routes: ["/a"] });
    const b = instrument(() => new Response("b"), { metrics, routes: ["/b"] });
    await (await a(new Request("http://localhost/a"))).text();
    await (await b(new Request("http://localhost/b"))).text();
    const text = await r.metrics();
    assert.match(text, /route="\/a",status="200"\} 1$/m);
    assert.match(text, /route="\/b",status="200"\} 1$/m);
  } finally {
    await r.close();
  }
});

Deno.test("instrument() on a real Deno.serve server on 127.0.0.1", async () => {
  const r = registry();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    instrument((request) => new Response(new URL(request.url).pathname), {
      metrics: r,
      routes: ["/items/:id"],
    }),
  );
  try {
    const response = await fetch(
      `http://127.0.0.1:${server.addr.port}/items/9`,
    );
    assert.equal(await response.text(), "/items/9");
    assert.ok(response.headers.get("x-request-id"));
    assert.match(await r.metrics(), /route="\/items\/:id",status="200"\} 1$/m);
  } finally {
    await server.shutdown();
    await r.close();
  }
});

Deno.test("instrument() logs a thrown handler error through LogTape, with the request id of its context", async () => {
  const r = registry();
  const records: LogRecord[] = [];
  const logging = await configureLogging({
    stdout: false,
    sinks: [(record) => records.push(record)],
  });
  try {
    const handler = instrument(() => {
      throw new TypeError("broken handler");
    }, { metrics: r, routes: ["/boom"] });
    const response = await handler(
      new Request("http://localhost/boom", {
        headers: { "x-request-id": "req-9" },
      }),
    );
    assert.equal(response.status, 500);
    await response.body?.cancel();
  } finally {
    await logging.close();
    await r.close();
  }
  assert.equal(records.length, 1);
  const [record] = records;
  assert.equal(record!.level, "error");
  assert.deepEqual(record!.category, ["vigil", "http"]);
  assert.equal(record!.message.join(""), "Request handler failed");
  assert.equal(record!.properties.request_id, "req-9");
  assert.equal(record!.properties.event, "http.request_failed");
  assert.equal(record!.properties.route, "/boom");
  assert.ok(record!.properties.error instanceof TypeError);
});

Deno.test("instrument() passes the matched route's URL parameters to the handler", async (t) => {
  const r = registry();
  const seen: { route: string; params: Record<string, string> }[] = [];
  const handler = instrument((_request, { route, params }) => {
    seen.push({ route, params: { ...params } });
    return new Response(null, { status: 204 });
  }, {
    metrics: r,
    routes: [
      "/users/:id",
      "/files/:dir/:name?",
      new URLPattern({ pathname: "/orders/*" }),
      "/static",
    ],
  });
  const call = async (path: string) => {
    seen.length = 0;
    await (await handler(new Request(`http://localhost${path}`))).body
      ?.cancel();
    return seen[0];
  };
  try {
    await t.step("named groups", async () => {
      assert.deepEqual(await call("/users/42"), {
        route: "/users/:id",
        params: { id: "42" },
      });
      assert.deepEqual(await call("/files/etc/hosts?x=1"), {
        route: "/files/:dir/:name?",
        params: { dir: "etc", name: "hosts" },
      });
    });
    await t.step("as written in the URL, percent-encoded", async () => {
      assert.deepEqual((await call("/users/J%C3%B6rg"))?.params, {
        id: "J%C3%B6rg",
      });
    });
    await t.step(
      "an optional group that matched nothing is left out",
      async () => {
        assert.deepEqual((await call("/files/etc"))?.params, { dir: "etc" });
      },
    );
    await t.step("numbered groups of a wildcard", async () => {
      assert.deepEqual((await call("/orders/a/b"))?.params, { "0": "a/b" });
    });
    await t.step("empty without groups, without a match", async () => {
      assert.deepEqual((await call("/static"))?.params, {});
      assert.deepEqual(await call("/nowhere"), {
        route: UNMATCHED_ROUTE,
        params: {},
      });
    });
  } finally {
    await r.close();
  }
});

Deno.test("instrument() gives empty params when routes is a function", async () => {
  const r = registry();
  try {
    let params: Readonly<Record<string, string>> | undefined;
    const handler = instrument((_request, context) => {
      params = context.params;
      return new Response("ok");
    }, { metrics: r, routes: () => "/users/:id" });
    await (await handler(new Request("http://localhost/users/1"))).text();
    assert.deepEqual(params, {});
  } finally {
    await r.close();
  }
});

Deno.test("instrument() passes URL parameters on a real Deno.serve server", async () => {
  const r = registry();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    instrument(
      (_request, { params }) => Response.json(params),
      { metrics: r, routes: ["/teams/:team/members/:member"] },
    ),
  );
  try {
    const response = await fetch(
      `http://127.0.0.1:${server.addr.port}/teams/core/members/7`,
    );
    assert.deepEqual(await response.json(), { team: "core", member: "7" });
  } finally {
    await server.shutdown();
    await r.close();
  }
});
