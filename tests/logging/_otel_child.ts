// A child process for logging_test.ts: with OTEL_DENO=true, Deno traces the
// request it serves, and the line logged in the handler carries the span's
// ids. Prints the handler's line and the traceparent Deno's fetch sent.
import { configureLogging, getLogger } from "../../src/logging/mod.ts";

const logging = await configureLogging({ service: { name: "child" } });
const log = getLogger("app");
let traceparent: string | null = null;
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  (request) => {
    traceparent = request.headers.get("traceparent");
    log.info("in handler");
    return new Response("ok");
  },
);
const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
await response.text();
await server.shutdown();
await logging.close();
console.log(JSON.stringify({ traceparent }));
