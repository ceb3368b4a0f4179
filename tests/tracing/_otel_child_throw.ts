// A child process for tracing_test.ts, run with OTEL_DENO=true: a handler
// behind instrument() throws; prints the status the client got.
import { Registry } from "../../src/metrics/mod.ts";
import { instrument } from "../../src/http/mod.ts";
import { recordingLogger } from "../_tools.ts";

const registry = new Registry({ aggregation: { workers: 1 } });
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  instrument(() => {
    throw new Error("Cannot place order: warehouse offline");
  }, { metrics: registry, routes: ["/orders"], logger: recordingLogger() }),
);
const response = await fetch(`http://127.0.0.1:${server.addr.port}/orders`, {
  method: "POST",
});
await response.text();
await server.shutdown();
await registry.close();
console.log(JSON.stringify({ status: response.status }));
