import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/mod.ts";
import { instrument } from "../../src/http/mod.ts";
import {
  currentTraceIds,
  setSpanAttributes,
  traced,
  withSpan,
} from "../../src/tracing/mod.ts";
import { otlpReceiver, type OtlpSpan, runTracedChild } from "../_otlp.ts";

function attribute(
  attributes: OtlpSpan["attributes"],
  key: string,
): unknown {
  const found = attributes.find((attribute) => attribute.key === key);
  return found === undefined ? undefined : Object.values(found.value)[0];
}

Deno.test("without OTEL_DENO, traced() returns the function itself and the helpers change nothing", async (t) => {
  await t.step("traced() and the decorator keep the function", () => {
    const add = (a: number, b: number) => a + b;
    assert.equal(traced("add", add), add);
    const method = function (this: { x: number }) {
      return this.x;
    };
    class Box {
      x = 3;
      @traced("Box.get")
      get(): number {
        return this.x;
      }
    }
    assert.equal(new Box().get(), 3);
    assert.equal(traced("m", method).call({ x: 4 }), 4);
  });
  await t.step("errors and promises pass through unchanged", () => {
    const error = new RangeError("Cannot divide: by zero");
    assert.throws(
      () =>
        traced("fail", () => {
          throw error;
        })(),
      (thrown) => thrown === error,
    );
    const promise = Promise.resolve(1);
    assert.equal(traced("p", () => promise)(), promise);
  });
  await t.step(
    "withSpan runs the block with a span that records nothing",
    () => {
      const value = withSpan("block", { a: 1 }, (span) => {
        assert.equal(span.isRecording(), false);
        span.setAttribute("b", 2);
        return 5;
      });
      assert.equal(value, 5);
    },
  );
  await t.step(
    "no active span: no attributes, no ids, no traceresponse",
    async () => {
      assert.equal(setSpanAttributes({ "user.id": "u" }), false);
      assert.equal(currentTraceIds(), undefined);
      const registry = new Registry({ aggregation: { workers: 1 } });
      try {
        const handler = instrument(() => new Response("ok"), {
          metrics: registry,
          routes: ["/items/:id"],
        });
        const response = await handler(new Request("http://x/items/1"));
        assert.equal(response.headers.get("traceresponse"), null);
        assert.equal(await response.text(), "ok");
      } finally {
        await registry.close();
      }
    },
  );
});

Deno.test("with OTEL_DENO=true, instrument() names Deno's server span by route and traced spans are its children, exported over OTLP", async () => {
  const { spans, server } = otlpReceiver();
  try {
    const text = (await runTracedChild(
      new URL("./_otel_child.ts", import.meta.url),
      server.addr.port,
      { env: { OTEL_SERVICE_NAME: "tracing-test" } },
    )).join("\n");
    const lines = text.trim().split("\n").map((line) => JSON.parse(line));
    const result = lines.at(-1)!;
    assert.deepEqual(
      {
        samePromise: result.samePromise,
        sameError: result.sameError,
        rejected: result.rejected,
      },
      { samePromise: true, sameError: true, rejected: true },
    );
    // Deno exports at exit, before the child's output is complete.
    const byName = (name: string) => {
      const found = spans.filter((span) => span.name === name);
      assert.equal(found.length, 1, `${name} in ${spans.map((s) => s.name)}`);
      return found[0]!;
    };

    const serverSpan = byName("GET /items/:id");
    assert.equal(serverSpan.kind, 2); // SERVER
    assert.equal(attribute(serverSpan.attributes, "http.route"), "/items/:id");
    assert.equal(attribute(serverSpan.attributes, "item.id"), "42");

    const load = byName("load_item");
    assert.equal(load.parentSpanId, serverSpan.spanId);
    assert.equal(load.traceId, serverSpan.traceId);
    assert.equal(attribute(load.attributes, "item.source"), "memory");
    assert.equal(load.status.code, 0);

    const check = byName("Inventory.check");
    assert.equal(check.parentSpanId, serverSpan.spanId);
    assert.equal(attribute(check.attributes, "inventory.kind"), "shelf");
    assert.deepEqual(check.status, {
      code: 2,
      message: "Cannot check item: out of stock",
    });
    const exception = check.events.find((event) => event.name === "exception");
    assert.ok(exception !== undefined);
    assert.equal(
      attribute(exception.attributes, "exception.type"),
      "RangeError",
    );

    const price = byName("fetch_price");
    assert.equal(price.parentSpanId, serverSpan.spanId);
    assert.equal(price.status.code, 2);
    assert.equal(
      attribute(price.events[0]!.attributes, "exception.type"),
      "TypeError",
    );

    const render = byName("render");
    assert.equal(render.parentSpanId, serverSpan.spanId);
    assert.equal(attribute(render.attributes, "render.format"), "json");

    // traceresponse: 00-<trace-id>-<span-id>-<flags>, the server span's.
    assert.equal(
      result.traceresponse,
      `00-${serverSpan.traceId}-${serverSpan.spanId}-01`,
    );
    const logged = lines.find((line) => line.message === "in handler");
    assert.ok(logged !== undefined, text);
    assert.equal(logged.trace_id, serverSpan.traceId);
    assert.equal(logged.span_id, serverSpan.spanId);
    // The request duration's exemplar names the exported server span.
    assert.deepEqual(result.exemplar, {
      traceId: serverSpan.traceId,
      spanId: serverSpan.spanId,
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("with OTEL_DENO=true, a handler's thrown error is recorded on the server span", async () => {
  const { spans, server } = otlpReceiver();
  try {
    const lines = await runTracedChild(
      new URL("./_otel_child_throw.ts", import.meta.url),
      server.addr.port,
    );
    const { status } = JSON.parse(lines.at(-1)!);
    assert.equal(status, 500);
    const serverSpan = spans.find((span) => span.name === "POST /orders");
    assert.ok(serverSpan !== undefined, spans.map((s) => s.name).join());
    assert.equal(serverSpan.status.code, 2);
    const exception = serverSpan.events.find((e) => e.name === "exception");
    assert.ok(exception !== undefined);
    assert.equal(
      attribute(exception.attributes, "exception.message"),
      "Cannot place order: warehouse offline",
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("traced() wraps when a provider is registered through the API (an OpenTelemetry SDK), not only Deno's", async () => {
  const { trace } = await import("@opentelemetry/api");
  const { traced: wrapped } = await import("../../src/tracing/mod.ts");
  const started: string[] = [];
  const span = {
    spanContext: () => ({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: 1,
    }),
    setAttribute() {
      return span;
    },
    setAttributes() {
      return span;
    },
    addEvent() {
      return span;
    },
    addLink() {
      return span;
    },
    addLinks() {
      return span;
    },
    setStatus() {
      return span;
    },
    updateName() {
      return span;
    },
    end() {},
    isRecording: () => true,
    recordException() {},
  };
  const tracer = {
    startSpan: (name: string) => (started.push(name), span),
    startActiveSpan: (name: string, ...args: unknown[]) => {
      started.push(name);
      return (args.at(-1) as (s: unknown) => unknown)(span);
    },
  };
  // deno-lint-ignore no-explicit-any
  trace.setGlobalTracerProvider({ getTracer: () => tracer as any });
  try {
    const add = (a: number, b: number) => a + b;
    const tracedAdd = wrapped("add", add);
    assert.notEqual(tracedAdd, add, "wrapped, since a provider is there");
    assert.equal(tracedAdd(2, 3), 5);
    assert.deepEqual(started, ["add"]);
  } finally {
    trace.disable();
  }
});
