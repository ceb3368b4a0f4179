import assert from "node:assert/strict";
import {
  Application,
  type Context,
  createHttpError,
  Router,
} from "@oakserver/oak";
import type { LogRecord } from "@logtape/logtape";
import { configureLogging, logContextStorage } from "../../src/logging/mod.ts";
import type { Registry } from "../../src/metrics/mod.ts";
import { UNMATCHED_ROUTE } from "../../src/http/mod.ts";
import { oakMiddleware } from "../../src/http/oak.ts";
import { recordingLogger } from "../_tools.ts";
import { registry, sample } from "./_shared.ts";

/** Serves `app` on 127.0.0.1 through `app.handle` for `fn`. */
async function serving(
  app: Application,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request, info): Promise<Response> => {
      // npm's Oak is built for Node.js: its responses are undici's, which
      // Deno.serve does not take as they are.
      const response = await app.handle(request as never, info.remoteAddr);
      if (response === undefined) return new Response(null, { status: 500 });
      return new Response(response.body as ReadableStream | null, {
        status: response.status,
        headers: [...response.headers],
      });
    },
  );
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

function application(r: Registry, logger = recordingLogger()): Application {
  const app = new Application({ logErrors: false });
  app.use(oakMiddleware({ metrics: r, logger }));
  return app;
}

Deno.test("oakMiddleware() labels requests by Oak's route template, never the raw path", async () => {
  const r = registry();
  try {
    const seen: unknown[] = [];
    const users = new Router();
    users.use(async (_ctx, next) => {
      await next();
    });
    users.get("/users/:id", async (ctx) => {
      await Promise.resolve();
      seen.push(logContextStorage.getStore()?.request_id);
      ctx.response.body = `user ${ctx.params.id}`;
    });
    const items = new Router();
    items.post("/items/:itemId", (ctx) => {
      ctx.response.status = 201;
      ctx.response.body = { id: ctx.params.itemId };
    });
    const api = new Router();
    api.use("/api", items.routes());
    const app = application(r);
    app.use(users.routes(), users.allowedMethods());
    app.use(api.routes());
    await serving(app, async (base) => {
      const first = await call(`${base}/users/1`, {
        headers: { "x-request-id": "oak-1" },
      });
      assert.equal(first.body, "user 1");
      assert.equal(first.headers.get("x-request-id"), "oak-1");
      const second = await call(`${base}/users/2`);
      assert.match(second.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
      assert.deepEqual(seen, ["oak-1", second.headers.get("x-request-id")]);
      assert.equal(
        (await call(`${base}/api/items/9`, { method: "POST" })).status,
        201,
      );
      const missing = await call(`${base}/nowhere/3`);
      assert.equal(missing.status, 404);
      assert.ok(missing.headers.get("x-request-id"));
      assert.equal(
        (await call(`${base}/users/1`, { method: "DELETE" })).status,
        405,
      );
    });
    const text = await r.metrics();
    assert.equal(
      sample(
        text,
        /^http_requests_total\{method="GET",route="\/users\/:id",status="200"\} (\d+)$/m,
      ),
      2,
    );
    assert.match(
      text,
      /^http_requests_total\{method="POST",route="\/api\/items\/:itemId",status="201"\} 1$/m,
    );
    assert.match(
      text,
      new RegExp(
        `^http_requests_total\\{method="GET",route="${UNMATCHED_ROUTE}",status="404"\\} 1$`,
        "m",
      ),
    );
    assert.match(
      text,
      new RegExp(
        `^http_requests_total\\{method="DELETE",route="${UNMATCHED_ROUTE}",status="405"\\} 1$`,
        "m",
      ),
    );
    assert.ok(!text.includes("/users/1"), "no raw path in a label");
    assert.match(
      text,
      /^http_request_duration_seconds_count\{method="GET",route="\/users\/:id"\} 2$/m,
    );
    assert.match(text, /^http_requests_in_progress 0$/m);
  } finally {
    await r.close();
  }
});

Deno.test("oakMiddleware() counts handler errors and re-throws them to Oak", async () => {
  const r = registry();
  const logger = recordingLogger();
  try {
    const router = new Router();
    router.get("/boom", () => {
      throw new RangeError("boom");
    });
    router.get("/denied", (ctx: Context) => {
      ctx.throw(401, "who are you");
    });
    const app = application(r, logger);
    const events: unknown[] = [];
    app.addEventListener("error", (event) => {
      events.push(event.error);
    });
    app.use(router.routes());
    await serving(app, async (base) => {
      const boom = await call(`${base}/boom`, {
        headers: { "x-request-id": "req-boom" },
      });
      assert.equal(boom.status, 500);
      assert.equal((await call(`${base}/denied`)).status, 401);
    });
    // Oak's error handling saw both: the middleware re-threw them.
    assert.equal(events.length, 2);
    assert.ok(events[0] instanceof RangeError);
    const text = await r.metrics();
    assert.match(
      text,
      /^http_request_errors_total\{method="GET",route="\/boom",error="RangeError"\} 1$/m,
    );
    assert.ok(!/errors_total\{[^}]*route="\/denied"/.test(text));
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/boom",status="500"\} 1$/m,
    );
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/denied",status="401"\} 1$/m,
    );
    assert.match(text, /^http_requests_in_progress 0$/m);
    assert.equal(logger.records.length, 1);
    assert.equal(logger.records[0]?.message, "Request handler failed");
    assert.equal(logger.records[0]?.fields?.request_id, "req-boom");
  } finally {
    await r.close();
  }
});

Deno.test("oakMiddleware() labels a request by the route that ran, not a later or catch-all match", async () => {
  const r = registry();
  try {
    const router = new Router();
    router.get("/users/me", (ctx) => {
      ctx.response.body = "me";
    });
    router.get("/users/:id", (ctx) => {
      ctx.response.body = `user ${ctx.params.id}`;
    });
    router.get("/api/items/:id", (ctx) => {
      ctx.response.body = "item";
    });
    router.all("/api/(.*)", (ctx) => {
      ctx.response.status = 404;
      ctx.response.body = "no such api";
    });
    router.get("/(.*)", (ctx) => {
      ctx.response.body = "index.html";
    });
    const app = application(r);
    app.use(router.routes());
    for (const path of ["/users/me", "/users/7", "/api/items/1", "/api/x"]) {
      const response = await app.handle(
        new Request(`http://localhost${path}`) as never,
      );
      await response?.body?.cancel();
    }
    const response = await app.handle(
      new Request("http://localhost/about") as never,
    );
    assert.equal(await response?.text(), "index.html");
    const text = await r.metrics();
    for (
      const [route, status] of [
        ["/users/me", 200],
        ["/users/:id", 200],
        ["/api/items/:id", 200],
        ["/api/(.*)", 404],
        ["/(.*)", 200],
      ] as const
    ) {
      assert.equal(
        sample(
          text,
          new RegExp(
            `^http_requests_total\\{method="GET",route="${
              route.replace(/[()*.]/g, "\\$&")
            }",status="${status}"\\} (\\d+)$`,
            "m",
          ),
        ),
        1,
        route,
      );
    }
  } finally {
    await r.close();
  }
});

Deno.test("oakMiddleware() reads a response given with ctx.response.with()", async () => {
  const r = registry();
  try {
    const router = new Router();
    router.get("/with", (ctx) => {
      ctx.response.with("created", { status: 201 });
    });
    const app = application(r);
    app.use(router.routes());
    const response = await app.handle(
      new Request("http://localhost/with", {
        headers: { "x-request-id": "with-1" },
      }) as never,
    );
    assert.equal(response?.status, 201);
    assert.equal(response?.headers.get("x-request-id"), "with-1");
    assert.equal(await response?.text(), "created");
    assert.match(
      await r.metrics(),
      /^http_requests_total\{method="GET",route="\/with",status="201"\} 1$/m,
    );
  } finally {
    await r.close();
  }
});

Deno.test("oakMiddleware() records the status Oak answers a thrown value with", async () => {
  const r = registry();
  const logger = recordingLogger();
  try {
    const router = new Router();
    router.get("/object", () => {
      throw { status: 418 };
    });
    router.get("/missing", (ctx: Context) => {
      ctx.throw(404, "gone");
    });
    router.get("/deno-missing", () => {
      // Oak's npm build knows only its Deno shim's NotFound: this is a 500.
      throw new Deno.errors.NotFound("gone");
    });
    const app = application(r, logger);
    app.use(router.routes());
    const object = await app.handle(
      new Request("http://localhost/object") as never,
    );
    assert.equal(object?.status, 500);
    await object?.body?.cancel();
    const missing = await app.handle(
      new Request("http://localhost/missing") as never,
    );
    assert.equal(missing?.status, 404);
    await missing?.body?.cancel();
    const denoMissing = await app.handle(
      new Request("http://localhost/deno-missing") as never,
    );
    assert.equal(denoMissing?.status, 500);
    await denoMissing?.body?.cancel();
    const text = await r.metrics();
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/object",status="500"\} 1$/m,
    );
    assert.match(
      text,
      /^http_request_errors_total\{method="GET",route="\/object",error="object"\} 1$/m,
    );
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/missing",status="404"\} 1$/m,
    );
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/deno-missing",status="500"\} 1$/m,
    );
  } finally {
    await r.close();
  }
});

Deno.test("oakMiddleware() puts the request id on Oak's error answers", async () => {
  const r = registry();
  try {
    const router = new Router();
    router.get("/boom", () => {
      throw new RangeError("boom");
    });
    router.get("/denied", (ctx: Context) => {
      ctx.throw(401, "who are you");
    });
    router.get("/challenge", () => {
      throw createHttpError(401, "who are you", {
        headers: { "www-authenticate": "Bearer" },
      });
    });
    const app = application(r);
    app.use(router.routes());
    await serving(app, async (base) => {
      const boom = await call(`${base}/boom`, {
        headers: { "x-request-id": "req-boom" },
      });
      assert.equal(boom.status, 500);
      assert.equal(boom.headers.get("x-request-id"), "req-boom");
      const denied = await call(`${base}/denied`, {
        headers: { "x-request-id": "req-denied" },
      });
      assert.equal(denied.status, 401);
      assert.equal(denied.headers.get("x-request-id"), "req-denied");
      const challenge = await call(`${base}/challenge`, {
        headers: { "x-request-id": "req-challenge" },
      });
      assert.equal(challenge.status, 401);
      assert.equal(challenge.headers.get("www-authenticate"), "Bearer");
      assert.equal(challenge.headers.get("x-request-id"), "req-challenge");
    });
  } finally {
    await r.close();
  }
});

Deno.test("oakMiddleware() logs the body's length when it is known", async () => {
  const r = registry();
  const records: LogRecord[] = [];
  const logging = await configureLogging({
    stdout: false,
    sinks: [(record) => records.push(record)],
  });
  try {
    const router = new Router();
    router.get("/text", (ctx) => {
      ctx.response.body = "héllo";
    });
    const app = new Application({ logErrors: false });
    app.use(oakMiddleware({ metrics: r, accessLog: true }));
    app.use(router.routes());
    const response = await app.handle(
      new Request("http://localhost/text") as never,
    );
    assert.equal(await response?.text(), "héllo");
    const access = records.filter((record) =>
      record.properties.event === "http.request"
    );
    assert.equal(access.length, 1);
    assert.equal(access[0]!.properties.bytes, 6);
  } finally {
    await logging.close();
    await r.close();
  }
});
