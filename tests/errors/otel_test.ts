import assert from "node:assert/strict";
import { startReceiver } from "./_receiver.ts";
import { otlpReceiver, runTracedChild } from "../_otlp.ts";

Deno.test("with OTEL_DENO=true, Deno's tracing keeps working, events carry the span's trace_id, and Sentry's upload is not traced", async () => {
  const sentry = startReceiver();
  const { spans, server: otlp } = otlpReceiver();
  try {
    const lines = await runTracedChild(
      new URL("./_otel_child.ts", import.meta.url),
      otlp.addr.port,
      { args: [sentry.dsn] },
    );
    const { traceId, sent } = JSON.parse(lines.at(-1)!);
    assert.equal(sent, true);
    assert.match(traceId, /^[0-9a-f]{32}$/);
    // Deno's own provider exported the span: Sentry did not replace it.
    const work = spans.find((span) => span.name === "work");
    assert.ok(work !== undefined, JSON.stringify(spans));
    assert.equal(work.traceId, traceId);
    const event = sentry.items("event")[0]?.payload as
      | { tags: Record<string, string> }
      | undefined;
    assert.equal(event?.tags.trace_id, traceId);
    // No span for the upload to Sentry (Deno traces every fetch).
    const sentryPort = new URL(sentry.dsn).port;
    const uploads = spans.filter((span) =>
      span.name !== "work" ||
      JSON.stringify(span.attributes ?? []).includes(`:${sentryPort}`)
    );
    assert.deepEqual(uploads, []);
  } finally {
    await otlp.shutdown();
    await sentry.close();
  }
});
