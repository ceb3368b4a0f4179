import assert from "node:assert/strict";
import { startReceiver } from "./_receiver.ts";

interface OtlpSpan {
  readonly name: string;
  readonly traceId: string;
  readonly attributes?: { key: string; value: { stringValue?: string } }[];
}

Deno.test("with OTEL_DENO=true, Deno's tracing keeps working, events carry the span's trace_id, and Sentry's upload is not traced", async () => {
  const sentry = startReceiver();
  const spans: OtlpSpan[] = [];
  const otlp = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const body = await request.json();
      for (const resource of body.resourceSpans ?? []) {
        for (const scope of resource.scopeSpans ?? []) {
          spans.push(...scope.spans);
        }
      }
      return Response.json({});
    },
  );
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "--allow-read",
        "--allow-env",
        new URL("./_otel_child.ts", import.meta.url).pathname,
        sentry.dsn,
      ],
      env: {
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp.addr.port}`,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.ok(output.success, stderr);
    const { traceId, sent } = JSON.parse(
      new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!,
    );
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
