// An OTLP/HTTP JSON receiver on 127.0.0.1 and a child `deno` that exports to
// it with OTEL_DENO=true: what the tracing and error-tracking tests share.
import assert from "node:assert/strict";

/** A span as OTLP/HTTP JSON carries it (the fields the tests read). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  events: {
    name: string;
    attributes: { key: string; value: Record<string, unknown> }[];
  }[];
  status: { code: number; message: string };
}

/** Receives POST /v1/traces and keeps the spans, in arrival order. */
export function otlpReceiver(): {
  spans: OtlpSpan[];
  server: Deno.HttpServer<Deno.NetAddr>;
} {
  const spans: OtlpSpan[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const body = await request.text();
      if (
        request.method === "POST" &&
        new URL(request.url).pathname === "/v1/traces"
      ) {
        const traces = JSON.parse(body) as {
          resourceSpans?: { scopeSpans?: { spans: OtlpSpan[] }[] }[];
        };
        for (const resource of traces.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) {
            spans.push(...scope.spans);
          }
        }
      }
      return Response.json({});
    },
  );
  return { spans, server };
}

/**
 * Runs `script` with OTEL_DENO=true exporting OTLP/HTTP JSON to `port`;
 * fails unless it exits 0. Deno exports its spans as the child exits.
 *
 * @returns Its standard output's lines (the last one is its JSON result).
 */
export async function runTracedChild(
  script: URL,
  port: number,
  options: { args?: string[]; env?: Record<string, string> } = {},
): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-env",
      script.pathname,
      ...options.args ?? [],
    ],
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      ...options.env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).trim().split("\n");
}
