// A child process for tracing_test.ts, run with OTEL_DENO=true: it serves
// one request through instrument(), whose handler calls a traced function
// and a traced method that throws (caught), and prints the traceresponse
// header it got. Deno exports the spans to the test's receiver at exit.
import { configureLogging, getLogger } from "../../src/logging/mod.ts";
import { Registry } from "../../src/metrics/mod.ts";
import { instrument } from "../../src/http/mod.ts";
import { setSpanAttributes, traced, withSpan } from "../../src/tracing/mod.ts";

class Inventory {
  readonly outOfStock = new RangeError("Cannot check item: out of stock");

  @traced("Inventory.check", { attributes: { "inventory.kind": "shelf" } })
  check(_id: string): number {
    throw this.outOfStock;
  }
}

const logging = await configureLogging({ service: { name: "child" } });
const log = getLogger("app");
const load = traced(
  "load_item",
  async (id: string) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { id };
  },
  { attributes: { "item.source": "memory" } },
);
const price = traced("fetch_price", async (id: string): Promise<number> => {
  await Promise.resolve();
  throw new TypeError(`Cannot price item "${id}": no price list`);
});
const inventory = new Inventory();
// Traced functions give back what they were given: the same promise, the
// same error.
const checks = { samePromise: false, sameError: false, rejected: false };
const settled = Promise.resolve(7);
checks.samePromise = traced("settled", () => settled)() === settled;
const registry = new Registry({ aggregation: { workers: 1 } });

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  instrument(async (_request, { params }) => {
    const item = await load(params.id ?? "");
    setSpanAttributes({ "item.id": item.id });
    try {
      inventory.check(item.id);
    } catch (error) {
      checks.sameError = error === inventory.outOfStock;
    }
    await price(item.id).catch((error: unknown) => {
      checks.rejected = error instanceof TypeError;
    });
    await withSpan("render", { "render.format": "json" }, () => undefined);
    log.info("in handler");
    return Response.json(item);
  }, { metrics: registry, routes: ["/items/:id"] }),
);
const response = await fetch(`http://127.0.0.1:${server.addr.port}/items/42`);
await response.text();
await server.shutdown();
// The request's duration carries its span as exemplar, in OpenMetrics.
const exemplar =
  /^http_request_duration_seconds_bucket\{[^}]*\} \S+ # \{trace_id="([0-9a-f]{32})",span_id="([0-9a-f]{16})"\}/m
    .exec(await registry.metrics({ format: "openmetrics" }));
await registry.close();
await logging.close();
console.log(JSON.stringify({
  traceresponse: response.headers.get("traceresponse"),
  exemplar: exemplar === null
    ? null
    : { traceId: exemplar[1], spanId: exemplar[2] },
  ...checks,
}));
