// A child process for otel_test.ts: with OTEL_DENO=true, an error captured
// inside a span carries the span's trace id, and Sentry's upload is no span.
import { trace } from "@opentelemetry/api";
import {
  captureException,
  closeErrorTracking,
  initErrorTracking,
} from "../../src/errors/mod.ts";

initErrorTracking({ dsn: Deno.args[0]! });
const traceId = trace.getTracer("child").startActiveSpan("work", (span) => {
  captureException(new Error("inside a span"));
  span.end();
  return span.spanContext().traceId;
});
const sent = await closeErrorTracking(5000);
console.log(JSON.stringify({ traceId, sent }));
