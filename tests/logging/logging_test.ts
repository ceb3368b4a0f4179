// configureLogging() end to end: real LogTape, real daily files read back,
// the context of concurrent requests through instrument(), Vigil's own
// event lines, redaction before any sink, and the loss counters.
import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import {
  configureLogging,
  createLogger,
  getLogger,
  LOG_FIELDS,
  type LoggingHandle,
  registerLoggingMetrics,
  setLogContext,
  withLogContext,
} from "../../src/logging/mod.ts";
import { instrument } from "../../src/http/instrument.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { Health } from "../../src/health/health.ts";

const SERVICE = { name: "api", environment: "test", version: "1.2.3" };

/** Logging to daily files in a fresh directory, and what they hold. */
async function filesLogging(
  options: Parameters<typeof configureLogging>[0] = {},
): Promise<{
  logging: LoggingHandle;
  directory: string;
  lines: () => Promise<Record<string, unknown>[]>;
}> {
  const directory = await Deno.makeTempDir({ prefix: "vigil-logs-" });
  const logging = await configureLogging({
    service: SERVICE,
    stdout: false,
    file: { directory },
    ...options,
  });
  const lines = async () => {
    await logging.flush();
    const out: Record<string, unknown>[] = [];
    for await (const entry of Deno.readDir(directory)) {
      if (!entry.name.startsWith("app_")) continue;
      const text = await Deno.readTextFile(`${directory}/${entry.name}`);
      for (const line of text.split("\n")) {
        if (line !== "") out.push(JSON.parse(line));
      }
    }
    return out;
  };
  return { logging, directory, lines };
}

Deno.test("a line is one JSON object with the service, the context and the call's fields, in order", async () => {
  const { logging, directory, lines } = await filesLogging();
  try {
    await withLogContext({ request_id: "r-1" }, async () => {
      setLogContext({ user_id: "u-7" });
      await new Promise((resolve) => setTimeout(resolve, 1));
      getLogger("app.orders").info("Order {id} placed", { order_id: "o-9" });
    });
    const [line] = await lines();
    assert.ok(line !== undefined);
    // The fixed fields, then the context's (no trace ids here).
    assert.deepEqual(Object.keys(line).slice(0, 9), LOG_FIELDS.slice(0, 9));
    assert.match(
      line.timestamp as string,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    );
    assert.equal(line.level, "info");
    assert.equal(line.logger, "app.orders");
    // Verbatim: braces are text, not placeholders.
    assert.equal(line.message, "Order {id} placed");
    assert.equal(line.service, "api");
    assert.equal(line.environment, "test");
    assert.equal(line.version, "1.2.3");
    assert.equal(line.request_id, "r-1");
    assert.equal(line.user_id, "u-7");
    assert.equal(line.order_id, "o-9");
  } finally {
    await logging.close();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("lines of concurrent requests carry their own request id, across awaits and timers", async () => {
  const { logging, directory, lines } = await filesLogging();
  const registry = new Registry();
  try {
    const log = getLogger("app");
    const handler = instrument(async (request) => {
      const who = new URL(request.url).searchParams.get("user")!;
      log.info("start", { who });
      setLogContext({ user_id: who });
      // Interleave: each request waits a different time between its lines.
      await new Promise((resolve) => setTimeout(resolve, who === "a" ? 15 : 1));
      await new Promise<void>((resolve) =>
        queueMicrotask(() => {
          log.info("middle", { who });
          resolve();
        })
      );
      log.info("end", { who });
      return new Response("ok");
    }, { metrics: registry, routes: ["/work"] });
    const responses = await Promise.all(
      ["a", "b", "c"].map((user, i) =>
        handler(
          new Request(`http://localhost/work?user=${user}`, {
            headers: { "x-request-id": `req-${i}` },
          }),
        )
      ),
    );
    for (const response of responses) await response.body?.cancel();
    const written = (await lines()).filter((line) => line.logger === "app");
    assert.equal(written.length, 9);
    for (const line of written) {
      const index = ["a", "b", "c"].indexOf(line.who as string);
      assert.equal(line.request_id, `req-${index}`, JSON.stringify(line));
      // Set after the first line: the later ones carry it.
      if (line.message !== "start") assert.equal(line.user_id, line.who);
      else assert.equal(line.user_id, undefined);
    }
  } finally {
    await registry.close();
    await logging.close();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("Vigil's own lines name their event: a health status change, a handler error, the access log", async () => {
  const { logging, directory, lines } = await filesLogging({ level: "debug" });
  const registry = new Registry();
  const health = new Health();
  try {
    let up = true;
    health.register("database", () => ({ status: up ? "pass" : "fail" }), {
      critical: true,
      intervalMs: 60_000,
    });
    await health.runAll();
    up = false;
    await health.runAll();
    const handler = instrument((request) => {
      if (request.url.endsWith("/boom")) throw new TypeError("broken");
      return new Response("fine", { headers: { "content-length": "4" } });
    }, {
      metrics: registry,
      routes: ["/boom", "/fine"],
      accessLog: true,
    });
    for (const path of ["/boom", "/fine?token=abc"]) {
      const response = await handler(new Request(`http://localhost${path}`));
      await response.body?.cancel();
    }
    const written = await lines();
    const changed = written.find((l) => l.event === "health.status_changed");
    assert.ok(changed !== undefined, JSON.stringify(written));
    assert.equal(changed.component, "database");
    assert.equal(changed.from, "healthy");
    assert.equal(changed.to, "unhealthy");
    assert.equal(changed.logger, "vigil.health");
    assert.equal(changed.level, "error");
    const failed = written.find((l) => l.event === "http.request_failed");
    assert.ok(failed !== undefined);
    assert.equal(failed.route, "/boom");
    assert.equal(typeof failed.request_id, "string");
    const access = written.filter((l) => l.event === "http.request");
    assert.deepEqual(
      access.map(({ method, route, path, status, bytes }) => ({
        method,
        route,
        path,
        status,
        bytes,
      })),
      [
        {
          method: "GET",
          route: "/boom",
          path: "/boom",
          status: 500,
          bytes: undefined,
        },
        { method: "GET", route: "/fine", path: "/fine", status: 200, bytes: 4 },
      ],
    );
    assert.equal(access[1]!.logger, "vigil.http.access");
    assert.ok((access[1]!.duration_ms as number) >= 0);
  } finally {
    await health.stop();
    await registry.close();
    await logging.close();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("secrets are redacted before any sink sees them, in fields at any depth and in URLs of the message", async () => {
  const received: LogRecord[] = [];
  const { logging, directory, lines } = await filesLogging({
    sinks: [(record) => received.push(record)],
  });
  try {
    getLogger("app").warning(
      "Connecting to postgres://admin:hunter2@db:5432/app?sslmode=require",
      {
        Authorization: "Bearer s3cr3t-token",
        nested: { deeper: [{ password: "p4ss" }, { api_key: "k3y" }] },
        url: "https://api.example/v1?token=t0k3n&page=2",
      },
    );
    const [line] = await lines();
    const text = JSON.stringify(line);
    for (const secret of ["hunter2", "s3cr3t-token", "p4ss", "k3y", "t0k3n"]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.match(text, /\[REDACTED\]/);
    assert.match(line!.url as string, /page=2/);
    // The extra sink got the record with its fields redacted too.
    const record = received.find((r) => r.category.join(".") === "app");
    assert.ok(record !== undefined);
    assert.ok(!JSON.stringify(record.properties).includes("s3cr3t-token"));
  } finally {
    await logging.close();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("without configureLogging(), Vigil writes nothing; per-category levels filter", async () => {
  // Library-first: an unconfigured LogTape drops Vigil's lines.
  createLogger("quiet").error("nobody hears this", { event: "test.quiet" });
  const { logging, directory, lines } = await filesLogging({
    level: "info",
    levels: { "vigil.chatty": "error", "app.debugging": "debug" },
  });
  try {
    createLogger("chatty").warn("filtered: below its category's level");
    createLogger("chatty").error("kept");
    getLogger("app.debugging").debug("kept: its category allows debug");
    getLogger("app").debug("filtered: below the root level");
    const written = (await lines()).map((l) => `${l.logger} ${l.message}`);
    assert.deepEqual(written, [
      "vigil.chatty kept",
      "app.debugging kept: its category allows debug",
    ]);
  } finally {
    await logging.close();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("the loss counters are metrics, and a bad option names itself", async () => {
  await assert.rejects(
    () => configureLogging({ level: "loud" as "info" }),
    (error) =>
      error instanceof RangeError && /level must be one of/.test(error.message),
  );
  await assert.rejects(
    () => configureLogging({ queueSize: 0 }),
    (error) => error instanceof RangeError && /queueSize/.test(error.message),
  );
  const { logging, directory } = await filesLogging();
  const registry = new Registry();
  try {
    registerLoggingMetrics(registry, logging);
    const text = await registry.metrics();
    assert.match(text, /^vigil_log_lines_dropped_total\{sink="file"\} 0$/m);
    assert.match(text, /^vigil_log_sink_errors_total\{sink="error_file"\} 0$/m);
  } finally {
    await registry.close();
    await logging.close();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("with OTEL_DENO=true, a line logged in a traced handler carries the span's trace and span ids", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-env",
      new URL("./_otel_child.ts", import.meta.url).pathname,
    ],
    env: {
      OTEL_DENO: "true",
      // Nothing listens there: the export fails quietly, on loopback.
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const lines = text.trim().split("\n").map((line) => JSON.parse(line));
  const logged = lines.find((line) => line.message === "in handler");
  assert.ok(logged !== undefined, text);
  assert.match(logged.trace_id, /^[0-9a-f]{32}$/);
  assert.match(logged.span_id, /^[0-9a-f]{16}$/);
  // The handler's span is a child of the client's: the same trace.
  const { traceparent } = lines.at(-1)!;
  assert.equal(traceparent.split("-")[1], logged.trace_id);
});

Deno.test("secrets inside maps, toJSON() results and quoted or cloud-signed URLs are masked, in files and in the caller's sinks", async () => {
  const received: LogRecord[] = [];
  const { logging, directory, lines } = await filesLogging({
    sinks: [(record) => received.push(record)],
  });
  try {
    getLogger("app").info("Fetching", {
      headers: new Map([["authorization", "Bearer m4p-secret"]]),
      user: { toJSON: () => ({ name: "ann", password: "tojs0n" }) },
      dsn: "postgres://app:it's-s3cret@db:5432/x",
      presigned:
        "https://bucket.s3/o?X-Amz-Credential=AKIA1&X-Amz-Security-Token=t0k&X-Amz-Signature=s1g&client_secret=cs3",
    });
    const text = JSON.stringify(await lines());
    for (
      const secret of [
        "m4p-secret",
        "tojs0n",
        "s3cret",
        "AKIA1",
        "t0k",
        "s1g",
        "cs3",
      ]
    ) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.match(text, /"name":"ann"/);
    const extra = JSON.stringify(
      received.find((r) => r.category.join(".") === "app")?.properties,
    );
    for (const secret of ["s3cret", "t0k", "s1g", "cs3"]) {
      assert.ok(!extra.includes(secret), `${secret} reached the caller's sink`);
    }
  } finally {
    await logging.close();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("a configuration the application sets with LogTape's configure() takes over from configureLogging()'s, and after close() too", async () => {
  const { configure, reset } = await import("@logtape/logtape");
  const mine: LogRecord[] = [];
  const log = createLogger("takeover");
  const logging = await configureLogging({
    stdout: false,
    sinks: [(record) => mine.push(record)],
  });
  log.debug("below info: not written");
  log.info("to Vigil's sinks");
  const theirs: LogRecord[] = [];
  try {
    // The application takes LogTape over, more verbose, without close().
    await configure({
      reset: true,
      sinks: { app: (record) => theirs.push(record) },
      loggers: [{ category: [], sinks: ["app"], lowestLevel: "debug" }],
    });
    log.debug("to the application's sink");
    await logging.close();
    log.info("still to the application's sink after close()");
  } finally {
    await logging.close();
    await reset();
  }
  assert.deepEqual(mine.map((r) => r.message.join("")), ["to Vigil's sinks"]);
  const ours = theirs.filter((r) => r.category.join(".") === "vigil.takeover");
  assert.deepEqual(ours.map((r) => r.message.join("")), [
    "to the application's sink",
    "still to the application's sink after close()",
  ]);
});

Deno.test("configureLogging() with a bad option keeps the setup in force; a second one replaces it without losing a line", async () => {
  const first: LogRecord[] = [];
  const second: LogRecord[] = [];
  const log = createLogger("replace");
  const one = await configureLogging({
    stdout: false,
    sinks: [(r) => first.push(r)],
  });
  try {
    await assert.rejects(
      () => configureLogging({ levels: { x: "verbose" as "info" } }),
      (error) =>
        error instanceof RangeError && /levels\["x"\]/.test(error.message),
    );
    log.info("still the first setup");
    const two = await configureLogging({
      stdout: false,
      sinks: [(r) => second.push(r)],
    });
    log.info("the second setup");
    await two.close();
  } finally {
    await one.close();
  }
  assert.deepEqual(first.map((r) => r.message.join("")), [
    "still the first setup",
  ]);
  assert.deepEqual(second.map((r) => r.message.join("")), ["the second setup"]);
});
